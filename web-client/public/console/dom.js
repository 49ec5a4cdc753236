// Small DOM helpers for the console: elements from data (never HTML strings, so nothing a
// candidate or recruiter typed is ever parsed as markup), and the formats the pages share.

/**
 * An element: `h("button", {type: "button", onclick: f}, "Save")`. Attributes starting with
 * "on" are listeners; `class`, `for`, `hidden`, `disabled`, `data-*` and `aria-*` are set as
 * attributes; children are nodes or text (null and false are skipped).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, any>} [attrs]
 * @param {...(Node|string|number|null|undefined|false)} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "value") /** @type {HTMLInputElement} */ (el).value = String(v);
    else if (k === "checked") /** @type {HTMLInputElement} */ (el).checked = Boolean(v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, ...children);
  return el;
}

/**
 * @param {Element} el
 * @param {...(Node|string|number|null|undefined|false)} children
 */
export function append(el, ...children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === "number" ? String(c) : c);
  }
}

/** @param {Element} el @param {...(Node|string|null|undefined|false)} children */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, ...children);
}

/** @param {string|null|undefined} iso */
export function when(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** Milliseconds as m:ss. @param {number} ms */
export function clock(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** A labelled field: `<label for=id>` and the control. @param {string} text @param {HTMLElement} control */
export function field(text, control) {
  if (!control.id) control.id = `f-${Math.random().toString(36).slice(2, 9)}`;
  return h("div", { class: "field" }, h("label", { for: control.id }, text), control);
}

/** The value of a form control by id within `root`. @param {ParentNode} root @param {string} id */
export function valueOf(root, id) {
  const el = /** @type {HTMLInputElement|null} */ (root.querySelector(`#${id}`));
  return el ? el.value.trim() : "";
}

/** Copies `text` and says so in `where`. @param {string} text @param {HTMLElement} where */
export async function copy(text, where) {
  try {
    await navigator.clipboard.writeText(text);
    where.textContent = "Copied.";
  } catch {
    where.textContent = "Select the link and copy it.";
  }
}
