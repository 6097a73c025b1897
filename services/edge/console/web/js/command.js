// The command line: `/` opens it. Verbs by any unique prefix, Tab completes unit ids
// (and statuses, incident ids):
//   d[ispatch] UNIT [INCIDENT]    send a unit to the incident (default: the one open)
//   s[tatus] UNIT STATUS          move a unit on (EN_ROUTE, ON_SCENE, ...)
//   n[ote] TEXT                   a note on the open incident
//   r[aise] LEVEL [REASON]        raise the open incident's alarm level
//   c[lose] [NOTE]                close the open incident
//   l[ookup] ID                   open an incident, or show a unit
import { ActionKeys, api } from './api.js'
import { $, announce, composing } from './dom.js'
import { c, t } from './i18n.js'
import { store } from './live.js'
import { currentIncident, openIncident, runAction } from './incident.js'

const VERBS = ['dispatch', 'status', 'note', 'raise', 'close', 'lookup']
const keys = new ActionKeys()
let previousFocus = null

export function resolveVerb(word) {
  const w = word.toLowerCase()
  const found = VERBS.filter((v) => v.startsWith(w))
  return found.length === 1 ? found[0] : found.includes(w) ? w : null
}

export function initCommandLine() {
  const input = $('command-input')
  input.addEventListener('keydown', (event) => {
    if (composing(event)) return
    if (event.key === 'Escape') {
      event.preventDefault()
      closeCommandLine()
    } else if (event.key === 'Tab') {
      event.preventDefault()
      complete()
    } else if (event.key === 'Enter') {
      event.preventDefault()
      execute(input.value)
    }
  })
}

export function openCommandLine() {
  previousFocus = document.activeElement
  $('command').hidden = false
  const input = $('command-input')
  input.value = ''
  output('')
  input.focus()
}

export function closeCommandLine() {
  $('command').hidden = true
  if (previousFocus && previousFocus.focus) previousFocus.focus()
}

function output(text, kind = '') {
  const node = $('command-output')
  node.textContent = text
  node.className = `message ${kind}`
}

function candidates(position, verb) {
  if (position === 1 && ['dispatch', 'status'].includes(verb)) return [...store.units.keys()]
  if (position === 1 && verb === 'lookup') return [...store.units.keys(), ...store.incidents.keys()]
  if (position === 2 && verb === 'status') return store.config.settable_statuses
  if (position === 2 && verb === 'dispatch') return [...store.incidents.keys()]
  if (position === 0) return VERBS
  return []
}

/** Tab: complete the word being typed to the longest common prefix of what fits. */
function complete() {
  const input = $('command-input')
  // A line typed as "/d VOL-0" (the '/' out of habit, as Enter accepts it) completes too.
  const slash = input.value.startsWith('/') ? '/' : ''
  const words = input.value.slice(slash.length).split(/\s+/)
  const position = words.length - 1
  const verb = position ? resolveVerb(words[0]) : null
  const prefix = words[position].toUpperCase()
  const matches = candidates(position, verb).filter((x) => x.toUpperCase().startsWith(prefix))
  if (!matches.length) return
  let common = matches[0]
  for (const m of matches) while (!m.toUpperCase().startsWith(common.toUpperCase())) common = common.slice(0, -1)
  words[position] = matches.length === 1 ? matches[0] + ' ' : common
  input.value = slash + words.join(' ')
  if (matches.length > 1) output(matches.slice(0, 12).join('  ') + (matches.length > 12 ? ' …' : ''))
}

function findUnit(word) {
  if (!word) return null
  const upper = word.toUpperCase()
  if (store.units.has(upper)) return upper
  const matches = [...store.units.keys()].filter((id) => id.startsWith(upper))
  return matches.length === 1 ? matches[0] : null
}

function findIncident(word) {
  if (!word) return currentIncident() || null
  const matches = [...store.incidents.keys()].filter((id) => id.startsWith(word.toLowerCase()))
  return matches.length === 1 ? matches[0] : null
}

async function execute(line) {
  const words = line.trim().replace(/^\//, '').split(/\s+/).filter(Boolean)
  if (!words.length) return
  const verb = resolveVerb(words[0])
  if (!verb) {
    output(t('unknown_command', { c: words[0] }), 'error')
    return
  }
  const rest = words.slice(1)
  const done = (ok, text) => {
    output(text, ok ? 'ok' : 'error')
    announce(text)
    if (ok) setTimeout(closeCommandLine, 600)
  }
  try {
    if (verb === 'dispatch') {
      const unit = findUnit(rest[0])
      const incident = findIncident(rest[1])
      if (!unit) return output(`${t('unit')}? ${rest[0] || ''}`, 'error')
      if (!incident) return output(t('no_incident'), 'error')
      // the unit's main capability is the capability it fills (a decline re-dispatches that capability)
      const body = { unit_id: unit, capability: store.units.get(unit).profile.capabilities[0] || '' }
      const key = keys.for(`d:${incident}:${unit}`, body)
      output(t('working'))
      const reply = await api.post(`/api/incidents/${encodeURIComponent(incident)}/dispatch`, body, key)
      keys.done(`d:${incident}:${unit}`)
      done(true, `${unit} ${reply.pending ? t('pending') : t('dispatched')}`)
      if (incident !== currentIncident()) openIncident(incident)
    } else if (verb === 'status') {
      const unit = findUnit(rest[0])
      const status = (rest[1] || '').toUpperCase()
      const known = store.config.settable_statuses.filter((s) => s.startsWith(status))
      if (!unit) return output(`${t('unit')}? ${rest[0] || ''}`, 'error')
      if (known.length !== 1) return output(`${t('status')}? ${store.config.settable_statuses.join(' ')}`, 'error')
      const body = { status: known[0] }
      const key = keys.for(`s:${unit}`, body)
      output(t('working'))
      await api.post(`/api/units/${encodeURIComponent(unit)}/status`, body, key)
      keys.done(`s:${unit}`)
      done(true, `${unit} → ${c(known[0])}`)
    } else if (['note', 'raise', 'close'].includes(verb)) {
      const data = verb === 'note' ? { text: rest.join(' '), kind: 'OTHER' }
        : verb === 'raise' ? { alarm_level: Number(rest[0]), reason: rest.slice(1).join(' ') }
          : { note: rest.join(' ') }
      const result = await runAction(verb, data)
      done(result.ok, result.text)
    } else if (verb === 'lookup') {
      const word = rest[0] || ''
      const unit = findUnit(word)
      const incident = findIncident(word)
      if (word && incident && store.incidents.has(incident)) {
        openIncident(incident)
        done(true, `${t('incident')} ${incident.slice(0, 8)}`)
      } else if (unit) {
        const u = store.units.get(unit)
        $('filter-station').value = u.profile.station_id
        $('filter-station').dispatchEvent(new Event('input'))
        done(true, `${unit} · ${u.profile.station_name} · ${c(u.status)}${u.incident_id ? ' · ' + u.incident_id.slice(0, 8) : ''}`)
      } else {
        output(`? ${word}`, 'error')
      }
    }
  } catch (error) {
    done(false, t('refused_because', { r: error.message }))
  }
}
