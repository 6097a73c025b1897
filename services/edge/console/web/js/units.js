// The unit board: every tier; counts per meaning at the top (available, committed, out of
// service, unknown: an unknown status counts as not available); filters by tier, station
// and status; the alert countdown of a unit whose team has not answered yet.
import { $, el } from './dom.js'
import { duration, now, toMs } from './format.js'
import { c, t } from './i18n.js'
import { store } from './live.js'
import { UNIT_SHAPES, meaning } from './map.js'

const STATUSES = ['AVAILABLE', 'RESERVED', 'ALERTED', 'ACKNOWLEDGED', 'EN_ROUTE', 'STAGING', 'ON_SCENE', 'RETURNING', 'OUT_OF_SERVICE']

export function initUnits() {
  $('filter-tier').replaceChildren(el('option', { value: '' }, t('all_tiers')), ...store.config.tiers.map((v) => el('option', { value: v }, c(v))))
  $('filter-status').replaceChildren(el('option', { value: '' }, t('all_statuses')), ...STATUSES.map((v) => el('option', { value: v }, c(v))))
  for (const id of ['filter-tier', 'filter-status', 'filter-station']) $(id).addEventListener('input', renderUnits)
}

export function focusUnits() {
  $('filter-tier').focus()
}

export function shapeOf(status) {
  const kind = status === 'ON_SCENE' || status === 'STAGING' ? 'on_scene' : meaning(status)
  return el('span', { class: 'shape', 'aria-hidden': 'true' }, UNIT_SHAPES[kind])
}

// Rows kept by unit id and updated in place (see queue.js): a change touches its row only.
const rows = new Map() // unit id -> {tr, cells, key}
let filterKey = ''

function wanted(unit, tier, status, station) {
  const p = unit.profile
  if (tier && p.tier !== tier) return false
  if (station && !p.station_id.toLowerCase().startsWith(station) && !p.station_name.toLowerCase().includes(station)) return false
  return true
}

/** Bring the board up to date; `changedIds` (a Set) limits the work to those rows. */
export function renderUnits(changedIds = null) {
  const tier = $('filter-tier').value
  const status = $('filter-status').value
  const station = $('filter-station').value.trim().toLowerCase()
  const key = `${tier}|${status}|${station}`
  if (key !== filterKey) {
    filterKey = key
    changedIds = null
  }
  const counts = { available: 0, committed: 0, out_of_service: 0, unknown: 0 }
  const shown = []
  for (const unit of store.units.values()) {
    if (!wanted(unit, tier, status, station)) continue
    const kind = meaning(unit.status) === 'on_scene' ? 'committed' : meaning(unit.status)
    counts[kind] += 1
    if (status && unit.status !== status) continue
    shown.push(unit)
  }
  const countText = [
    ['available', UNIT_SHAPES.available], ['committed', UNIT_SHAPES.committed],
    ['out_of_service', UNIT_SHAPES.out_of_service], ['unknown', UNIT_SHAPES.unknown],
  ]
  const box = $('unit-counts')
  if (!box.children.length) box.append(...countText.map(([name]) => el('span', { 'data-count': name })))
  countText.forEach(([name, shape], i) => {
    const text = `${shape} ${t(name)} ${counts[name]}`
    if (box.children[i].textContent !== text) box.children[i].textContent = text
  })
  const ids = new Set(shown.map((u) => u.profile.unit_id))
  for (const [id, row] of rows) {
    if (!ids.has(id)) {
      row.tr.remove()
      rows.delete(id)
    }
  }
  const nowMs = now()
  for (const unit of shown) {
    const id = unit.profile.unit_id
    let row = rows.get(id)
    if (!row) {
      row = newRow(unit)
      rows.set(id, row)
    }
    if (!changedIds || changedIds.has(id) || !row.key) fillRow(row, unit)
    tickRow(row, unit, nowMs)
  }
  // busy units first (they are what a call taker follows), then by id
  shown.sort((a, b) => (meaning(a.status) === 'available') - (meaning(b.status) === 'available') || a.profile.unit_id.localeCompare(b.profile.unit_id))
  const order = shown.map((u) => rows.get(u.profile.unit_id).tr)
  const body = $('unit-body')
  let same = body.children.length === order.length
  for (let i = 0; same && i < order.length; i += 1) same = body.children[i] === order[i]
  if (!same) body.append(...order)
}

function newRow(unit) {
  const p = unit.profile
  const cells = { status: el('td'), alert: el('td') }
  const tr = el('tr', { dataset: { unit: p.unit_id } },
    el('td', { title: p.name }, el('strong', {}, p.unit_id), ' ', p.name),
    cells.status, cells.alert,
    el('td', { title: p.station_name }, p.station_name),
    el('td', {}, c(p.tier)),
  )
  return { tr, cells, key: '' }
}

function fillRow(row, unit) {
  const key = `${unit.version}|${unit.status}`
  if (row.key === key) return
  row.key = key
  row.tr.dataset.status = unit.status
  row.cells.status.replaceChildren(shapeOf(unit.status), c(unit.status))
}

/** The alert countdown of a unit whose team has not answered yet. */
function tickRow(row, unit, nowMs) {
  const alert = unit.alert
  let text = ''
  let className = ''
  if (alert && alert.state === 'WAITING' && unit.status === 'ALERTED') {
    const deadline = toMs(alert.deadline)
    const left = deadline === null ? null : (deadline - nowMs) / 1000
    text = `${t('responders', { t: alert.responders_total, n: alert.responders_needed })}${left === null ? '' : ' · ' + duration(Math.max(0, left))}`
    className = left !== null && left < 30 ? 'danger' : 'warn'
  }
  const cell = row.cells.alert
  if (cell.textContent === text) return
  cell.replaceChildren(text ? el('span', { class: className }, text) : '')
}

/** Labels follow the language: rebuild every row (and name the filters' "all" choices). */
export function relabelUnits() {
  $('filter-tier').options[0].textContent = t('all_tiers')
  $('filter-status').options[0].textContent = t('all_statuses')
  for (const row of rows.values()) row.tr.remove()
  rows.clear()
  renderUnits()
}
