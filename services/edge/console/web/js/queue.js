// The incident queue (active incidents by alarm level, then age; a call-to-dispatch clock
// until the first dispatch, warning past 60 s; a countdown on alerts awaiting an
// acknowledgement) and the feed, where declines, time-outs and automatic re-dispatches
// appear the moment they happen and are announced to screen readers (and by sound, when
// armed).
import { $, announce, beep, composing, el } from './dom.js'
import { clock, duration, now, toMs } from './format.js'
import { c, t } from './i18n.js'
import { store } from './live.js'

export const CALL_PROCESSING_STANDARD = 60 // seconds from call to dispatch
const FEED_LIMIT = 200
let selected = ''
let onOpen = () => {}
const pageOpened = Date.now()

export function initQueue(open) {
  onOpen = open
  $('queue-body').addEventListener('keydown', (event) => {
    if (composing(event)) return
    const rows = [...$('queue-body').children]
    const index = rows.indexOf(document.activeElement)
    if (event.key === 'ArrowDown' || event.key === 'j') {
      event.preventDefault()
      rows[Math.min(index + 1, rows.length - 1)]?.focus()
    } else if (event.key === 'ArrowUp' || event.key === 'k') {
      event.preventDefault()
      rows[Math.max(index - 1, 0)]?.focus()
    } else if (event.key === 'Enter' && index >= 0) {
      event.preventDefault()
      onOpen(rows[index].dataset.id)
    }
  })
}

export function setSelected(id) {
  selected = id
  renderQueue()
}

export function focusQueue() {
  const rows = $('queue-body').children
  const current = [...rows].find((r) => r.dataset.id === selected) || rows[0]
  if (current) current.focus()
  else $('queue-title').scrollIntoView()
}

/** Alerts on the incident still waiting for an answer, with their deadlines (ms). */
export function waitingAlerts(incidentId) {
  const found = []
  for (const unit of store.units.values()) {
    const alert = unit.alert
    if (alert && alert.state === 'WAITING' && alert.incident_id === incidentId && unit.status === 'ALERTED') {
      found.push({ unit, deadline: toMs(alert.deadline) })
    }
  }
  return found
}

function sortedIncidents() {
  return [...store.incidents.values()].sort(
    (a, b) => b.alarm_level - a.alarm_level || (toMs(a.opened_at) ?? 0) - (toMs(b.opened_at) ?? 0),
  )
}

function callClock(incident) {
  const opened = toMs(incident.opened_at)
  const first = toMs(incident.first_dispatched_at)
  if (opened === null) return el('span', {}, t('nothing'))
  const seconds = ((first ?? now()) - opened) / 1000
  const over = seconds > CALL_PROCESSING_STANDARD
  const text = duration(seconds) + (first ? ' ✓' : '') + (over ? ` ${t('over_standard')}` : '')
  return el('span', { class: over ? (first ? 'warn' : 'danger') : first ? 'ok' : '' }, text)
}

function alertCell(incident) {
  const waiting = waitingAlerts(incident.incident_id)
  if (!waiting.length) return ''
  const deadlines = waiting.map((w) => w.deadline).filter((d) => d !== null)
  const soonest = deadlines.length ? Math.min(...deadlines) : null
  const left = soonest === null ? null : (soonest - now()) / 1000
  const text = `${waiting.length} · ${left === null ? '' : duration(Math.max(left, 0))}`
  return el('span', { class: left !== null && left < 30 ? 'danger' : 'warn' }, text)
}

export function renderQueue() {
  const body = $('queue-body')
  const focusedId = document.activeElement?.parentElement === body ? document.activeElement.dataset.id : null
  const incidents = sortedIncidents()
  $('queue-empty').hidden = incidents.length > 0
  body.replaceChildren(
    ...incidents.map((incident) => {
      const opened = toMs(incident.opened_at)
      const age = opened === null ? '' : duration((now() - opened) / 1000)
      return el(
        'tr',
        {
          tabindex: '-1', dataset: { id: incident.incident_id },
          class: incident.incident_id === selected ? 'selected' : '',
          'aria-selected': String(incident.incident_id === selected),
          onclick: () => onOpen(incident.incident_id),
        },
        el('td', { class: 'level' }, t('level_n', { n: incident.alarm_level })),
        el('td', {}, c(incident.incident_type)),
        el('td', { title: incident.address }, incident.address || t('nothing')),
        el('td', {}, age),
        el('td', { class: 'call-clock' }, callClock(incident)),
        el('td', { class: 'alert-clock' }, alertCell(incident)),
        el('td', {}, c(incident.status)),
      )
    }),
  )
  const rows = [...body.children]
  for (const row of rows) row.tabIndex = -1
  const current = rows.find((r) => r.dataset.id === (focusedId || selected)) || rows[0]
  if (current) current.tabIndex = 0
  if (focusedId) rows.find((r) => r.dataset.id === focusedId)?.focus()
}

// --- the feed ----------------------------------------------------------------------------

function unitOf(item) {
  const d = item.data || {}
  return d.unit_id || (d.profile && d.profile.unit_id) || ''
}

/** An event in words (Chinese or English), from its type and payload. */
export function describe(item) {
  const d = item.data || {}
  const unit = unitOf(item)
  const zh = document.documentElement.lang !== 'en'
  const pick = (a, b) => (zh ? a : b)
  switch (item.type) {
    case 'CallReceived':
      return pick(`接警：${c(d.incident_type)} ${d.address || ''}`, `call: ${c(d.incident_type)} ${d.address || ''}`)
    case 'IncidentCreated':
      return pick(`立案：${c(d.incident_type)} ${d.address || ''}`, `incident opened: ${c(d.incident_type)} ${d.address || ''}`)
    case 'DuplicateCallLinked':
      return pick('重复来电已并入本警情', 'duplicate call linked')
    case 'UnitDispatched':
      return d.replaces_unit_id
        ? pick(`自动改派：${unit} 替换 ${d.replaces_unit_id}`, `re-dispatched: ${unit} replaces ${d.replaces_unit_id}`)
        : pick(`派出 ${unit}（${c(d.slot)}）`, `${unit} dispatched (${c(d.slot)})`)
    case 'UnitsRequested':
      return d.replaces_unit_id
        ? pick(`需改派：替换 ${d.replaces_unit_id}`, `replacement needed for ${d.replaces_unit_id}`)
        : pick(`请求增援：${c(d.slot) || d.unit_id} × ${d.count || 1}`, `requested: ${c(d.slot) || d.unit_id} × ${d.count || 1}`)
    case 'UnitsUnavailable':
      return pick(`无可用${c(d.slot)}（缺 ${d.missing}）：${d.reason || ''}`, `no ${c(d.slot)} free (${d.missing} missing): ${d.reason || ''}`)
    case 'AssignmentEnded':
      return pick(`${unit} 离开警情（${c(d.outcome)}）`, `${unit} off the incident (${c(d.outcome)})`)
    case 'AlarmLevelRaised':
      return pick(`升级：${d.from_level}→${d.to_level} 级 ${d.reason || ''}`, `alarm raised ${d.from_level}→${d.to_level} ${d.reason || ''}`)
    case 'CommandAssumed':
      return pick(`${d.commander_name || d.commander_id} 接管指挥`, `${d.commander_name || d.commander_id} took command`)
    case 'CommandTransferred':
      return pick(`指挥移交给 ${d.to_commander_name || d.to_commander_id}`, `command passed to ${d.to_commander_name || d.to_commander_id}`)
    case 'IncidentUnderControl':
      return pick('警情已控制', 'under control')
    case 'IncidentClosed':
      return pick('警情结案', 'incident closed')
    case 'IncidentCancelled':
      return pick(`警情撤销（${c(d.reason)}）`, `incident cancelled (${c(d.reason)})`)
    case 'IncidentClassified':
      return pick(`改类：${c(d.from_type)}→${c(d.to_type)}`, `reclassified ${c(d.from_type)}→${c(d.to_type)}`)
    case 'UnitReserved':
      return pick(`${unit} 已预占`, `${unit} reserved`)
    case 'UnitAlerted':
      return pick(`${unit} 已通知（${d.station_name || ''}），需 ${d.responders_needed || 1} 人确认`, `${unit} alerted (${d.station_name || ''}), ${d.responders_needed || 1} needed`)
    case 'AlertAcknowledged':
      return d.complete
        ? pick(`${unit} 已确认出动（${d.responders_total} 人）`, `${unit} acknowledged (${d.responders_total} people)`)
        : pick(`${unit} 确认 ${d.responders} 人（共 ${d.responders_total}）`, `${unit}: ${d.responders} coming (${d.responders_total} so far)`)
    case 'AlertDeclined':
      return pick(`${unit} 拒绝出动：${d.reason || ''}`, `${unit} declined: ${d.reason || ''}`)
    case 'AlertTimedOut':
      return pick(`${unit} 超时未确认`, `${unit} did not acknowledge in time`)
    case 'UnitStatusChanged':
      return pick(`${unit} → ${c(d.to_status)}`, `${unit} → ${c(d.to_status)}`)
    case 'UnitReleased':
      return pick(`${unit} 已释放`, `${unit} released`)
    case 'CommanderNoteAdded':
      return pick(`备注：${d.text || ''}`, `note: ${d.text || ''}`)
    default:
      return item.text || item.type
  }
}

// What goes into the feed, and what is also announced (and sounded).
const FEED_TYPES = new Set([
  'IncidentCreated', 'DuplicateCallLinked', 'UnitDispatched', 'UnitsUnavailable', 'AlertAcknowledged',
  'AlertDeclined', 'AlertTimedOut', 'AlarmLevelRaised', 'CommandAssumed', 'CommandTransferred',
  'IncidentUnderControl', 'IncidentClosed', 'IncidentCancelled', 'IncidentClassified', 'CommanderNoteAdded',
])
const URGENT = new Set(['AlertDeclined', 'AlertTimedOut', 'UnitsUnavailable'])

function urgent(item) {
  return URGENT.has(item.type) || (item.type === 'UnitDispatched' && item.data?.replaces_unit_id)
}

export function feedItems(items) {
  const feed = $('feed')
  const fresh = []
  for (const item of items) {
    if (!FEED_TYPES.has(item.type)) continue
    if (item.type === 'AlertAcknowledged' && !item.data?.complete) continue
    fresh.push(item)
  }
  if (!fresh.length) return
  for (const item of fresh) {
    const entry = el('li', { class: urgent(item) ? 'danger' : '', dataset: { type: item.type, event: item.id } },
      el('time', {}, clock(item.at / 1000)), describe(item))
    feed.prepend(entry)
  }
  while (feed.children.length > FEED_LIMIT) feed.lastChild.remove()
  // Announce only what happened while this page is open (not history it was sent again).
  const spoken = fresh.filter((item) => urgent(item) && item.rec / 1000 >= pageOpened - 5000)
  if (spoken.length) {
    announce(spoken.map(describe).join('；'))
    beep()
  }
}
