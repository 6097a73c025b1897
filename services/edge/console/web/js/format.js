// Times in the jurisdiction's zone (never the browser's), 24-hour; durations as m:ss.
import { lang, t } from './i18n.js'

let zone = 'UTC'
let clockFormat = null
let dateTimeFormat = null
// The server's clock minus ours (ms): ages and countdowns are counted on the server's time.
let skew = 0

export function setTimeZone(name) {
  zone = name
  clockFormat = null
  dateTimeFormat = null
}

export function timeZone() {
  return zone
}

export function setServerTime(serverSeconds) {
  skew = serverSeconds * 1000 - Date.now()
}

/** Now, in ms since the epoch, by the server's clock. */
export function now() {
  return Date.now() + skew
}

function formats() {
  if (!clockFormat) {
    const locale = lang() === 'zh' ? 'zh-CN' : 'en-GB'
    clockFormat = new Intl.DateTimeFormat(locale, {
      timeZone: zone, hourCycle: 'h23', hour: '2-digit', minute: '2-digit', second: '2-digit',
    })
    dateTimeFormat = new Intl.DateTimeFormat(locale, {
      timeZone: zone, hourCycle: 'h23', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit',
    })
  }
  return [clockFormat, dateTimeFormat]
}

export function resetFormats() {
  clockFormat = null
}

/** "14:05:09" in the jurisdiction's zone, from ms, an ISO string or µs. */
export function clock(value) {
  const ms = toMs(value)
  return ms === null ? t('nothing') : formats()[0].format(new Date(ms))
}

export function dateTime(value) {
  const ms = toMs(value)
  return ms === null ? t('nothing') : formats()[1].format(new Date(ms))
}

export function toMs(value) {
  if (value === null || value === undefined || value === '') return null
  if (typeof value === 'number') return value > 1e14 ? value / 1000 : value
  const ms = Date.parse(value)
  return Number.isNaN(ms) || ms <= 0 ? null : ms
}

/** "3:07" for 187 s; "-0:05" for a deadline passed; hours as "1:02:03". */
export function duration(seconds) {
  const sign = seconds < 0 ? '-' : ''
  let s = Math.floor(Math.abs(seconds))
  const h = Math.floor(s / 3600)
  s -= h * 3600
  const m = Math.floor(s / 60)
  s -= m * 60
  const ss = String(s).padStart(2, '0')
  return h ? `${sign}${h}:${String(m).padStart(2, '0')}:${ss}` : `${sign}${m}:${ss}`
}

export function km(value) {
  return t('distance_km', { d: Number(value).toFixed(1) })
}

/** Distance in metres between two {latitude, longitude} (equirectangular: city scale). */
export function metres(a, b) {
  const rad = Math.PI / 180
  const x = (b.longitude - a.longitude) * rad * Math.cos(((a.latitude + b.latitude) / 2) * rad)
  const y = (b.latitude - a.latitude) * rad
  return Math.sqrt(x * x + y * y) * 6371000
}

/** "13分47秒" / "13m 47s": a length of time, not a time of day. */
export function minutes(seconds) {
  const s = Math.max(0, Math.round(seconds))
  return t('min_s', { m: Math.floor(s / 60), s: s % 60 })
}
