// Intake: the call form (fixed tab order, Ctrl+Enter submits), duplicates offered before
// submitting (Alt+L links the call to the one selected), then the recommendation (Alt+D
// or Enter on the focused button dispatches all of it; a unit can be swapped).
//
// The form is kept as a draft in local storage while it is typed, so neither a failed
// submit (a service down) nor a reload loses a call; it is cleared once the call is in.
import { ActionKeys, ApiError, api } from './api.js'
import { $, announce, composing, el } from './dom.js'
import { km, metres, minutes } from './format.js'
import { c, t } from './i18n.js'
import { store } from './live.js'
import { meaning, showPick } from './map.js'

const keys = new ActionKeys()
// The order a call taker meets them in: the common fires first, then rescues.
const TYPE_ORDER = [
  'residential_fire', 'high_rise_fire', 'large_complex_fire', 'underground_fire', 'chemical_plant_fire',
  'vehicle_fire', 'forest_fire', 'field_fire', 'automatic_alarm', 'traffic_rescue', 'water_rescue',
  'mountain_rescue', 'collapse', 'hazmat_leak', 'social_assistance',
]
const FIELDS = ['incident_type', 'source', 'caller_number', 'address', 'description', 'latitude', 'longitude']
const AUTOMATIC = new Set(['FIRE_ALARM_NETWORK', 'SMART_SMOKE_DETECTOR'])
const PHONE_PATTERN = /^[0-9+()\- ]{3,32}$/
let duplicates = []
let selectedDuplicate = 0
let recommendation = null // {incident_id, picks, shortfalls}
let duplicateTimer = 0
let duplicateAsked = ''
let onOpenIncident = () => {}

function rank(type) {
  const index = TYPE_ORDER.indexOf(type)
  return index < 0 ? TYPE_ORDER.length : index
}

function form() {
  return $('intake-form')
}

function draftKey() {
  return `uc.draft.${store.me?.operator?.id || ''}`
}

function values() {
  const data = {}
  for (const name of FIELDS) data[name] = form().elements[name].value
  return data
}

export function initIntake(openIncident) {
  onOpenIncident = openIncident
  const typeSelect = $('f-type')
  const sourceSelect = $('f-source')
  const types = [...store.config.incident_types].sort((a, b) => rank(a) - rank(b))
  typeSelect.replaceChildren(el('option', { value: '' }, '—'), ...types.map((v) => el('option', { value: v }, c(v))))
  sourceSelect.replaceChildren(...store.config.call_sources.map((v) => el('option', { value: v }, c(v))))
  const draft = JSON.parse(localStorage.getItem(draftKey()) || 'null')
  if (draft) for (const name of FIELDS) if (draft[name] !== undefined) form().elements[name].value = draft[name]

  form().addEventListener('submit', (event) => {
    event.preventDefault()
    // Only the button itself submits (clicked, or Enter/Space on it): the browser's
    // "implicit submission" by Enter in a field is not a decision to take the call.
    if (event.submitter && event.submitter.id === 'submit-call' && document.activeElement === event.submitter) {
      submitCall()
    }
  })
  form().addEventListener('keydown', (event) => {
    if (composing(event)) return // pinyin being composed: Enter picks characters, nothing else
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault()
      submitCall()
    } else if (event.key === 'Enter' && event.target.tagName === 'INPUT') {
      event.preventDefault() // a plain Enter in a field does nothing (Ctrl+Enter submits)
    }
  })
  form().addEventListener('input', () => {
    localStorage.setItem(draftKey(), JSON.stringify(values()))
    for (const node of form().querySelectorAll('[aria-invalid]')) node.removeAttribute('aria-invalid')
    scheduleDuplicates()
    const v = values()
    showPick(parseFloat(v.latitude), parseFloat(v.longitude))
  })
  $('clear-call').addEventListener('click', clearForm)
  $('dispatch-all').addEventListener('click', () => dispatchAll())
  scheduleDuplicates()
}

export function focusIntake() {
  $('f-type').focus()
}

export function pickLocation(latitude, longitude) {
  form().elements.latitude.value = latitude.toFixed(5)
  form().elements.longitude.value = longitude.toFixed(5)
  form().dispatchEvent(new Event('input'))
}

function clearForm() {
  form().reset()
  localStorage.removeItem(draftKey())
  duplicates = []
  renderDuplicates()
  showPick(NaN, NaN)
  setMessage('')
}

function setMessage(text, kind = 'error') {
  const node = $('intake-message')
  node.textContent = text
  node.className = text ? `message ${kind}` : 'message'
}

/** Check the form as the API will: returns the request body, or marks the fields. */
function checked() {
  const v = values()
  const problems = []
  if (!v.incident_type) problems.push(['incident_type', t('field_required')])
  if (!AUTOMATIC.has(v.source) && !v.caller_number.trim()) problems.push(['caller_number', t('field_required')])
  if (v.caller_number.trim() && !PHONE_PATTERN.test(v.caller_number.trim())) problems.push(['caller_number', t('invalid')])
  let location = null
  if (v.latitude.trim() || v.longitude.trim()) {
    const latitude = Number(v.latitude)
    const longitude = Number(v.longitude)
    const b = store.config.jurisdiction.bounds
    if (!v.latitude.trim() || Number.isNaN(latitude) || latitude < -90 || latitude > 90) problems.push(['latitude', t('invalid')])
    else if (!v.longitude.trim() || Number.isNaN(longitude) || longitude < -180 || longitude > 180) problems.push(['longitude', t('invalid')])
    else if (latitude < b.south || latitude > b.north || longitude < b.west || longitude > b.east) problems.push(['latitude', t('out_of_area')])
    else location = { latitude, longitude }
  }
  if (!location && !v.address.trim() && !problems.some(([f]) => f === 'latitude' || f === 'longitude')) {
    problems.push(['address', t('field_required')])
  }
  if (problems.length) {
    markFields(problems)
    return null
  }
  return {
    incident_type: v.incident_type, source: v.source, caller_number: v.caller_number.trim(),
    address: v.address.trim(), description: v.description.trim(), location,
  }
}

function fieldName(apiField) {
  if (apiField.startsWith('location')) return apiField.endsWith('longitude') ? 'longitude' : 'latitude'
  return apiField
}

function markFields(problems) {
  let first = null
  for (const [name, message] of problems) {
    const input = form().elements[fieldName(name)]
    if (!input) continue
    input.setAttribute('aria-invalid', 'true')
    first = first || input
  }
  const label = (name) => {
    const input = form().elements[fieldName(name)]
    return input ? form().querySelector(`label[for="${input.id}"]`)?.textContent : name
  }
  const text = problems.map(([name, message]) => `${label(name)}：${message}`).join('；')
  setMessage(text)
  announce(text)
  if (first) first.focus()
}

async function submitCall(linkTo = '') {
  const body = checked()
  if (!body) return
  if (linkTo) body.link_to_incident_id = linkTo
  const button = $('submit-call')
  if (button.disabled) return // a second Ctrl+Enter while the first is on its way
  button.disabled = true
  setMessage(t('working'), 'ok')
  const key = keys.for('call', body)
  try {
    const reply = await api.post('/api/calls', body, key)
    keys.done('call')
    clearForm()
    if (linkTo) {
      const text = t('linked_to', { id: linkTo.slice(0, 8) })
      setMessage(text, 'ok')
      announce(text)
      onOpenIncident(linkTo)
      return
    }
    setMessage(`${t('done')}：${c(body.incident_type)} ${body.address}`, 'ok')
    onOpenIncident(reply.incident_id)
    await loadRecommendation(reply.incident_id)
  } catch (error) {
    showFailure(error)
  } finally {
    button.disabled = false
  }
}

function showFailure(error) {
  if (!(error instanceof ApiError)) throw error
  if (error.status === 401) return
  if (error.errors.length && error.status !== 503) {
    markFields(error.errors.map((e) => [e.field, e.message]))
    return
  }
  const text = error.status === 503 || error.status === 504 || error.status === 0
    ? t('service_down', { d: error.message })
    : t('refused_because', { r: error.message })
  setMessage(text)
  announce(text)
}

// --- duplicates ------------------------------------------------------------------------

function scheduleDuplicates() {
  clearTimeout(duplicateTimer)
  duplicateTimer = setTimeout(findDuplicates, 250)
}

async function findDuplicates() {
  const v = values()
  const latitude = Number(v.latitude)
  const longitude = Number(v.longitude)
  const located = v.latitude.trim() && v.longitude.trim() && !Number.isNaN(latitude) && !Number.isNaN(longitude)
  if (!v.incident_type || (!located && !v.address.trim())) {
    duplicates = []
    renderDuplicates()
    return
  }
  const question = {
    incident_type: v.incident_type,
    location: located ? { latitude, longitude } : null,
    address: v.address.trim(),
  }
  const asked = JSON.stringify(question)
  duplicateAsked = asked
  try {
    const reply = await api.post('/api/duplicates', question)
    if (duplicateAsked !== asked) return // the form changed meanwhile
    duplicates = reply.duplicates
    selectedDuplicate = 0
    renderDuplicates()
    if (duplicates.length) announce(`${t('duplicates')}：${duplicates.length}`)
  } catch (error) {
    if (error.status !== 422) duplicates = []
    renderDuplicates()
  }
}

function renderDuplicates() {
  const section = $('duplicates')
  const list = $('dup-list')
  section.hidden = !duplicates.length
  list.replaceChildren(
    ...duplicates.map((d, index) => {
      const incident = d.incident || {}
      return el(
        'li',
        {
          role: 'option', 'aria-selected': String(index === selectedDuplicate), dataset: { id: d.incident_id },
          onclick: () => submitCall(d.incident_id),
        },
        el('strong', {}, c(d.incident_type)), ' ',
        incident.address || '', ' · ',
        t('distance_age', { d: Math.round(d.distance_m), m: Math.floor(d.minutes_since) }),
        ' ',
        el('button', { type: 'button', tabindex: '-1', onclick: (e) => { e.stopPropagation(); submitCall(d.incident_id) } }, t('link_call')),
      )
    }),
  )
}

/** Alt+L: take the call as part of the selected duplicate instead of a new incident. */
export function linkSelectedDuplicate() {
  const chosen = duplicates[selectedDuplicate]
  if (chosen) submitCall(chosen.incident_id)
}

export function moveDuplicateSelection(step) {
  if (!duplicates.length) return
  selectedDuplicate = (selectedDuplicate + step + duplicates.length) % duplicates.length
  renderDuplicates()
}

// --- recommendation ------------------------------------------------------------------------

export async function loadRecommendation(incidentId) {
  const section = $('recommendation')
  section.hidden = false
  $('rec-message').textContent = t('working')
  $('rec-list').replaceChildren()
  $('rec-shortfalls').replaceChildren()
  try {
    const reply = await api.get(`/api/incidents/${encodeURIComponent(incidentId)}/recommendation`)
    recommendation = { incident_id: incidentId, picks: reply.picks, shortfalls: reply.shortfalls, results: {} }
    $('rec-message').textContent = ''
    renderRecommendation()
    $('dispatch-all').focus() // Enter now dispatches all of it
  } catch (error) {
    $('rec-message').textContent = t('refused_because', { r: error.message })
  }
}

function renderRecommendation() {
  const r = recommendation
  if (!r) return
  const incident = store.incidents.get(r.incident_id)
  $('rec-incident').textContent = incident ? `${c(incident.incident_type)} · ${incident.address}` : r.incident_id
  $('rec-list').replaceChildren(
    ...r.picks.map((pick, index) => {
      const result = r.results[pick.unit_id]
      return el(
        'li', { dataset: { unit: pick.unit_id } },
        el('span', {}, el('strong', {}, pick.unit_id), ` ${c(pick.capability)} · ${c(pick.tier)} · ${t('eta')} ${minutes(pick.eta_seconds)} · ${km(pick.distance_km)}`),
        result
          ? el('span', { class: `badge outcome-${result.outcome}` }, t(result.outcome))
          : el('button', { type: 'button', onclick: () => openSwap(index) }, t('swap')),
        el('span', { class: 'reason', title: pick.reason }, pick.station_name, ' — ', pick.reason),
        result && result.detail ? el('span', { class: 'reason' }, result.detail) : null,
      )
    }),
  )
  $('rec-shortfalls').replaceChildren(
    ...r.shortfalls.map((s) => el('li', {}, `${t('shortfall')}：${c(s.capability)} × ${s.missing} — ${s.reason}`)),
  )
}

/** Swap a pick: a list of free units with the same capability, nearest first. */
function openSwap(index) {
  const r = recommendation
  const pick = r.picks[index]
  const incident = store.incidents.get(r.incident_id)
  const taken = new Set(r.picks.map((p) => p.unit_id))
  const where = incident?.location
  const candidates = [...store.units.values()]
    .filter((u) => meaning(u.status) === 'available' && !taken.has(u.profile.unit_id) && u.profile.capabilities.includes(pick.capability))
    .map((u) => ({ unit: u, distance: where ? metres(where, u.location || u.profile.home) / 1000 : 0 }))
    .sort((a, b) => a.distance - b.distance)
    .slice(0, 8)
  const row = $('rec-list').children[index]
  const chooser = el('select', { 'aria-label': t('swap_with', { unit: pick.unit_id }) },
    el('option', { value: '' }, candidates.length ? t('swap_with', { unit: pick.unit_id }) : t('no_alternatives')),
    ...candidates.map((x) => el('option', { value: x.unit.profile.unit_id },
      `${x.unit.profile.unit_id} · ${c(x.unit.profile.tier)} · ${km(x.distance)} · ${x.unit.profile.station_name}`)))
  const choose = () => {
    const chosen = candidates.find((x) => x.unit.profile.unit_id === chooser.value)
    if (chosen) {
      r.picks[index] = {
        ...pick, unit_id: chosen.unit.profile.unit_id, station_name: chosen.unit.profile.station_name,
        tier: chosen.unit.profile.tier, distance_km: chosen.distance, eta_seconds: pick.eta_seconds,
        reason: `${t('swap')} ${pick.unit_id}`,
      }
    }
    renderRecommendation()
    $('dispatch-all').focus()
  }
  chooser.addEventListener('keydown', (event) => {
    if (composing(event)) return
    if (event.key === 'Enter') {
      event.preventDefault()
      choose()
    } else if (event.key === 'Escape') {
      renderRecommendation()
    }
  })
  chooser.addEventListener('change', () => {}) // choice is confirmed by Enter or blur
  chooser.addEventListener('blur', choose)
  row.append(chooser)
  chooser.focus()
}

/** Alt+D: send every unit of the recommendation (swaps included), each once. */
export async function dispatchAll() {
  const r = recommendation
  if (!r || !r.picks.length) return
  const button = $('dispatch-all')
  if (button.disabled) return
  const picks = r.picks.filter((p) => !r.results[p.unit_id] || r.results[p.unit_id].outcome === 'refused')
  if (!picks.length) return
  const body = { picks: picks.map((p) => ({ unit_id: p.unit_id, capability: p.capability })) }
  button.disabled = true
  $('rec-message').textContent = t('working')
  const key = keys.for(`dispatch-${r.incident_id}`, body)
  try {
    const reply = await api.post(`/api/incidents/${encodeURIComponent(r.incident_id)}/dispatch-recommendation`, body, key)
    keys.done(`dispatch-${r.incident_id}`)
    for (const result of reply.results) r.results[result.unit_id] = result
    const sent = reply.results.filter((x) => x.outcome !== 'refused').length
    const text = `${t('dispatched')} ${sent}/${reply.results.length}`
    $('rec-message').textContent = text
    announce(text)
    renderRecommendation()
    focusIntake() // ready for the next call
  } catch (error) {
    $('rec-message').textContent = error.status === 503 ? t('service_down', { d: error.message }) : t('refused_because', { r: error.message })
    announce($('rec-message').textContent)
  } finally {
    button.disabled = false
  }
}

export function hasRecommendation() {
  return Boolean(recommendation && !$('recommendation').hidden)
}

