// Listen-in: both sides of a live interview from the monitor socket's binary frames (one byte
// of channel — 0 the candidate, 1 the interviewer — then a 20 ms Opus packet), each side
// decoded with WebCodecs and played as it comes, like the candidate page plays the interviewer.

import { Player } from "../candidate/player.js";

export class Listener {
  constructor() {
    this.ctx = new AudioContext({ sampleRate: 48000, latencyHint: "interactive" });
    this.players = [new Player(this.ctx), new Player(this.ctx)];
    /** Packets played per channel. */
    this.frames = [0, 0];
  }

  /** @param {ArrayBuffer} data */
  push(data) {
    const bytes = new Uint8Array(data);
    const channel = bytes[0];
    if (channel > 1 || bytes.length < 2) return;
    this.players[channel].push(bytes.subarray(1));
    this.frames[channel]++;
  }

  close() {
    for (const p of this.players) p.stop();
    this.ctx.close().catch(() => {});
  }
}
