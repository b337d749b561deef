// Play a song while it is made: the job's `audio` events are pieces of the final file, in order,
// appended to a MediaSource the <audio> element plays. MP3 only (what browsers stream); other
// formats are played from their file once done.

const MP3 = "audio/mpeg";

export function canStream(format) {
  return format === "mp3" && "MediaSource" in window && MediaSource.isTypeSupported(MP3);
}

export class StreamPlayer {
  /** @param {HTMLAudioElement} audio  @param {() => void} onBlocked called when autoplay is refused */
  constructor(audio, onBlocked) {
    this.audio = audio;
    this.onBlocked = onBlocked;
    this.queue = [];
    this.ended = false;
    this.complete = false;
    this.started = false;
    this.source = new MediaSource();
    this.buffer = null;
    this.url = URL.createObjectURL(this.source);
    audio.src = this.url;
    this.source.addEventListener("sourceopen", () => {
      this.buffer = this.source.addSourceBuffer(MP3);
      this.buffer.addEventListener("updateend", () => this.pump());
      this.pump();
    }, { once: true });
  }

  /** Append the next piece of the file. */
  push(bytes) {
    this.queue.push(bytes);
    this.pump();
  }

  /** No more pieces: the file is whole. */
  end() {
    this.ended = true;
    this.pump();
  }

  pump() {
    if (!this.buffer || this.buffer.updating || this.source.readyState !== "open") return;
    if (this.queue.length) {
      this.buffer.appendBuffer(this.queue.shift());
      if (!this.started) this.startPlaying();
    } else if (this.ended) {
      this.source.endOfStream();
      this.complete = true;
    }
  }

  startPlaying() {
    this.started = true;
    this.audio.play().catch(() => this.onBlocked());
  }
}
