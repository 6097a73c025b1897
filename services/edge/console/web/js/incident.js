// The incident view: facts, the units sent and what became of them (with their live
// status), open requests, the commander, the timeline from the incident log (who did
// what, when; new events join it live), and every unified-command action, each showing
// working, then done or refused with the reason.
import { ActionKeys, api } from './api.js'
import { $, announce, el } from './dom.js'
import { clock, dateTime, duration, now, toMs } from './format.js'
import { c, t } from './i18n.js'
import { store } from './live.js'
import { describe } from './queue.js'
import { shapeOf } from './units.js'

const keys = new ActionKeys()
let current = '' // incident id
let detail = null // the incident as dispatch answered
let timeline = [] // items, oldest first
const timelineIds = new Set()
let openForm = ''
let actionState = { text: '', kind: '' }

export function currentIncident() {
  return current
}

export async function openIncident(id) {
  if (id !== current) {
    current = id
    detail = store.incidents.get(id) || null
    timeline = []
    timelineIds.clear()
    openForm = ''
    actionState = { text: '', kind: '' }
  }
  render()
  await Promise.all([refreshDetail(), loadLog()])
}

async function refreshDetail() {
  const id = current
  try {
    const fresh = await api.get(`/api/incidents/${encodeURIComponent(id)}`)
    if (id !== current) return
    if (!detail || fresh.version >= detail.version) detail = fresh
    render()
  } catch (error) {
    if (id === current && !detail) setAction(t('refused_because', { r: error.message }), 'error')
  }
}

async function loadLog(attempt = 0) {
  const id = current
  try {
    const log = await api.get(`/api/incidents/${encodeURIComponent(id)}/log`)
    if (id !== current) return
    for (const item of log.entries) addToTimeline(item)
    render()
  } catch (error) {
    // The incident log trails dispatch's store by a moment: a new incident may not be in
    // it yet. Ask again shortly (live items join the timeline meanwhile).
    if (error.status === 404 && attempt < 10 && id === current) {
      setTimeout(() => id === current && loadLog(attempt + 1), 300 * (attempt + 1))
    }
  }
}

function addToTimeline(item) {
  if (timelineIds.has(item.id)) return false
  timelineIds.add(item.id)
  timeline.push(item)
  timeline.sort((a, b) => a.at - b.at)
  return true
}

/** Live items: those of the open incident join its timeline; its state is refreshed. */
export function liveItems(items) {
  if (!current) return
  let touched = false
  for (const item of items) {
    if (item.incident !== current) continue
    if (addToTimeline(item)) touched = true
  }
  const held = store.incidents.get(current)
  if (held && (!detail || held.version > detail.version)) {
    detail = held
    touched = true
  }
  if (touched) render()
}

/** Labels follow the language: draw the view again. */
export function relabelIncident() {
  render()
}

export function renderClocks() {
  if (current) renderFacts()
}

function setAction(text, kind) {
  actionState = { text, kind }
  const node = $('incident-action-message')
  if (node) {
    node.textContent = text
    node.className = `message ${kind}`
  }
}

function actor(ref) {
  if (!ref) return t('system')
  const [kind, id, more] = ref.split(':')
  if (kind === 'SYSTEM' || (kind === 'ADMIN' && (id === 'dispatch' || id === 'system'))) return t('system')
  if (kind === 'TEAM') return `${c('TEAM')} ${id}`
  return `${c(kind)} ${id}${more ? ':' + more : ''}`
}

function renderFacts() {
  const node = $('incident-facts')
  if (!node || !detail) return
  const opened = toMs(detail.opened_at)
  const first = toMs(detail.first_dispatched_at)
  const callToDispatch = opened === null ? t('nothing') : duration(((first ?? now()) - opened) / 1000) + (first ? ' ✓' : '')
  node.replaceChildren(
    el('dt', {}, t('type')), el('dd', {}, c(detail.incident_type)),
    el('dt', {}, t('status')), el('dd', {}, c(detail.status)),
    el('dt', {}, t('address')), el('dd', {}, detail.address || t('nothing')),
    el('dt', {}, t('level')), el('dd', {}, t('level_n', { n: detail.alarm_level })),
    el('dt', {}, t('opened')), el('dd', {}, dateTime(detail.opened_at)),
    el('dt', {}, t('call_to_dispatch')), el('dd', {}, callToDispatch),
    el('dt', {}, t('commander')), el('dd', {}, detail.commander_name || detail.commander_id || t('nobody')),
    el('dt', {}, t('calls')), el('dd', {}, String(detail.call_ids?.length || 0)),
  )
}

function render() {
  const body = $('incident-body')
  if (!current) {
    body.replaceChildren(el('p', { class: 'muted' }, t('no_incident_selected')))
    return
  }
  if (!detail) {
    body.replaceChildren(el('p', { class: 'muted' }, t('working')))
    return
  }
  const writable = store.me?.operator?.can_write
  const units = (detail.assignments || []).map((a) => {
    const live = store.units.get(a.unit_id)
    const status = a.state === 'ACTIVE' && live ? live.status : ''
    return el('li', { dataset: { unit: a.unit_id, state: a.state } },
      el('strong', {}, a.unit_id), ` ${c(a.capability)} · `,
      a.state === 'ACTIVE' ? [shapeOf(status), c(status)] : el('span', { class: a.state === 'RELEASED' ? '' : 'danger' }, c(a.state)),
      a.replaces_unit_id ? ` · ${t('swap')} ${a.replaces_unit_id}` : '',
      a.ended_reason ? ` · ${a.ended_reason}` : '',
    )
  })
  const needs = (detail.open_requests || []).map((n) =>
    el('li', { class: 'warn' }, `${c(n.capability) || n.unit_id} × ${n.remaining}`, n.reason ? ` — ${n.reason}` : '', n.unavailable_reason ? ` (${n.unavailable_reason})` : ''))
  const entries = timeline.map((item) =>
    el('li', {}, el('time', {}, clock(item.at / 1000)), el('span', {}, actor(item.actor)), el('span', {}, describe(item))))
  const parts = [
    el('dl', { id: 'incident-facts', class: 'facts' }),
    writable ? actionBar() : null,
    writable ? el('div', { id: 'incident-form-area' }, openForm ? actionForm(openForm) : null) : null,
    el('p', { id: 'incident-action-message', class: `message ${actionState.kind}`, role: 'status' }, actionState.text),
    el('h3', {}, t('units_on')), el('ul', { class: 'plain', id: 'incident-units' }, units),
    needs.length ? [el('h3', {}, t('open_requests')), el('ul', { class: 'plain' }, needs)] : null,
    el('h3', {}, t('timeline')), el('ol', { class: 'plain timeline', id: 'incident-timeline' }, entries),
  ]
  body.replaceChildren(...parts.flat().filter(Boolean))
  renderFacts()
}

const ACTIONS = [
  ['raise', 'raise'], ['request', 'request'], ['assume', 'assume'], ['transfer', 'transfer'],
  ['under_control', 'under_control'], ['close', 'close'], ['cancel', 'cancel'],
  ['verify', 'verify'], ['dismiss', 'dismiss'], ['note', 'note'],
]

function actionBar() {
  return el('div', { class: 'actions', role: 'toolbar', 'aria-label': t('actions') },
    ...ACTIONS.map(([name, label]) => {
      if ((name === 'verify' || name === 'dismiss') && detail.incident_type !== 'automatic_alarm') return null
      // notes go into the incident's record: the incidents service takes them from
      // commanders and administrators only
      if (name === 'note' && !['COMMANDER', 'ADMIN'].includes(store.me?.operator?.role)) return null
      return el('button', { type: 'button', dataset: { action: name }, onclick: () => showForm(name) }, t(label))
    }))
}

function showForm(name) {
  openForm = openForm === name ? '' : name
  render()
  const first = $('incident-form-area')?.querySelector('input, select, button')
  if (first) first.focus()
}

function input(name, label, attrs = {}) {
  return el('label', {}, label, el('input', { name, ...attrs }))
}

function select(name, label, options, chosen = '') {
  return el('label', {}, label, el('select', { name }, ...options.map((v) => el('option', { value: v, selected: v === chosen }, c(v)))))
}

function actionForm(name) {
  const config = store.config
  const fields = {
    raise: () => [select('alarm_level', t('alarm_level'), ['2', '3', '4', '5'].filter((v) => Number(v) > detail.alarm_level)), input('reason', t('reason'), { maxlength: 500 })],
    request: () => [select('capability', t('capability'), config.capabilities, 'engine'), input('count', t('count'), { type: 'number', min: 1, max: 20, value: 1 }), input('reason', t('reason'), { maxlength: 500 })],
    assume: () => [input('commander_id', t('commander_id'), { maxlength: 64 }), input('commander_name', t('commander_name'), { maxlength: 100 })],
    transfer: () => [input('commander_id', t('commander_id'), { maxlength: 64 }), input('commander_name', t('commander_name'), { maxlength: 100 }), input('reason', t('reason'), { maxlength: 500 })],
    under_control: () => [input('note', t('note'), { maxlength: 2000 })],
    close: () => [input('note', t('note'), { maxlength: 2000 })],
    cancel: () => [select('reason', t('reason'), config.cancel_reasons), input('note', t('note'), { maxlength: 2000 })],
    verify: () => [select('incident_type', t('incident_type'), config.incident_types.filter((v) => v !== 'automatic_alarm'), 'residential_fire'), input('note', t('note'), { maxlength: 2000 })],
    dismiss: () => [input('note', t('note'), { maxlength: 2000 })],
    note: () => [select('kind', t('note_kind'), config.note_kinds, 'OTHER'), input('text', t('note'), { maxlength: 2000, required: true })],
  }[name]()
  const form = el('form', { class: 'action-form', novalidate: true }, ...fields, el('button', { type: 'submit', class: 'primary' }, `${t(name)} · ${t('confirm')}`))
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    if (event.isComposing) return
    const data = Object.fromEntries(new FormData(form).entries())
    runAction(name, data)
  })
  form.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      openForm = ''
      render()
    }
  })
  return form
}

/** The request an action sends: [path, body]. */
function request(name, data) {
  switch (name) {
    case 'raise':
      return ['alarm-level', { alarm_level: Number(data.alarm_level), reason: data.reason || '' }]
    case 'request':
      return ['requests', { capability: data.capability, count: Number(data.count || 1), reason: data.reason || '' }]
    case 'assume':
      return ['command/assume', { commander_id: data.commander_id || '', commander_name: data.commander_name || '' }]
    case 'transfer':
      return ['command/transfer', { commander_id: data.commander_id || '', commander_name: data.commander_name || '', reason: data.reason || '' }]
    case 'under_control':
      return ['under-control', { note: data.note || '' }]
    case 'close':
      return ['close', { note: data.note || '' }]
    case 'cancel':
      return ['cancel', { reason: data.reason, note: data.note || '' }]
    case 'verify':
      return ['classify', { incident_type: data.incident_type, note: data.note || '' }]
    case 'dismiss':
      return ['cancel', { reason: 'FALSE_ALARM', note: data.note || '' }]
    case 'note':
      return ['notes', { text: data.text || '', kind: data.kind || 'OTHER' }]
    default:
      throw new Error(`unknown action ${name}`)
  }
}

/** Run an action on the open incident: working, then done or refused with the reason. */
export async function runAction(name, data, incidentId = current) {
  if (!incidentId) {
    setAction(t('no_incident'), 'error')
    return { ok: false, text: t('no_incident') }
  }
  const [path, body] = request(name, data)
  const action = `${incidentId}:${name}`
  const key = keys.for(action, body)
  setAction(`${t(name)}：${t('working')}`, 'ok')
  try {
    const reply = await api.post(`/api/incidents/${encodeURIComponent(incidentId)}/${path}`, body, key)
    keys.done(action)
    if (reply.version && incidentId === current && (!detail || reply.version > detail.version)) detail = reply
    openForm = ''
    setAction(`${t(name)}：${t('done')}`, 'ok')
    announce(`${t(name)}：${t('done')}`)
    render()
    return { ok: true, text: `${t(name)}：${t('done')}` }
  } catch (error) {
    const text = `${t(name)}：${t('refused_because', { r: error.message })}`
    setAction(text, 'error')
    announce(text)
    return { ok: false, text }
  }
}
