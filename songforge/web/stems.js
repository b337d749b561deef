// Stems with mute and solo: each stem WAV is decoded and played by Web Audio in step with the
// <audio> element, which keeps the clock (and is muted while the stems sound).

export class StemMixer {
  /** @param {HTMLAudioElement} audio  @param {Object<string,string>} stems name -> URL */
  constructor(audio, stems) {
    this.audio = audio;
    this.urls = stems;
    this.names = Object.keys(stems).sort();
    this.ctx = null;
    this.tracks = new Map(); // name -> {buffer, gain, analyser, source, muted, solo}
    this.master = null;
    this.listeners = [];
  }

  /** Fetch and decode every stem; `onEach(done, total)` reports progress. */
  async load(onEach) {
    this.ctx = new AudioContext();
    this.master = this.ctx.createGain();
    this.master.connect(this.ctx.destination);
    let done = 0;
    await Promise.all(this.names.map(async (name) => {
      const response = await fetch(this.urls[name]);
      if (!response.ok) throw new Error(`stem ${name}: ${response.status}`);
      const buffer = await this.ctx.decodeAudioData(await response.arrayBuffer());
      const gain = this.ctx.createGain();
      const analyser = this.ctx.createAnalyser();
      analyser.fftSize = 1024;
      gain.connect(analyser).connect(this.master);
      this.tracks.set(name, { buffer, gain, analyser, source: null, muted: false, solo: false });
      done += 1;
      onEach(done, this.names.length);
    }));
    this.attach();
  }

  attach() {
    const on = (name, fn) => {
      this.audio.addEventListener(name, fn);
      this.listeners.push([name, fn]);
    };
    const restart = () => this.restart();
    ["play", "seeked", "ratechange"].forEach((name) => on(name, restart));
    on("pause", () => this.stopSources());
    on("volumechange", () => { this.master.gain.value = this.audio.volume; this.audio.muted = true; });
    this.audio.muted = true;
    this.master.gain.value = this.audio.volume;
    this.restart();
  }

  /** Stop sounding and give the sound back to the <audio> element. */
  close() {
    for (const [name, fn] of this.listeners) this.audio.removeEventListener(name, fn);
    this.listeners = [];
    this.stopSources();
    if (this.ctx) this.ctx.close();
    this.audio.muted = false;
  }

  stopSources() {
    for (const track of this.tracks.values()) {
      if (track.source) {
        track.source.stop();
        track.source.disconnect();
        track.source = null;
      }
    }
  }

  restart() {
    this.stopSources();
    if (this.audio.paused || this.audio.ended) return;
    this.ctx.resume();
    const at = this.ctx.currentTime + 0.02;
    const offset = this.audio.currentTime + 0.02;
    for (const track of this.tracks.values()) {
      if (offset >= track.buffer.duration) continue;
      const source = this.ctx.createBufferSource();
      source.buffer = track.buffer;
      source.playbackRate.value = this.audio.playbackRate;
      source.connect(track.gain);
      source.start(at, offset);
      track.source = source;
    }
  }

  set(name, what, on) {
    this.tracks.get(name)[what] = on;
    const soloing = [...this.tracks.values()].some((t) => t.solo);
    for (const track of this.tracks.values()) {
      const audible = !track.muted && (!soloing || track.solo);
      track.gain.gain.setTargetAtTime(audible ? 1 : 0, this.ctx.currentTime, 0.01);
    }
  }

  /** RMS level (0-1) of what a stem is sounding now, after mute and solo. */
  level(name) {
    const { analyser } = this.tracks.get(name);
    const data = new Float32Array(analyser.fftSize);
    analyser.getFloatTimeDomainData(data);
    let sum = 0;
    for (const v of data) sum += v * v;
    return Math.sqrt(sum / data.length);
  }
}
