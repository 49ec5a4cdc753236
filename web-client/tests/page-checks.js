// Checks the browser tests run inside a page (passed to page.evaluate, so each is
// self-contained).

// Contrast of every visible text against its effective background (WCAG 2 relative luminance).
export function minContrast() {
  /** @param {string} css */
  const rgb = (css) => (css.match(/[\d.]+/g) || []).map(Number);
  /** @param {number[]} c */
  const lum = (c) => {
    const [r, g, b] = c.slice(0, 3).map((v) => {
      const s = v / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  /** @param {Element} el */
  const background = (el) => {
    for (let e = /** @type {Element|null} */ (el); e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c;
    }
    return [255, 255, 255];
  };
  let worst = { ratio: 21, text: "" };
  for (const el of document.querySelectorAll("body *")) {
    const own = [...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent?.trim());
    const box = el.getBoundingClientRect();
    if (!own || box.width === 0 || box.height === 0 || el.matches(":disabled")) continue;
    const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(background(el))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < worst.ratio) worst = { ratio: Math.round(ratio * 100) / 100, text: (el.textContent || "").trim().slice(0, 40) };
  }
  return worst;
}

// Form controls without a label (a <label for>, a wrapping <label>, or aria-label): their ids
// or tags.
export function unlabelled() {
  return [...document.querySelectorAll("input, select, textarea")]
    .filter((el) => {
      const box = el.getBoundingClientRect();
      if (box.width === 0 && box.height === 0) return false;
      const c = /** @type {HTMLInputElement} */ (el);
      return (c.labels?.length ?? 0) === 0 && !el.getAttribute("aria-label");
    })
    .map((el) => el.id || el.tagName.toLowerCase());
}
