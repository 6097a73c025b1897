// The map: Leaflet with no tile layer (no tile server, no internet): the jurisdiction's
// boundary and stations as GeoJSON from the edge, units and incidents from the board.
// Units are drawn by status with a shape and text (not colour alone). The view is set
// once; afterwards nothing but the user moves the map.
import { c, lang } from './i18n.js'
import { store } from './live.js'
import { $ } from './dom.js'

export const UNIT_SHAPES = {
  available: '○',
  committed: '▲',
  on_scene: '■',
  out_of_service: '✕',
  unknown: '?',
}

/** What a status means, for counts and shapes: an unknown status is not available. */
export function meaning(status) {
  if (status === 'AVAILABLE' || status === 'RETURNING') return 'available'
  if (status === 'ON_SCENE' || status === 'STAGING') return 'on_scene'
  if (['RESERVED', 'ALERTED', 'ACKNOWLEDGED', 'EN_ROUTE'].includes(status)) return 'committed'
  if (status === 'OUT_OF_SERVICE') return 'out_of_service'
  return 'unknown'
}

function escapeHtml(text) {
  const span = document.createElement('span')
  span.textContent = text
  return span.innerHTML
}

let map = null
let unitLayer = null
let incidentLayer = null
let pickMarker = null
const unitMarkers = new Map()
const incidentMarkers = new Map()
// Labels never lie on one another: busy units at one spot (their station, mostly) are
// stacked below it, one line each, and an incident's label sits above its point.
const LINE = 18 // px: a label's height and a little
let slotOf = new Map() // busy unit id -> its line in the stack at its spot

function stackBusyUnits() {
  const spots = new Map()
  for (const [id, unit] of store.units) {
    if (meaning(unit.status) === 'available') continue
    const where = unit.location || unit.profile.home
    const spot = `${where.latitude.toFixed(4)}|${where.longitude.toFixed(4)}`
    if (!spots.has(spot)) spots.set(spot, [])
    spots.get(spot).push(id)
  }
  const slots = new Map()
  for (const ids of spots.values()) ids.sort().forEach((id, line) => slots.set(id, line))
  return slots
}

export function initMap(geojson, onPick, attribution = '') {
  const L = window.L
  map = L.map('map', {
    attributionControl: false,
    zoomSnap: 0.25,
    keyboard: true,
    preferCanvas: false,
  })
  const boundary = L.geoJSON(geojson, {
    filter: (f) => f.properties.kind === 'boundary',
    style: { className: 'boundary', weight: 2, fill: false, dashArray: '6 4' },
  }).addTo(map)
  L.geoJSON(geojson, {
    filter: (f) => f.properties.kind === 'station',
    pointToLayer: (feature, latlng) =>
      L.marker(latlng, {
        icon: L.divIcon({ className: 'station-icon', html: '<span></span>', iconSize: [10, 10] }),
        keyboard: false,
        title: `${feature.properties.id} ${feature.properties.name}`,
      }),
  }).addTo(map)
  unitLayer = L.layerGroup().addTo(map)
  incidentLayer = L.layerGroup().addTo(map)
  // The data's licence notice (OpenStreetMap's ODbL for a city built from its stations)
  // travels with the map; as text, never as HTML.
  if (attribution) {
    const notice = L.control.attribution({ prefix: false, position: 'bottomright' })
    notice.addAttribution(escapeHtml(attribution))
    notice.addTo(map)
  }
  // First view: where the stations are (the city), inside the jurisdiction's bounds.
  const stations = geojson.features.filter((f) => f.properties.kind === 'station')
  const core = stations.filter((f) => f.properties.tier === 'PROFESSIONAL')
  const points = (core.length ? core : stations).map((f) => [f.geometry.coordinates[1], f.geometry.coordinates[0]])
  if (points.length) map.fitBounds(L.latLngBounds(points).pad(0.6))
  else map.fitBounds(boundary.getBounds())
  map.on('click', (event) => onPick(event.latlng.lat, event.latlng.lng))
}

export function showPick(latitude, longitude) {
  if (!map) return
  const L = window.L
  if (Number.isNaN(latitude) || Number.isNaN(longitude)) {
    if (pickMarker) pickMarker.remove()
    pickMarker = null
    return
  }
  const icon = L.divIcon({ className: 'incident-icon', html: '<span>✚</span>', iconSize: null })
  if (!pickMarker) pickMarker = L.marker([latitude, longitude], { icon, keyboard: false }).addTo(map)
  else pickMarker.setLatLng([latitude, longitude])
}

function label(text) {
  const span = document.createElement('span')
  span.textContent = text
  return span
}

function drawUnit(id) {
  const L = window.L
  const unit = store.units.get(id)
  const held = unitMarkers.get(id)
  if (!unit) {
    if (held) held.marker.remove()
    unitMarkers.delete(id)
    return
  }
  const where = unit.location || unit.profile.home
  const kind = meaning(unit.status)
  const busy = kind !== 'available'
  // the label's language is part of what is drawn: a switch redraws the labelled ones
  const slot = slotOf.get(id) || 0
  const key = `${busy ? unit.status + lang() + slot : 'idle'}|${where.latitude}|${where.longitude}`
  if (held && held.key === key) return
  if (held) held.marker.remove()
  let marker
  if (busy) {
    // a busy unit: its shape, id and status as text (not colour alone)
    const text = `${UNIT_SHAPES[kind]} ${id} ${c(unit.status)}`
    const icon = L.divIcon({ className: 'unit-icon', html: label(text), iconSize: null, iconAnchor: [0, -slot * LINE] })
    marker = L.marker([where.latitude, where.longitude], {
      icon, keyboard: false, title: `${id} ${c(unit.status)}`, zIndexOffset: 500,
    })
  } else {
    // a free unit: a small open circle (the board's ○), cheap to draw by the hundred
    marker = L.circleMarker([where.latitude, where.longitude], {
      radius: 4, className: 'unit-idle', weight: 1.5, fill: false, interactive: false,
    })
  }
  marker.addTo(unitLayer)
  unitMarkers.set(id, { marker, key })
}

const LABELLED = 30 // incidents named on the map: the newest and the selected

function drawIncident(id, labelled) {
  const L = window.L
  const incident = store.incidents.get(id)
  const held = incidentMarkers.get(id)
  if (!incident || !incident.location) {
    if (held) held.marker.remove()
    incidentMarkers.delete(id)
    return
  }
  const named = labelled.has(id)
  const text = `▼ ${c(incident.incident_type)} ${incident.alarm_level}`
  const key = `${named ? text + lang() : 'dot'}|${incident.location.latitude}|${incident.location.longitude}`
  if (held && held.key === key) return
  if (held) held.marker.remove()
  const where = [incident.location.latitude, incident.location.longitude]
  // Named: a label with type and level. Others: a mark in the map's one SVG layer, so
  // hundreds of incidents cost one drawing, not hundreds of positioned elements.
  const marker = named
    ? L.marker(where, {
      icon: L.divIcon({ className: 'incident-icon', html: label(text), iconSize: null, iconAnchor: [0, LINE + 2] }),
      keyboard: false, title: incident.address || id, zIndexOffset: 1000,
    })
    : L.circleMarker(where, { radius: 5, className: 'incident-dot', weight: 2, interactive: false })
  marker.addTo(incidentLayer)
  incidentMarkers.set(id, { marker, key })
}

/** Which incidents carry a label: the selected one, then the highest level and newest. */
function labelledIncidents() {
  const chosen = [...store.incidents.values()]
    .sort((a, b) => b.alarm_level - a.alarm_level || (b.opened_at > a.opened_at ? 1 : -1))
    .slice(0, LABELLED)
    .map((i) => i.incident_id)
  if (selectedIncident) chosen.push(selectedIncident)
  return new Set(chosen)
}

let selectedIncident = ''
let labelledBefore = new Set()

export function selectOnMap(id) {
  selectedIncident = id
  drawBoard({ all: false, units: new Set(), incidents: new Set([id, ...labelledBefore]) })
}

/** Redraw units and incidents from the board (only `changed` ids when given, else all).
 * Never moves the view: the user alone pans and zooms. */
export function drawBoard(changed = null) {
  if (!map) return
  const everything = !changed || changed.all
  const units = new Set(everything ? [...store.units.keys(), ...unitMarkers.keys()] : changed.units)
  // a unit whose line in its stack changed (another came or went) is redrawn too
  const slots = stackBusyUnits()
  for (const [id, slot] of slots) if (slotOf.get(id) !== slot) units.add(id)
  for (const id of slotOf.keys()) if (!slots.has(id)) units.add(id)
  slotOf = slots
  const labelled = labelledIncidents()
  const incidents = everything ? new Set([...store.incidents.keys(), ...incidentMarkers.keys()]) : new Set(changed.incidents)
  // an incident that gained or lost its label is redrawn too
  for (const id of labelled) if (!labelledBefore.has(id)) incidents.add(id)
  for (const id of labelledBefore) if (!labelled.has(id)) incidents.add(id)
  labelledBefore = labelled
  for (const id of units) drawUnit(id)
  for (const id of incidents) drawIncident(id, labelled)
}

/** The map's view, for tests and for saving: [lat, lon, zoom]. */
export function view() {
  if (!map) return null
  const centre = map.getCenter()
  return [centre.lat, centre.lng, map.getZoom()]
}

let coverageLayer = null

/** The 5-minute circle as two shapes (cells reached now, cells not), or none (null). */
export function drawCoverage(data) {
  if (!map) return
  const L = window.L
  if (coverageLayer) coverageLayer.remove()
  coverageLayer = null
  if (!data) return
  const halfLat = data.cell_m / 2 / 111320
  const reached = []
  const gaps = []
  data.latitudes.forEach((lat, i) => {
    const lon = data.longitudes[i]
    const halfLon = halfLat / Math.cos((lat * Math.PI) / 180)
    const ring = [
      [lat - halfLat, lon - halfLon],
      [lat - halfLat, lon + halfLon],
      [lat + halfLat, lon + halfLon],
      [lat + halfLat, lon - halfLon],
    ]
    ;(data.covered[i] ? reached : gaps).push([ring])
  })
  coverageLayer = L.layerGroup()
  const style = { interactive: false, smoothFactor: 0 }
  if (reached.length) L.polygon(reached, { ...style, className: 'coverage-reached' }).addTo(coverageLayer)
  if (gaps.length) L.polygon(gaps, { ...style, className: 'coverage-gap' }).addTo(coverageLayer)
  coverageLayer.addTo(map)
  // under the units and incidents
  for (const layer of coverageLayer.getLayers()) layer.bringToBack()
}

export function focusMap() {
  $('map').focus()
}

export function invalidate() {
  if (map) map.invalidateSize(false)
}
