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
    const index = order.indexOf(document.activeElement?.dataset?.id)
    if (event.key === 'ArrowDown' || event.key === 'j') {
      event.preventDefault()
      focusIndex(Math.min(index + 1, order.length - 1))
    } else if (event.key === 'ArrowUp' || event.key === 'k') {
      event.preventDefault()
      focusIndex(Math.max(index - 1, 0))
    } else if (event.key === 'Enter' && index >= 0) {
      event.preventDefault()
      onOpen(order[index])
    }
  })
  $('queue-wrap').addEventListener('scroll', () => renderQueue(new Set()), { passive: true })
}

/** Focus the row at `index` of the queue's order, scrolling it into view first. */
function focusIndex(index) {
  if (index < 0 || index >= order.length) return
  const wrap = $('queue-wrap')
  const header = $('queue-table').tHead.offsetHeight
  const top = index * ROW
  if (top < wrap.scrollTop) wrap.scrollTop = top
  else if (top + ROW > wrap.scrollTop + wrap.clientHeight - header) {
    wrap.scrollTop = top + ROW - wrap.clientHeight + header
  }
  renderQueue(new Set())
  rows.get(order[index])?.tr.focus()
}

export function setSelected(id) {
  selected = id
  for (const row of rows.values()) row.key = '' // the selection shows on the rows
  renderQueue()
}

export function focusQueue() {
  const index = order.indexOf(selected)
  focusIndex(index >= 0 ? index : 0)
}

/** Alerts still waiting for an answer, by incident id: [{unit, deadline (ms)}]. */
export function waitingAlertsByIncident() {
  const found = new Map()
  for (const unit of store.units.values()) {
    const alert = unit.alert
    if (alert && alert.state === 'WAITING' && unit.status === 'ALERTED') {
      if (!found.has(alert.incident_id)) found.set(alert.incident_id, [])
      found.get(alert.incident_id).push({ unit, deadline: toMs(alert.deadline) })
    }
  }
  return found
}

function sortedIncidents() {
  return [...store.incidents.values()].sort(
    (a, b) => b.alarm_level - a.alarm_level || openedMs(a) - openedMs(b),
  )
}

// Parsed once per incident version, not once per row per frame.
const parsed = new WeakMap()
function times(incident) {
  let held = parsed.get(incident)
  if (!held) {
    held = { opened: toMs(incident.opened_at), first: toMs(incident.first_dispatched_at) }
    parsed.set(incident, held)
  }
  return held
}

function openedMs(incident) {
  return times(incident).opened ?? 0
}

// The rows are kept by incident id and updated in place: a change touches only its row,
// and the clocks only their cells (ten consoles on one machine must stay cheap).
const rows = new Map() // incident id -> {tr, cells, key}
const ROW = 24 // px: every queue row's height (console.css)
const OVERSCAN = 12 // rows kept beyond the view on each side
let order = [] // incident ids in queue order
const spacerAbove = el('tr', { 'aria-hidden': 'true', class: 'spacer' }, el('td', { colspan: '7' }))
const spacerBelow = el('tr', { 'aria-hidden': 'true', class: 'spacer' }, el('td', { colspan: '7' }))

function setCell(cell, text, className = '') {
  if (cell.textContent !== text) cell.textContent = text
  if (cell.className !== className) cell.className = className
}

function newRow(id) {
  const cells = {}
  const tr = el('tr', { tabindex: '-1', dataset: { id }, onclick: () => onOpen(id) })
  for (const name of ['level', 'type', 'address', 'age', 'clock', 'alerts', 'status']) {
    cells[name] = el('td')
    tr.append(cells[name])
  }
  return { tr, cells, key: '' }
}

function fillRow(row, incident) {
  const key = `${incident.version}|${incident.incident_id === selected}`
  if (row.key === key) return
  row.key = key
  const c0 = row.cells
  setCell(c0.level, t('level_n', { n: incident.alarm_level }), 'level')
  setCell(c0.type, c(incident.incident_type))
  setCell(c0.address, incident.address || t('nothing'))
  c0.address.title = incident.address
  setCell(c0.status, c(incident.status))
  const chosen = incident.incident_id === selected
  row.tr.className = chosen ? 'selected' : ''
  row.tr.setAttribute('aria-selected', String(chosen))
}

/** The cells that change with time: age, call-to-dispatch clock, alert countdown. */
function tickRow(row, incident, waiting, nowMs) {
  const { opened, first } = times(incident)
  setCell(row.cells.age, opened === null ? '' : duration((nowMs - opened) / 1000))
  if (opened === null) {
    setCell(row.cells.clock, t('nothing'), 'call-clock')
  } else {
    const seconds = ((first ?? nowMs) - opened) / 1000
    const over = seconds > CALL_PROCESSING_STANDARD
    const text = duration(seconds) + (first ? ' ✓' : '') + (over ? ` ${t('over_standard')}` : '')
    setCell(row.cells.clock, text, `call-clock ${over ? (first ? 'warn' : 'danger') : first ? 'ok' : ''}`)
  }
  if (!waiting || !waiting.length) {
    setCell(row.cells.alerts, '', 'alert-clock')
    return
  }
  const deadlines = waiting.map((w) => w.deadline).filter((d) => d !== null)
  const soonest = deadlines.length ? Math.min(...deadlines) : null
  const left = soonest === null ? null : (soonest - nowMs) / 1000
  const text = `${waiting.length} · ${left === null ? '' : duration(Math.max(left, 0))}`
  setCell(row.cells.alerts, text, `alert-clock ${left !== null && left < 30 ? 'danger' : 'warn'}`)
}

/** Bring the queue up to date; `changedIds` (a Set) limits the work to those rows.
 * Only the rows in view (and a few either side) are in the page: a queue of hundreds of
 * incidents costs what a screenful does (layout measured: 50 ms a frame with 800 rows). */
export function renderQueue(changedIds = null) {
  const body = $('queue-body')
  const nowMs = now()
  const waiting = waitingAlertsByIncident()
  for (const id of rows.keys()) if (!store.incidents.has(id)) rows.delete(id)
  const incidents = sortedIncidents()
  order = incidents.map((i) => i.incident_id)
  $('queue-empty').hidden = incidents.length > 0
  const wrap = $('queue-wrap')
  const height = wrap.clientHeight || 600
  const first = Math.max(0, Math.floor(wrap.scrollTop / ROW) - OVERSCAN)
  const last = Math.min(incidents.length, Math.ceil((wrap.scrollTop + height) / ROW) + OVERSCAN)
  const shown = []
  for (const incident of incidents.slice(first, last)) {
    const id = incident.incident_id
    let row = rows.get(id)
    if (!row) {
      row = newRow(id)
      rows.set(id, row)
    }
    if (!changedIds || changedIds.has(id) || !row.key) {
      fillRow(row, incident)
      tickRow(row, incident, waiting.get(id), nowMs)
    } else if (waiting.has(id) || row.cells.alerts.textContent || !row.tr.isConnected) {
      tickRow(row, incident, waiting.get(id), nowMs) // its units' alerts may have changed
    }
    shown.push(row.tr)
  }
  spacerAbove.firstChild.style.height = `${first * ROW}px`
  spacerBelow.firstChild.style.height = `${(incidents.length - last) * ROW}px`
  const wanted = [spacerAbove, ...shown, spacerBelow]
  const present = body.children
  let same = present.length === wanted.length
  for (let i = 0; same && i < wanted.length; i += 1) same = present[i] === wanted[i]
  if (!same) body.replaceChildren(...wanted)
  const current = shown.find((tr) => tr.dataset.id === selected) || shown[0]
  for (const tr of shown) if (tr.tabIndex !== -1 && tr !== current) tr.tabIndex = -1
  if (current) current.tabIndex = 0
}

/** Labels follow the language: refill every row. */
export function relabelQueue() {
  for (const row of rows.values()) row.key = ''
  renderQueue()
}

/** Once a second: the clocks of the rows in view. */
export function tickQueue() {
  const nowMs = now()
  const waiting = waitingAlertsByIncident()
  for (const [id, row] of rows) {
    const incident = store.incidents.get(id)
    if (incident && row.tr.isConnected) tickRow(row, incident, waiting.get(id), nowMs)
  }
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
        : pick(`派出 ${unit}（${c(d.capability)}）`, `${unit} dispatched (${c(d.capability)})`)
    case 'UnitsRequested':
      return d.replaces_unit_id
        ? pick(`需改派：替换 ${d.replaces_unit_id}`, `replacement needed for ${d.replaces_unit_id}`)
        : pick(`请求增援：${c(d.capability) || d.unit_id} × ${d.count || 1}`, `requested: ${c(d.capability) || d.unit_id} × ${d.count || 1}`)
    case 'UnitsUnavailable':
      return pick(`无可用${c(d.capability)}（缺 ${d.missing}）：${d.reason || ''}`, `no ${c(d.capability)} free (${d.missing} missing): ${d.reason || ''}`)
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

// what each feed entry says, so a language switch can say it again
const feedItemOf = new WeakMap()

function feedEntryContent(item) {
  return [el('time', {}, clock(item.at / 1000)), describe(item)]
}

/** Labels follow the language: every entry of the feed in the new words. */
export function relabelFeed() {
  for (const entry of $('feed').children) {
    const item = feedItemOf.get(entry)
    if (item) entry.replaceChildren(...feedEntryContent(item))
  }
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
      ...feedEntryContent(item))
    feedItemOf.set(entry, item)
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
