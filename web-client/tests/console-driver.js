// Drives the recruiter console in Debian's Chromium (headless) for tests/browser.rs, which starts
// the server, makes the first admin and asserts on what this prints and on what the server stored:
//
//   CONSOLE_PASSWORD=… node tests/console-driver.js --base URL --email E --audio speech.wav --artifacts DIR
//
// The recruiter signs in, creates a job and a candidate (with a résumé file), schedules an
// interview and copies its link, opens the live board; a candidate (a second browser context
// whose fake microphone plays the speech file) opens the link; the recruiter sees the card,
// opens it, sees the candidate's transcript line appear, listens in (frames of both sides
// decoded), suggests a question, which the interviewer asks next, adds a note, ends the
// interview and reads the results page. A session that expires while a form is half typed
// signs in again without losing what was typed. Screenshots of each step go to DIR; the last
// line printed is {"event":"done", ...}.
import { launchChromium } from "./chromium.js";
import { parseArgs } from "node:util";
import { join } from "node:path";
import { minContrast, unlabelled } from "./page-checks.js";

const { values: opts } = parseArgs({
  options: {
    base: { type: "string" },
    email: { type: "string" },
    audio: { type: "string" },
    artifacts: { type: "string", default: "." },
    chromium: { type: "string", default: process.env.CHROMIUM || "/usr/bin/chromium" },
    "timeout-ms": { type: "string", default: "240000" },
  },
});
const password = process.env.CONSOLE_PASSWORD ?? "";
if (!opts.base || !opts.email || !password || !opts.audio) {
  throw new Error("--base, --email, --audio and CONSOLE_PASSWORD are required");
}
const TIMEOUT = Number(opts["timeout-ms"]);
const artifacts = opts.artifacts ?? ".";
const SUGGESTION = "What is the hardest bug you have fixed, and how did you find it?";
const NOTE = "Clear answers; ask about testing next time.";
const RESUME = "Grace Hopper\nRear admiral. Wrote the first compiler (A-0, 1952) and led COBOL.";

/** @param {object} obj */
function emit(obj) { process.stdout.write(JSON.stringify(obj) + "\n"); }

const browser = await launchChromium(opts.chromium ?? "/usr/bin/chromium", opts.audio);
/** @type {string[]} */
const problems = [];
/** What each page's checks found: `{page, contrast, unlabelled, overflowX}`. @type {any[]} */
const checks = [];
let step = 0;
try {
  const recruiter = await browser.newContext({ viewport: { width: 1024, height: 900 } });
  await recruiter.grantPermissions(["clipboard-read", "clipboard-write"], { origin: opts.base });
  const page = await recruiter.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  // HTTP statuses the console expects (no session yet, no assessment yet) are logged by the
  // browser as "Failed to load resource"; they are not the page's errors.
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) problems.push(`console: ${m.text()}`);
  });
  /** @param {string} name */
  const shot = async (name) => {
    step++;
    await page.screenshot({ path: join(artifacts, `${String(step).padStart(2, "0")}-${name}.png`), fullPage: true });
  };
  /** Accessibility and layout checks of what is on screen. @param {string} name */
  const check = async (name) => {
    checks.push({
      page: name,
      contrast: await page.evaluate(minContrast),
      unlabelled: await page.evaluate(unlabelled),
      overflowX: await page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth),
    });
  };

  // Sign in by keyboard alone: the dialog opens with the focus on "Email".
  await page.goto(`${opts.base}/console/`);
  await page.waitForSelector("#sign-in[open]");
  const focused = () => page.evaluate(() => document.activeElement?.id);
  const keyboard = { email: await focused(), password: "" };
  await page.keyboard.type(opts.email);
  await page.keyboard.press("Tab");
  keyboard.password = await focused() ?? "";
  await page.keyboard.type(password);
  await check("sign-in");
  await shot("sign-in");
  await page.keyboard.press("Enter");
  await page.waitForSelector("header.top:not([hidden])");
  await page.getByText("No interview is running right now.").waitFor();
  await check("live board (empty)");
  await shot("live-board-empty");

  // A job.
  await page.getByRole("link", { name: "Jobs" }).click();
  await page.getByRole("button", { name: "New job" }).click();
  await page.getByLabel("Title").fill("Software Engineer");
  await page.getByLabel("Skills (comma-separated)").fill("Rust, PostgreSQL");
  await page.getByRole("button", { name: "Create job" }).click();
  await page.locator("#jobs tbody tr", { hasText: "Software Engineer" }).waitFor();
  await check("jobs");
  await shot("job-created");

  // A candidate, with a résumé file.
  await page.getByRole("link", { name: "Candidates" }).click();
  const view = page.locator("#view");
  await view.getByLabel("Name").fill("Grace Hopper");
  await view.getByLabel("Email").fill("grace@navy.example");
  await page.getByRole("button", { name: "Add candidate" }).click();
  await page.getByRole("heading", { name: "Grace Hopper" }).waitFor();
  await page.getByLabel("Résumé (PDF, DOCX or text)").setInputFiles({
    name: "grace.txt", mimeType: "text/plain", buffer: Buffer.from(RESUME),
  });
  await page.getByRole("button", { name: "Upload" }).click();
  await page.locator("#resume-text", { hasText: "first compiler" }).waitFor();
  const resumeShown = await page.textContent("#resume-text");
  await check("candidate");
  await shot("candidate-resume");

  // Schedule, then copy the link.
  await page.getByRole("link", { name: "Interviews" }).click();
  await page.getByLabel("Record both sides' audio").check();
  await page.getByRole("button", { name: "Schedule" }).click();
  await page.waitForSelector("#invite-url");
  await page.getByRole("button", { name: "Copy link" }).click();
  const invite = await page.inputValue("#invite-url");
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  const interviewId = new URL(invite).pathname.split("/").pop();
  await check("interviews");
  await shot("scheduled");

  // The live board, then the candidate arrives.
  await page.getByRole("link", { name: "Live", exact: true }).click();
  await page.getByText("No interview is running right now.").waitFor();
  const candidateContext = await browser.newContext({ viewport: { width: 768, height: 900 } });
  const cand = await candidateContext.newPage();
  cand.setDefaultTimeout(TIMEOUT);
  cand.on("pageerror", (e) => problems.push(`candidate pageerror: ${e.message}`));
  await cand.goto(invite);
  await cand.waitForSelector("#notice:not([hidden])");
  await cand.check("#agree");
  await cand.click("#accept");
  await cand.waitForSelector("#setup:not([hidden])");
  await cand.click("#allow");
  await cand.waitForSelector("#start:not([disabled])");
  await cand.click("#start");
  await cand.waitForSelector("#live:not([hidden])");
  // Once the interview runs, the candidate looks at another window, comes back, and pastes into
  // the typed-answer box (nothing is sent with it: the interview goes on by voice).
  await cand.waitForSelector('body[data-state="speaking"], body[data-state="listening"]');
  await cand.evaluate(() => {
    window.dispatchEvent(new Event("blur"));
    window.dispatchEvent(new Event("focus"));
    const pasted = new DataTransfer();
    pasted.setData("text", "my pasted notes");
    document.getElementById("answer")?.dispatchEvent(new ClipboardEvent("paste", { clipboardData: pasted, bubbles: true }));
  });

  const card = page.locator(`.card[data-id="${interviewId}"]`);
  await card.waitFor();
  const cardText = await card.textContent();
  await check("live board");
  await shot("card-appeared");

  // Watch it.
  await card.getByRole("link").click();
  await page.waitForSelector("#watch-transcript");
  await page.getByRole("button", { name: "Listen" }).click();
  // Suggested while the first question is asked: asked after the candidate's answer.
  await page.getByLabel("Suggest a question").fill(SUGGESTION);
  await page.getByRole("button", { name: "Suggest" }).click();
  await page.locator("#flash", { hasText: "Question suggested" }).waitFor();
  await page.waitForSelector('#watch-transcript li[data-speaker="candidate"]:not(.partial)');
  const candidateLine = await page.textContent('#watch-transcript li[data-speaker="candidate"]:not(.partial)');
  // A transcribed answer is analysed beside the interview: its scores appear under it.
  const analysis = candidateLine?.includes("not transcribed") ? null
    : await page.locator('#watch-transcript li[data-speaker="candidate"] .analysis').first().textContent();
  await shot("watching-transcript");
  await page.waitForFunction(() => {
    const d = document.getElementById("listen-info")?.dataset;
    return Number(d?.candidateFrames) > 25 && Number(d?.interviewerFrames) > 25;
  });
  const frames = await page.evaluate(() => {
    const d = /** @type {HTMLElement} */ (document.getElementById("listen-info")).dataset;
    return { candidate: Number(d.candidateFrames), interviewer: Number(d.interviewerFrames) };
  });
  await page.locator('#watch-transcript li[data-speaker="interviewer"]:not(.partial)', { hasText: SUGGESTION }).waitFor();
  // Heard to the end (then the interviewer listens), so that ending it cuts nothing short.
  await page.locator("#watch-state", { hasText: "Listening" }).waitFor();
  await page.waitForFunction(() => (document.querySelector("#watch-latency table tbody")?.children.length ?? 0) > 0);
  const watching = await page.evaluate(() => ({
    state: document.getElementById("watch-state")?.textContent,
    question: document.getElementById("watch-question")?.textContent,
    connection: document.getElementById("watch-connection")?.textContent,
    watchers: document.getElementById("watch-watchers")?.textContent,
    level: /** @type {HTMLMeterElement} */ (document.getElementById("watch-level")).value,
    latencyRows: document.querySelector("#watch-latency table tbody")?.children.length,
  }));
  await check("watch");
  await shot("suggested-question-asked");

  // A note, then the end.
  await page.getByLabel("Add a note (private to the hiring team)").fill(NOTE);
  await page.getByRole("button", { name: "Add note" }).click();
  await page.locator("#watch-notes li", { hasText: NOTE }).waitFor();
  await page.getByRole("button", { name: "End interview" }).click();
  await page.getByLabel("Reason (read out to the candidate, optional)").fill("We have what we need");
  await page.getByRole("button", { name: "End it now" }).click();
  await page.locator("#watch-state", { hasText: "Ended" }).waitFor();
  await cand.waitForSelector('body[data-state="ended"]');
  await shot("ended");

  // The results page.
  await page.goto(`${opts.base}/console/#/interviews/${interviewId}`);
  await page.waitForSelector("#result-transcript");
  // Click a line of the candidate's: that moment of the recording plays (Chromium decodes the
  // Ogg Opus file).
  await page.locator('#result-transcript li.candidate button.play').first().click();
  await page.waitForFunction(() => {
    const a = /** @type {HTMLAudioElement} */ (document.getElementById("clip"));
    return a.dataset.playing !== undefined && a.currentTime > 0 && a.duration > 0;
  });
  const clip = await page.evaluate(() => {
    const a = /** @type {HTMLAudioElement} */ (document.getElementById("clip"));
    return { currentTime: a.currentTime, duration: a.duration, error: a.error?.message ?? null };
  });
  const results = await page.evaluate(() => ({
    status: document.getElementById("result-status")?.textContent,
    lines: [...document.querySelectorAll("#result-transcript li")].map((li) => li.textContent),
    notes: [...document.querySelectorAll(".notes li")].map((li) => li.textContent),
  }));
  await check("results");
  await shot("results");
  // Ended by the recruiter, so not assessed on its own: assessed on request, shown once made.
  await page.getByRole("button", { name: "Assess" }).click();
  await page.waitForSelector("#recommendation");
  const assessment = await page.textContent("#assessment");
  const integrity = await page.textContent("#integrity");
  await check("assessment");
  await shot("assessment");

  // A job edited, then closed.
  await page.getByRole("link", { name: "Jobs" }).click();
  const jobRow = page.locator("#jobs tbody tr", { hasText: "Software Engineer" });
  await jobRow.getByRole("button", { name: "Edit" }).click();
  await page.getByLabel("Title").fill("Senior Software Engineer");
  await page.getByRole("button", { name: "Save" }).click();
  await page.locator("#jobs tbody tr", { hasText: "Senior Software Engineer" }).waitFor();
  await page.locator("#jobs tbody tr", { hasText: "Senior Software Engineer" }).getByRole("button", { name: "Close" }).click();
  await page.locator("#jobs tbody tr", { hasText: "closed" }).waitFor();
  const jobShown = await page.textContent("#jobs tbody tr");
  await shot("job-edited-and-closed");

  // The team: someone invited (a link to pass on), their role changed, then disabled.
  await page.getByRole("link", { name: "Team" }).click();
  await view.getByLabel("Email").fill("rex@acme.example");
  await page.getByRole("button", { name: "Invite" }).click();
  const inviteLink = await page.locator('input[aria-label="Invitation link"]').inputValue();
  // Rex opens the link (a browser of their own) and sets a password; the token leaves the
  // address bar.
  const rexContext = await browser.newContext({ viewport: { width: 1024, height: 900 } });
  const rexPage = await rexContext.newPage();
  rexPage.setDefaultTimeout(TIMEOUT);
  rexPage.on("pageerror", (e) => problems.push(`invite pageerror: ${e.message}`));
  await rexPage.goto(inviteLink);
  await rexPage.getByLabel("New password").fill("Rexington Plaza 1999!");
  await rexPage.getByLabel("Repeat it").fill("Rexington Plaza 1999!");
  await rexPage.getByRole("button", { name: "Set password" }).click();
  await rexPage.getByText("Your password is set.").waitFor();
  const invited = { urlHasToken: rexPage.url().includes("token="), contrast: await rexPage.evaluate(minContrast) };
  await rexContext.close();
  const rexRow = page.locator("#users tbody tr", { hasText: "rex@acme.example" });
  await rexRow.getByText("invited").waitFor();
  await page.getByRole("link", { name: "Team" }).click();
  await rexRow.getByText("active").waitFor();
  await rexRow.getByLabel("Role of rex@acme.example").selectOption("viewer");
  await page.locator("#flash", { hasText: "is now viewer" }).waitFor();
  await rexRow.getByRole("button", { name: "Disable" }).click();
  await rexRow.getByText("disabled").waitFor();
  await check("team");
  await shot("team");

  // The organization's own OpenAI key: saved, then shown by its last four characters only.
  await page.getByRole("link", { name: "Provider keys" }).click();
  const openai = page.locator('form[data-vendor="openai"]');
  await openai.getByLabel("Key").fill("sk-console-test-key-7f3a");
  await openai.getByRole("button", { name: "Save" }).click();
  await openai.getByText("ends in 7f3a").waitFor();
  const keyShown = await openai.locator(".key-state").textContent();
  const keyInPage = await page.evaluate(() => document.body.innerHTML.includes("sk-console-test-key"));
  await check("provider keys");
  await shot("provider-keys");

  // A session that ends while a form is half typed: signing in again keeps what was typed,
  // and the form's request goes through.
  await page.getByRole("link", { name: "Jobs" }).click();
  await page.getByRole("button", { name: "New job" }).click();
  await page.getByLabel("Title").fill("Data Engineer");
  await page.evaluate(async () => {
    // Another tab signs out: this session's tokens stop working.
    const r = await fetch("/v1/auth/refresh", { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
    const { access_token } = await r.json();
    await fetch("/v1/auth/logout", { method: "POST", headers: { Authorization: `Bearer ${access_token}` } });
  });
  await page.getByRole("button", { name: "Create job" }).click();
  await page.waitForSelector("#sign-in[open]");
  await shot("session-ended");
  const keptTitle = await page.inputValue("#job-title");
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator("#jobs tbody tr", { hasText: "Data Engineer" }).waitFor();
  await shot("signed-in-again");

  // Signing out goes back to the sign-in dialog.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForSelector("#sign-in[open]");
  emit({
    event: "done", interviewId, invite, copied, resumeShown, cardText, candidateLine, frames,
    watching, results, clip, analysis, assessment, integrity, keptTitle, keyboard, jobShown, invited, keyShown, keyInPage,
    checks, problems,
  });
} catch (e) {
  for (const p of browser.contexts().flatMap((c) => c.pages())) {
    await p.screenshot({ path: join(artifacts, `failure-${Math.random().toString(36).slice(2, 6)}.png`), fullPage: true }).catch(() => {});
  }
  process.stderr.write(`console driver failed: ${/** @type {Error} */ (e).stack}\nproblems: ${JSON.stringify(problems)}\n`);
  throw e;
} finally {
  await browser.close();
}
