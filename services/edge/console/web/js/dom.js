// Small DOM helpers: elements built from data (text is always set as text, never as
// HTML), the screen-reader announcer and the optional alert sound.
import { t } from './i18n.js'

export const $ = (id) => document.getElementById(id)

/** el('li', {class: 'x', dataset: {id: 1}}, 'text', childNode, ...) */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue
    if (key === 'class') node.className = value
    else if (key === 'dataset') Object.assign(node.dataset, value)
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value)
    else node.setAttribute(key, value === true ? '' : value)
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue
    node.append(child instanceof Node ? child : document.createTextNode(String(child)))
  }
  return node
}

/** True while an input method is composing (pinyin): such keys are never shortcuts. */
export function composing(event) {
  return event.isComposing || event.keyCode === 229
}

/** Say something to screen readers now (and keep it on screen in the feed elsewhere). */
export function announce(message) {
  const region = $('announcer')
  region.textContent = ''
  // a new text node in a fresh task, so the same message twice is announced twice
  setTimeout(() => {
    region.textContent = message
  }, 30)
}

let audio = null
let armed = false

export function soundArmed() {
  return armed
}

/** The sound needs a click first (browsers allow audio only after one). */
export function toggleSound() {
  armed = !armed
  if (armed && !audio) audio = new AudioContext()
  return armed
}

export function beep() {
  if (!armed || !audio) return
  const oscillator = audio.createOscillator()
  const gain = audio.createGain()
  oscillator.frequency.value = 880
  gain.gain.value = 0.15
  oscillator.connect(gain).connect(audio.destination)
  oscillator.start()
  oscillator.stop(audio.currentTime + 0.25)
}

/** Fill [data-i18n] and [data-i18n-placeholder] elements with the current language. */
export function translatePage() {
  for (const node of document.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n)
  for (const node of document.querySelectorAll('[data-i18n-placeholder]')) {
    node.placeholder = t(node.dataset.i18nPlaceholder)
  }
}
