// What the studio and the dashboard share: the API key (kept per tab in sessionStorage, or
// in localStorage only when the user asks to be remembered; sent as a header, never in a URL),
// calls to the public API, what the server offers, progress streams, theme and notices.

const KEY_NAME = "musewave.key";
const THEME_NAME = "musewave.theme";
export const STAGES = [
  "queued", "planning", "composing", "rendering", "vocals", "mixing", "mastering",
  "video", "encoding", "validating", "completed",
];
const TERMINAL = new Set(["completed", "failed", "cancelled"]);

export function apiKey() {
  return sessionStorage.getItem(KEY_NAME) ?? localStorage.getItem(KEY_NAME);
}

export function storeKey(secret, remember) {
  forgetKey();
  (remember ? localStorage : sessionStorage).setItem(KEY_NAME, secret);
}

export function forgetKey() {
  sessionStorage.removeItem(KEY_NAME);
  localStorage.removeItem(KEY_NAME);
}

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

function authHeaders(extra = {}) {
  const headers = { ...extra };
  const key = apiKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  return headers;
}

// A JSON call to the API; throws ApiError with the problem document on a 4xx/5xx.
export async function api(path, { method = "GET", body, signal } = {}) {
  const headers = authHeaders({ Accept: "application/json" });
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method, headers, signal, cache: "no-store",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    let problem = {};
    try { problem = await response.json(); } catch { /* not JSON */ }
    throw new ApiError(response.status, problem);
  }
  return response.status === 204 ? null : response.json();
}

// A file of the API (an asset) as a Blob, fetched with the key.
export async function fetchBlob(path, { signal } = {}) {
  const response = await fetch(path, { headers: authHeaders(), signal });
  if (!response.ok) throw new ApiError(response.status, {});
  return response.blob();
}

export async function whoAmI() {
  try {
    return await api("/v1/me");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
}

// What this server offers, read from its OpenAPI document: optional routes (prompt enhancer,
// suggestions) and request fields that depend on optional stages (vocals, video).
let featuresPromise = null;
export function serverFeatures() {
  featuresPromise ??= fetch("/openapi.json", { headers: { Accept: "application/json" } })
    .then((r) => (r.ok ? r.json() : { paths: {}, components: { schemas: {} } }))
    .then(readFeatures)
    .catch(() => readFeatures({ paths: {}, components: { schemas: {} } }));
  return featuresPromise;
}

function readFeatures(doc) {
  const paths = doc.paths || {};
  const ref = paths["/v1/generations"]?.post?.requestBody?.content?.["application/json"]?.schema?.$ref;
  const body = ref ? doc.components?.schemas?.[ref.split("/").pop()] ?? {} : {};
  const props = body.properties || {};
  const genres = props.genres?.items?.examples || [];
  const formats = props.formats?.items?.enum || ["mp3", "wav", "flac", "ogg", "opus"];
  const video = props.generate_video;
  return {
    enhance: Boolean(paths["/v1/prompt/enhance"]?.post),
    suggest: Object.keys(paths).filter((p) => p.startsWith("/v1/suggest/")),
    // The vocals stage adds its voice presets to the request; until then lyrics are ignored.
    vocals: "voice" in props,
    video: Boolean(video) && video.const !== false,
    genres,
    formats,
    timeSignatures: props.time_signature?.enum || ["4/4", "3/4"],
    durationRange: [props.duration_s?.minimum ?? 30, props.duration_s?.maximum ?? 120],
  };
}

// Live progress of one job: WebSocket first (the key as the `bearer, <key>` subprotocols),
// reconnecting after a drop; after repeated failures to connect, Server-Sent Events read with
// fetch (EventSource cannot send the Authorization header). Each (re)connection starts with
// the job's current state, so nothing is lost across a drop.
export class ProgressStream {
  constructor(jobId, { onEvent, onStatus }) {
    this.jobId = jobId;
    this.onEvent = onEvent;
    this.onStatus = onStatus;
    this.finished = false;
    this.stopped = false;
    this.failedOpens = 0;
    this.retries = 0;
    this.socket = null;
    this.abort = null;
    this.timer = null;
    this.transport = null;
  }

  start() {
    this.connectSocket();
    return this;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.socket) this.socket.close(1000);
    if (this.abort) this.abort.abort();
  }

  deliver(event) {
    if (TERMINAL.has(event.type)) this.finished = true;
    this.onEvent(event);
  }

  connectSocket() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const url = `${scheme}://${location.host}/ws/progress/${encodeURIComponent(this.jobId)}`;
    const key = apiKey();
    const socket = key ? new WebSocket(url, ["bearer", key]) : new WebSocket(url);
    this.socket = socket;
    // A socket counts as working once it delivers the job's first event: one that opens and
    // drops at once (a proxy that refuses WebSockets) counts as a failure, towards SSE.
    let delivered = false;
    socket.addEventListener("open", () => {
      this.transport = "WebSocket";
      this.onStatus("live", "WebSocket");
    });
    socket.addEventListener("message", (message) => {
      if (!delivered) {
        delivered = true;
        this.failedOpens = 0;
        this.retries = 0;
      }
      try { this.deliver(JSON.parse(message.data)); } catch { /* not an event */ }
    });
    socket.addEventListener("close", (close) => {
      if (this.socket === socket) this.socket = null;
      if (this.stopped || this.finished) return;
      if (close.code === 4401) return this.onStatus("refused", "the API key was refused");
      if (close.code === 4404) return this.onStatus("refused", "no such job for this key");
      if (!delivered) this.failedOpens += 1;
      if (this.failedOpens >= 2) this.connectEvents();
      else this.retry(() => this.connectSocket());
    });
  }

  retry(connect) {
    this.retries += 1;
    const delay = Math.min(500 * 2 ** (this.retries - 1), 5000);
    this.onStatus("reconnecting", `connection lost; reconnecting in ${Math.round(delay / 100) / 10} s`);
    this.timer = setTimeout(() => { if (!this.stopped) connect(); }, delay);
  }

  async connectEvents() {
    this.abort = new AbortController();
    try {
      const response = await fetch(`/v1/jobs/${encodeURIComponent(this.jobId)}/events`, {
        headers: authHeaders({ Accept: "text/event-stream" }),
        signal: this.abort.signal,
        cache: "no-store",
      });
      if (!response.ok) throw new ApiError(response.status, {});
      this.transport = "Server-Sent Events";
      this.retries = 0;
      this.onStatus("live", "Server-Sent Events");
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = frame.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("\n");
          if (data) {
            try {
              const event = JSON.parse(data);
              if (event.job_id) this.deliver(event);
            } catch { /* a comment or a server notice */ }
          }
        }
      }
    } catch (error) {
      if (this.stopped) return;
      if (error instanceof ApiError && (error.status === 401 || error.status === 404)) {
        return this.onStatus("refused", "no such job for this key");
      }
    }
    if (!this.stopped && !this.finished) {
      // The stream ended early: try the WebSocket again, then this again.
      this.failedOpens = 0;
      this.retry(() => this.connectSocket());
    }
  }
}

export function toast(message) {
  const box = document.getElementById("toast");
  if (!box) return;
  box.textContent = message;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.textContent = ""; }, 4000);
}

export function setupTheme() {
  const button = document.getElementById("theme-button");
  const order = ["auto", "light", "dark"];
  const apply = (theme) => {
    if (theme === "auto") delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = theme;
    button.textContent = `Theme: ${theme}`;
  };
  apply(localStorage.getItem(THEME_NAME) || "auto");
  button.addEventListener("click", () => {
    const current = localStorage.getItem(THEME_NAME) || "auto";
    const next = order[(order.indexOf(current) + 1) % order.length];
    localStorage.setItem(THEME_NAME, next);
    apply(next);
  });
}

// The key dialog and the "who am I" line. `onChange` runs after a key is used or forgotten.
export function setupKeyDialog(onChange) {
  const dialog = document.getElementById("key-dialog");
  const input = document.getElementById("key-input");
  const remember = document.getElementById("key-remember");
  const error = document.getElementById("key-error");
  document.getElementById("key-button").addEventListener("click", () => openKeyDialog());
  document.getElementById("key-close").addEventListener("click", () => dialog.close());
  document.getElementById("key-forget").addEventListener("click", async () => {
    forgetKey();
    input.value = "";
    dialog.close();
    await showWho();
    onChange();
  });
  document.getElementById("key-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const secret = input.value.trim();
    if (!secret) { error.textContent = "Paste a key first."; return; }
    const previous = { session: sessionStorage.getItem(KEY_NAME), local: localStorage.getItem(KEY_NAME) };
    storeKey(secret, remember.checked);
    const who = await whoAmI().catch(() => null);
    if (!who) {
      forgetKey();
      if (previous.session) sessionStorage.setItem(KEY_NAME, previous.session);
      if (previous.local) localStorage.setItem(KEY_NAME, previous.local);
      error.textContent = "The server refused that key.";
      return;
    }
    error.textContent = "";
    input.value = "";
    dialog.close();
    await showWho();
    onChange();
  });
}

export function openKeyDialog(message = "") {
  const dialog = document.getElementById("key-dialog");
  document.getElementById("key-error").textContent = message;
  document.getElementById("key-remember").checked = localStorage.getItem(KEY_NAME) !== null;
  if (!dialog.open) dialog.showModal();
  document.getElementById("key-input").focus();
}

export async function showWho() {
  const who = await whoAmI().catch(() => null);
  const line = document.getElementById("who");
  if (!who) line.textContent = apiKey() ? "key refused" : "no key";
  else if (who.anonymous) line.textContent = "this machine (no key needed)";
  else line.textContent = `${who.name} (${who.scope})`;
  return who;
}

export function formatBytes(size) {
  if (size < 1024) return `${size} B`;
  if (size < 1024 ** 2) return `${(size / 1024).toFixed(0)} KB`;
  return `${(size / 1024 ** 2).toFixed(1)} MB`;
}

export function formatTime(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

export function element(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (value === true) node.setAttribute(name, "");
    else if (value !== false && value != null) node.setAttribute(name, value);
  }
  node.append(...children.filter((c) => c != null));
  return node;
}
