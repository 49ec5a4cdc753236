// Drives the candidate page in Debian's Chromium (headless, fake microphone playing a speech WAV)
// through a whole interview, for tests/browser.rs, which starts the server and asserts on what
// this prints and on what the server stored.
//
//   node tests/candidate-driver.js --url URL --audio speech.wav --artifacts DIR [--cut] [--second-tab] [--consent]
//
// --consent: the interview was made through the API, so the page first shows the organization's
// notice; it is read, agreed to and accepted by keyboard before the microphone check.
// --second-tab: once the interview is live, the same link is opened in another tab (its own
// storage, like another device), which must be refused while this one holds the interview.
// Prints one JSON object per line on stdout: {"event":"answered"} (with --cut: then waits for a
// "cut" line on stdin, i.e. the test has dropped the connection, and for the page to resume),
// and at the end {"event":"done", ...what the page showed}. Screenshots go to DIR.
import { launchChromium } from "./chromium.js";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { join } from "node:path";
import { minContrast } from "./page-checks.js";

const { values: opts } = parseArgs({
  options: {
    url: { type: "string" },
    audio: { type: "string" },
    artifacts: { type: "string", default: "." },
    cut: { type: "boolean", default: false },
    "second-tab": { type: "boolean", default: false },
    consent: { type: "boolean", default: false },
    chromium: { type: "string", default: process.env.CHROMIUM || "/usr/bin/chromium" },
    "timeout-ms": { type: "string", default: "240000" },
  },
});
if (!opts.url || !opts.audio) throw new Error("--url and --audio are required");
const TIMEOUT = Number(opts["timeout-ms"]);
const artifacts = opts.artifacts ?? ".";

/** @param {object} obj */
function emit(obj) { process.stdout.write(JSON.stringify(obj) + "\n"); }

const stdin = createInterface({ input: process.stdin });
/** @type {string[]} */
const stdinLines = [];
/** @type {((line: string) => void)[]} */
const stdinWaiters = [];
stdin.on("line", (line) => {
  const waiter = stdinWaiters.shift();
  if (waiter) waiter(line); else stdinLines.push(line);
});
/** @returns {Promise<string>} */
function nextLine() {
  const line = stdinLines.shift();
  return line !== undefined ? Promise.resolve(line) : new Promise((resolve) => stdinWaiters.push(resolve));
}

// Records every text the page shows in #state and #status, in order, from the first paint on.
function recordHistory() {
  /** @type {{states: string[], statuses: string[], bodyStates: string[]}} */
  const seen = { states: [], statuses: [], bodyStates: [] };
  // @ts-ignore: a test-only global.
  window.__seen = seen;
  /** @param {string[]} list @param {string|null|undefined} value */
  const note = (list, value) => { if (value && list[list.length - 1] !== value) list.push(value); };
  const watch = () => {
    new MutationObserver(() => {
      note(seen.states, document.getElementById("state")?.textContent);
      note(seen.statuses, document.getElementById("status")?.textContent);
      note(seen.bodyStates, document.body.dataset.state);
    }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
  };
  if (document.body) watch(); else document.addEventListener("DOMContentLoaded", watch);
}

/**
 * Presses Tab until the element with `id` has the focus, then `key` (Enter; Space for a
 * checkbox): the page works by keyboard.
 * @param {import("playwright-core").Page} page
 * @param {string} id
 * @param {string} [key]
 */
async function keyboardActivate(page, id, key = "Enter") {
  for (let tabs = 1; tabs <= 10; tabs++) {
    await page.keyboard.press("Tab");
    if (await page.evaluate(() => document.activeElement?.id) === id) {
      await page.keyboard.press(key);
      return tabs;
    }
  }
  throw new Error(`#${id} cannot be reached with the Tab key`);
}

/** A headless Chromium whose microphone plays the test's speech file. */
function launch() {
  return launchChromium(opts.chromium ?? "/usr/bin/chromium", opts.audio ?? "");
}
const browser = await launch();
/** @type {string[]} */
const problems = [];
try {
  // 768 px: the narrowest layout the page promises.
  const page = await browser.newPage({ viewport: { width: 768, height: 900 } });
  page.setDefaultTimeout(TIMEOUT);
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("console", (m) => { if (m.type() === "error") problems.push(`console: ${m.text()}`); });
  await page.addInitScript(recordHistory);
  await page.goto(opts.url);

  // The page first asks the server whether there is a notice to accept.
  let notice = null;
  if (opts.consent) {
    await page.waitForSelector("#notice:not([hidden])");
    notice = {
      text: await page.textContent("#notice-text"),
      // Nothing starts before the candidate agrees.
      acceptDisabled: await page.$eval("#accept", (b) => b.matches(":disabled")),
      setupHidden: await page.$eval("#setup", (e) => e.hasAttribute("hidden")),
    };
    await page.screenshot({ path: join(artifacts, "0-notice.png"), fullPage: true });
    await keyboardActivate(page, "agree", " ");
    await keyboardActivate(page, "accept");
  }
  await page.waitForSelector("#setup:not([hidden])");
  const allowTabs = await keyboardActivate(page, "allow");
  await page.waitForSelector("#start:not([disabled])");
  await page.waitForFunction(() => document.getElementById("mic-check")?.textContent !== "");
  const micCheck = await page.textContent("#mic-check");
  const devices = await page.$$eval("#device option", (os) => os.map((o) => o.textContent));
  await page.screenshot({ path: join(artifacts, "1-mic-check.png"), fullPage: true });
  const startTabs = await keyboardActivate(page, "start");
  await page.waitForSelector("#live:not([hidden])");

  let secondTab = null;
  if (opts["second-tab"]) {
    // The interviewer's first words: this page holds the live session.
    await page.waitForSelector("#captions li");
    // Another device: a browser of its own, so that its microphone (opened, then closed) never
    // touches the first page's capture device.
    const other = await launch();
    const tab = await other.newPage({ viewport: { width: 768, height: 900 } });
    tab.setDefaultTimeout(TIMEOUT);
    tab.on("pageerror", (e) => problems.push(`second tab pageerror: ${e.message}`));
    await tab.goto(opts.url);
    await tab.waitForSelector("#setup:not([hidden])");
    await tab.click("#allow");
    await tab.waitForSelector("#start:not([disabled])");
    await tab.click("#start");
    await tab.waitForFunction(() => document.getElementById("status")?.textContent?.includes("another tab"));
    secondTab = {
      status: await tab.textContent("#status"),
      // Nothing to press while the other tab holds the interview.
      disabled: await tab.$$eval("#live button, #live input", (es) =>
        es.filter((e) => e.matches(":disabled")).map((e) => e.id)),
    };
    await tab.screenshot({ path: join(artifacts, "1b-second-tab.png"), fullPage: true });
    await other.close();
  }

  let resumedAfterCut = false;
  if (opts.cut) {
    await page.waitForSelector("#captions li.candidate:not(.partial)");
    emit({ event: "answered" });
    if (await nextLine() !== "cut") throw new Error("expected a cut line");
    // @ts-ignore: a test-only global.
    await page.waitForFunction(() => window.__seen.statuses.some((s) => s.startsWith("Connection lost")));
    await page.screenshot({ path: join(artifacts, "2-reconnecting.png"), fullPage: true });
    // @ts-ignore: a test-only global.
    await page.waitForFunction(() => window.__seen.statuses.some((s) => s.includes("Picking up where we were")));
    resumedAfterCut = true;
    await page.screenshot({ path: join(artifacts, "3-resumed.png"), fullPage: true });
  }

  try {
    await page.waitForSelector('body[data-state="ended"]');
  } catch (e) {
    // What the page had got to, for whoever reads the failure.
    await page.screenshot({ path: join(artifacts, "timeout.png"), fullPage: true });
    const where = await page.evaluate(() => ({
      status: document.getElementById("status")?.textContent,
      state: document.body.dataset.state,
      captions: [...document.querySelectorAll("#captions li")].map((li) => li.textContent),
      stats: window.vivaStats,
    }));
    process.stderr.write(`the interview did not end: ${JSON.stringify(where)}\n`);
    throw e;
  }
  await page.screenshot({ path: join(artifacts, "4-ended.png"), fullPage: true });
  const shown = await page.evaluate(() => ({
    captions: [...document.querySelectorAll("#captions li")].map((li) => ({
      who: li.className.split(" ")[0], key: li.getAttribute("data-key"), text: li.textContent,
      partial: li.classList.contains("partial"),
    })),
    // @ts-ignore: a test-only global.
    seen: window.__seen,
    state: document.getElementById("state")?.textContent,
    status: document.getElementById("status")?.textContent,
    progress: document.getElementById("progress")?.textContent,
    elapsed: document.getElementById("elapsed")?.textContent,
    stats: window.vivaStats,
    overflowX: document.documentElement.scrollWidth > document.documentElement.clientWidth,
    // The token is read from the link, then taken out of the address bar.
    urlHasToken: location.href.includes("token="),
    captionsLive: document.getElementById("captions")?.getAttribute("aria-live"),
    disabled: [...document.querySelectorAll("#live button, #live input")]
      .filter((e) => e.matches(":disabled")).map((e) => e.id),
  }));
  const contrast = await page.evaluate(minContrast);
  emit({ event: "done", notice, allowTabs, startTabs, micCheck, devices, resumedAfterCut, secondTab, contrast, problems, ...shown });
} finally {
  await browser.close();
  stdin.close();
}
