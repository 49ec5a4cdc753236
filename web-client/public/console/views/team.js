// The organization's staff (admins): invite (a single-use link to pass on), change a role,
// disable.

import { h, replace, when, field, copy } from "../dom.js";
import { pager, options } from "./pager.js";

const ROLES = ["viewer", "recruiter", "admin"].map((r) => ({ value: r, label: r }));

/** @param {import("../console.js").Ctx} ctx @param {HTMLElement} root */
export async function render(ctx, root) {
  const api = ctx.api;
  if (!api.can("admin")) {
    replace(root, h("h1", {}, "Team"), h("p", {}, "Only admins manage the team."));
    return;
  }
  const list = h("div", { id: "users" });
  const invited = h("div", { "aria-live": "polite" });
  let page = 1;

  /** @param {string} url */
  function showInvite(url) {
    const said = h("span", {});
    replace(invited, h("div", { class: "row" }, h("input", { readonly: true, value: url, "aria-label": "Invitation link" }),
      h("button", { type: "button", onclick: () => copy(url, said) }, "Copy link"), said),
    h("p", { class: "muted" }, "Pass this link on: it sets their password, once, within 7 days."));
  }

  async function load() {
    const users = await api.get(`/v1/users?page=${page}`);
    replace(list, h("table", {},
      h("thead", {}, h("tr", {}, ...["Email", "Name", "Role", "State", "Since", ""].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, ...users.items.map((/** @type {any} */ u) => {
        const self = u.id === api.me?.id;
        const role = h("select", { "aria-label": `Role of ${u.email}`, disabled: self || u.disabled }, ...options(ROLES, u.role));
        role.addEventListener("change", async () => {
          await api.patch(`/v1/users/${u.id}`, { role: role.value });
          ctx.flash(`${u.email} is now ${role.value}.`);
        });
        return h("tr", { "data-id": u.id },
          h("td", {}, u.email), h("td", {}, u.name ?? "—"), h("td", {}, role),
          h("td", {}, u.disabled ? "disabled" : u.password_set ? "active" : "invited"), h("td", {}, when(u.created_at)),
          h("td", { class: "actions" }, self ? null : h("span", { class: "row" },
            u.disabled ? null : h("button", { type: "button", class: "quiet", onclick: async () => { showInvite((await api.post(`/v1/users/${u.id}/password-reset`)).url); } }, "Reset password"),
            h("button", { type: "button", class: u.disabled ? "quiet" : "danger", onclick: async () => {
              await api.patch(`/v1/users/${u.id}`, { disabled: !u.disabled });
              ctx.flash(u.disabled ? `${u.email} enabled.` : `${u.email} disabled: their sessions have ended.`);
              load();
            } }, u.disabled ? "Enable" : "Disable"))));
      }))),
    pager(users, (p) => { page = p; load(); }));
  }

  const email = h("input", { id: "invite-email", type: "email", required: true });
  const name = h("input", { id: "invite-name" });
  const role = h("select", { id: "invite-role" }, ...options(ROLES, "recruiter"));
  const error = h("p", { role: "alert" });
  replace(root, h("h1", {}, "Team"),
    h("form", { class: "panel", onsubmit: async (/** @type {Event} */ e) => {
      e.preventDefault();
      try {
        const made = await api.post("/v1/users", { email: email.value.trim(), name: name.value.trim() || undefined, role: role.value });
        error.textContent = "";
        showInvite(made.invite.url);
        load();
      } catch (err) {
        error.textContent = /** @type {Error} */ (err).message;
      }
    } }, h("h2", {}, "Invite someone"), h("div", { class: "row" }, field("Email", email), field("Name", name), field("Role", role)), error,
    h("button", { type: "submit" }, "Invite"), invited),
    list);
  await load();
}
