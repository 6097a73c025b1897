// The map: Leaflet with no tile layer (no tile server, no internet): the jurisdiction's
// boundary and stations as GeoJSON from the edge, units and incidents from the board.
// Units are drawn by status with a shape and text (not colour alone). The view is set
// once; afterwards nothing but the user moves the map.
import { c } from './i18n.js'
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

let map = null
let unitLayer = null
let incidentLayer = null
let pickMarker = null
const unitMarkers = new Map()
const incidentMarkers = new Map()

export function initMap(geojson, onPick) {
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

/** Redraw units and incidents from the board. Never moves the view. */
export function drawBoard() {
  if (!map) return
  const L = window.L
  const seen = new Set()
  for (const unit of store.units.values()) {
    const id = unit.profile.unit_id
    seen.add(id)
    const where = unit.location || unit.profile.home
    const kind = meaning(unit.status)
    const busy = kind !== 'available'
    const text = busy ? `${UNIT_SHAPES[kind]} ${id} ${c(unit.status)}` : UNIT_SHAPES[kind]
    const key = `${text}|${where.latitude}|${where.longitude}`
    const held = unitMarkers.get(id)
    if (held && held.key === key) continue
    const icon = L.divIcon({ className: busy ? 'unit-icon' : 'unit-icon idle', html: label(text), iconSize: null })
    if (held) {
      held.marker.setIcon(icon)
      held.marker.setLatLng([where.latitude, where.longitude])
      held.key = key
    } else {
      const marker = L.marker([where.latitude, where.longitude], {
        icon, keyboard: false, title: `${id} ${c(unit.status)}`, zIndexOffset: busy ? 500 : 0,
      }).addTo(unitLayer)
      unitMarkers.set(id, { marker, key })
    }
  }
  for (const [id, held] of unitMarkers) {
    if (!seen.has(id)) {
      held.marker.remove()
      unitMarkers.delete(id)
    }
  }
  const open = new Set()
  for (const incident of store.incidents.values()) {
    if (!incident.location) continue
    const id = incident.incident_id
    open.add(id)
    const text = `▼ ${c(incident.incident_type)} ${incident.alarm_level}`
    const key = `${text}|${incident.location.latitude}|${incident.location.longitude}`
    const held = incidentMarkers.get(id)
    if (held && held.key === key) continue
    const icon = L.divIcon({ className: 'incident-icon', html: label(text), iconSize: null })
    if (held) {
      held.marker.setIcon(icon)
      held.key = key
    } else {
      const marker = L.marker([incident.location.latitude, incident.location.longitude], {
        icon, keyboard: false, title: incident.address || id, zIndexOffset: 1000,
      }).addTo(incidentLayer)
      incidentMarkers.set(id, { marker, key })
    }
  }
  for (const [id, held] of incidentMarkers) {
    if (!open.has(id)) {
      held.marker.remove()
      incidentMarkers.delete(id)
    }
  }
}

/** The map's view, for tests and for saving: [lat, lon, zoom]. */
export function view() {
  if (!map) return null
  const centre = map.getCenter()
  return [centre.lat, centre.lng, map.getZoom()]
}

export function focusMap() {
  $('map').focus()
}

export function invalidate() {
  if (map) map.invalidateSize(false)
}
