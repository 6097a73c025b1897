// The console's HTTP API: JSON in and out, the CSRF token and an Idempotency-Key on every
// write, problem documents turned into ApiError (status, detail, field errors).

let csrf = ''
let onSessionEnded = () => {}

export function setCsrf(token) {
  csrf = token
}

export function whenSessionEnds(callback) {
  onSessionEnded = callback
}

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`)
    this.status = status
    this.title = problem.title || ''
    this.errors = problem.errors || []
  }

  /** The message for one field, if the problem names it. */
  fieldMessage(field) {
    const found = this.errors.find((e) => e.field === field || e.field.startsWith(field + '.'))
    return found ? found.message : ''
  }
}

async function request(method, path, body, key) {
  const headers = { Accept: 'application/json' }
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  if (method !== 'GET') {
    headers['X-CSRF-Token'] = csrf
    if (key) headers['Idempotency-Key'] = key
  }
  let reply
  try {
    reply = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    })
  } catch (error) {
    throw new ApiError(0, { title: 'NETWORK', detail: String(error.message || error) })
  }
  const text = await reply.text()
  let data = {}
  try {
    data = text ? JSON.parse(text) : {}
  } catch {
    data = { detail: text.slice(0, 200) }
  }
  if (!reply.ok) {
    const error = new ApiError(reply.status, data)
    if (reply.status === 401 && path !== '/api/session') onSessionEnded(error)
    throw error
  }
  return data
}

export const api = {
  get: (path) => request('GET', path),
  post: (path, body, key) => request('POST', path, body ?? {}, key),
  delete: (path) => request('DELETE', path),
}

/** A new idempotency key: one per user action, reused when the action is retried. */
export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID()
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

/** Keeps one key per action while its input stays the same (a retry), a new one otherwise. */
export class ActionKeys {
  constructor() {
    this.keys = new Map()
  }

  for(action, input) {
    const fingerprint = JSON.stringify(input)
    const held = this.keys.get(action)
    if (held && held.fingerprint === fingerprint) return held.key
    const key = newKey()
    this.keys.set(action, { key, fingerprint })
    return key
  }

  done(action) {
    this.keys.delete(action)
  }
}
