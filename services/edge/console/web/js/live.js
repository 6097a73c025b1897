// The page's picture of the boards and the live stream that keeps it current.
//
// The rule (no gap, no duplicate): open the stream, wait for its hello, fetch the board,
// then apply an item only when its stream version is above the version held for that
// stream (unit-<id>, incident-<id>), and show each event once (by event id). Items that
// arrive while the board is being fetched wait and are applied after it. After a lost
// connection the stream resumes after the last item seen: the same edge process sends
// exactly what was missed; another one (the edge restarted) sends everything since that
// moment, and the board is fetched again.
import { api } from './api.js'
import { setServerTime } from './format.js'

const ACTIVE = new Set(['OPEN', 'UNDER_CONTROL'])
const SEEN_LIMIT = 50000

export const store = {
  config: null,
  me: null,
  units: new Map(), // unit id -> unit (stream unit-<id>)
  incidents: new Map(), // active incidents by id (stream incident-<id>)
  ended: new Map(), // incident id -> version at which it left the board
  seen: new Set(), // event ids shown
  seenOrder: [],
}

// --- change notification, batched per animation frame ----------------------------------

const listeners = new Set()
let pending = new Set()
let pendingItems = []
let dirty = { units: new Set(), incidents: new Set(), all: false }
let frame = 0
let lastFlush = 0
// At most one redraw per this many ms: a burst of items is drawn together. An item after a
// quiet moment is drawn in the next frame; under load ten consoles on one small machine
// each draw ~8 frames a second instead of one per item (measured: p99 halved).
const MIN_FRAME_GAP = 100

/** listener(kinds, items, dirty): once per frame, with the kinds changed ('units',
 * 'incidents', 'feed'), the items applied and the ids changed (dirty.all: everything). */
export function onChange(listener) {
  listeners.add(listener)
}

function changed(kind, items, id) {
  pending.add(kind)
  if (items) pendingItems.push(...items)
  if (id === undefined && kind !== 'feed') dirty.all = true
  else if (id !== undefined) dirty[kind].add(id)
  if (frame) return
  const wait = lastFlush + MIN_FRAME_GAP - performance.now()
  frame = wait > 0 ? setTimeout(() => requestAnimationFrame(flush), wait) : requestAnimationFrame(flush)
}

function flush() {
  frame = 0
  lastFlush = performance.now()
  const kinds = pending
  const items = pendingItems
  const changedIds = dirty
  pending = new Set()
  pendingItems = []
  dirty = { units: new Set(), incidents: new Set(), all: false }
  const began = performance.now()
  for (const listener of listeners) listener(kinds, items, changedIds)
  const metrics = window.ucMetrics
  if (metrics && metrics.enabled) metrics.renderMs = (metrics.renderMs || 0) + performance.now() - began
  if (metrics && metrics.enabled) {
    const at = Date.now()
    for (const item of items) if (item.rec) metrics.latencies.push(at - item.rec / 1000)
  }
}

// --- the picture ------------------------------------------------------------------------

export function heldVersion(stream) {
  if (stream.startsWith('unit-')) return store.units.get(stream.slice(5))?.version ?? 0
  if (stream.startsWith('incident-')) {
    const id = stream.slice(9)
    return store.incidents.get(id)?.version ?? store.ended.get(id) ?? 0
  }
  return 0
}

function putIncident(incident) {
  const id = incident.incident_id
  if (!id || incident.status === 'INCIDENT_STATUS_UNSPECIFIED') return
  if (ACTIVE.has(incident.status)) {
    store.incidents.set(id, incident)
    store.ended.delete(id)
  } else {
    store.incidents.delete(id)
    store.ended.set(id, incident.version)
  }
}

export function applySnapshot(board) {
  store.units = new Map(board.units.map((u) => [u.profile.unit_id, u]))
  const kept = store.ended
  store.incidents = new Map()
  store.ended = kept
  for (const incident of board.incidents) putIncident(incident)
  changed('units')
  changed('incidents')
}

function remember(eventId) {
  store.seen.add(eventId)
  store.seenOrder.push(eventId)
  if (store.seenOrder.length > SEEN_LIMIT) store.seen.delete(store.seenOrder.shift())
}

/** Apply one item; returns whether it was news (not seen before). */
export function applyItem(item) {
  if (store.seen.has(item.id)) return false
  remember(item.id)
  if (item.kind && item.state && item.v > heldVersion(item.stream)) {
    if (item.kind === 'unit') {
      store.units.set(item.state.profile.unit_id, item.state)
      changed('units', null, item.state.profile.unit_id)
    } else {
      putIncident(item.state)
      changed('incidents', null, item.state.incident_id)
    }
  }
  changed('feed', [item])
  return true
}

/** Apply a unit or incident the API answered with, by the same version rule. */
export function applyEntity(kind, entity) {
  const stream = kind === 'unit' ? `unit-${entity.profile.unit_id}` : `incident-${entity.incident_id}`
  if (entity.version <= heldVersion(stream)) return
  if (kind === 'unit') store.units.set(entity.profile.unit_id, entity)
  else putIncident(entity)
  changed(kind === 'unit' ? 'units' : 'incidents', null, kind === 'unit' ? entity.profile.unit_id : entity.incident_id)
}

// --- the connection ----------------------------------------------------------------------

export class LiveConnection {
  constructor({ onStatus, onSessionEnded, onCaughtUp }) {
    this.onStatus = onStatus
    this.onSessionEnded = onSessionEnded
    this.onCaughtUp = onCaughtUp
    this.cursor = ''
    this.instance = ''
    this.source = null
    this.buffer = null // items waiting for the board being fetched
    this.retry = 0
    this.lastContact = 0
    this.stopped = false
    this.timer = 0
  }

  start() {
    this.stopped = false
    this.open()
  }

  stop() {
    this.stopped = true
    clearTimeout(this.timer)
    if (this.source) this.source.close()
    this.source = null
  }

  open() {
    const url = '/api/live' + (this.cursor ? `?after=${encodeURIComponent(this.cursor)}` : '')
    const source = new EventSource(url)
    this.source = source
    const resuming = Boolean(this.cursor)
    let caughtUp = 0 // items that were news after a reconnect
    source.addEventListener('hello', (event) => {
      const hello = JSON.parse(event.data)
      setServerTime(hello.server_time)
      this.contact()
      const restarted = hello.instance !== this.instance
      this.instance = hello.instance
      this.retry = 0
      this.counting = resuming
      const report = (fromBuffer = 0) => {
        // the backlog comes right after the hello: report what it held a moment later
        caughtUp += fromBuffer
        if (resuming) setTimeout(() => {
          this.counting = false
          this.onCaughtUp(caughtUp)
        }, 800)
      }
      if (restarted || !this.cursor) this.reloadBoard(report)
      else report()
      this.onStatus('live')
    })
    source.addEventListener('change', (event) => {
      this.contact()
      this.cursor = event.lastEventId || this.cursor
      const item = JSON.parse(event.data)
      const metrics = window.ucMetrics
      if (metrics && metrics.enabled && item.rec) metrics.arrivals.push(Date.now() - item.rec / 1000)
      if (this.buffer) this.buffer.push(item)
      else if (applyItem(item) && this.counting) caughtUp += 1
    })
    source.addEventListener('reset', () => this.reloadBoard(() => {}))
    source.addEventListener('expired', () => {
      this.stop()
      this.onSessionEnded()
    })
    source.addEventListener('message', () => this.contact())
    source.onerror = () => {
      source.close()
      if (this.source !== source || this.stopped) return
      this.source = null
      this.onStatus('lost', this.lastContact)
      const wait = Math.min(500 * 2 ** this.retry, 3000)
      this.retry += 1
      this.timer = setTimeout(() => this.reconnect(), wait)
    }
  }

  async reconnect() {
    if (this.stopped) return
    try {
      await api.get('/api/session') // a 401 here means the session ended, not the network
    } catch (error) {
      if (error.status === 401) return // the session-ended handler took over
      const wait = Math.min(500 * 2 ** this.retry, 3000)
      this.retry += 1
      this.timer = setTimeout(() => this.reconnect(), wait)
      return
    }
    this.open()
  }

  contact() {
    this.lastContact = Date.now()
  }

  async reloadBoard(then) {
    this.buffer = this.buffer || []
    for (;;) {
      try {
        const board = await api.get('/api/board')
        applySnapshot(board)
        break
      } catch (error) {
        if (error.status === 401) return
        await new Promise((resolve) => setTimeout(resolve, 1000))
      }
    }
    const waiting = this.buffer
    this.buffer = null
    let news = 0
    for (const item of waiting) if (applyItem(item)) news += 1
    then(news)
  }
}
