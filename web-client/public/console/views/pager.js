// Pagination under a list: "Previous", "Page n of m", "Next".

import { h } from "../dom.js";

/**
 * @param {{page: number, pages: number, total: number}} page
 * @param {(page: number) => void} go
 */
export function pager(page, go) {
  return h("nav", { class: "row pager", "aria-label": "Pages" },
    h("button", { type: "button", class: "quiet", disabled: page.page <= 1, onclick: () => go(page.page - 1) }, "Previous"),
    h("span", {}, `Page ${page.page} of ${Math.max(1, page.pages)} · ${page.total} in all`),
    h("button", { type: "button", class: "quiet", disabled: page.page >= page.pages, onclick: () => go(page.page + 1) }, "Next"));
}

/** Options of a `<select>` from a list. @param {{value: string, label: string}[]} items @param {string} [selected] */
export function options(items, selected) {
  return items.map((o) => h("option", { value: o.value, selected: o.value === selected ? "" : undefined }, o.label));
}
