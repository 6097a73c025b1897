// The console's start: log-in, the panels, the live connection, keyboard shortcuts,
// language, theme and the clocks that tick every second.
import { api, setCsrf, whenSessionEnds } from './api.js'
import { $, announce, composing, el, soundArmed, toggleSound, translatePage } from './dom.js'
import { clock, now, resetFormats, setTimeZone } from './format.js'
import { c, lang, setLang, t } from './i18n.js'
import { LiveConnection, onChange, store } from './live.js'
import { initCoverage, toggleCoverage, unitsChanged as coverageUnitsChanged } from './coverage.js'
import { drawBoard, focusMap, initMap, invalidate, selectOnMap, view } from './map.js'
import {
  dispatchAll, focusIntake, hasRecommendation, initIntake, linkSelectedDuplicate,
  moveDuplicateSelection, pickLocation,
} from './intake.js'
import {
  feedItems, focusQueue, initQueue, relabelFeed, relabelQueue, renderQueue, setSelected, tickQueue,
} from './queue.js'
import { focusUnits, initUnits, relabelUnits, renderUnits } from './units.js'
import { liveItems, openIncident, relabelIncident, renderClocks } from './incident.js'
import { closeCommandLine, initCommandLine, openCommandLine } from './command.js'

window.ucMetrics = { enabled: false, latencies: [], arrivals: [], ready: null }
window.ucView = view // tests read the map's view through this
// what the page holds, for tests and the benchmark
window.ucBoard = () => ({ incidents: store.incidents.size, units: store.units.size })

let connection = null
let started = false
let readyPending = false
let lostSince = 0

const SHORTCUTS = [
  ['F2 / Alt+N', 'new_call'],
  ['Ctrl+Enter', 'submit_call'],
  ['Alt+L', 'link_call'],
  ['Alt+D', 'dispatch_all'],
  ['Alt+Q', 'queue'],
  ['Alt+I', 'incident_view'],
  ['Alt+U', 'units'],
  ['Alt+M', 'map'],
  ['Alt+C', 'coverage'],
  ['/', 'command_line'],
  ['Alt+T', 'theme_night'],
  ['F1 / ?', 'help'],
  ['Esc', 'close_help'],
]

function applyTheme(theme) {
  document.documentElement.dataset.theme = theme
  localStorage.setItem('uc.theme', theme)
  const night = theme === 'night'
  $('theme-button').textContent = night ? t('theme_day') : t('theme_night')
  $('theme-button').setAttribute('aria-pressed', String(night))
}

function refreshTexts() {
  resetFormats()
  translatePage()
  applyTheme(document.documentElement.dataset.theme || 'day')
  $('sound-button').textContent = soundArmed() ? t('sound_on') : t('sound_off')
  $('help-list').replaceChildren(...SHORTCUTS.flatMap(([keys, label]) => [el('dt', {}, keys), el('dd', {}, t(label))]))
  if (store.me) {
    const me = store.me.operator
    $('whoami').textContent = `${me.name} (${me.id})${me.can_write ? '' : ' · ' + t('read_only')}`
    $('jurisdiction').textContent = `${store.config.jurisdiction.name} · ${store.config.jurisdiction.time_zone}`
  }
}

function switchLanguage() {
  setLang(lang() === 'zh' ? 'en' : 'zh')
  refreshTexts()
  if (started) {
    initIntakeOptions()
    renderAll()
    relabelFeed()
    relabelIncident()
    setConnection(lostSince ? 'lost' : 'live', lostSince)
  }
}

function initIntakeOptions() {
  // Option labels of the selects follow the language; values stay.
  for (const select of document.querySelectorAll('#intake-form select, .filters select')) {
    for (const option of select.options) if (option.value) option.textContent = c(option.value)
  }
}

function showLogin(message = '') {
  $('app').hidden = true
  $('login').hidden = false
  $('login-message').textContent = message
  $('login-user').focus()
}

async function logIn(event) {
  event.preventDefault()
  const user = $('login-user').value.trim()
  const password = $('login-password').value
  $('login-message').textContent = t('logging_in')
  $('login-button').disabled = true
  try {
    await api.post('/api/session', { username: user, password })
    $('login-password').value = ''
    await start()
  } catch (error) {
    $('login-message').textContent = error.message
  } finally {
    $('login-button').disabled = false
  }
}

function sessionEnded() {
  // Only a session that was running can have ended: a first visit just asks to log in.
  const wasRunning = started
  if (connection) connection.stop()
  connection = null
  started = false
  showLogin(wasRunning ? t('session_ended') : '')
}

function setConnection(status, lastContact) {
  const node = $('connection')
  if (status === 'live') {
    lostSince = 0
    node.className = 'connection live'
    node.textContent = `● ${t('live')}`
  } else {
    lostSince = lastContact || Date.now()
    node.className = 'connection lost'
    node.textContent = `○ ${t('data_as_of', { t: clock(lostSince) })}`
  }
}

function renderAll() {
  relabelQueue()
  relabelUnits()
  drawBoard()
}

async function start() {
  // the map's layers come with the configuration, in parallel (page-ready time)
  const [config, geojson] = await Promise.all([api.get('/api/config'), api.get('/api/map')])
  store.config = config
  store.me = { operator: config.operator, csrf_token: config.csrf_token }
  setCsrf(config.csrf_token)
  setTimeZone(config.jurisdiction.time_zone)
  $('login').hidden = true
  $('app').hidden = false
  refreshTexts()
  if (!started) {
    started = true
    initMap(geojson, (lat, lon) => pickLocation(lat, lon), config.jurisdiction.attribution)
    initIntake((id) => select(id))
    initQueue((id) => select(id))
    initUnits()
    initCommandLine()
    initCoverage()
    onChange((kinds, items, changed) => {
      if (kinds.has('incidents') || kinds.has('units')) {
        renderQueue(changed.all ? null : changed.incidents)
        drawBoard(changed)
      }
      if (kinds.has('units')) {
        renderUnits(changed.all ? null : changed.units)
        coverageUnitsChanged()
      }
      if (kinds.has('feed')) feedItems(items)
      liveItems(items)
      if (window.ucMetrics.ready === null && store.units.size && !readyPending) {
        // the boards are drawn in this frame: ready at the start of the next one
        readyPending = true
        requestAnimationFrame(() => {
          window.ucMetrics.ready = performance.now() // ms since navigation started
          document.body.dataset.ready = 'true'
        })
      }
    })
  }
  setConnection('lost', Date.now())
  $('connection').textContent = t('connecting')
  connection = new LiveConnection({
    onStatus: setConnection,
    onSessionEnded: sessionEnded,
    onCaughtUp: (count) => {
      if (count) announce(t('reconnected', { n: count }))
    },
  })
  connection.start()
  invalidate()
  focusIntake()
}

async function select(id) {
  setSelected(id)
  selectOnMap(id)
  await openIncident(id)
}

function typing(target) {
  // where a typed character is text (a select only picks from its list: not typing)
  return target && (target.isContentEditable || ['INPUT', 'TEXTAREA'].includes(target.tagName))
}

function onKey(event) {
  if (composing(event)) return // pinyin being composed: no key is a shortcut
  if (!started || !$('login').hidden) return
  const key = event.key
  if (!$('help').hidden && key === 'Escape') {
    $('help').hidden = true
    return
  }
  if (key === 'F1' || (key === '?' && !typing(event.target))) {
    event.preventDefault()
    $('help').hidden = false
    $('help-close').focus()
    return
  }
  if ((key === '/' && !typing(event.target)) || (key === '/' && event.ctrlKey)) {
    event.preventDefault()
    openCommandLine()
    return
  }
  if (key === 'F2' || (event.altKey && key.toLowerCase() === 'n')) {
    event.preventDefault()
    focusIntake()
    return
  }
  if (!event.altKey) return
  const action = {
    q: focusQueue,
    i: () => $('incident-body').focus(),
    u: focusUnits,
    m: focusMap,
    c: toggleCoverage,
    l: linkSelectedDuplicate,
    d: () => hasRecommendation() && dispatchAll(),
    t: () => applyTheme(document.documentElement.dataset.theme === 'night' ? 'day' : 'night'),
    arrowdown: () => moveDuplicateSelection(1),
    arrowup: () => moveDuplicateSelection(-1),
  }[key.toLowerCase()]
  if (action) {
    event.preventDefault()
    action()
  }
}

async function boot() {
  setLang(lang())
  applyTheme(localStorage.getItem('uc.theme') || 'day')
  refreshTexts()
  $('login-form').addEventListener('submit', logIn)
  for (const button of document.querySelectorAll('.lang-switch')) button.addEventListener('click', switchLanguage)
  $('theme-button').addEventListener('click', () => applyTheme(document.documentElement.dataset.theme === 'night' ? 'day' : 'night'))
  $('sound-button').addEventListener('click', () => {
    const on = toggleSound()
    $('sound-button').setAttribute('aria-pressed', String(on))
    $('sound-button').textContent = on ? t('sound_on') : t('sound_off')
  })
  $('help-button').addEventListener('click', () => {
    $('help').hidden = false
    $('help-close').focus()
  })
  $('help-close').addEventListener('click', () => {
    $('help').hidden = true
  })
  $('logout-button').addEventListener('click', async () => {
    try {
      await api.delete('/api/session')
    } finally {
      sessionEnded()
      $('login-message').textContent = ''
    }
  })
  document.addEventListener('keydown', onKey)
  whenSessionEnds(sessionEnded)
  setInterval(() => {
    $('clock').textContent = clock(now())
    if (started) {
      tickQueue()
      renderUnits(new Set())
      renderClocks()
      if (lostSince) setConnection('lost', lostSince)
    }
  }, 1000)
  try {
    await start()
  } catch (error) {
    if (error.status === 401) showLogin()
    else showLogin(error.message)
  }
}

boot()
