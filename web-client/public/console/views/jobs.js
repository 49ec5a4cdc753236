// Job postings: listed (open or closed), created, edited, closed and reopened.

import { h, replace, when, field } from "../dom.js";
import { pager, options } from "./pager.js";

const SENIORITY = ["", "intern", "junior", "mid", "senior", "lead", "principal"];

/** @param {import("../console.js").Ctx} ctx @param {HTMLElement} root */
export async function render(ctx, root) {
  const api = ctx.api;
  const list = h("div", { id: "jobs" });
  const editor = h("div", { id: "job-editor" });
  const show = h("select", { id: "jobs-status" }, ...options([{ value: "", label: "All" }, { value: "open", label: "Open" }, { value: "closed", label: "Closed" }]));
  let page = 1;

  async function load() {
    const q = new URLSearchParams({ page: String(page) });
    if (show.value) q.set("status", show.value);
    const jobs = await api.get(`/v1/jobs?${q}`);
    replace(list,
      jobs.items.length === 0 ? h("p", { class: "muted" }, "No jobs yet.") :
        h("table", {},
          h("thead", {}, h("tr", {}, ...["Title", "Seniority", "Skills", "Status", "Made", ""].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, ...jobs.items.map((/** @type {any} */ j) => h("tr", { "data-id": j.id },
            h("td", {}, j.title), h("td", {}, j.seniority ?? "—"), h("td", {}, j.skills.join(", ") || "—"),
            h("td", {}, j.status), h("td", {}, when(j.created_at)),
            h("td", { class: "actions" }, api.can("recruiter") ? h("span", { class: "row" },
              h("button", { type: "button", class: "quiet", onclick: () => edit(j) }, "Edit"),
              h("button", { type: "button", class: "quiet", onclick: () => setStatus(j, j.status === "open" ? "closed" : "open") }, j.status === "open" ? "Close" : "Reopen")) : null))))),
      pager(jobs, (p) => { page = p; load(); }));
  }

  /** @param {any} j @param {string} status */
  async function setStatus(j, status) {
    await api.patch(`/v1/jobs/${j.id}`, { status });
    ctx.flash(status === "closed" ? `“${j.title}” closed.` : `“${j.title}” reopened.`);
    load();
  }

  /** @param {any} [job] */
  function edit(job) {
    const title = h("input", { id: "job-title", required: true, maxlength: 200, value: job?.title ?? "" });
    const description = h("textarea", { id: "job-description", rows: 4 });
    description.value = job?.description ?? "";
    const skills = h("input", { id: "job-skills", value: (job?.skills ?? []).join(", "), placeholder: "Rust, PostgreSQL" });
    const seniority = h("select", { id: "job-seniority" }, ...options(SENIORITY.map((s) => ({ value: s, label: s || "—" })), job?.seniority ?? ""));
    const error = h("p", { role: "alert" });
    replace(editor, h("form", { class: "panel", onsubmit: async (/** @type {Event} */ e) => {
      e.preventDefault();
      const body = {
        title: title.value.trim(),
        description: description.value.trim(),
        skills: skills.value.split(",").map((s) => s.trim()).filter(Boolean),
        seniority: seniority.value || null,
      };
      try {
        if (job) await api.patch(`/v1/jobs/${job.id}`, body);
        else await api.post("/v1/jobs", body);
      } catch (err) {
        error.textContent = /** @type {Error} */ (err).message;
        return;
      }
      replace(editor);
      ctx.flash(job ? "Job saved." : "Job created.");
      load();
    } },
    h("h2", {}, job ? `Edit “${job.title}”` : "New job"),
    field("Title", title), field("Description", description), field("Skills (comma-separated)", skills), field("Seniority", seniority),
    error,
    h("div", { class: "row" }, h("button", { type: "submit", id: "job-save" }, job ? "Save" : "Create job"),
      h("button", { type: "button", class: "quiet", onclick: () => replace(editor) }, "Cancel"))));
    title.focus();
  }

  show.addEventListener("change", () => { page = 1; load(); });
  replace(root, h("h1", {}, "Jobs"),
    api.can("recruiter") ? h("button", { type: "button", id: "new-job", onclick: () => edit() }, "New job") : null,
    editor, h("div", { class: "row filters" }, field("Show", show)), list);
  await load();
}
