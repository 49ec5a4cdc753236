// Checks the server's API document and its docs page, for tests/api_ops.rs:
//
//   node tests/openapi-check.js --url http://127.0.0.1:PORT [--artifacts DIR]
//
// 1. GET /openapi.json and validate it against the OpenAPI specification's own JSON Schema
//    (@seriousme/openapi-schema-validator, which carries the official 3.0/3.1/3.2 schemas), and
//    check that every $ref resolves.
// 2. Open /docs/ in Debian's Chromium (headless) and count the operations Swagger UI renders,
//    collecting the page's console errors (a Content-Security-Policy refusal shows up there).
// Prints one JSON object on stdout: {valid, version, errors, refs_resolve, operations_rendered,
// console_errors}.
import { Validator } from "@seriousme/openapi-schema-validator";
import { chromium } from "playwright-core";
import { parseArgs } from "node:util";
import { join } from "node:path";

const { values: opts } = parseArgs({
  options: {
    url: { type: "string" },
    artifacts: { type: "string", default: "." },
    chromium: { type: "string", default: process.env.CHROMIUM || "/usr/bin/chromium" },
  },
});
if (!opts.url) throw new Error("--url is required");

const res = await fetch(`${opts.url}/openapi.json`);
if (!res.ok) throw new Error(`GET /openapi.json: ${res.status}`);
const doc = await res.json();

const validator = new Validator();
const result = await validator.validate(doc);
let refsResolve = false;
if (result.valid) {
  try {
    validator.resolveRefs();
    refsResolve = true;
  } catch (e) {
    refsResolve = false;
    console.error(`unresolved $ref: ${e}`);
  }
}

/** @type {string[]} */
const consoleErrors = [];
const browser = await chromium.launch({ executablePath: opts.chromium, headless: true });
let rendered = 0;
try {
  const page = await browser.newPage();
  page.on("console", (msg) => {
    if (msg.type() === "error") consoleErrors.push(msg.text());
  });
  page.on("pageerror", (err) => consoleErrors.push(String(err)));
  await page.goto(`${opts.url}/docs/`);
  await page.waitForSelector(".opblock", { timeout: 60000 });
  rendered = await page.locator(".opblock").count();
  await page.screenshot({ path: join(opts.artifacts, "docs.png"), fullPage: false });
} finally {
  await browser.close();
}

console.log(
  JSON.stringify({
    valid: result.valid,
    version: validator.version,
    errors: result.errors ?? null,
    refs_resolve: refsResolve,
    operations_rendered: rendered,
    console_errors: consoleErrors,
  }),
);
