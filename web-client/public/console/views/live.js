// The live board: the organization's running interviews as cards, updated from `GET /v1/live`
// (docs/protocol.md, "The live board"). A lost socket reconnects and starts from a snapshot.

import { h, replace, clock } from "../dom.js";

const STATE_WORDS = { speaking: "Interviewer speaking", listening: "Listening", waiting: "Waiting", thinking: "Thinking", ended: "Ended" };

/** When a card's interview started (the live status knows before the store). @param {any} card */
function startedAt(card) {
  return card.live?.started_at ?? card.started_at;
}

/** @param {import("../console.js").Ctx} ctx @param {HTMLElement} root */
export async function render(ctx, root) {
  const list = h("ul", { class: "cards", "aria-live": "polite" });
  const empty = h("p", { class: "muted" }, "No interview is running right now.");
  replace(root, h("h1", {}, "Live interviews"), empty, list);
  /** @type {Map<string, {card: any, el: HTMLElement}>} */
  const cards = new Map();
  /** @type {WebSocket|null} */
  let ws = null;
  let closed = false;
  let retry = 0;

  const tick = setInterval(() => {
    for (const { card, el } of cards.values()) {
      const t = el.querySelector(".elapsed");
      const since = startedAt(card);
      if (t && since) t.textContent = clock(Date.now() - Date.parse(since));
    }
  }, 1000);

  /** @param {any} card */
  function draw(card) {
    const live = card.live;
    const meter = h("meter", { class: "level", min: -60, max: 0, low: -45, high: -10, optimum: -20, value: -60, "aria-label": "Candidate's level" });
    const badges = h("span", { class: "badges" },
      live && live.degraded ? h("span", { class: "badge warn" }, "Degraded") : null,
      live && !live.candidate_connected ? h("span", { class: "badge warn" }, "Candidate disconnected") : null,
      live && live.drops > 0 ? h("span", { class: "badge" }, `${live.drops} drop${live.drops === 1 ? "" : "s"}`) : null,
      !live ? h("span", { class: "badge" }, "On another node") : null,
    );
    const el = h("li", { class: "card", "data-id": card.interview_id },
      h("h2", {}, h("a", { href: `#/watch/${card.interview_id}` }, card.candidate_name || "Candidate")),
      h("p", {}, card.role),
      h("dl", { class: "facts small" },
        h("div", {}, h("dt", {}, "State"), h("dd", { class: "state" }, live ? STATE_WORDS[/** @type {keyof STATE_WORDS} */ (live.state)] ?? live.state : "—")),
        h("div", {}, h("dt", {}, "Question"), h("dd", {}, live ? `${live.question} of ${live.questions ?? "?"}` : "—")),
        h("div", {}, h("dt", {}, "Time"), h("dd", { class: "elapsed" }, startedAt(card) ? clock(Date.now() - Date.parse(startedAt(card))) : "—")),
        h("div", {}, h("dt", {}, "Watching"), h("dd", {}, live ? String(live.watchers) : "—")),
      ),
      meter,
      badges,
    );
    const old = cards.get(card.interview_id);
    if (old) old.el.replaceWith(el);
    else list.append(el);
    cards.set(card.interview_id, { card, el });
    empty.hidden = cards.size > 0;
  }

  /** @param {MessageEvent} e */
  function onMessage(e) {
    if (typeof e.data !== "string") return;
    const msg = JSON.parse(e.data);
    switch (msg.type) {
      case "snapshot":
        cards.clear();
        list.replaceChildren();
        for (const c of msg.interviews) draw(c);
        empty.hidden = cards.size > 0;
        break;
      case "started":
        draw(msg.interview);
        break;
      case "update": {
        const c = cards.get(msg.interview_id);
        if (c) draw({ ...c.card, live: msg.live });
        break;
      }
      case "level": {
        const c = cards.get(msg.interview_id);
        const m = /** @type {HTMLMeterElement|null|undefined} */ (c?.el.querySelector("meter"));
        if (m) m.value = Math.max(-60, msg.dbfs);
        break;
      }
      case "ended": {
        const c = cards.get(msg.interview_id);
        if (c) c.el.remove();
        cards.delete(msg.interview_id);
        empty.hidden = cards.size > 0;
        break;
      }
    }
  }

  async function connect() {
    ws = await ctx.api.socket("/v1/live");
    ws.onmessage = onMessage;
    ws.onopen = () => { retry = 0; };
    ws.onclose = (e) => {
      if (closed) return;
      if (e.code === 4001) {
        ctx.flash("Your session has ended.");
        ctx.api.askToSignIn().then(connect);
        return;
      }
      retry = Math.min(retry + 1, 5);
      ctx.flash("Live board interrupted; reconnecting…");
      setTimeout(() => { if (!closed) connect().then(() => ctx.flash("")); }, 500 * retry);
    };
  }
  await connect();
  return () => {
    closed = true;
    clearInterval(tick);
    ws?.close(1000);
  };
}
