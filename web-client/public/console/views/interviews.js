// Interviews: scheduled with a job and a candidate (then the invite link to copy), listed with
// the API's filters and pages; a link re-issued, an interview cancelled.

import { h, replace, when, field, copy } from "../dom.js";
import { pager, options } from "./pager.js";

const STATUSES = ["scheduled", "in_progress", "completed", "abandoned", "cancelled"];

/** @param {import("../console.js").Ctx} ctx @param {HTMLElement} root */
export async function render(ctx, root) {
  const api = ctx.api;
  const [jobs, people] = await Promise.all([
    api.get("/v1/jobs?status=open&per_page=100"),
    api.get("/v1/candidates?per_page=100"),
  ]);
  /** @type {Map<string, string>} */
  const names = new Map(people.items.map((/** @type {any} */ c) => [c.id, c.name]));

  const status = h("select", { id: "filter-status" }, h("option", { value: "" }, "Any status"), ...options(STATUSES.map((s) => ({ value: s, label: s.replace("_", " ") }))));
  const job = h("select", { id: "filter-job" }, h("option", { value: "" }, "Any job"), ...options(jobs.items.map((/** @type {any} */ j) => ({ value: j.id, label: j.title }))));
  const person = h("select", { id: "filter-candidate" }, h("option", { value: "" }, "Any candidate"), ...options(people.items.map((/** @type {any} */ c) => ({ value: c.id, label: c.name }))));
  const after = h("input", { id: "filter-after", type: "date" });
  const before = h("input", { id: "filter-before", type: "date" });
  const table = h("div", { id: "interviews" });
  const link = h("div", { id: "invite", "aria-live": "polite" });
  let page = 1;

  async function load() {
    const q = new URLSearchParams({ page: String(page), per_page: "20" });
    if (status.value) q.set("status", status.value);
    if (job.value) q.set("job_id", job.value);
    if (person.value) q.set("candidate_id", person.value);
    if (after.value) q.set("created_after", new Date(after.value).toISOString());
    if (before.value) q.set("created_before", new Date(before.value + "T23:59:59").toISOString());
    const list = await api.get(`/v1/interviews?${q}`);
    replace(table,
      list.items.length === 0 ? h("p", { class: "muted" }, "No interview matches.") :
        h("table", {},
          h("thead", {}, h("tr", {}, ...["Candidate", "Role", "Status", "Made", "Started", ""].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, ...list.items.map((/** @type {any} */ i) => h("tr", { "data-id": i.id },
            h("td", {}, h("a", { href: i.status === "in_progress" ? `#/watch/${i.id}` : `#/interviews/${i.id}` }, names.get(i.candidate_id) ?? "—")),
            h("td", {}, i.role),
            h("td", {}, h("span", { class: `status ${i.status}` }, i.status.replace("_", " "))),
            h("td", {}, when(i.created_at)),
            h("td", {}, when(i.started_at)),
            h("td", { class: "actions" },
              api.can("recruiter") && !["completed", "abandoned", "cancelled"].includes(i.status)
                ? h("span", { class: "row" },
                  h("button", { type: "button", class: "quiet", onclick: () => reissue(i.id) }, "New link"),
                  h("button", { type: "button", class: "danger", onclick: () => cancel(i.id) }, "Cancel"))
                : null))))),
      pager(list, (p) => { page = p; load(); }));
  }

  /** @param {string} url */
  function showLink(url) {
    const input = h("input", { id: "invite-url", readonly: true, value: url, "aria-label": "Invite link" });
    const said = h("span", { "aria-live": "polite" });
    replace(link, h("div", { class: "row" }, input,
      h("button", { type: "button", id: "copy-link", onclick: () => copy(url, said) }, "Copy link"), said),
    h("p", { class: "muted" }, "Send this link to the candidate: it opens their interview. It is shown once; make a new one if it is lost."));
  }

  /** @param {string} id */
  async function reissue(id) {
    const made = await api.post(`/v1/interviews/${id}/invite`);
    showLink(made.invite_url);
    ctx.flash("A new link: the old one no longer works.");
  }

  /** @param {string} id */
  async function cancel(id) {
    await api.post(`/v1/interviews/${id}/cancel`, {});
    ctx.flash("Interview cancelled.");
    load();
  }

  const jobPick = h("select", { id: "schedule-job", required: true }, ...options(jobs.items.map((/** @type {any} */ j) => ({ value: j.id, label: j.title }))));
  const whoPick = h("select", { id: "schedule-candidate", required: true }, ...options(people.items.map((/** @type {any} */ c) => ({ value: c.id, label: `${c.name} (${c.email})` }))));
  const maxQ = h("input", { id: "schedule-questions", type: "number", min: 1, max: 20, placeholder: "default" });
  const record = h("input", { id: "schedule-record", type: "checkbox" });
  const schedule = api.can("recruiter")
    ? h("form", { id: "schedule", class: "panel", onsubmit: async (/** @type {Event} */ e) => {
      e.preventDefault();
      /** @type {Record<string, any>} */
      const body = { job_id: jobPick.value, candidate_id: whoPick.value };
      if (maxQ.value) body.max_questions = Number(maxQ.value);
      if (record.checked) body.record_audio = true;
      const made = await api.post("/v1/interviews", body).catch((err) => { ctx.flash(err.message); return null; });
      if (!made) return;
      showLink(made.invite_url);
      ctx.flash("Interview scheduled.");
      load();
    } },
    h("h2", {}, "Schedule an interview"),
    jobs.items.length && people.items.length ? null : h("p", { class: "muted" }, "Add an open job and a candidate first."),
    h("div", { class: "row" }, field("Job", jobPick), field("Candidate", whoPick), field("Main questions", maxQ)),
    h("label", { class: "agree", for: "schedule-record" }, record, h("span", {}, "Record both sides' audio (once the candidate accepts the notice, which should say so)")),
    h("button", { type: "submit", disabled: !(jobs.items.length && people.items.length) }, "Schedule"),
    link)
    : null;

  for (const f of [status, job, person, after, before]) f.addEventListener("change", () => { page = 1; load(); });
  replace(root, h("h1", {}, "Interviews"), schedule,
    h("fieldset", { class: "row filters" }, h("legend", {}, "Filter the list"),
      field("Status", status), field("Job", job), field("Candidate", person), field("Made after", after), field("Made before", before)),
    table);
  await load();
}
