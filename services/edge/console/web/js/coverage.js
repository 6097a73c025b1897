// The 5-minute circle on the map, on demand (Alt+C or the button): dispatch's coverage
// through the edge (/api/coverage): the cells capable units available now reach within
// 5 minutes and those they do not, the share now and with every unit in quarters, the
// districts that fell out and the move-up. Refreshed while shown when units change (at
// most every 5 s).
import { api } from './api.js'
import { $ } from './dom.js'
import { c, t } from './i18n.js'
import { drawCoverage } from './map.js'

let shown = false
let pending = null
let last = 0
const REFRESH_MS = 5000

function pct(share) {
  return `${(100 * (share || 0)).toFixed(1)}%`
}

function summarize(data) {
  const lines = [
    t('coverage_summary', {
      now: pct(data.share_now),
      full: pct(data.share_all),
      free: data.available_units,
      all: data.capable_units,
      cap: c(data.capability),
    }),
  ]
  if (data.fallen.length) {
    const list = data.fallen
      .slice(0, 5)
      .map((d) => `${d.district} ${pct(d.share_all)} → ${pct(d.share_now)}`)
      .join(', ')
    lines.push(t('coverage_fallen', { list }))
  }
  const move = data.move_up
  if (move && move.unit_id) {
    lines.push(
      t('coverage_move_up', {
        unit: move.unit_id,
        from: move.from_station,
        to: move.to_station,
        before: pct(move.share_before),
        after: pct(move.share_after),
      }),
    )
  } else if (data.committed_unit_ids.length) {
    lines.push(t('coverage_no_move'))
  }
  return lines
}

async function refresh() {
  last = Date.now()
  const summary = $('coverage-summary')
  try {
    const data = await api.get('/api/coverage')
    if (!shown) return
    drawCoverage(data)
    summary.replaceChildren(
      ...summarize(data).map((line) => {
        const div = document.createElement('div')
        div.textContent = line
        return div
      }),
    )
  } catch (error) {
    summary.textContent = error.message || String(error)
  }
}

export function toggleCoverage() {
  shown = !shown
  const button = $('coverage-toggle')
  button.setAttribute('aria-pressed', String(shown))
  const summary = $('coverage-summary')
  summary.hidden = !shown
  if (!shown) {
    drawCoverage(null)
    summary.textContent = ''
    return
  }
  summary.textContent = t('coverage_loading')
  refresh()
}

/** Units changed: redraw the circle if it is shown (not more often than every 5 s). */
export function unitsChanged() {
  if (!shown || pending) return
  const wait = Math.max(0, last + REFRESH_MS - Date.now())
  pending = setTimeout(() => {
    pending = null
    if (shown) refresh()
  }, wait)
}

export function initCoverage() {
  $('coverage-toggle').addEventListener('click', toggleCoverage)
}
