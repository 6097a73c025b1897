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

export function renderUnits() {
  const tier = $('filter-tier').value
  const status = $('filter-status').value
  const station = $('filter-station').value.trim().toLowerCase()
  const counts = { available: 0, committed: 0, out_of_service: 0, unknown: 0 }
  const shown = []
  for (const unit of store.units.values()) {
    const p = unit.profile
    if (tier && p.tier !== tier) continue
    if (station && !p.station_id.toLowerCase().startsWith(station) && !p.station_name.toLowerCase().includes(station)) continue
    const kind = meaning(unit.status) === 'on_scene' ? 'committed' : meaning(unit.status)
    counts[kind] += 1
    if (status && unit.status !== status) continue
    shown.push(unit)
  }
  $('unit-counts').replaceChildren(
    el('span', { 'data-count': 'available' }, `${UNIT_SHAPES.available} ${t('available')} ${counts.available}`),
    el('span', { 'data-count': 'committed' }, `${UNIT_SHAPES.committed} ${t('committed')} ${counts.committed}`),
    el('span', { 'data-count': 'out_of_service' }, `${UNIT_SHAPES.out_of_service} ${t('out_of_service')} ${counts.out_of_service}`),
    el('span', { 'data-count': 'unknown' }, `${UNIT_SHAPES.unknown} ${t('unknown')} ${counts.unknown}`),
  )
  // busy units first (they are what a call taker follows), then by id
  shown.sort((a, b) => (meaning(a.status) === 'available') - (meaning(b.status) === 'available') || a.profile.unit_id.localeCompare(b.profile.unit_id))
  $('unit-body').replaceChildren(...shown.map(unitRow))
}

function unitRow(unit) {
  const p = unit.profile
  const alert = unit.alert
  let alertCell = ''
  if (alert && alert.state === 'WAITING' && unit.status === 'ALERTED') {
    const deadline = toMs(alert.deadline)
    const left = deadline === null ? null : (deadline - now()) / 1000
    alertCell = el('span', { class: left !== null && left < 30 ? 'danger' : 'warn' },
      `${t('responders', { t: alert.responders_total, n: alert.responders_needed })}${left === null ? '' : ' · ' + duration(Math.max(0, left))}`)
  }
  return el('tr', { dataset: { unit: p.unit_id, status: unit.status } },
    el('td', { title: p.name }, el('strong', {}, p.unit_id), ' ', p.name),
    el('td', {}, shapeOf(unit.status), c(unit.status)),
    el('td', {}, alertCell),
    el('td', { title: p.station_name }, p.station_name),
    el('td', {}, c(p.tier)),
  )
}
