// songforge studio: the page's controller. It talks to the server only through the public API.

import { ApiError, bytesOf, call, followEvents, saveKey, savedKey } from "./api.js";
import { SongView, clock } from "./song.js";
import { StreamPlayer, canStream } from "./stream.js";

const $ = (id) => document.getElementById(id);
const audio = $("audio");
const view = new SongView(audio, call);
const FIELDS = ["prompt", "lyrics", "title", "gender", "duration_s", "seed", "format", "instrumental"];
const STAGES = {
  lyrics: "Writing the lyrics", compose: "Composing", vocals: "Singing", render: "Playing the instruments",
  mix: "Mixing", encode: "Encoding",
};
const SEED_LIMIT = 2 ** 32;

const state = { job: null, abort: null, lastRequest: null, reference: null };

// -- errors next to their fields ---------------------------------------------------------------

function clearErrors() {
  for (const node of document.querySelectorAll("#song-form .error")) node.textContent = "";
  for (const node of document.querySelectorAll("#song-form [aria-invalid]")) node.removeAttribute("aria-invalid");
}

function showError(error, fallbackId = "form-error") {
  const field = error instanceof ApiError && error.field ? error.field.split(".")[0] : null;
  const slot = field && $(`${field}-error`);
  let message = error.message;
  if (error instanceof ApiError && error.retryAfterS) message += ` (try again in ${error.retryAfterS} s)`;
  if (slot) {
    slot.textContent = message;
    const input = $(field);
    if (input) {
      input.setAttribute("aria-invalid", "true");
      input.focus();
    }
  } else {
    $(fallbackId).textContent = message;
  }
  if (error instanceof ApiError && error.status === 401) askForKey(error.message);
}

// -- the API key -------------------------------------------------------------------------------

function askForKey(message) {
  $("key-form").hidden = false;
  $("forget-key").hidden = !savedKey();
  $("key-status").textContent = message || "This server needs an API key.";
}

async function checkAccess() {
  try {
    await loadHistory();
    const key = savedKey();
    $("key-form").hidden = true;
    $("forget-key").hidden = !key;
    $("key-status").textContent = key ? "Using your saved key." : "Development server: no key needed.";
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) askForKey(savedKey() ? error.message : null);
    else $("history-status").textContent = error.message;
  }
}

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  saveKey($("api-key").value.trim());
  $("api-key").value = "";
  checkAccess();
});
$("forget-key").addEventListener("click", () => {
  saveKey("");
  askForKey("Key forgotten.");
});

// -- the form ----------------------------------------------------------------------------------

function insertTag(tag) {
  const box = $("lyrics");
  const start = box.selectionStart;
  const before = box.value.slice(0, start);
  const text = `${before && !before.endsWith("\n") ? "\n" : ""}${tag}\n`;
  box.setRangeText(text, start, box.selectionEnd, "end");
  box.focus();
}

$("tag-bar").addEventListener("click", (event) => {
  const button = event.target.closest("button[data-tag]");
  if (button) insertTag(button.dataset.tag);
});

$("write-lyrics").addEventListener("click", async () => {
  clearErrors();
  const status = $("write-status");
  status.textContent = "Writing lyrics...";
  $("write-lyrics").disabled = true;
  try {
    const seed = $("seed").value.trim();
    const body = { prompt: $("prompt").value, ...(seed ? { seed: Number(seed) } : {}) };
    const sheet = await call("POST", "/v1/lyrics", body);
    $("lyrics").value = sheet.lyrics;
    if (sheet.title && !$("title").value) $("title").value = sheet.title;
    status.textContent = `Lyrics written${sheet.title ? `: "${sheet.title}"` : ""}.`;
  } catch (error) {
    status.textContent = "";
    showError(error);
  } finally {
    $("write-lyrics").disabled = false;
  }
});

function formRequest() {
  const text = (id) => $(id).value.trim();
  const number = (id) => (text(id) === "" ? undefined : Number(text(id)));
  const body = {
    prompt: $("prompt").value, instrumental: $("instrumental").checked, format: $("format").value,
    stems: true, midi: true, timings: true,
  };
  const optional = {
    lyrics: text("lyrics") ? $("lyrics").value : undefined, title: text("title") || undefined,
    gender: $("gender").value || undefined, duration_s: number("duration_s"), seed: number("seed"),
  };
  for (const [name, value] of Object.entries(optional)) if (value !== undefined) body[name] = value;
  return body;
}

function fillForm(request) {
  $("prompt").value = request.prompt || "";
  $("lyrics").value = request.lyrics || "";
  $("title").value = request.title || "";
  $("gender").value = request.gender || "";
  $("duration_s").value = request.duration_s ?? "";
  $("seed").value = request.seed ?? "";
  $("format").value = request.format || "mp3";
  $("instrumental").checked = Boolean(request.instrumental);
}

// -- reference audio (through the Suno-compatible upload routes) -------------------------------

function setReference(file) {
  state.reference = file;
  $("ref-name").textContent = file ? `Reference: ${file.name} (${Math.round(file.size / 1024)} KB)` : "No reference: a new song.";
  $("ref-clear").disabled = !file;
}

$("ref-file").addEventListener("change", () => setReference($("ref-file").files[0] || null));
$("ref-clear").addEventListener("click", () => {
  $("ref-file").value = "";
  setReference(null);
});
const drop = $("drop");
["dragenter", "dragover"].forEach((name) => drop.addEventListener(name, (event) => {
  event.preventDefault();
  drop.classList.add("over");
}));
["dragleave", "drop"].forEach((name) => drop.addEventListener(name, () => drop.classList.remove("over")));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  const file = event.dataTransfer.files[0];
  if (file) setReference(file);
});

function referenceBody(mode, uploadUrl, request) {
  const common = { uploadUrl, callBackUrl: "", model: "V4_5PLUS" };
  const title = request.title || "Untitled";
  if (mode === "extend") return { ...common, defaultParamFlag: false, instrumental: request.instrumental };
  if (mode === "add_vocals") {
    return { ...common, prompt: request.lyrics || "", title, style: request.prompt, negativeTags: "" };
  }
  if (request.lyrics || request.instrumental) {
    return { ...common, customMode: true, instrumental: request.instrumental, style: request.prompt, title,
      prompt: request.lyrics || "" };
  }
  return { ...common, customMode: false, instrumental: false, prompt: request.prompt };
}

const REFERENCE_ROUTES = {
  cover: "/api/v1/generate/upload-cover", extend: "/api/v1/generate/upload-extend",
  add_vocals: "/api/v1/generate/add-vocals",
};

async function submitWithReference(request) {
  const form = new FormData();
  form.append("file", state.reference, state.reference.name);
  form.append("uploadPath", "studio");
  setStage("Uploading the reference...", 0);
  const upload = await call("POST", "/api/file-stream-upload", form);
  const mode = $("ref-mode").value;
  const task = await call("POST", REFERENCE_ROUTES[mode], referenceBody(mode, upload.data.downloadUrl, request));
  const record = await call("GET", `/api/v1/generate/record-info?taskId=${encodeURIComponent(task.data.taskId)}`);
  return record.data.response.sunoData[0].id;
}

// -- making a song -----------------------------------------------------------------------------

function setStage(text, pct) {
  $("progress-box").hidden = false;
  $("stage").textContent = text;
  $("progress").value = pct;
}

function busy(on) {
  $("make-song").disabled = on;
  $("variation").disabled = on;
}

async function submit(request) {
  clearErrors();
  busy(true);
  try {
    let jobId;
    if (state.reference) {
      try {
        jobId = await submitWithReference(request);
      } catch (error) {
        $("progress-box").hidden = true;
        showError(error, "reference-error");
        busy(false);
        return;
      }
      state.lastRequest = null;
    } else {
      const answer = await call("POST", "/v1/songs", request);
      jobId = answer.jobs[0].id;
      state.lastRequest = request;
    }
    await follow(jobId, request.format);
  } catch (error) {
    if (error.name === "AbortError") return; // another song was opened
    $("progress-box").hidden = true;
    showError(error);
  } finally {
    busy(false);
    loadHistory().catch(() => {});
  }
}

$("song-form").addEventListener("submit", (event) => {
  event.preventDefault();
  submit(formRequest());
});

$("variation").addEventListener("click", () => {
  if (!state.lastRequest) return;
  const seed = ((state.lastRequest.seed ?? state.lastSeed ?? 0) + 1) % SEED_LIMIT;
  const request = { ...state.lastRequest, seed };
  fillForm(request);
  submit(request);
});

$("cancel").addEventListener("click", async () => {
  if (!state.job) return;
  try {
    await call("DELETE", `/v1/songs/${state.job}`);
  } catch (error) {
    showError(error);
  }
});

function startSong() {
  $("song-empty").hidden = true;
  $("player-box").hidden = false;
  $("cover").hidden = true;
  $("song-title").textContent = "New song";
  if (matchMedia("(max-width: 50rem)").matches) $("song").scrollIntoView({ block: "start" });
  $("song-meta").textContent = "";
  view.reset();
}

/** Follow a job's events until it ends; play it as it streams; show it when done. */
async function follow(jobId, format) {
  if (state.abort) state.abort.abort();
  state.abort = new AbortController();
  state.job = jobId;
  $("cancel").hidden = false;
  startSong();
  setStage("Waiting in the queue", 0);
  const stream = canStream(format) ? new StreamPlayer(audio, () => {
    $("stage").textContent += " (press play to listen)";
  }) : null;
  $("format-help").textContent = stream ? "" : "This format plays once the song is done.";
  let finished = null;
  let failure = null;
  try {
    await followEvents(`/v1/songs/${jobId}/events`, {
      progress: (p) => {
        const label = p.status === "queued" ? "Waiting in the queue" : STAGES[p.stage] || "Starting";
        setStage(`${label}: ${Math.round(p.progress_pct)}%`, p.progress_pct);
      },
      audio: (piece) => stream && stream.push(bytesOf(piece.data)),
      done: (job) => { finished = job; },
      error: (e) => { failure = e; },
    }, state.abort.signal);
  } finally {
    state.job = null;
    state.abort = null;
    $("cancel").hidden = true;
  }
  if (failure || !finished) {
    const message = failure ? failure.message : "the event stream ended early";
    setStage(`The song was not made: ${message}`, 0);
    $("form-error").textContent = message;
    return;
  }
  await showFinished(finished, stream);
}

async function showFinished(job, stream, { announce = true } = {}) {
  if (stream) stream.end();
  if (announce) setStage(`Done: a ${clock(job.result.duration_s)} song, seed ${job.result.seed}.`, 100);
  state.lastSeed = job.result.seed;
  if (state.lastRequest) state.lastRequest = { ...state.lastRequest, seed: job.result.seed };
  $("variation").hidden = !state.lastRequest;
  if (!stream || !stream.started) audio.src = job.result.audio_url;
  await view.show(job);
}

async function openSong(summary) {
  const job = await call("GET", summary.links.self);
  state.lastRequest = summary.request;
  if (job.status === "succeeded") {
    if (state.abort) state.abort.abort(); // stop following the song being made: this one replaces it
    startSong();
    $("progress-box").hidden = true;
    audio.src = job.result.audio_url;
    await showFinished(job, null, { announce: false });
  } else if (["queued", "running", "first_ready"].includes(job.status)) {
    busy(true);
    await follow(job.id, summary.request ? summary.request.format : "mp3").finally(() => busy(false));
  } else {
    $("history-status").textContent = `That song ${job.status}: ${job.error ? job.error.message : ""}`;
    return;
  }
  $("song").focus();
}

// -- history -----------------------------------------------------------------------------------

function historyItem(song) {
  const item = document.createElement("li");
  const what = document.createElement("div");
  what.className = "what";
  const title = document.createElement("strong");
  title.textContent = song.title || song.prompt || "Untitled";
  const meta = document.createElement("span");
  meta.className = "help";
  const length = song.duration_s ? `, ${clock(song.duration_s)}` : "";
  meta.textContent = `${song.status}${length}, ${new Date(song.created_at).toLocaleString()}`;
  what.append(title, meta);
  const open = document.createElement("button");
  open.type = "button";
  open.textContent = "Open";
  open.setAttribute("aria-label", `Open ${title.textContent} (${song.status})`);
  open.disabled = ["failed", "cancelled"].includes(song.status);
  open.addEventListener("click", () => openSong(song).catch((error) => showError(error)));
  item.append(what, open);
  return item;
}

async function loadHistory() {
  const { songs } = await call("GET", "/v1/songs?limit=30");
  $("history").replaceChildren(...songs.map(historyItem));
  $("history-status").textContent = songs.length ? "" : "No songs yet.";
}

$("refresh-history").addEventListener("click", () => loadHistory().catch((error) => showError(error)));

for (const id of FIELDS) {
  $(id).addEventListener("input", () => {
    $(id).removeAttribute("aria-invalid");
    const slot = $(`${id}-error`);
    if (slot) slot.textContent = "";
  });
}

checkAccess();
