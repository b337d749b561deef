// The studio's only way to the server: the public HTTP API, with the user's key on every call.
// The key lives in this browser (localStorage) and nowhere else.

const KEY_STORAGE = "songforge.apiKey";

export class ApiError extends Error {
  /** An API refusal: `field` names the input it is about when the API says so. */
  constructor(status, message, { code = null, field = null, limit = null, retryAfterS = null } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
    this.limit = limit;
    this.retryAfterS = retryAfterS;
  }
}

export function savedKey() {
  return localStorage.getItem(KEY_STORAGE) || "";
}

export function saveKey(key) {
  if (key) localStorage.setItem(KEY_STORAGE, key);
  else localStorage.removeItem(KEY_STORAGE);
}

function headers(extra = {}) {
  const key = savedKey();
  return key ? { Authorization: `Bearer ${key}`, ...extra } : { ...extra };
}

async function errorOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const retry = response.headers.get("Retry-After");
  const extra = { retryAfterS: retry ? Number(retry) : null };
  if (body && body.error && typeof body.error === "object") {
    // the native envelope: {"error": {"code", "message", "field", "limit"}}
    const { code, message, field, limit } = body.error;
    return new ApiError(response.status, message || code, { code, field, limit, ...extra });
  }
  if (body && (body.msg || body.message)) {
    // the Suno dialect's envelope (reference-audio routes): {"code", "msg"}
    return new ApiError(response.status, body.msg || body.message, { code: String(body.code), ...extra });
  }
  return new ApiError(response.status, `${response.status} ${response.statusText}`, extra);
}

/** `fetch` with the key; JSON in and out; an ApiError for any refusal. */
export async function call(method, path, body = undefined) {
  const init = { method, headers: headers() };
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (!response.ok) throw await errorOf(response);
  const data = await response.json();
  // the Suno dialect answers HTTP 200 with its own code in the body
  if (data && typeof data.code === "number" && data.code !== 200 && "msg" in data) {
    throw new ApiError(data.code, data.msg, { code: String(data.code) });
  }
  return data;
}

/**
 * Follow a job's Server-Sent Events (with the key, which EventSource cannot send).
 * `handlers` has one function per event name: progress, audio, done, error.
 * Resolves when the stream ends; `signal` aborts it.
 */
export async function followEvents(path, handlers, signal) {
  const response = await fetch(path, { headers: headers({ Accept: "text/event-stream" }), signal });
  if (!response.ok) throw await errorOf(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replace(/\r\n/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      dispatch(buffer.slice(0, end), handlers);
      buffer = buffer.slice(end + 2);
    }
  }
}

function dispatch(block, handlers) {
  let name = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) name = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  if (!data.length || !handlers[name]) return;
  handlers[name](JSON.parse(data.join("\n")));
}

/** Base64 text to bytes. */
export function bytesOf(base64) {
  const text = atob(base64);
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i += 1) out[i] = text.charCodeAt(i);
  return out;
}
