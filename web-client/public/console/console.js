// The recruiter console: signs in, then routes `#/…` to a view. Each view is a module with
// `render(ctx, root, ...args)` returning an optional cleanup (sockets, timers).

import { Api, ApiError } from "./api.js";
import { replace } from "./dom.js";
import * as live from "./views/live.js";
import * as watch from "./views/watch.js";
import * as interviews from "./views/interviews.js";
import * as results from "./views/results.js";
import * as jobs from "./views/jobs.js";
import * as candidates from "./views/candidates.js";
import * as team from "./views/team.js";
import * as keys from "./views/keys.js";

/** @typedef {{api: Api, flash: (text: string) => void, go: (hash: string) => void}} Ctx */
/** @typedef {(ctx: Ctx, root: HTMLElement, ...args: string[]) => (void|(() => void)|Promise<void|(() => void)>)} View */

/** @type {[RegExp, View][]} */
const ROUTES = [
  [/^#\/live$/, live.render],
  [/^#\/watch\/([\w-]+)$/, watch.render],
  [/^#\/interviews$/, interviews.render],
  [/^#\/interviews\/([\w-]+)$/, results.render],
  [/^#\/jobs$/, jobs.render],
  [/^#\/candidates$/, candidates.render],
  [/^#\/candidates\/([\w-]+)$/, candidates.renderOne],
  [/^#\/team$/, team.render],
  [/^#\/keys$/, keys.render],
];

const api = new Api();
const view = /** @type {HTMLElement} */ (document.getElementById("view"));
const flashEl = /** @type {HTMLElement} */ (document.getElementById("flash"));
const dialog = /** @type {HTMLDialogElement} */ (document.getElementById("sign-in"));
const form = /** @type {HTMLFormElement} */ (document.getElementById("sign-in-form"));
const header = /** @type {HTMLElement} */ (document.querySelector("header.top"));
/** @type {(() => void)|null} */
let cleanup = null;
let flashTimer = 0;

/** @type {Ctx} */
const ctx = {
  api,
  flash(text) {
    flashEl.textContent = text;
    clearTimeout(flashTimer);
    if (text) flashTimer = window.setTimeout(() => { flashEl.textContent = ""; }, 8000);
  },
  go(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  },
};

/**
 * Shows the sign-in dialog over the page and resolves once signed in (the page underneath,
 * and whatever was typed in it, stays as it was).
 * @param {string} why
 * @returns {Promise<void>}
 */
function signIn(why) {
  /** @type {HTMLElement} */ (document.getElementById("sign-in-why")).textContent = why;
  /** @type {HTMLElement} */ (document.getElementById("sign-in-error")).textContent = "";
  if (!dialog.open) dialog.showModal();
  /** @type {HTMLInputElement} */ (document.getElementById(api.me ? "password" : "email")).focus();
  return new Promise((resolve) => {
    /** @param {SubmitEvent} e */
    const submit = async (e) => {
      e.preventDefault();
      const email = /** @type {HTMLInputElement} */ (document.getElementById("email")).value.trim();
      const password = /** @type {HTMLInputElement} */ (document.getElementById("password"));
      const button = /** @type {HTMLButtonElement} */ (document.getElementById("sign-in-button"));
      button.disabled = true;
      try {
        await api.login(email, password.value);
        password.value = "";
        form.removeEventListener("submit", submit);
        dialog.close();
        signedIn();
        resolve();
      } catch (err) {
        /** @type {HTMLElement} */ (document.getElementById("sign-in-error")).textContent =
          err instanceof ApiError && err.status === 401 ? "Wrong email or password." : String(/** @type {Error} */ (err).message);
      } finally {
        button.disabled = false;
      }
    };
    form.addEventListener("submit", submit);
  });
}
api.askToSignIn = () => signIn("Your session has ended. Sign in again to carry on where you were.");
// The dialog is not dismissed with Escape: there is nothing to go back to without a session.
dialog.addEventListener("cancel", (e) => e.preventDefault());

function signedIn() {
  header.hidden = false;
  const me = /** @type {import("./api.js").Me} */ (api.me);
  /** @type {HTMLElement} */ (document.getElementById("who")).textContent =
    `${me.name || me.email} · ${me.organization.name} · ${me.role}`;
  for (const a of header.querySelectorAll("[data-role]")) {
    /** @type {HTMLElement} */ (a).hidden = !api.can(/** @type {any} */ (a.getAttribute("data-role")));
  }
}

async function route() {
  if (cleanup) cleanup();
  cleanup = null;
  if (!api.me) return;
  const hash = location.hash || "#/live";
  for (const a of header.querySelectorAll("nav a")) {
    const href = a.getAttribute("href") ?? "";
    if (hash === href || hash.startsWith(href + "/")) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  ctx.flash("");
  for (const [re, render] of ROUTES) {
    const m = hash.match(re);
    if (!m) continue;
    replace(view);
    try {
      const done = await render(ctx, view, ...m.slice(1));
      if (typeof done === "function") cleanup = done;
    } catch (err) {
      replace(view);
      ctx.flash(err instanceof ApiError && err.status === 404 ? "Not found." : `Something went wrong: ${/** @type {Error} */ (err).message}`);
    }
    return;
  }
  location.hash = "#/live";
}

/** @type {HTMLButtonElement} */ (document.getElementById("sign-out")).addEventListener("click", async () => {
  if (cleanup) cleanup();
  cleanup = null;
  await api.logout();
  header.hidden = true;
  replace(view);
  await signIn("You have signed out.");
  route();
});
window.addEventListener("hashchange", route);
// The page's own link shows it afresh.
for (const a of header.querySelectorAll("nav a")) {
  a.addEventListener("click", () => {
    if (a.getAttribute("href") === location.hash) route();
  });
}

if (!(await api.restore())) await signIn("");
signedIn();
route();
