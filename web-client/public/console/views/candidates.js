// Candidates: listed and searched, added, and one candidate's page with their résumé (upload a
// PDF, DOCX or text file; the extracted text is shown) and interviews.

import { h, replace, when, field } from "../dom.js";
import { pager } from "./pager.js";

/** @param {import("../console.js").Ctx} ctx @param {HTMLElement} root */
export async function render(ctx, root) {
  const api = ctx.api;
  const list = h("div", { id: "candidates" });
  const search = h("input", { id: "candidates-search", type: "search", placeholder: "Name or email" });
  let page = 1;

  async function load() {
    const q = new URLSearchParams({ page: String(page) });
    if (search.value.trim()) q.set("q", search.value.trim());
    const people = await api.get(`/v1/candidates?${q}`);
    replace(list,
      people.items.length === 0 ? h("p", { class: "muted" }, "No candidates.") :
        h("table", {},
          h("thead", {}, h("tr", {}, ...["Name", "Email", "Résumé", "Added"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, ...people.items.map((/** @type {any} */ c) => h("tr", { "data-id": c.id },
            h("td", {}, h("a", { href: `#/candidates/${c.id}` }, c.name)), h("td", {}, c.email),
            h("td", {}, c.resume_text ? `${c.resume_text.length} characters` : "—"), h("td", {}, when(c.created_at)))))),
      pager(people, (p) => { page = p; load(); }));
  }

  const name = h("input", { id: "candidate-name", required: true, maxlength: 200 });
  const email = h("input", { id: "candidate-email", type: "email", required: true, maxlength: 320 });
  const error = h("p", { role: "alert" });
  const add = api.can("recruiter") ? h("form", { id: "add-candidate", class: "panel", onsubmit: async (/** @type {Event} */ e) => {
    e.preventDefault();
    try {
      const c = await api.post("/v1/candidates", { name: name.value.trim(), email: email.value.trim() });
      ctx.flash(`${c.name} added.`);
      ctx.go(`#/candidates/${c.id}`);
    } catch (err) {
      error.textContent = /** @type {Error} */ (err).message;
    }
  } }, h("h2", {}, "Add a candidate"), h("div", { class: "row" }, field("Name", name), field("Email", email)), error,
  h("button", { type: "submit", id: "candidate-add" }, "Add candidate")) : null;

  let typing = 0;
  search.addEventListener("input", () => {
    clearTimeout(typing);
    typing = window.setTimeout(() => { page = 1; load(); }, 250);
  });
  replace(root, h("h1", {}, "Candidates"), add, h("div", { class: "row filters" }, field("Search", search)), list);
  await load();
}

/** @param {import("../console.js").Ctx} ctx @param {HTMLElement} root @param {string} id */
export async function renderOne(ctx, root, id) {
  const api = ctx.api;
  const c = await api.get(`/v1/candidates/${id}`);
  const interviews = await api.get(`/v1/interviews?candidate_id=${id}&per_page=100`);
  const resume = h("pre", { id: "resume-text", class: "resume", tabindex: 0 }, c.resume_text || "No résumé yet.");
  const file = h("input", { id: "resume-file", type: "file", accept: ".pdf,.docx,.txt,application/pdf,application/vnd.openxmlformats-officedocument.wordprocessingml.document,text/plain" });
  const said = h("p", { id: "resume-status", role: "status" });
  const upload = api.can("recruiter") ? h("form", { id: "resume-upload", class: "row", onsubmit: async (/** @type {Event} */ e) => {
    e.preventDefault();
    const f = file.files?.[0];
    if (!f) { said.textContent = "Choose a file first."; return; }
    const body = new FormData();
    body.append("file", f);
    said.textContent = "Reading the file…";
    try {
      const r = await api.post(`/v1/candidates/${id}/resume`, body);
      resume.textContent = r.candidate.resume_text;
      said.textContent = `Read ${r.resume.characters} characters from the ${r.resume.kind.toUpperCase()} file.`;
    } catch (err) {
      said.textContent = /** @type {Error} */ (err).message;
    }
  } }, field("Résumé (PDF, DOCX or text)", file), h("button", { type: "submit" }, "Upload")) : null;
  replace(root,
    h("p", {}, h("a", { href: "#/candidates" }, "← Candidates")),
    h("h1", {}, c.name), h("p", {}, c.email),
    h("h2", {}, "Interviews"),
    interviews.items.length === 0 ? h("p", { class: "muted" }, "None yet: schedule one on the Interviews page.") :
      h("ul", {}, ...interviews.items.map((/** @type {any} */ i) => h("li", {},
        h("a", { href: i.status === "in_progress" ? `#/watch/${i.id}` : `#/interviews/${i.id}` }, `${i.role} · ${i.status.replace("_", " ")} · ${when(i.created_at)}`)))),
    h("h2", {}, "Résumé"), upload, said, resume);
}
