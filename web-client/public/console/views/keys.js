// The organization's own AI vendor keys (admins): set or replace, remove; only the last four
// characters are ever shown.

import { h, replace, when, field } from "../dom.js";

const NAMES = { openai: "OpenAI", gemini: "Google Gemini", deepgram: "Deepgram" };

/** @param {import("../console.js").Ctx} ctx @param {HTMLElement} root */
export async function render(ctx, root) {
  const api = ctx.api;
  if (!api.can("admin")) {
    replace(root, h("h1", {}, "Provider keys"), h("p", {}, "Only admins manage provider keys."));
    return;
  }
  const list = h("div", { id: "provider-keys" });
  async function load() {
    const keys = await api.get("/v1/org/provider-keys");
    replace(list, ...keys.items.map((/** @type {any} */ k) => {
      const input = h("input", { type: "password", autocomplete: "off", id: `key-${k.vendor}` });
      const name = NAMES[/** @type {keyof NAMES} */ (k.vendor)] ?? k.vendor;
      return h("form", { class: "panel", "data-vendor": k.vendor, onsubmit: async (/** @type {Event} */ e) => {
        e.preventDefault();
        if (!input.value.trim()) return;
        try {
          await api.put(`/v1/org/provider-keys/${k.vendor}`, { key: input.value.trim() });
          ctx.flash(`${name} key saved.`);
          load();
        } catch (err) {
          ctx.flash(/** @type {Error} */ (err).message);
        }
      } },
      h("h2", {}, name),
      h("p", { class: "key-state" }, k.set ? `Set: ends in ${k.last4}, changed ${when(k.updated_at)}.` : "Not set: the server's key is used."),
      h("div", { class: "row" }, field(k.set ? "Replace the key" : "Key", input), h("button", { type: "submit" }, k.set ? "Replace" : "Save"),
        k.set ? h("button", { type: "button", class: "danger", onclick: async () => {
          await api.del(`/v1/org/provider-keys/${k.vendor}`);
          ctx.flash(`${name} key removed.`);
          load();
        } }, "Remove") : null));
    }));
  }
  replace(root, h("h1", {}, "Provider keys"),
    h("p", {}, "Interviews started after a change use the organization's key for that vendor instead of the server's. Keys are sealed at rest and never shown again."),
    list);
  await load();
}
