// Per-turn latency of the interviewer's replies (`turn_metrics`): a small bar chart of the
// stages — speech-to-text, the model's first token, the first audio — and the same figures as
// a table (what a screen reader reads).

import { h } from "../dom.js";

const STAGES = [
  ["stt_ms", "Speech-to-text", "#0b3d91"],
  ["llm_first_token_ms", "First token", "#7a4a00"],
  ["tts_first_audio_ms", "First audio", "#1d6b1d"],
];
const SVG = "http://www.w3.org/2000/svg";

/**
 * @param {string} tag
 * @param {Record<string, string|number>} attrs
 */
function svg(tag, attrs) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/** @param {Map<number, Record<string, number>>} timings by turn */
export function latencyChart(timings) {
  const turns = [...timings.keys()].sort((a, b) => a - b).slice(-12);
  if (turns.length === 0) return h("p", { class: "muted" }, "No reply yet.");
  const max = Math.max(100, ...turns.flatMap((t) => STAGES.map(([k]) => timings.get(t)?.[k] ?? 0)));
  const bar = 6, gap = 10, height = 80;
  const width = turns.length * (STAGES.length * bar + gap) + gap;
  const chart = svg("svg", { width, height: height + 14, role: "img", "aria-label": "Latency per turn: see the table" });
  turns.forEach((t, i) => {
    const x0 = gap + i * (STAGES.length * bar + gap);
    STAGES.forEach(([k, label, color], j) => {
      const v = timings.get(t)?.[k] ?? 0;
      const hgt = Math.max(1, Math.round((v / max) * height));
      const r = svg("rect", { x: x0 + j * bar, y: height - hgt, width: bar - 1, height: hgt, fill: color });
      const title = svg("title", {});
      title.textContent = `Turn ${t}, ${label}: ${v} ms`;
      r.append(title);
      chart.append(r);
    });
    const label = svg("text", { x: x0, y: height + 12, "font-size": 10, fill: "#333" });
    label.textContent = String(t);
    chart.append(label);
  });
  const legend = h("p", { class: "legend" }, ...STAGES.map(([, label, color]) =>
    h("span", { class: "key", "data-color": color }, label)));
  const table = h("table", { class: "small" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Turn"), ...STAGES.map(([, label]) => h("th", { scope: "col" }, `${label} (ms)`)))),
    h("tbody", {}, ...turns.map((t) => h("tr", {}, h("th", { scope: "row" }, String(t)),
      ...STAGES.map(([k]) => h("td", {}, String(timings.get(t)?.[k] ?? "—")))))));
  for (const key of legend.querySelectorAll(".key")) {
    const swatch = /** @type {HTMLElement} */ (key);
    swatch.style.setProperty("--swatch", swatch.dataset.color ?? "#333");
  }
  return h("div", {}, chart, legend, h("details", {}, h("summary", {}, "Figures"), table));
}
