// A finished song: waveform, form timeline, karaoke lyrics, stems and downloads.

import { StemMixer } from "./stems.js";

const $ = (id) => document.getElementById(id);

export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  for (const child of children) node.append(child);
  return node;
}

async function getJson(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url.split("?")[0]}: ${response.status}`);
  return response.json();
}

// -- waveform ----------------------------------------------------------------------------------

/** Peak amplitude of `columns` equal slices of the mix (channels averaged). */
export function peaksOf(buffer, columns) {
  const channels = [...Array(buffer.numberOfChannels).keys()].map((c) => buffer.getChannelData(c));
  const step = Math.max(1, Math.floor(buffer.length / columns));
  const peaks = new Float32Array(columns);
  for (let col = 0; col < columns; col += 1) {
    let peak = 0;
    for (let i = col * step; i < Math.min(buffer.length, (col + 1) * step); i += 4) {
      let v = 0;
      for (const data of channels) v += data[i];
      peak = Math.max(peak, Math.abs(v / channels.length));
    }
    peaks[col] = peak;
  }
  return peaks;
}

async function drawWaveform(canvas, audioUrl) {
  const width = canvas.clientWidth || 600;
  canvas.width = width * devicePixelRatio;
  canvas.height = 96 * devicePixelRatio;
  const bytes = await (await fetch(audioUrl)).arrayBuffer();
  const ctx = new OfflineAudioContext(1, 1, 44100);
  const buffer = await ctx.decodeAudioData(bytes);
  const peaks = peaksOf(buffer, Math.floor(width));
  const g = canvas.getContext("2d");
  g.clearRect(0, 0, canvas.width, canvas.height);
  g.fillStyle = "#3a2db5";
  const mid = canvas.height / 2;
  const scale = mid / Math.max(0.01, ...peaks);
  peaks.forEach((peak, x) => {
    const h = Math.max(1, peak * scale);
    g.fillRect(x * devicePixelRatio, mid - h, devicePixelRatio, 2 * h);
  });
}

// -- karaoke -----------------------------------------------------------------------------------

export class Karaoke {
  /** @param {HTMLElement} root  @param {HTMLAudioElement} audio */
  constructor(root, audio) {
    this.root = root;
    this.audio = audio;
    this.words = []; // {start, end, node}
    this.current = -1;
    root.addEventListener("click", (event) => {
      const node = event.target.closest(".word");
      if (node) this.seek(Number(node.dataset.index));
    });
    root.addEventListener("keydown", (event) => this.onKey(event));
  }

  show(timings, fallbackText) {
    this.root.replaceChildren();
    this.words = [];
    this.current = -1;
    // {"lines": [{"words": [...]}, ...]}, or a flat list of words
    const lines = Array.isArray(timings) ? [{ words: timings }] : (timings && timings.lines) || [];
    if (!lines.some((line) => line.words && line.words.length)) {
      this.root.append(el("p", { className: "help", textContent: fallbackText }));
      return;
    }
    for (const line of lines) {
      const p = el("p");
      for (const word of line.words) {
        const index = this.words.length;
        const node = el("button", { type: "button", className: "word", textContent: word.word, tabIndex: -1 });
        node.dataset.index = index;
        node.dataset.start = word.start_s;
        node.setAttribute("aria-label", `${word.word}, at ${clock(word.start_s)}`);
        this.words.push({ start: word.start_s, end: word.end_s, node });
        p.append(node, " ");
      }
      this.root.append(p);
    }
    this.words[0].node.tabIndex = 0;
  }

  seek(index) {
    const word = this.words[index];
    if (!word) return;
    this.audio.currentTime = word.start + 0.001;
    this.update(word.start + 0.001);
  }

  onKey(event) {
    const node = event.target.closest(".word");
    if (!node) return;
    const moves = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
    let index = Number(node.dataset.index);
    if (event.key in moves) index += moves[event.key];
    else if (event.key === "Home") index = 0;
    else if (event.key === "End") index = this.words.length - 1;
    else return;
    event.preventDefault();
    this.focusWord(Math.min(this.words.length - 1, Math.max(0, index)));
  }

  focusWord(index) {
    for (const w of this.words) w.node.tabIndex = -1;
    this.words[index].node.tabIndex = 0;
    this.words[index].node.focus();
  }

  /** Highlight the word sung at `t` seconds (the last one started, until the next starts). */
  update(t) {
    let index = -1;
    for (let i = 0; i < this.words.length && this.words[i].start <= t; i += 1) index = i;
    if (index === this.current) return;
    this.words.forEach((w, i) => w.node.classList.toggle("sung", i < index));
    if (this.current >= 0) this.words[this.current].node.removeAttribute("aria-current");
    this.current = index;
    if (index >= 0) {
      const { node } = this.words[index];
      node.setAttribute("aria-current", "true");
      if (!this.root.contains(document.activeElement)) {
        for (const w of this.words) w.node.tabIndex = -1;
        node.tabIndex = 0;
        const top = node.offsetTop - this.root.offsetTop - this.root.clientHeight / 3;
        this.root.scrollTo({ top: Math.max(0, top) });
      }
    }
  }
}

// -- form timeline -----------------------------------------------------------------------------

function showForm(list, sections, duration, audio) {
  list.replaceChildren();
  for (const section of sections) {
    const left = (100 * section.start_s) / duration;
    const width = (100 * (section.end_s - section.start_s)) / duration;
    const name = section.name.charAt(0).toUpperCase() + section.name.slice(1);
    const button = el("button", { type: "button", textContent: name, title: `${name} ${clock(section.start_s)}` });
    button.setAttribute("aria-label", `${name}, ${clock(section.start_s)} to ${clock(section.end_s)}`);
    button.addEventListener("click", () => { audio.currentTime = section.start_s; });
    const item = el("li", {}, [button]);
    item.style.left = `${left}%`;
    item.style.width = `${width}%`;
    item.dataset.start = section.start_s;
    item.dataset.end = section.end_s;
    list.append(item);
  }
}

// -- stems -------------------------------------------------------------------------------------

class StemsPanel {
  constructor(audio) {
    this.audio = audio;
    this.mixer = null;
    this.stems = null;
    this.meterTimer = null;
    $("load-stems").addEventListener("click", () => this.load());
  }

  show(stems) {
    this.close();
    this.stems = stems;
    $("stems").replaceChildren();
    $("load-stems").hidden = !stems;
    $("stems-status").textContent = stems
      ? `${Object.keys(stems).length} stems: load them to mute and solo while the song plays.`
      : "This song was made without stems.";
  }

  close() {
    if (this.mixer) this.mixer.close();
    this.mixer = null;
    clearInterval(this.meterTimer);
  }

  async load() {
    $("load-stems").disabled = true;
    const status = $("stems-status");
    this.mixer = new StemMixer(this.audio, this.stems);
    try {
      await this.mixer.load((done, total) => { status.textContent = `Loading stems: ${done} of ${total}`; });
    } catch (error) {
      status.textContent = `The stems could not be loaded: ${error.message}`;
      $("load-stems").disabled = false;
      return;
    }
    status.textContent = "Stems are playing: mute or solo each one.";
    $("load-stems").hidden = true;
    $("load-stems").disabled = false;
    $("stems").replaceChildren(...this.mixer.names.map((name) => this.row(name)));
    this.meterTimer = setInterval(() => this.meters(), 100);
  }

  row(name) {
    const toggle = (what, label) => {
      const button = el("button", { type: "button", textContent: label });
      button.setAttribute("aria-pressed", "false");
      button.setAttribute("aria-label", `${label} ${name}`);
      button.addEventListener("click", () => {
        const on = button.getAttribute("aria-pressed") !== "true";
        button.setAttribute("aria-pressed", String(on));
        this.mixer.set(name, what, on);
      });
      return button;
    };
    const meter = el("meter", { min: 0, max: 0.25, value: 0 });
    meter.setAttribute("aria-label", `${name} level`);
    meter.dataset.stem = name;
    return el("li", {}, [el("span", { textContent: name }), toggle("muted", "Mute"), toggle("solo", "Solo"), meter]);
  }

  meters() {
    for (const meter of document.querySelectorAll("#stems meter")) {
      meter.value = this.mixer.level(meter.dataset.stem);
    }
  }
}

// -- the whole view ----------------------------------------------------------------------------

function downloadLink(label, url, name) {
  const a = el("a", { href: url, textContent: label });
  a.setAttribute("download", name);
  return el("li", {}, [a]);
}

export class SongView {
  constructor(audio, call) {
    this.audio = audio;
    this.call = call;
    this.karaoke = new Karaoke($("karaoke"), audio);
    this.stems = new StemsPanel(audio);
    this.sections = [];
    this.duration = 0;
    $("waveform").addEventListener("click", (event) => {
      const box = event.currentTarget.getBoundingClientRect();
      if (this.duration) audio.currentTime = ((event.clientX - box.left) / box.width) * this.duration;
    });
    const tick = () => {
      this.update(audio.currentTime);
      if (!audio.paused) requestAnimationFrame(tick);
    };
    audio.addEventListener("play", () => requestAnimationFrame(tick));
    audio.addEventListener("seeked", () => this.update(audio.currentTime));
    audio.addEventListener("timeupdate", () => this.update(audio.currentTime));
  }

  update(t) {
    this.karaoke.update(t);
    if (this.duration) $("playhead").style.left = `${Math.min(100, (100 * t) / this.duration)}%`;
    for (const item of $("form-timeline").children) {
      item.classList.toggle("now", t >= Number(item.dataset.start) && t < Number(item.dataset.end));
    }
  }

  reset() {
    this.stems.close();
    $("result").hidden = true;
  }

  /** Show a succeeded job (the view GET /v1/songs/{id} returns). */
  async show(view) {
    const result = view.result;
    this.duration = result.duration_s;
    $("result").hidden = false;
    $("downloads").replaceChildren(...this.downloads(view));
    this.stems.show(result.stems);
    const [plan, timings] = await Promise.all([
      result.plan_url ? getJson(result.plan_url) : null,
      result.timings ? getJson(result.timings.json_url) : null,
    ]);
    if (plan) {
      $("song-title").textContent = plan.title || "Untitled";
      $("song-meta").textContent = `${plan.genre}, ${Math.round(plan.tempo_bpm)} BPM, ${plan.key}, `
        + `${clock(result.duration_s)}, seed ${result.seed}`;
    }
    const note = result.lyrics ? "No word timings for this song." : "Instrumental: no lyrics.";
    this.karaoke.show(timings, note);
    showForm($("form-timeline"), plan ? plan.sections : [], result.duration_s, this.audio);
    this.update(this.audio.currentTime);
    await Promise.all([drawWaveform($("waveform"), result.audio_url), this.showExtras(view)]);
  }

  async showExtras(view) {
    const extras = await this.call("GET", `/v1/songs/${view.id}/extras`);
    const cover = $("cover");
    cover.src = extras.cover_url;
    cover.alt = `Cover art of ${$("song-title").textContent || "the song"}`;
    cover.hidden = false;
    if (extras.stems_zip_url) {
      $("downloads").append(downloadLink("Stems (zip of WAVs)", extras.stems_zip_url, `${view.id}-stems.zip`));
    }
  }

  downloads(view) {
    const r = view.result;
    const items = [downloadLink(`Audio (${r.format.toUpperCase()})`, r.audio_url, `${view.id}.${r.format}`)];
    if (r.midi_url) items.push(downloadLink("MIDI", r.midi_url, `${view.id}.mid`));
    if (r.timings) items.push(downloadLink("Lyrics timings (JSON)", r.timings.json_url, `${view.id}-timings.json`));
    if (r.timings && r.timings.lrc_url) items.push(downloadLink("Lyrics (LRC)", r.timings.lrc_url, `${view.id}.lrc`));
    if (r.plan_url) items.push(downloadLink("Plan (JSON)", r.plan_url, `${view.id}-plan.json`));
    return items;
  }
}
