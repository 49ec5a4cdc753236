// Candidate page for protocol v1 (docs/protocol.md): a microphone check (permission, device
// picker, level meter), then the microphone as 20 ms Opus packets over the WebSocket (mic.js) and
// the interviewer's Opus through a jitter buffer to the speakers (player.js); captions of both
// sides, state, progress and time; typed answers, "repeat", "end"; reconnects with backoff,
// `resume_from` and the resume secret, so nothing said is lost and the interview continues where
// it was. The token (from the link's #fragment) and the secret live in sessionStorage, so a reload
// resumes; the token is then cleared from the address bar. Interviews made through the API first
// show the organization's notice, which the candidate accepts before anything else.
import { Mic } from "./mic.js";
import { Player } from "./player.js";

/**
 * The element with this id (the page's markup has every id this script uses).
 * @template {HTMLElement} [T=HTMLElement]
 * @param {string} id
 * @returns {T}
 */
function $(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return /** @type {T} */ (el);
}

const interviewId = location.pathname.split("/").pop();
const TOKEN_KEY = `viva:${interviewId}:token`;
const SECRET_KEY = `viva:${interviewId}:resume_secret`;
const token = new URLSearchParams(location.hash.slice(1)).get("token") || sessionStorage.getItem(TOKEN_KEY);
if (token) {
  sessionStorage.setItem(TOKEN_KEY, token);
  // Out of the address bar (and so out of history, bookmarks and screen shares).
  if (location.hash) history.replaceState(null, "", location.pathname + location.search);
}
/** Close codes after which the page reconnects and resumes (see docs/protocol.md). */
const RESUMABLE = new Set([1001, 1005, 1006, 1011, 1012, 1013, 4008]);
/** The server ended the interview (or it had ended before this connection). */
const CLOSE_ENDED = 4010;
/** The interview is live in another tab or device; trying again after the hold may take it over. */
const CLOSE_LIVE_ELSEWHERE = 4011;
/** The candidate has not accepted the organization's notice yet. */
const CLOSE_CONSENT_REQUIRED = 4012;
const LIVE_ELSEWHERE_RETRY_MS = 20000;
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 10000;
/** @type {Record<Viva.State, string>} */
const STATE_LABELS = {
  thinking: "The interviewer is thinking…",
  speaking: "The interviewer is speaking",
  listening: "Your turn: go ahead",
  // The interviewer heard an unfinished thought and waits: no hurry.
  waiting: "Take your time",
  ended: "Finished",
};

/** @type {WebSocket|null} */
let ws = null;
/** @type {number|null} */
let lastSeq = null;
let backoff = BACKOFF_FIRST_MS;
/** @type {AudioContext|null} */
let ctx = null;
/** @type {Mic|null} */
let mic = null;
/** @type {Player|null} */
let player = null;
let startedAt = 0;
let ended = false;
/** Questions asked before a `resync` (the snapshot lists them without turn numbers). */
let questionsBefore = 0;
/** @type {Set<number>} interviewer turns that asked a question the candidate heard */
const questionTurns = new Set();

// Counters for troubleshooting (and the browser tests).
const stats = { micChunks: 0, packetsSent: 0, packetsReceived: 0, reconnects: 0, underruns: 0, audioState: "none" };
window.vivaStats = stats;

/** @param {string} text */
function status(text) { $("status").textContent = text; }

/**
 * @param {number} turn
 * @param {Viva.Speaker} who
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

/**
 * The interviewer's final text for a turn. It is sent again after a barge-in with the words the
 * candidate actually heard (what the server stores); empty when none were.
 * @param {number} turn
 * @param {Viva.TurnKind} kind
 * @param {string} text
 * @param {boolean} closing the interviewer's closing, not a question
 */
function interviewerText(turn, kind, text, closing) {
  if (text === "") {
    document.querySelector(`[data-key="interviewer-${turn}"]`)?.remove();
    questionTurns.delete(turn);
  } else {
    caption(turn, "interviewer", text, true);
    // Every question counts (a cut-off one too, and one phrased "Walk me through…"); the
    // closing does not.
    if (kind === "question" && !closing) questionTurns.add(turn);
    else questionTurns.delete(turn);
  }
  showProgress();
}

/** @param {Viva.State} state */
function showState(state) {
  $("state").textContent = STATE_LABELS[state] || state;
  document.body.dataset.state = state;
}

function showProgress() {
  const asked = questionsBefore + questionTurns.size;
  $("progress").textContent = asked ? String(asked) : "—";
}

/** @param {Viva.ServerMessage} m */
function onMessage(m) {
  if ("seq" in m) lastSeq = m.seq;
  switch (m.type) {
    case "ready":
      status(m.resumed ? "Connected. Picking up where we were." : "Connected.");
      if (m.resume_secret) sessionStorage.setItem(SECRET_KEY, m.resume_secret);
      backoff = BACKOFF_FIRST_MS;
      controls(true);
      break;
    case "resync":
      lastSeq = m.snapshot.last_seq;
      questionTurns.clear();
      // An ended interview's last question is its closing.
      questionsBefore = Math.max(0, m.snapshot.questions.length - (m.snapshot.state === "ended" ? 1 : 0));
      for (const t of m.snapshot.transcript) caption(t.turn, t.speaker, t.text, true);
      showState(m.snapshot.state);
      showProgress();
      break;
    case "state": showState(m.state); break;
    case "agent_text":
      if (m.final) interviewerText(m.turn, m.kind, m.text, m.closing === true);
      break;
    case "transcript": caption(m.turn, "candidate", m.text, m.final); break;
    case "audio_interrupted": player?.stop(); break;
    case "error": status(m.message); break;
    case "ended":
      finish(m.reason === "cancelled"
        ? "The hiring team has ended this interview. Thank you for your time."
        : "The interview has ended. Thank you!");
      break;
  }
}

/**
 * Whether the interview's controls can be used (not while another tab holds the interview).
 * @param {boolean} usable
 */
function controls(usable) {
  for (const id of ["repeat", "end", "answer", "send"]) {
    /** @type {HTMLButtonElement|HTMLInputElement} */ ($(id)).disabled = !usable;
  }
}

/** @param {string} text */
function finish(text) {
  ended = true;
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(SECRET_KEY);
  status(text);
  showState("ended");
  controls(false);
  mic?.close();
  ws?.close(1000);
}

function connect() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${proto}://${location.host}/v1/interviews/${interviewId}/stream`,
    ["viva.v1", `bearer.${token}`]);
  ws = socket;
  socket.binaryType = "arraybuffer";
  const secret = sessionStorage.getItem(SECRET_KEY);
  socket.onopen = () => socket.send(JSON.stringify({
    // After a reload (a secret but no events yet) everything is replayed, so captions come back.
    type: "hello", protocol: 1, resume_from: lastSeq ?? (secret ? 0 : null), resume_secret: secret,
    audio: { codec: "opus", sample_rate: 48000, channels: 1, frame_ms: 20 },
  }));
  socket.onmessage = (e) => {
    if (typeof e.data === "string") onMessage(JSON.parse(e.data));
    else if (player) {
      stats.packetsReceived++;
      player.push(new Uint8Array(e.data));
      stats.underruns = player.underruns;
    }
  };
  socket.onclose = (e) => {
    if (ended || socket !== ws) return;
    if (RESUMABLE.has(e.code)) {
      stats.reconnects++;
      player?.stop();
      status(`Connection lost. Reconnecting in ${Math.round(backoff / 100) / 10} s; nothing you said is lost.`);
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
    } else if (e.code === CLOSE_ENDED) {
      finish("The interview has ended. Thank you!");
    } else if (e.code === CLOSE_CONSENT_REQUIRED) {
      player?.stop();
      controls(false);
      checkNotice().catch((err) => status(`The notice could not be loaded: ${err.message}`));
    } else if (e.code === CLOSE_LIVE_ELSEWHERE) {
      player?.stop();
      controls(false);
      status("This interview is open in another tab or device. Close it there; this page tries again in 20 s.");
      setTimeout(connect, LIVE_ELSEWHERE_RETRY_MS);
    } else {
      finish(e.reason || `The connection was closed (${e.code}).`);
    }
  };
}

/** @param {string} [deviceId] */
async function openMic(deviceId) {
  if (!ctx) ctx = new AudioContext({ sampleRate: 48000 });
  if (!mic) mic = new Mic(ctx);
  await mic.open(deviceId);
  const devices = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === "audioinput");
  const select = /** @type {HTMLSelectElement} */ ($("device"));
  const current = mic.deviceId;
  select.replaceChildren(...devices.map((d, i) =>
    new Option(d.label || `Microphone ${i + 1}`, d.deviceId, false, d.deviceId === current)));
  select.disabled = devices.length < 2;
}

/** Level meter; the check passes once the microphone has heard something. */
function meter() {
  if (!mic || ended) return;
  const rms = mic.level();
  $("level").style.width = `${Math.min(100, rms * 400)}%`;
  $("meter").setAttribute("aria-valuenow", String(Math.round(Math.min(100, rms * 400))));
  if (rms > 0.01 && !$("mic-check").textContent) $("mic-check").textContent = "We can hear you.";
  requestAnimationFrame(meter);
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
  if (!ctx || !mic) return;
  /** @type {HTMLButtonElement} */ ($("start")).disabled = true;
  await ctx.resume();
  stats.audioState = ctx.state;
  player = new Player(ctx);
  await mic.capture((packet) => {
    stats.micChunks = mic?.chunks ?? 0;
    if (ws && ws.readyState === WebSocket.OPEN) {
      ws.send(packet);
      stats.packetsSent++;
    }
  });
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

/**
 * A call with the candidate's token (`docs/api.md`, "The candidate's notice and consent").
 * @param {string} method
 * @param {string} path under the interview
 * @param {object} [body]
 */
function call(method, path, body) {
  return fetch(`/v1/interviews/${interviewId}/${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
}

/** The notice version the candidate is reading. */
let noticeVersion = 0;

/**
 * Shows the organization's notice if the candidate has yet to accept it, else the microphone
 * check (or, if the interview is under way, tells the candidate to reconnect).
 */
async function checkNotice() {
  const r = await call("GET", "notice");
  if (r.status === 401) {
    status("This link no longer works. Ask the hiring team for a new one.");
    return;
  }
  if (!r.ok) {
    status(`The interview could not be loaded (${r.status}). Try again in a moment.`);
    return;
  }
  /** @type {{version: number, text: string, consent_required: boolean, consented: boolean}} */
  const n = await r.json();
  if (n.consent_required && !n.consented) {
    noticeVersion = n.version;
    $("notice-text").textContent = n.text;
    /** @type {HTMLInputElement} */ ($("agree")).checked = false;
    /** @type {HTMLButtonElement} */ ($("accept")).disabled = true;
    $("notice").hidden = false;
    $("setup").hidden = true;
    $("live").hidden = true;
    status("Please read this first.");
  } else if (!ws) {
    $("setup").hidden = false;
  } else {
    connect();
  }
}

async function accept() {
  /** @type {HTMLButtonElement} */ ($("accept")).disabled = true;
  const r = await call("POST", "consent", { notice_version: noticeVersion });
  if (r.status === 409) {
    status("The notice has just changed: please read it again.");
    await checkNotice();
    return;
  }
  if (!r.ok) {
    status(r.status === 410 ? "The interview has ended." : `Your answer could not be recorded (${r.status}). Try again.`);
    /** @type {HTMLButtonElement} */ ($("accept")).disabled = false;
    return;
  }
  $("notice").hidden = true;
  if (ws) {
    $("live").hidden = false;
    connect();
  } else {
    $("setup").hidden = false;
    status("Allow the microphone to begin.");
  }
}

/** @param {object} msg */
function send(msg) { if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg)); }

$("agree").onchange = (e) => {
  /** @type {HTMLButtonElement} */ ($("accept")).disabled = !(/** @type {HTMLInputElement} */ (e.target).checked);
};
$("accept").onclick = () => accept().catch((e) => status(`Your answer could not be sent: ${e.message}`));
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

// What the page notices, for the hiring team to review: sent only while connected, kept only
// when the organization collects integrity signals (the notice says so); what was pasted is
// never sent, only how long it was.
document.addEventListener("visibilitychange", () =>
  send({ type: "client_event", event: document.hidden ? "tab_hidden" : "tab_visible" }));
window.addEventListener("blur", () => send({ type: "client_event", event: "focus_lost" }));
window.addEventListener("focus", () => send({ type: "client_event", event: "focus_gained" }));
$("answer").addEventListener("paste", (e) => {
  const text = /** @type {ClipboardEvent} */ (e).clipboardData?.getData("text") ?? "";
  send({ type: "client_event", event: "paste", chars: text.length });
});

if (token) checkNotice().catch((e) => status(`The interview could not be loaded: ${e.message}`));
else status("This link has no interview token. Use the link you were sent.");
