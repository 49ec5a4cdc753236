// Candidate page for protocol v1 (docs/protocol.md): a microphone check (permission, device
// picker, level meter), then microphone → AudioWorklet → WebCodecs Opus (20 ms) → WebSocket, and
// interviewer Opus → WebCodecs → a small jitter buffer → speakers; captions of both sides, state,
// progress and time; typed answers, "repeat", "end"; reconnects with backoff and resume_from.
const $ = (id) => document.getElementById(id);
const interviewId = location.pathname.split("/").pop();
const token = new URLSearchParams(location.hash.slice(1)).get("token");
/** Close codes after which the page reconnects and resumes. */
const RESUMABLE = new Set([1006, 1011, 1012, 1013, 4008]);
const STATE_LABELS = {
  thinking: "The interviewer is thinking…",
  speaking: "The interviewer is speaking",
  listening: "Your turn: go ahead",
  ended: "Finished",
};

let ws = null;
let lastSeq = null;
let backoff = 500;
let ctx = null;
let player = null;
let stream = null;
let analyser = null;
let startedAt = 0;
let ended = false;
const questions = new Set();
// Counters for tests and troubleshooting.
const stats = { micChunks: 0, packetsSent: 0, packetsReceived: 0, reconnects: 0, audioState: "none" };
window.vivaStats = stats;

/** @param {string} text */
function status(text) { $("status").textContent = text; }

/**
 * @param {number} turn
 * @param {"interviewer"|"candidate"} who
 * @param {string} text
 * @param {boolean} final
 */
function caption(turn, who, text, final) {
  const key = `${who}-${turn}`;
  let li = /** @type {HTMLElement|null} */ (document.querySelector(`[data-key="${key}"]`));
  if (!li) {
    li = document.createElement("li");
    li.dataset.key = key;
    li.className = who;
    $("captions").append(li);
  }
  li.classList.toggle("partial", !final);
  li.textContent = (who === "interviewer" ? "Interviewer: " : "You: ") + text;
  li.scrollIntoView({ block: "nearest" });
}

/** Interviewer audio: Opus packets decoded and scheduled back to back, 60 ms ahead. */
class Player {
  /** @param {AudioContext} ctx */
  constructor(ctx) {
    this.ctx = ctx;
    this.next = 0;
    /** @type {Set<AudioBufferSourceNode>} */
    this.sources = new Set();
    this.ts = 0;
    this.decoder = new AudioDecoder({
      output: (data) => this.schedule(data),
      error: (e) => console.error("decoder", e),
    });
    this.decoder.configure({ codec: "opus", sampleRate: 48000, numberOfChannels: 1 });
  }
  /** @param {Uint8Array} bytes */
  push(bytes) {
    this.decoder.decode(new EncodedAudioChunk({ type: "key", timestamp: this.ts, data: bytes }));
    this.ts += 20000;
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
    this.next = Math.max(this.next, this.ctx.currentTime + 0.06);
    src.start(this.next);
    this.next += buf.duration;
    this.sources.add(src);
    src.onended = () => this.sources.delete(src);
  }
  /** Barge-in: silence at once. */
  stop() {
    for (const s of this.sources) s.stop();
    this.sources.clear();
    this.next = 0;
  }
}

/** @param {any} m */
function onMessage(m) {
  if (m.seq !== undefined) lastSeq = m.seq;
  switch (m.type) {
    case "ready":
      status(m.resumed ? "Connected. Picking up where we were." : "Connected.");
      backoff = 500;
      break;
    case "resync":
      lastSeq = m.snapshot.last_seq;
      for (const q of m.snapshot.questions) questions.add(q);
      for (const t of m.snapshot.transcript) caption(t.turn, t.speaker, t.text, true);
      showState(m.snapshot.state);
      showProgress();
      break;
    case "state": showState(m.state); break;
    case "agent_text":
      if (m.final) {
        caption(m.turn, "interviewer", m.text, true);
        if (m.text.includes("?")) { questions.add(m.text); showProgress(); }
      }
      break;
    case "transcript": caption(m.turn, "candidate", m.text, m.final); break;
    case "audio_interrupted": if (player) player.stop(); break;
    case "error": status(m.message); break;
    case "ended": finish("The interview has ended. Thank you!"); break;
  }
}

/** @param {string} state */
function showState(state) {
  $("state").textContent = STATE_LABELS[state] || state;
  document.body.dataset.state = state;
}

function showProgress() { $("progress").textContent = String(questions.size || "—"); }

/** @param {string} text */
function finish(text) {
  ended = true;
  status(text);
  showState("ended");
  for (const id of ["repeat", "end", "answer"]) /** @type {HTMLButtonElement} */ ($(id)).disabled = true;
  if (stream) for (const t of stream.getTracks()) t.stop();
}

function connect() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  ws = new WebSocket(`${proto}://${location.host}/v1/interviews/${interviewId}/stream`,
    ["viva.v1", `bearer.${token}`]);
  ws.binaryType = "arraybuffer";
  ws.onopen = () => ws && ws.send(JSON.stringify({
    type: "hello", protocol: 1, resume_from: lastSeq,
    audio: { codec: "opus", sample_rate: 48000, channels: 1, frame_ms: 20 },
  }));
  ws.onmessage = (e) => {
    if (typeof e.data === "string") onMessage(JSON.parse(e.data));
    else if (player) {
      stats.packetsReceived++;
      player.push(new Uint8Array(e.data));
    }
  };
  ws.onclose = (e) => {
    if (ended) return;
    if (RESUMABLE.has(e.code)) {
      stats.reconnects++;
      status(`Connection lost. Reconnecting in ${Math.round(backoff / 100) / 10} s; nothing you said is lost.`);
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 10000);
    } else if (e.code === 4010) {
      finish("The interview has ended. Thank you!");
    } else {
      finish(e.reason || `The connection was closed (${e.code}).`);
    }
  };
}

/** Asks for the microphone (on `deviceId` if given) and shows its level. */
async function openMic(deviceId) {
  if (stream) for (const t of stream.getTracks()) t.stop();
  stream = await navigator.mediaDevices.getUserMedia({
    audio: {
      deviceId: deviceId ? { exact: deviceId } : undefined,
      echoCancellation: true, noiseSuppression: true, channelCount: 1,
    },
  });
  if (!ctx) ctx = new AudioContext({ sampleRate: 48000 });
  analyser = ctx.createAnalyser();
  analyser.fftSize = 1024;
  ctx.createMediaStreamSource(stream).connect(analyser);
  const devices = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === "audioinput");
  const select = /** @type {HTMLSelectElement} */ ($("device"));
  const current = stream.getAudioTracks()[0].getSettings().deviceId;
  select.replaceChildren(...devices.map((d, i) => new Option(d.label || `Microphone ${i + 1}`, d.deviceId, false, d.deviceId === current)));
  select.disabled = devices.length < 2;
}

/** Level meter; the check passes once the microphone has heard something. */
function meter() {
  if (!analyser) return;
  const data = new Float32Array(analyser.fftSize);
  analyser.getFloatTimeDomainData(data);
  let sum = 0;
  for (const v of data) sum += v * v;
  const rms = Math.sqrt(sum / data.length);
  $("level").style.width = `${Math.min(100, rms * 400)}%`;
  if (rms > 0.01 && !$("mic-check").textContent) $("mic-check").textContent = "We can hear you.";
  if (!ended) requestAnimationFrame(meter);
}

async function allow() {
  if (!token) { status("This link has no interview token. Use the link you were sent."); return; }
  if (typeof AudioEncoder === "undefined" || typeof AudioDecoder === "undefined") {
    status("This browser cannot record audio for the interview; please use a current Chrome, Edge or Safari.");
    return;
  }
  try {
    await openMic();
  } catch (e) {
    const denied = e instanceof DOMException && e.name === "NotAllowedError";
    status(denied
      ? "Microphone access was blocked. Allow it in the browser's address bar, then try again."
      : `The microphone could not be opened: ${e instanceof Error ? e.message : e}`);
    return;
  }
  /** @type {HTMLButtonElement} */ ($("allow")).disabled = true;
  /** @type {HTMLButtonElement} */ ($("start")).disabled = false;
  status("Microphone ready. Start when you are.");
  requestAnimationFrame(meter);
}

async function start() {
  if (!ctx || !stream) return;
  /** @type {HTMLButtonElement} */ ($("start")).disabled = true;
  await ctx.resume();
  player = new Player(ctx);
  await ctx.audioWorklet.addModule("/mic-worklet.js");
  const mic = new AudioWorkletNode(ctx, "mic-chunker");
  ctx.createMediaStreamSource(stream).connect(mic);
  const encoder = new AudioEncoder({
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
    // @ts-ignore: Opus options are not in every lib.dom.d.ts yet.
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
  $("setup").hidden = true;
  $("live").hidden = false;
  startedAt = Date.now();
  setInterval(() => {
    if (ended) return;
    const s = Math.floor((Date.now() - startedAt) / 1000);
    $("elapsed").textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  }, 1000);
  connect();
  $("repeat").focus();
}

/** @param {object} msg */
function send(msg) { if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg)); }

$("allow").onclick = () => allow();
$("device").onchange = (e) => openMic(/** @type {HTMLSelectElement} */ (e.target).value)
  .catch((err) => status(`That microphone could not be opened: ${err.message}`));
$("start").onclick = () => start().catch((e) => status(`Could not start: ${e.message}`));
$("repeat").onclick = () => send({ type: "control", action: "repeat" });
$("end").onclick = () => {
  if (confirm("End the interview now? You cannot come back to it.")) send({ type: "control", action: "end" });
};
$("typed").onsubmit = (e) => {
  e.preventDefault();
  const input = /** @type {HTMLInputElement} */ ($("answer"));
  const text = input.value.trim();
  if (text) send({ type: "answer_text", text });
  input.value = "";
};
