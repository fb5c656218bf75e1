// The studio: create a track, follow it live, listen, keep it; the key's history.
import {
  ApiError, ProgressStream, STAGES, api, element, fetchBlob, formatBytes, formatTime,
  openKeyDialog, serverFeatures, setupKeyDialog, setupTheme, showWho, toast,
} from "./api.js";
import { StemMixer, TrackView, zipStored } from "./audio-view.js";

const EXAMPLES = [
  "dreamy synthwave at night, 100 bpm",
  "warm lo-fi hip hop for studying, soft piano",
  "epic orchestral trailer build with big drums",
  "upbeat funky house with a rubbery bassline",
  "calm ambient pads, slowly evolving, rainy morning",
];
const KEYS = ["C major", "A minor", "G major", "E minor", "D major", "B minor", "F major",
  "D minor", "Bb major", "G minor", "Eb major", "C minor", "A major", "F# minor", "D dorian"];
const PREFERRED_PLAYBACK = ["mix.mp3", "mix.ogg", "mix.opus", "mix.wav", "mix.flac"];
const DEFAULT_FORMATS = new Set(["mp3", "wav"]);
const SEARCH_DELAY_MS = 300;
const HISTORY_PAGE = 20;

const $ = (id) => document.getElementById(id);
const state = {
  features: null,
  job: null,
  stream: null,
  objectUrl: null,
  loadToken: 0,
  historyCursor: null,
  searchTimer: 0,
  lastStage: null,
};
let view;
let mixer;

function problemText(error) {
  if (!(error instanceof ApiError)) return `The server could not be reached (${error.message}).`;
  const fields = (error.problem.errors || []).map((e) => `${(e.loc || []).slice(1).join(".")}: ${e.msg}`);
  return fields.length ? fields.join("; ") : error.message;
}

async function handleApiError(error, where) {
  if (error instanceof ApiError && error.status === 401) {
    openKeyDialog("This server needs an API key.");
  }
  where.textContent = problemText(error);
}

// --- create -------------------------------------------------------------------------------

function buildForm(features) {
  const examples = $("examples");
  for (const text of EXAMPLES) {
    examples.append(element("button", {
      type: "button", class: "small",
      onclick: () => { $("prompt").value = text; $("prompt").focus(); },
    }, text));
  }
  const genres = $("genres");
  for (const genre of features.genres) {
    genres.append(element("label", { class: "chip" },
      element("input", { type: "checkbox", name: "genre", value: genre }),
      element("span", {}, genre)));
  }
  genres.addEventListener("change", () => {
    const boxes = [...genres.querySelectorAll("input")];
    const full = boxes.filter((b) => b.checked).length >= 3;
    for (const box of boxes) box.disabled = full && !box.checked;
  });
  const formats = $("formats");
  for (const format of features.formats) {
    formats.append(element("label", { class: "check" },
      element("input", { type: "checkbox", name: "format", value: format, checked: DEFAULT_FORMATS.has(format) }),
      format.toUpperCase()));
  }
  $("keys").append(...KEYS.map((key) => element("option", { value: key })));
  const signatures = $("time-signature");
  signatures.replaceChildren(...features.timeSignatures.map((t) => element("option", { value: t }, t)));
  const duration = $("duration");
  [duration.min, duration.max] = features.durationRange;
  duration.addEventListener("input", () => { $("duration-out").value = `${duration.value} s`; });

  $("enhance").disabled = !features.enhance;
  $("enhance-note").textContent = features.enhance
    ? "" : "The prompt enhancer is not offered by this server.";
  $("enhance").addEventListener("click", enhancePrompt);

  setupSuggestions(features);
  $("lyrics").disabled = $("languages").disabled = !features.vocals;
  $("vocals-note").textContent = features.vocals
    ? "Lyrics are sung in the languages you list."
    : "Vocals are not available on this server yet: lyrics and languages are disabled.";
  $("video").disabled = !features.video;
  $("video-note").textContent = features.video ? "" : "Music videos are not available on this server yet.";
}

// Suggestions (GET /v1/suggest/<kind>?q=…: {items: [{value, label}]}) when the server offers
// them; the values go into the request, the labels are shown.
async function suggest(kind, q) {
  const params = new URLSearchParams(q ? { q } : {});
  const answer = await api(`/v1/suggest/${kind}?${params}`);
  return (answer?.items ?? [])
    .filter((item) => typeof item?.value === "string" && item.value)
    .map((item) => ({ value: item.value, label: item.label || item.value }));
}

function setupSuggestions(features) {
  const offered = (kind) => features.suggest.includes(`/v1/suggest/${kind}`);
  if (offered("artists")) {
    suggest("artists").then((items) => {
      $("artists").replaceChildren(...items.map((item) => element("option", { value: item.value }, item.label)));
    }).catch(() => {});
  }
  if (offered("languages")) {
    suggest("languages").then((items) => {
      $("languages-list").replaceChildren(...items.map((item) => element("option", { value: item.value }, item.label)));
    }).catch(() => {});
  }
  if (!offered("genres")) return;
  let timer = 0;
  $("prompt").addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const prompt = $("prompt").value.trim();
      const box = $("genre-suggestions");
      if (prompt.length < 3) { box.hidden = true; return; }
      const known = new Set(features.genres);
      const items = (await suggest("genres", prompt).catch(() => [])).filter((i) => known.has(i.value)).slice(0, 3);
      box.hidden = items.length === 0;
      box.replaceChildren("Suggested: ", ...items.map((item) => element("button", {
        type: "button", class: "small",
        onclick: () => {
          const chip = document.querySelector(`#genres input[value="${CSS.escape(item.value)}"]`);
          if (chip && !chip.disabled) { chip.checked = true; $("genres").dispatchEvent(new Event("change")); }
        },
      }, item.label)));
    }, SEARCH_DELAY_MS);
  });
}

async function enhancePrompt() {
  const prompt = $("prompt").value.trim();
  if (!prompt) { $("form-error").textContent = "Write a prompt to enhance first."; return; }
  $("enhance").disabled = true;
  try {
    const genres = [...document.querySelectorAll("#genres input:checked")].map((b) => b.value);
    const answer = await api("/v1/prompt/enhance", { method: "POST", body: { prompt, genres } });
    if (typeof answer.prompt === "string" && answer.prompt.trim()) {
      $("prompt").value = answer.prompt.trim();
      toast("Prompt enhanced.");
    }
  } catch (error) {
    await handleApiError(error, $("form-error"));
  } finally {
    $("enhance").disabled = false;
  }
}

function requestFromForm() {
  const body = {
    prompt: $("prompt").value.trim(),
    duration_s: Number($("duration").value),
    genres: [...document.querySelectorAll("#genres input:checked")].map((b) => b.value),
    time_signature: $("time-signature").value,
    loop: $("loop").checked,
    formats: [...document.querySelectorAll("#formats input:checked")].map((b) => b.value),
    stems: $("stems").checked,
    midi: $("midi").checked,
  };
  const bpm = $("bpm").value.trim();
  if (bpm) body.bpm = Number(bpm);
  const key = $("key").value.trim();
  if (key) body.key = key;
  const seed = $("seed").value.trim();
  if (seed) body.seed = Number(seed);
  const artist = $("artist").value.trim();
  if (artist) body.artist_inspiration = artist;
  if (state.features.vocals) {
    const lyrics = $("lyrics").value.trim();
    if (lyrics) body.lyrics = lyrics;
    const languages = $("languages").value.split(",").map((l) => l.trim()).filter(Boolean);
    if (languages.length) body.vocal_languages = languages;
  }
  if (state.features.video && $("video").checked) body.generate_video = true;
  return body;
}

function fillForm(request, seed) {
  $("prompt").value = request.prompt || "";
  $("duration").value = request.duration_s || 60;
  $("duration-out").value = `${$("duration").value} s`;
  for (const box of document.querySelectorAll("#genres input")) box.checked = (request.genres || []).includes(box.value);
  $("genres").dispatchEvent(new Event("change"));
  $("bpm").value = request.bpm ?? "";
  $("key").value = request.key ?? "";
  $("time-signature").value = request.time_signature || "4/4";
  $("seed").value = seed ?? "";
  $("artist").value = request.artist_inspiration ?? "";
  $("loop").checked = Boolean(request.loop);
  for (const box of document.querySelectorAll("#formats input")) box.checked = (request.formats || []).includes(box.value);
  $("stems").checked = Boolean(request.stems);
  $("midi").checked = Boolean(request.midi);
  if (state.features.vocals) {
    $("lyrics").value = request.lyrics || "";
    $("languages").value = (request.vocal_languages || []).join(", ");
  }
}

async function submit(body) {
  $("form-error").textContent = "";
  if (!body.prompt) {
    $("form-error").textContent = "Describe the music first.";
    $("prompt").focus();
    return;
  }
  if (!body.formats.length) {
    $("form-error").textContent = "Choose at least one file format.";
    return;
  }
  $("generate").disabled = true;
  try {
    const job = await api("/v1/generations", { method: "POST", body });
    if (!job.created) toast("This exact request was made before: here is its track.");
    openJob(job, { push: true });
    // On a phone the track is below the form: bring it into view, and tell screen readers.
    $("job").scrollIntoView({ block: "start" });
    $("job-heading").focus({ preventScroll: true });
    refreshHistory();
  } catch (error) {
    await handleApiError(error, $("form-error"));
  } finally {
    $("generate").disabled = false;
  }
}

// --- one job --------------------------------------------------------------------------------

function stagesFor(request) {
  return STAGES.filter((stage) => {
    if (stage === "vocals") return request.instrumental === false;
    if (stage === "video") return Boolean(request.generate_video);
    return true;
  });
}

function renderStages(job) {
  const list = $("stages");
  list.replaceChildren(...stagesFor(job.request).map((stage) => element("li", { dataset: { stage } }, stage)));
}

function markStage(stage, finished) {
  const items = [...$("stages").children];
  const index = items.findIndex((li) => li.dataset.stage === stage);
  items.forEach((li, i) => {
    li.classList.toggle("done", finished ? i <= index : i < index);
    li.classList.toggle("current", !finished && i === index);
  });
}

function showProgress(stage, progress, message) {
  $("progress").value = progress;
  $("progress-box").dataset.stage = stage;
  $("stage").textContent = `${stage} · ${Math.round(progress)} %${message ? ` — ${message}` : ""}`;
  markStage(stage, false);
}

function stopStream() {
  if (state.stream) state.stream.stop();
  state.stream = null;
}

async function openJob(jobOrId, { push = false } = {}) {
  stopStream();
  const token = ++state.loadToken;
  $("job").hidden = false;
  $("job-error").textContent = "";
  $("player").hidden = true;
  let job = jobOrId;
  if (typeof jobOrId === "string") {
    try {
      job = await api(`/v1/jobs/${encodeURIComponent(jobOrId)}`);
    } catch (error) {
      $("job-title").textContent = "";
      $("progress-box").hidden = true;
      await handleApiError(error, $("job-error"));
      if (error instanceof ApiError && error.status === 404) {
        $("job-error").textContent = "No such track for this key (a shared link needs the key that made it).";
      }
      return;
    }
  }
  if (token !== state.loadToken) return;
  state.job = job;
  if (push && location.pathname !== `/tracks/${job.id}`) history.pushState({ job: job.id }, "", `/tracks/${job.id}`);
  $("job-heading").textContent = job.request.prompt;
  $("job-title").textContent = `Job ${job.id} · seed ${job.seed ?? "chosen by the server"} · ${job.request.duration_s} s`;
  renderStages(job);
  if (job.state === "completed") return showResult(job, token);
  if (["failed", "dead", "cancelled", "aborted"].includes(job.state)) return showEnded(job);
  $("progress-box").hidden = false;
  $("cancel").hidden = false;
  $("cancel").disabled = false;
  showProgress(job.stage, job.progress, "");
  state.stream = new ProgressStream(job.id, {
    onEvent: (event) => onJobEvent(event, token),
    onStatus: (kind, text) => {
      $("connection").textContent = kind === "live" ? `Live updates: ${text}` : text;
    },
  }).start();
}

async function onJobEvent(event, token) {
  if (token !== state.loadToken) return;
  if (event.type === "connected" || event.type === "progress" || event.type === "error") {
    const stage = event.stage || state.job.stage;
    showProgress(stage, event.progress ?? 0, event.type === "error" ? `attempt ${event.attempt} failed; retrying` : event.message);
    return;
  }
  stopStream();
  $("connection").textContent = "";
  try {
    const job = await api(`/v1/jobs/${encodeURIComponent(state.job.id)}`);
    if (token !== state.loadToken) return;
    state.job = job;
    if (event.type === "completed") await showResult(job, token);
    else showEnded(job);
  } catch (error) {
    await handleApiError(error, $("job-error"));
  }
  refreshHistory();
}

function showEnded(job) {
  $("progress-box").hidden = false;
  $("cancel").hidden = true;
  $("progress").value = job.progress;
  $("stage").textContent = `${job.state} at ${job.stage}`;
  markStage(job.stage, false);
  $("connection").textContent = "";
  $("job-error").textContent = job.state === "cancelled"
    ? "Cancelled."
    : `The track was not made (${job.state})${job.error ? `: ${job.error.split("\n")[0]}` : "."}`;
}

async function showResult(job, token) {
  $("progress-box").hidden = false;
  $("cancel").hidden = true;
  $("progress").value = 100;
  $("stage").textContent = "completed · 100 %";
  markStage("completed", true);
  const names = new Map(job.assets.map((asset) => [asset.name, asset]));
  const playback = PREFERRED_PLAYBACK.map((n) => names.get(n)).find(Boolean);
  renderDownloads(job);
  $("facts").textContent = factsOf(job);
  $("player").hidden = false;
  const audio = $("audio");
  audio.loop = Boolean(job.request.loop);
  if (!playback) return;
  try {
    const blob = await fetchBlob(playback.url);
    if (token !== state.loadToken) return;
    if (state.objectUrl) URL.revokeObjectURL(state.objectUrl);
    state.objectUrl = URL.createObjectURL(blob);
    audio.src = state.objectUrl;
    audio.dataset.asset = playback.name;
    const decoded = await new OfflineAudioContext(1, 1, 44100).decodeAudioData(await blob.arrayBuffer());
    if (token !== state.loadToken) return;
    view.show(decoded);
    $("waveform").setAttribute("aria-label", `Waveform of the ${formatTime(decoded.duration)} track; click to seek`);
    $("spectrogram").setAttribute("aria-label", "Spectrogram: time left to right, pitch bottom to top");
  } catch (error) {
    await handleApiError(error, $("job-error"));
  }
  await Promise.all([loadSections(job, names.get("plan.json"), token), loadStems(job, token)]);
}

function factsOf(job) {
  const parts = [];
  if (job.metrics?.run_ms) parts.push(`rendered in ${(job.metrics.run_ms / 1000).toFixed(1)} s`);
  if (job.metrics?.real_time_factor) parts.push(`${job.metrics.real_time_factor}× real time`);
  return parts.join(" · ");
}

async function loadSections(job, planAsset, token) {
  const box = $("sections");
  box.replaceChildren();
  if (!planAsset) return;
  try {
    const plan = JSON.parse(await (await fetchBlob(planAsset.url)).text());
    if (token !== state.loadToken) return;
    $("job-title").textContent = `${plan.title} · ${plan.genre} · ${Math.round(plan.bpm)} BPM · ${plan.key} · ${plan.time_signature} · seed ${plan.seed}`;
    for (const section of plan.sections) {
      const button = element("button", {
        type: "button",
        dataset: { start: section.start_s, end: section.end_s, kind: section.kind },
        title: `${section.label} at ${formatTime(section.start_s)}`,
        "aria-label": `${section.label}, ${formatTime(section.start_s)}`,
        onclick: () => {
          const audio = $("audio");
          audio.currentTime = section.start_s;
          audio.play().catch(() => {});
        },
      }, section.label);
      button.style.flexGrow = String(Math.max(0.5, section.end_s - section.start_s));
      box.append(button);
    }
  } catch {
    // The sections are a convenience: the track plays without them.
  }
}

function currentSectionTick() {
  const t = $("audio").currentTime;
  for (const button of $("sections").children) {
    button.classList.toggle("playing", t >= Number(button.dataset.start) && t < Number(button.dataset.end));
  }
}

async function loadStems(job, token) {
  const stems = job.assets.filter((a) => a.kind === "stem");
  $("stems-box").hidden = stems.length === 0;
  $("stem-rows").replaceChildren();
  mixer.reset();
  if (!stems.length) return;
  const loaded = await Promise.all(stems.map(async (asset) => ({
    name: asset.name.replace(/^stems\//, "").replace(/\.wav$/, ""),
    arrayBuffer: await (await fetchBlob(asset.url)).arrayBuffer(),
  })));
  if (token !== state.loadToken) return;
  await mixer.load(loaded);
  for (const { name } of loaded) {
    const toggle = (what, label) => element("button", {
      type: "button", class: "small", "aria-pressed": "false", "aria-label": `${label} ${name}`,
      onclick: async (event) => {
        const button = event.currentTarget; // gone from the event once it has been handled
        const on = await mixer.toggle(name, what);
        button.setAttribute("aria-pressed", String(on));
      },
    }, label);
    $("stem-rows").append(element("span", {}, name), toggle("solo", "Solo"), toggle("muted", "Mute"));
  }
}

function renderDownloads(job) {
  const box = $("downloads");
  box.replaceChildren();
  const label = (asset) => {
    if (asset.kind === "mix") return asset.name.split(".").pop().toUpperCase();
    if (asset.kind === "midi") return "MIDI";
    if (asset.kind === "plan") return "plan.json";
    return asset.name;
  };
  for (const asset of job.assets.filter((a) => a.kind !== "stem")) {
    box.append(element("button", {
      type: "button", class: "small", dataset: { asset: asset.name },
      onclick: () => download(asset.url, `${job.id}-${asset.name.replace("/", "-")}`),
    }, `${label(asset)} (${formatBytes(asset.size_bytes)})`));
  }
  const stems = job.assets.filter((a) => a.kind === "stem");
  if (stems.length) {
    const size = stems.reduce((n, a) => n + a.size_bytes, 0);
    box.append(element("button", {
      type: "button", class: "small", dataset: { asset: "stems.zip" },
      onclick: async () => {
        toast("Packing the stems…");
        const files = await Promise.all(stems.map(async (a) => ({
          name: a.name, bytes: new Uint8Array(await (await fetchBlob(a.url)).arrayBuffer()),
        })));
        save(zipStored(files), `${job.id}-stems.zip`);
      },
    }, `Stems, zip (${formatBytes(size)})`));
  }
}

async function download(url, filename) {
  try {
    save(await fetchBlob(url), filename);
  } catch (error) {
    await handleApiError(error, $("job-error"));
  }
}

function save(blob, filename) {
  const href = URL.createObjectURL(blob);
  const link = element("a", { href, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(href), 60_000);
}

// --- history --------------------------------------------------------------------------------

async function refreshHistory({ more = false } = {}) {
  const q = $("history-search").value.trim();
  const params = new URLSearchParams({ limit: String(HISTORY_PAGE) });
  if (q) params.set("q", q);
  if (more && state.historyCursor) params.set("cursor", state.historyCursor);
  try {
    const page = await api(`/v1/jobs?${params}`);
    const list = $("history-list");
    if (!more) list.replaceChildren();
    for (const job of page.jobs) list.append(historyItem(job));
    state.historyCursor = page.next_cursor;
    $("history-more").hidden = !page.next_cursor;
    $("history-note").textContent = list.children.length
      ? "" : q ? "No track matches that search." : "No tracks yet: make one above.";
  } catch (error) {
    await handleApiError(error, $("history-note"));
  }
}

function historyItem(job) {
  const when = new Date(job.timings.created_at);
  return element("li", { dataset: { job: job.id } },
    element("button", { type: "button", onclick: () => openJob(job.id, { push: true }) },
      element("span", { class: "prompt" }, job.request.prompt),
      element("span", { class: `state state-${job.state}` }, job.state),
      element("time", { datetime: job.timings.created_at, class: "note" }, when.toLocaleString())));
}

// --- start ----------------------------------------------------------------------------------

function jobIdInPath() {
  const match = location.pathname.match(/^\/tracks\/([^/]+)$/);
  if (!match) return null;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return null; // a mangled link (e.g. "%E0") opens the studio, not a dead page
  }
}

async function main() {
  setupTheme();
  setupKeyDialog(() => { refreshHistory(); const id = jobIdInPath(); if (id) openJob(id); });
  view = new TrackView({ audio: $("audio"), waveform: $("waveform"), spectrogram: $("spectrogram") });
  mixer = new StemMixer($("audio"));
  $("audio").addEventListener("timeupdate", currentSectionTick);
  state.features = await serverFeatures();
  buildForm(state.features);
  $("create-form").addEventListener("submit", (event) => { event.preventDefault(); submit(requestFromForm()); });
  $("cancel").addEventListener("click", async () => {
    $("cancel").disabled = true;
    try {
      await api(`/v1/jobs/${encodeURIComponent(state.job.id)}/cancel`, { method: "POST" });
      $("stage").textContent = "cancelling…";
    } catch (error) {
      await handleApiError(error, $("job-error"));
    }
  });
  $("same-seed").addEventListener("click", () => {
    fillForm(state.job.request, state.job.seed);
    $("prompt").focus();
    toast(`The form holds this track's request with seed ${state.job.seed}: change what you like, then Generate.`);
  });
  $("variation").addEventListener("click", () => {
    const { seed, ...request } = state.job.request;
    submit(request);
  });
  $("share").addEventListener("click", async () => {
    const link = `${location.origin}/tracks/${state.job.id}`;
    try {
      await navigator.clipboard.writeText(link);
      toast("Link copied. It opens for whoever has the key that made the track.");
    } catch {
      $("facts").textContent = link;
    }
  });
  $("history-search").addEventListener("input", () => {
    clearTimeout(state.searchTimer);
    state.searchTimer = setTimeout(() => refreshHistory(), SEARCH_DELAY_MS);
  });
  $("history-form").addEventListener("submit", (event) => { event.preventDefault(); refreshHistory(); });
  $("history-more").addEventListener("click", () => refreshHistory({ more: true }));
  window.addEventListener("popstate", () => {
    const id = jobIdInPath();
    if (id) openJob(id);
  });
  await showWho();
  refreshHistory();
  const id = jobIdInPath();
  if (id) openJob(id);
  document.documentElement.dataset.ready = "true";
}

main();
