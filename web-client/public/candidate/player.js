// Interviewer audio: Opus packets → WebCodecs AudioDecoder → a small jitter buffer of scheduled
// AudioBufferSourceNodes, played back to back. `stop()` silences at once (barge-in).

/** How far ahead of "now" playback starts after a gap: absorbs network jitter. */
const JITTER_SECONDS = 0.06;

export class Player {
  /** @param {AudioContext} ctx */
  constructor(ctx) {
    this.ctx = ctx;
    /** When the next decoded frame starts, in AudioContext time. */
    this.next = 0;
    /** @type {Set<AudioBufferSourceNode>} */
    this.sources = new Set();
    this.timestamp = 0;
    /** Frames that arrived after their predecessor had already finished playing. */
    this.underruns = 0;
    this.decoder = new AudioDecoder({
      output: (data) => this.schedule(data),
      error: (e) => console.error("decoder", e),
    });
    this.decoder.configure({ codec: "opus", sampleRate: 48000, numberOfChannels: 1 });
  }

  /** @param {Uint8Array} bytes one 20 ms Opus packet */
  push(bytes) {
    this.decoder.decode(new EncodedAudioChunk({ type: "key", timestamp: this.timestamp, data: bytes }));
    this.timestamp += 20000;
  }

  /** @param {AudioData} data */
  schedule(data) {
    const pcm = new Float32Array(data.numberOfFrames);
    data.copyTo(pcm, { planeIndex: 0, format: "f32-planar" });
    const buf = this.ctx.createBuffer(1, pcm.length, data.sampleRate);
    buf.copyToChannel(pcm, 0);
    data.close();
    const src = this.ctx.createBufferSource();
    src.buffer = buf;
    src.connect(this.ctx.destination);
    const now = this.ctx.currentTime;
    if (this.sources.size > 0 && this.next < now) this.underruns++;
    this.next = Math.max(this.next, now + JITTER_SECONDS);
    src.start(this.next);
    this.next += buf.duration;
    this.sources.add(src);
    src.onended = () => this.sources.delete(src);
  }

  /** True while interviewer audio is scheduled or playing. */
  get playing() {
    return this.sources.size > 0;
  }

  /** Barge-in: silence at once and drop what is queued. */
  stop() {
    for (const s of this.sources) s.stop();
    this.sources.clear();
    this.next = 0;
  }
}
