// Watching one live interview (`/v1/interviews/{id}/monitor`): the transcript as it forms
// (partials greyed, finals black), the interviewer's state, per-turn latency, the candidate's
// level, degradations and drops, who else watches; "Listen" plays both sides; a recruiter may
// suggest a question, add a note and end the interview. A lost socket reconnects with
// `after_seq`, so nothing is missed and nothing shown twice.

import { h, replace, clock, when, field } from "../dom.js";
import { Listener } from "../listen.js";
import { latencyChart } from "./latency.js";

const STATE_WORDS = { speaking: "Interviewer speaking", listening: "Listening to the candidate", waiting: "Waiting: the candidate is thinking", thinking: "Thinking", ended: "Ended" };

/** @param {import("../console.js").Ctx} ctx @param {HTMLElement} root @param {string} id */
export async function render(ctx, root, id) {
  const api = ctx.api;
  const interview = await api.get(`/v1/interviews/${id}`);
  const candidate = interview.candidate_id ? await api.get(`/v1/candidates/${interview.candidate_id}`).catch(() => null) : null;
  const steer = api.can("recruiter");

  const state = h("dd", { id: "watch-state", "aria-live": "polite" }, "Connecting…");
  const question = h("dd", { id: "watch-question" }, "—");
  const elapsed = h("dd", {}, "—");
  const connection = h("dd", { id: "watch-connection" }, "—");
  const level = h("meter", { id: "watch-level", min: -60, max: 0, low: -45, high: -10, optimum: -20, value: -60, "aria-label": "Candidate's level" });
  const speaking = h("span", { id: "watch-speaking", class: "muted" }, "");
  const watchers = h("p", { id: "watch-watchers", class: "muted" });
  const alerts = h("ul", { id: "watch-alerts", class: "alerts", "aria-live": "polite" });
  const transcript = h("ol", { id: "watch-transcript", class: "transcript", "aria-live": "polite", "aria-relevant": "additions text" });
  const chart = h("div", { id: "watch-latency", class: "latency" });
  const notes = h("ol", { id: "watch-notes", class: "notes" });
  const listenButton = h("button", { id: "listen", type: "button", "aria-pressed": "false", disabled: !api.can("recruiter") }, "Listen");
  const listenInfo = h("span", { id: "listen-info", class: "muted", "data-candidate-frames": "0", "data-interviewer-frames": "0" },
    api.can("recruiter") ? "" : "Listening in is for recruiters and admins.");

  const suggestText = h("textarea", { id: "suggest-text", rows: 2, maxlength: 500 });
  const noteText = h("textarea", { id: "note-text", rows: 2, maxlength: 2000 });
  const endReason = h("input", { id: "end-reason", maxlength: 300 });
  const endConfirm = h("div", { class: "row", hidden: true },
    field("Reason (read out to the candidate, optional)", endReason),
    h("button", { type: "button", class: "danger", id: "end-confirm", onclick: () => send({ type: "end", reason: endReason.value.trim() || undefined }) }, "End it now"),
    h("button", { type: "button", class: "quiet", onclick: () => { endConfirm.hidden = true; } }, "Keep it going"),
  );

  replace(root,
    h("p", {}, h("a", { href: "#/live" }, "← Live interviews")),
    h("h1", {}, `${candidate?.name ?? "Candidate"} — ${interview.role}`),
    h("dl", { class: "facts" },
      h("div", {}, h("dt", {}, "Now"), state),
      h("div", {}, h("dt", {}, "Question"), question),
      h("div", {}, h("dt", {}, "Time"), elapsed),
      h("div", {}, h("dt", {}, "Candidate"), connection),
    ),
    h("div", { class: "row" }, h("span", {}, "Candidate's level"), level, speaking),
    watchers,
    alerts,
    h("div", { class: "row" }, listenButton, listenInfo),
    h("div", { class: "columns" },
      h("section", { "aria-labelledby": "t-title" }, h("h2", { id: "t-title" }, "Transcript"), transcript),
      h("section", { "aria-labelledby": "s-title" },
        h("h2", { id: "s-title" }, "Steer"),
        steer
          ? h("div", {},
            h("form", { id: "suggest", onsubmit: (/** @type {Event} */ e) => { e.preventDefault(); send({ type: "suggest_question", text: suggestText.value }); } },
              field("Suggest a question", suggestText),
              h("button", { type: "submit" }, "Suggest")),
            h("form", { id: "note", onsubmit: (/** @type {Event} */ e) => { e.preventDefault(); send({ type: "note", text: noteText.value }); } },
              field("Add a note (private to the hiring team)", noteText),
              h("button", { type: "submit" }, "Add note")),
            h("button", { type: "button", class: "danger", id: "end", onclick: () => { endConfirm.hidden = false; endReason.focus(); } }, "End interview"),
            endConfirm)
          : h("p", { class: "muted" }, "Viewers watch; recruiters may steer."),
        h("h2", {}, "Notes"), notes,
        h("h2", {}, "Latency per turn"), chart,
      ),
    ),
  );

  /** Lines by `${speaker}:${turn}`. @type {Map<string, HTMLElement>} */
  const lines = new Map();
  /** Answers' analyses by turn (shown under the answer). @type {Map<number, any>} */
  const analyses = new Map();
  /** @type {Map<number, any>} */
  const timings = new Map();
  const noteIds = new Set();
  let lastSeq = 0;
  let over = false;
  let closed = false;
  /** @type {WebSocket|null} */
  let ws = null;
  /** @type {Listener|null} */
  let listener = null;
  /** Steering messages waiting for their `steered` answer. @type {any[]} */
  const pending = [];

  const tick = setInterval(() => {
    if (interview.started_at && !over) elapsed.textContent = clock(Date.now() - Date.parse(interview.started_at));
  }, 1000);

  /** @param {"interviewer"|"candidate"} speaker @param {number} turn @param {string} text @param {boolean} final @param {string} [kind] */
  function line(speaker, turn, text, final, kind) {
    const key = `${speaker}:${turn}`;
    let li = lines.get(key);
    if (!li) {
      li = h("li", { "data-turn": turn, "data-speaker": speaker });
      lines.set(key, li);
      // In turn order (a late final transcript lands where it belongs).
      const after = [...transcript.children].find((c) => Number(/** @type {HTMLElement} */ (c).dataset.turn) > turn);
      transcript.insertBefore(li, after ?? null);
    }
    li.className = `${speaker}${final ? "" : " partial"}`;
    if (kind) li.dataset.kind = kind;
    const none = speaker === "interviewer" ? "(cut off before any words)" : "(no words)";
    replace(li, h("span", { class: "who" }, speaker === "interviewer" ? "Interviewer" : "Candidate"), " ", text || none,
      speaker === "candidate" && analyses.has(turn) ? analysisNote(analyses.get(turn)) : null);
  }

  /** An answer's analysis arrived: shown under its line. @param {any} msg */
  function showAnalysis(msg) {
    analyses.set(msg.turn, msg.analysis);
    const li = lines.get(`candidate:${msg.turn}`);
    if (li && !li.querySelector(".analysis")) li.append(analysisNote(msg.analysis));
  }

  function showQuestion() {
    const asked = [...lines.keys()].filter((k) => k.startsWith("interviewer:") && lines.get(k)?.dataset.kind === "question").length;
    const planned = interview.settings?.max_questions;
    question.textContent = planned ? `${asked} of ${planned}` : String(asked);
  }

  /** @param {any} note */
  function showNote(note) {
    if (noteIds.has(note.id)) return;
    noteIds.add(note.id);
    const what = { note: "Note", suggested_question: "Suggested question", end: "Ended" }[/** @type {"note"} */ (note.kind)] ?? note.kind;
    notes.append(h("li", { "data-kind": note.kind }, h("span", { class: "who" }, `${what} · ${note.author ?? "monitor link"} · ${when(note.created_at)}`), " ", note.text || "—"));
  }

  /** @param {any} msg */
  function onEvent(msg) {
    if (typeof msg.seq === "number") lastSeq = Math.max(lastSeq, msg.seq);
    switch (msg.type) {
      case "ready":
        state.textContent = STATE_WORDS[/** @type {keyof STATE_WORDS} */ (msg.state)] ?? msg.state;
        break;
      case "resync":
        for (const t of msg.snapshot.transcript) line(t.speaker, t.turn, t.text, true);
        lastSeq = msg.snapshot.last_seq;
        state.textContent = STATE_WORDS[/** @type {keyof STATE_WORDS} */ (msg.snapshot.state)] ?? msg.snapshot.state;
        break;
      case "state":
        state.textContent = STATE_WORDS[/** @type {keyof STATE_WORDS} */ (msg.state)] ?? msg.state;
        break;
      case "agent_text":
        line("interviewer", msg.turn, msg.text, msg.final, msg.kind);
        showQuestion();
        break;
      case "transcript":
        line("candidate", msg.turn, msg.text, msg.final);
        break;
      case "analysis":
        showAnalysis(msg);
        break;
      case "turn_metrics":
        timings.set(msg.turn, msg.timings);
        replace(chart, latencyChart(timings));
        break;
      case "error":
        alerts.append(h("li", {}, `${msg.code}: ${msg.message}`));
        break;
      case "ended":
        over = true;
        state.textContent = `Ended (${msg.reason})`;
        alerts.append(h("li", {}, h("a", { href: `#/interviews/${id}` }, "The interview has ended: see the results.")));
        break;
      case "level":
        level.value = Math.max(-60, msg.dbfs);
        break;
      case "speech":
        speaking.textContent = msg.speaking ? "speaking" : "";
        break;
      case "candidate_connection":
        connection.textContent = { connected: "Connected", resumed: "Back", replaced: "Reconnected", dropped: "Disconnected" }[/** @type {"connected"} */ (msg.event)] ?? msg.event;
        if (msg.event === "dropped") alerts.append(h("li", {}, `The candidate's connection dropped (${msg.reason ?? "unknown"}) at ${new Date().toLocaleTimeString()}.`));
        break;
      case "degraded":
        alerts.append(h("li", {}, `Degraded (${msg.stage}): ${msg.detail}`));
        break;
      case "watchers":
        watchers.textContent = `Watching: ${msg.watchers.map((/** @type {any} */ w) => `${w.name}${w.listening ? " (listening)" : ""}`).join(", ")}`;
        break;
      case "note":
        showNote(msg);
        break;
      case "steered": {
        const sent = pending.shift();
        if (msg.accepted) {
          ctx.flash({ suggest_question: "Question suggested: it is asked at the next turn.", note: "Note added.", end: "Ending the interview." }[/** @type {"note"} */ (msg.action)] ?? "Done.");
          if (sent?.type === "suggest_question") suggestText.value = "";
          if (sent?.type === "note") noteText.value = "";
          if (sent?.type === "end") endConfirm.hidden = true;
        } else {
          ctx.flash(`Not taken: ${msg.reason ?? "refused"}`);
        }
        break;
      }
    }
  }

  /** @param {any} msg */
  function send(msg) {
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      ctx.flash("Not connected; try again in a moment.");
      return;
    }
    pending.push(msg);
    ws.send(JSON.stringify(msg));
  }

  async function connect() {
    const listen = listener ? "&listen=1" : "";
    const query = lastSeq > 0 ? `?after_seq=${lastSeq}${listen}` : (listen ? `?listen=1` : "");
    ws = await api.socket(`/v1/interviews/${id}/monitor${query}`);
    ws.onmessage = (e) => {
      if (typeof e.data === "string") onEvent(JSON.parse(e.data));
      else if (listener) {
        listener.push(e.data);
        listenInfo.dataset.candidateFrames = String(listener.frames[0]);
        listenInfo.dataset.interviewerFrames = String(listener.frames[1]);
      }
    };
    ws.onclose = (e) => {
      pending.length = 0;
      if (closed) return;
      if (e.code === 4010 || over) {
        over = true;
        state.textContent = state.textContent?.startsWith("Ended") ? state.textContent : "Ended";
        return;
      }
      if (e.code === 4001) {
        api.askToSignIn().then(connect);
        return;
      }
      if (e.code === 4003 || e.code === 4004) {
        ctx.flash(e.reason || "Not allowed.");
        return;
      }
      setTimeout(() => { if (!closed) connect(); }, 1000);
    };
  }

  /** Closes the socket without reconnecting. */
  function hangUp() {
    if (!ws) return;
    ws.onclose = null;
    ws.onmessage = null;
    ws.close(1000);
    ws = null;
  }

  listenButton.addEventListener("click", async () => {
    if (listener) {
      listener.close();
      listener = null;
      listenButton.setAttribute("aria-pressed", "false");
      listenButton.textContent = "Listen";
    } else {
      listener = new Listener();
      listenButton.setAttribute("aria-pressed", "true");
      listenButton.textContent = "Stop listening";
    }
    // The same view, with or without audio: reopened after the last event it has.
    hangUp();
    await connect();
  });

  const stored = await api.get(`/v1/interviews/${id}/notes`);
  for (const n of stored.items) showNote(n);
  await connect();
  return () => {
    closed = true;
    clearInterval(tick);
    listener?.close();
    hangUp();
  };
}

/**
 * An answer's scores, under its line: the four dimensions and the analyst's one line, labelled
 * with how they were made (`heuristic`: counted, not understood).
 * @param {any} a
 */
function analysisNote(a) {
  if (a.status !== "scored" || !a.scores) return h("p", { class: "analysis muted" }, "Not scored.");
  const s = a.scores;
  return h("p", { class: "analysis muted", "data-method": a.method },
    h("span", { class: "badge" }, a.method),
    ` relevance ${s.relevance} · completeness ${s.completeness} · correctness ${s.correctness} · clarity ${s.clarity} (of 10) — ${a.feedback}`);
}
