// The microphone: permission and device choice, a level meter, and the capture path
// AudioWorklet (20 ms chunks at 48 kHz) → WebCodecs AudioEncoder (Opus, 20 ms frames) → `onPacket`.

export class Mic {
  /** @param {AudioContext} ctx */
  constructor(ctx) {
    this.ctx = ctx;
    /** @type {MediaStream|null} */
    this.stream = null;
    /** @type {AnalyserNode|null} */
    this.analyser = null;
    this.chunks = 0;
  }

  /**
   * Asks for the microphone (a given device, or the default) and starts measuring its level.
   * @param {string} [deviceId]
   */
  async open(deviceId) {
    this.close();
    this.stream = await navigator.mediaDevices.getUserMedia({
      audio: {
        deviceId: deviceId ? { exact: deviceId } : undefined,
        echoCancellation: true,
        noiseSuppression: true,
        channelCount: 1,
      },
    });
    this.analyser = this.ctx.createAnalyser();
    this.analyser.fftSize = 1024;
    this.ctx.createMediaStreamSource(this.stream).connect(this.analyser);
  }

  /** The device in use (for the picker). */
  get deviceId() {
    return this.stream?.getAudioTracks()[0]?.getSettings().deviceId ?? "";
  }

  /** Root-mean-square level of the last ~20 ms, 0…1. */
  level() {
    if (!this.analyser) return 0;
    const data = new Float32Array(this.analyser.fftSize);
    this.analyser.getFloatTimeDomainData(data);
    let sum = 0;
    for (const v of data) sum += v * v;
    return Math.sqrt(sum / data.length);
  }

  /**
   * Starts encoding: every 20 ms Opus packet goes to `onPacket`.
   * @param {(packet: Uint8Array) => void} onPacket
   */
  async capture(onPacket) {
    if (!this.stream) throw new Error("the microphone is not open");
    await this.ctx.audioWorklet.addModule("/candidate/mic-worklet.js");
    const node = new AudioWorkletNode(this.ctx, "mic-chunker");
    this.ctx.createMediaStreamSource(this.stream).connect(node);
    const encoder = new AudioEncoder({
      output: (chunk) => {
        const bytes = new Uint8Array(chunk.byteLength);
        chunk.copyTo(bytes);
        onPacket(bytes);
      },
      error: (e) => console.error("encoder", e),
    });
    encoder.configure({
      codec: "opus",
      sampleRate: 48000,
      numberOfChannels: 1,
      bitrate: 32000,
      // @ts-ignore: the Opus options are not in every lib.dom.d.ts yet.
      opus: { frameDuration: 20000 },
    });
    let timestamp = 0;
    node.port.onmessage = (e) => {
      this.chunks++;
      encoder.encode(new AudioData({
        format: "f32-planar", sampleRate: 48000, numberOfFrames: 960, numberOfChannels: 1,
        timestamp, data: e.data,
      }));
      timestamp += 20000;
    };
  }

  close() {
    if (this.stream) for (const t of this.stream.getTracks()) t.stop();
    this.stream = null;
  }
}
