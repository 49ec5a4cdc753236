// Minimal candidate page for protocol v1 (docs/protocol.md): microphone → WebCodecs Opus (20 ms)
// → WebSocket; interviewer Opus → WebCodecs → speakers; captions; typed answers; resume.
const $ = (id) => document.getElementById(id);
const interviewId = location.pathname.split("/").pop();
const token = new URLSearchParams(location.hash.slice(1)).get("token");
const RESUMABLE = new Set([1006, 1011, 1012, 4008]);

let ws = null;
let lastSeq = null;
let backoff = 500;
let ctx = null;
let player = null;
let encoder = null;
// Counters for tests and troubleshooting.
const stats = { micChunks: 0, packetsSent: 0, packetsReceived: 0, audioState: "none" };
window.vivaStats = stats;

function status(text) { $("status").textContent = text; }

function caption(turn, who, text, final) {
  const key = `${who}-${turn}`;
  let li = document.querySelector(`[data-key="${key}"]`);
  if (!li) {
    li = document.createElement("li");
    li.dataset.key = key;
    li.className = who;
    $("captions").append(li);
  }
  li.classList.toggle("partial", !final);
  li.textContent = (who === "interviewer" ? "Interviewer: " : "You: ") + text;
}

class Player {
  constructor(ctx) {
    this.ctx = ctx;
    this.next = 0;
    this.sources = new Set();
    this.ts = 0;
    this.decoder = new AudioDecoder({
      output: (data) => this.schedule(data),
      error: (e) => console.error("decoder", e),
    });
    this.decoder.configure({ codec: "opus", sampleRate: 48000, numberOfChannels: 1 });
  }
  push(bytes) {
    this.decoder.decode(new EncodedAudioChunk({ type: "key", timestamp: this.ts, data: bytes }));
    this.ts += 20000;
  }
  schedule(data) {
    const pcm = new Float32Array(data.numberOfFrames);
    data.copyTo(pcm, { planeIndex: 0, format: "f32-planar" });
    const buf = this.ctx.createBuffer(1, pcm.length, data.sampleRate);
    buf.copyToChannel(pcm, 0);
    data.close();
    const src = this.ctx.createBufferSource();
    src.buffer = buf;
    src.connect(this.ctx.destination);
    // A small jitter buffer: start 60 ms ahead, keep playing back to back.
    this.next = Math.max(this.next, this.ctx.currentTime + 0.06);
    src.start(this.next);
    this.next += buf.duration;
    this.sources.add(src);
    src.onended = () => this.sources.delete(src);
  }
  stop() {
    for (const s of this.sources) s.stop();
    this.sources.clear();
    this.next = 0;
  }
}

function onEvent(m) {
  if (m.seq !== undefined) lastSeq = m.seq;
  switch (m.type) {
    case "ready": status(m.resumed ? "Reconnected." : "Connected."); backoff = 500; break;
    case "resync":
      lastSeq = m.snapshot.last_seq;
      for (const t of m.snapshot.transcript) caption(t.turn, t.speaker, t.text, true);
      break;
    case "state": $("state").textContent = m.state; break;
    case "agent_text": if (m.final) caption(m.turn, "interviewer", m.text, true); break;
    case "transcript": caption(m.turn, "candidate", m.text, m.final); break;
    case "audio_interrupted": player && player.stop(); break;
    case "error": status(m.message); break;
    case "ended": status("The interview has ended. Thank you."); break;
  }
}

function connect() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  ws = new WebSocket(`${proto}://${location.host}/v1/interviews/${interviewId}/stream`,
    ["viva.v1", `bearer.${token}`]);
  ws.binaryType = "arraybuffer";
  ws.onopen = () => ws.send(JSON.stringify({
    type: "hello", protocol: 1, resume_from: lastSeq,
    audio: { codec: "opus", sample_rate: 48000, channels: 1, frame_ms: 20 },
  }));
  ws.onmessage = (e) => {
    if (typeof e.data === "string") onEvent(JSON.parse(e.data));
    else if (player) {
      stats.packetsReceived++;
      player.push(new Uint8Array(e.data));
    }
  };
  ws.onclose = (e) => {
    if (RESUMABLE.has(e.code)) {
      status(`Connection lost; reconnecting in ${backoff / 1000} s…`);
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 10000);
    } else {
      status(e.reason || `Closed (${e.code}).`);
      $("repeat").disabled = $("end").disabled = true;
    }
  };
}

async function start() {
  if (!token) { status("This link has no interview token."); return; }
  $("start").disabled = true;
  ctx = new AudioContext({ sampleRate: 48000 });
  player = new Player(ctx);
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: { echoCancellation: true, noiseSuppression: true, channelCount: 1 },
  });
  await ctx.audioWorklet.addModule("/mic-worklet.js");
  const mic = new AudioWorkletNode(ctx, "mic-chunker");
  ctx.createMediaStreamSource(stream).connect(mic);
  encoder = new AudioEncoder({
    output: (chunk) => {
      const bytes = new Uint8Array(chunk.byteLength);
      chunk.copyTo(bytes);
      if (ws && ws.readyState === WebSocket.OPEN) {
        ws.send(bytes);
        stats.packetsSent++;
      }
    },
    error: (e) => console.error("encoder", e),
  });
  encoder.configure({
    codec: "opus", sampleRate: 48000, numberOfChannels: 1, bitrate: 32000,
    opus: { frameDuration: 20000 },
  });
  let ts = 0;
  stats.audioState = ctx.state;
  mic.port.onmessage = (e) => {
    stats.micChunks++;
    encoder.encode(new AudioData({
      format: "f32-planar", sampleRate: 48000, numberOfFrames: 960, numberOfChannels: 1,
      timestamp: ts, data: e.data,
    }));
    ts += 20000;
  };
  $("repeat").disabled = $("end").disabled = false;
  connect();
}

$("start").onclick = () => start().catch((e) => status(`Could not start: ${e.message}`));
$("repeat").onclick = () => ws.send(JSON.stringify({ type: "control", action: "repeat" }));
$("end").onclick = () => ws.send(JSON.stringify({ type: "control", action: "end" }));
$("typed").onsubmit = (e) => {
  e.preventDefault();
  const text = $("answer").value.trim();
  if (text && ws) ws.send(JSON.stringify({ type: "answer_text", text }));
  $("answer").value = "";
};
