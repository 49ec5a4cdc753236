// An interview's record: its facts, the transcript with timestamps (suggested questions
// marked), the hiring team's notes, usage and cost, and the assessment when there is one
// (scores, each with evidence that jumps to the transcript line it points at).

import { h, replace, when, clock } from "../dom.js";
import { ApiError } from "../api.js";

/** @param {import("../console.js").Ctx} ctx @param {HTMLElement} root @param {string} id */
export async function render(ctx, root, id) {
  const api = ctx.api;
  const interview = await api.get(`/v1/interviews/${id}`);
  const fetchAssessment = () => api.get(`/v1/interviews/${id}/assessment`).catch((e) => {
    // None (404), or not over yet (409).
    if (e instanceof ApiError && (e.status === 404 || e.status === 409)) return null;
    throw e;
  });
  const [candidate, transcript, notes, assessment, recordings] = await Promise.all([
    interview.candidate_id ? api.get(`/v1/candidates/${interview.candidate_id}`).catch(() => null) : null,
    api.get(`/v1/interviews/${id}/transcript`),
    api.get(`/v1/interviews/${id}/notes`),
    fetchAssessment(),
    api.get(`/v1/interviews/${id}/recordings`),
  ]);
  const box = h("div", { id: "assessment-box" });
  /** Draws the assessment; while it is being made, looks again every two seconds. @param {any} a */
  const showAssessment = (a) => {
    replace(box,
      a ? renderAssessment(a) : h("p", { class: "muted" }, "No assessment yet."),
      regenerate(ctx, id, interview, a, () => showAssessment({ status: "pending", summary: "The assessment is being made." })));
    if (a?.status === "pending") {
      setTimeout(() => {
        if (box.isConnected) fetchAssessment().then(showAssessment, () => {});
      }, 2000);
    }
  };
  showAssessment(assessment);
  const clips = new Clips(api, recordings.items);
  const u = interview.usage;
  replace(root,
    h("p", {}, h("a", { href: "#/interviews" }, "← Interviews")),
    h("h1", {}, `${candidate?.name ?? "Candidate"} — ${interview.role}`),
    h("dl", { class: "facts" },
      h("div", {}, h("dt", {}, "Status"), h("dd", { id: "result-status" }, interview.status.replace("_", " "))),
      h("div", {}, h("dt", {}, "Started"), h("dd", {}, when(interview.started_at))),
      h("div", {}, h("dt", {}, "Ended"), h("dd", {}, when(interview.completed_at))),
      interview.cancel_reason ? h("div", {}, h("dt", {}, "Why cancelled"), h("dd", {}, interview.cancel_reason)) : null,
    ),
    interview.status === "in_progress" ? h("p", {}, h("a", { href: `#/watch/${id}` }, "It is running: watch it live.")) : null,
    interview.purged_at ? h("p", { class: "muted" }, `Its transcript was deleted on ${when(interview.purged_at)} (retention).`) : null,
    h("section", { "aria-labelledby": "assessment-title" },
      h("h2", { id: "assessment-title" }, "Assessment"),
      box),
    recordings.items.length ? h("p", { class: "muted" }, "Recorded: press ▶ beside a line to hear that moment.") : null,
    clips.audio,
    h("div", { class: "columns" },
      h("section", { "aria-labelledby": "transcript-title" },
        h("h2", { id: "transcript-title" }, "Transcript"),
        transcript.turns.length === 0 ? h("p", { class: "muted" }, "Nothing was said.") :
          h("ol", { id: "result-transcript", class: "transcript" }, ...transcript.turns.map((/** @type {any} */ t) =>
            h("li", { id: `turn-${t.turn}`, class: t.speaker, "data-turn": t.turn, tabindex: -1 },
              h("span", { class: "when" }, clock(t.start_ms ?? 0)), " ",
              h("span", { class: "who" }, t.speaker === "interviewer" ? "Interviewer" : "Candidate"), " ",
              t.text || (t.transcribed === false ? "(speech without a transcript)" : "—"),
              t.suggested ? h("span", { class: "badge" }, "suggested by the team") : null,
              clips.has(t) ? h("button", { type: "button", class: "quiet play", "aria-label": `Play this moment (${clock(t.start_ms ?? 0)})`, onclick: () => clips.play(t) }, "▶") : null,
              t.interrupted ? h("span", { class: "badge" }, "interrupted") : null)))),
      h("section", { "aria-labelledby": "notes-title" },
        h("h2", { id: "notes-title" }, "Notes"),
        notes.items.length === 0 ? h("p", { class: "muted" }, "No notes.") :
          h("ol", { class: "notes" }, ...notes.items.map((/** @type {any} */ n) =>
            h("li", {}, h("span", { class: "who" }, `${n.kind.replace("_", " ")} · ${n.author ?? "monitor link"} · ${when(n.created_at)}`), " ", n.text || "—"))),
        h("h2", {}, "Usage and cost"),
        h("dl", { class: "facts small" },
          h("div", {}, h("dt", {}, "Model tokens"), h("dd", {}, `${u.prompt_tokens} in, ${u.completion_tokens} out`)),
          h("div", {}, h("dt", {}, "Speech-to-text"), h("dd", {}, `${Math.round(u.stt_seconds)} s`)),
          h("div", {}, h("dt", {}, "Speech"), h("dd", {}, `${u.tts_characters} characters`)),
          h("div", {}, h("dt", {}, "Estimated cost"), h("dd", {}, `$${u.cost_usd.toFixed(4)}`))),
      ),
    ),
  );
}

/**
 * A recruiter may have an ended interview assessed (again).
 * @param {any} ctx @param {string} id @param {any} interview @param {any} assessment
 * @param {() => void} queued
 */
function regenerate(ctx, id, interview, assessment, queued) {
  const ended = ["completed", "cancelled", "abandoned"].includes(interview.status);
  if (!ended || !ctx.api.can("recruiter") || assessment?.status === "pending" || interview.purged_at) return null;
  return h("button", {
    type: "button", class: "quiet", id: "regenerate",
    onclick: async () => {
      await ctx.api.post(`/v1/interviews/${id}/assessment/regenerate`);
      ctx.flash("The assessment is being made.");
      queued();
    },
  }, assessment ? "Assess again" : "Assess");
}

/** A citation: the turn (a link to its line) and the quote. @param {any} c */
function cite(c) {
  return h("li", {},
    h("a", { href: `#turn-${c.turn}`, onclick: (/** @type {Event} */ ev) => { ev.preventDefault(); jump(c.turn); } }, `Turn ${c.turn} (${clock(c.start_ms ?? 0)})`),
    c.quote ? ` “${c.quote}”` : "");
}

/**
 * What `GET /v1/interviews/{id}/assessment` returns: while it is made (202), its summary; then
 * the advisory recommendation, each score with its evidence (links to the transcript line),
 * strengths and concerns with the answers they rest on, and how the interview went on our side.
 * @param {any} a
 */
function renderAssessment(a) {
  const scores = Array.isArray(a.scores) ? a.scores : [];
  const rec = a.recommendation;
  const tech = a.technical;
  /** @param {string} title @param {any[]} items */
  const findings = (title, items) => items?.length
    ? h("div", {}, h("h3", {}, title), h("ul", {}, ...items.map((/** @type {any} */ f) =>
      h("li", {}, f.text, h("ul", {}, ...(f.cites ?? []).map(cite))))))
    : null;
  return h("div", { id: "assessment", "data-status": a.status ?? "" },
    a.summary ? h("p", {}, a.method ? h("span", { class: "badge" }, a.method) : null, " ", a.summary) : null,
    rec ? h("p", { id: "recommendation" },
      h("strong", {}, `Advisory: ${rec.decision}`), ` — ${(rec.reasons ?? []).join(" ")} `,
      h("span", { class: "muted" }, rec.notice ?? "")) : null,
    h("ul", { class: "scores" }, ...scores.map((/** @type {any} */ s) => h("li", {},
      h("span", { class: "who" }, s.name ?? s.competency ?? "Score"), " ",
      h("meter", { min: 0, max: s.max ?? 5, value: s.score ?? 0, "aria-label": `${s.name ?? "Score"}: ${s.score} of ${s.max ?? 5}` }),
      ` ${s.score ?? "—"} / ${s.max ?? 5}`,
      s.rationale ? h("p", {}, s.rationale) : null,
      h("ul", {}, ...(s.evidence ?? []).map((/** @type {any} */ e) => h("li", {},
        h("a", { href: `#turn-${e.turn}`, onclick: (/** @type {Event} */ ev) => { ev.preventDefault(); jump(e.turn); } }, `Turn ${e.turn}`),
        e.quote ? ` “${e.quote}”` : ""))))),
    findings("Strengths", a.strengths),
    findings("Concerns", a.concerns),
    a.skill_boundaries?.length ? h("div", {}, h("h3", {}, "Where answers stopped being strong"),
      h("ul", {}, ...a.skill_boundaries.map((/** @type {any} */ b) => h("li", {},
        `${b.skill}: strong up to difficulty ${b.strong_up_to ?? "—"}, ${b.stopped_at ? `not at ${b.stopped_at}` : "strong throughout"} (${b.answers} answers)`)))) : null,
    tech ? h("div", {}, h("h3", {}, "On our side"),
      h("p", { class: tech.disturbed ? "" : "muted" }, tech.note,
        typeof tech.median_response_ms === "number" ? ` Median reply ${tech.median_response_ms} ms; ${tech.barge_ins} barge-ins.` : "")) : null,
    integrity(a.integrity)));
}

/**
 * Integrity signals, when the interview collected them: for review, each with how sure the
 * server is that it happened, what else could explain it, and the turns it concerns.
 * @param {any} review
 */
function integrity(review) {
  if (!review) return null;
  const signals = review.signals ?? [];
  return h("div", { id: "integrity" },
    h("h3", {}, "For review: integrity signals"),
    h("p", { class: "muted" }, review.notice ?? ""),
    signals.length === 0 ? h("p", {}, "Nothing to review.") :
      h("ul", {}, ...signals.map((/** @type {any} */ sig) => h("li", { "data-kind": sig.kind },
        h("span", { class: "badge" }, "for review"), " ",
        h("span", { class: "who" }, sig.kind.replaceAll("_", " ")),
        typeof sig.at_ms === "number" ? ` at ${clock(sig.at_ms)}` : "",
        ` (confidence ${Math.round((sig.confidence ?? 0) * 100)} %): ${sig.explanation}`,
        h("ul", {}, ...(sig.evidence ?? []).map(cite))))));
}

/**
 * The recording's clips: the file of a line's side that covers its start, played from there to
 * the line's end.
 */
class Clips {
  /** @param {import("../api.js").Api} api @param {{side: string, offset_ms: number, url: string}[]} parts */
  constructor(api, parts) {
    this.api = api;
    this.parts = parts;
    /** Object URLs by file. @type {Map<string, string>} */
    this.loaded = new Map();
    this.audio = h("audio", { id: "clip", controls: true, hidden: parts.length === 0, "aria-label": "The recording" });
    /** @type {number|null} */
    this.stopAt = null;
    this.audio.addEventListener("timeupdate", () => {
      if (this.stopAt !== null && this.audio.currentTime >= this.stopAt) {
        this.audio.pause();
        this.stopAt = null;
      }
    });
  }

  /** @param {any} t a transcript turn */
  part(t) {
    return this.parts
      .filter((p) => p.side === t.speaker && p.offset_ms <= (t.start_ms ?? 0))
      .sort((a, b) => b.offset_ms - a.offset_ms)[0];
  }

  /** @param {any} t */
  has(t) { return t.start_ms !== null && t.start_ms !== undefined && this.part(t) !== undefined; }

  /** @param {any} t */
  async play(t) {
    const part = this.part(t);
    if (!part) return;
    let url = this.loaded.get(part.url);
    if (!url) {
      url = URL.createObjectURL(await this.api.blob(part.url));
      this.loaded.set(part.url, url);
    }
    if (this.audio.src !== url) {
      this.audio.src = url;
      await new Promise((resolve) => this.audio.addEventListener("loadedmetadata", resolve, { once: true }));
    }
    this.audio.currentTime = (t.start_ms - part.offset_ms) / 1000;
    this.stopAt = t.end_ms ? (t.end_ms - part.offset_ms) / 1000 : null;
    this.audio.dataset.playing = String(t.turn);
    await this.audio.play();
  }
}

/** @param {number} turn */
function jump(turn) {
  const li = document.getElementById(`turn-${turn}`);
  if (!li) return;
  li.scrollIntoView({ block: "center" });
  li.focus();
  li.classList.add("highlight");
  setTimeout(() => li.classList.remove("highlight"), 2000);
}
