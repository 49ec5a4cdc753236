//! The candidate page in a real browser: Debian's Chromium, headless, its fake microphone playing
//! espeak-ng speech, driven by Playwright (`web-client/tests/candidate-driver.js`) against the
//! `viva serve` binary on the embedded default (no keys, no network). Asserts on what the page
//! showed and on what the server stored. Screenshots land in
//! `$CARGO_TARGET_TMPDIR/browser-artifacts/<test>/`.
//!
//! Needs `/usr/bin/chromium` (or `$CHROMIUM`), Node.js and `web-client/node_modules` (all
//! installed by `scripts/setup.sh --test`).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::proxy::Proxy;
use common::{interview_create, log_tail, spawn_serve_logging_to, whisper_built_in, whisper_model};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use uuid::Uuid;
use viva::protocol::Speaker;
use viva::store::{InterviewStatus, TurnRecord};

/// Long enough (> 6 s) that the offline interviewer takes it as a full answer, not a short one.
const ANSWER: &str = "I have five years of experience building web applications with React and \
    TypeScript, and last year I led a team of four engineers that rebuilt our payments service.";

/// Generous bound on a whole browser run; a hang guard, not a timing assertion.
const RUN_GUARD: std::time::Duration = std::time::Duration::from_secs(420);

fn web_client() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("web-client")
}

fn chromium() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

fn check_tools() {
    assert!(
        Path::new(&chromium()).exists(),
        "no Chromium at {} (scripts/setup.sh --test installs Debian's `chromium`; or set CHROMIUM)",
        chromium()
    );
    assert!(
        web_client().join("node_modules/playwright-core").exists(),
        "web-client/node_modules is missing: run `npm ci` in web-client/ (scripts/setup.sh --test does)"
    );
}

/// The thinking answer's two halves, with 2.5 s of silence between them in the microphone's file.
const THINKING: [&str; 2] = [
    "So the first thing I would do is",
    "look at the slow queries in the logs.",
];

/// The fake microphone's file (Chromium loops it): `lead_ms` of silence, the answer, then 16 s of
/// silence, long enough for the interviewer to speak its next question before the answer comes
/// round again.
async fn microphone_wav(dir: &Path, lead_ms: usize) -> PathBuf {
    microphone_wav_saying(dir, lead_ms, &[ANSWER]).await
}

/// [`microphone_wav`] saying `parts` with 2.5 s of silence between them.
async fn microphone_wav_saying(dir: &Path, lead_ms: usize, parts: &[&str]) -> PathBuf {
    let mut samples = vec![0i16; 48 * lead_ms];
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            samples.extend(std::iter::repeat_n(0i16, 48 * 2_500));
        }
        let wav = viva::providers::espeak::speak_wav("en-us", 160, part)
            .await
            .unwrap();
        samples.extend(viva::audio::client::wav_to_48k(&wav).unwrap());
    }
    samples.extend(std::iter::repeat_n(0i16, 48_000 * 16));
    let path = dir.join("answer.wav");
    std::fs::write(&path, viva::audio::wav::encode(48_000, &samples)).unwrap();
    path
}

/// `viva` on a data directory, on the embedded default whatever the developer's environment says.
fn viva(data_dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_viva"));
    for var in [
        "DATABASE_URL",
        "REDIS_URL",
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "GEMINI_API_KEY",
        "DEEPGRAM_API_KEY",
        "VIVA_STT",
        "VIVA_LLM",
        "VIVA_TTS",
    ] {
        c.env_remove(var);
    }
    c.env("VIVA_DATA_DIR", data_dir)
        .env("VIVA_WEB_DIR", web_client().join("public"))
        .env("VIVA_WHISPER_MODEL", whisper_model())
        .env("VIVA_MAX_QUESTIONS", "2");
    c
}

const ADMIN_EMAIL: &str = "ada@acme.example";
const ADMIN_PASSWORD: &str = "Analytical Engine 1843";

/// The first admin of organization Acme, made with `viva admin create`.
fn create_admin(dir: &Path) {
    use std::io::Write;
    let mut admin = viva(dir);
    let mut child = admin
        .args([
            "admin",
            "create",
            "--email",
            ADMIN_EMAIL,
            "--org",
            "Acme",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{ADMIN_PASSWORD}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An interview a recruiter makes through the API on the server at `addr` (its first admin made
/// with `viva admin create`): its id and candidate link.
async fn recruiters_interview(dir: &Path, addr: &str) -> (Uuid, String) {
    create_admin(dir);
    let http = reqwest::Client::new();
    let base = format!("http://{addr}");
    let call = |path: &str, body: Value, token: Option<&str>| {
        let mut r = http.post(format!("{base}{path}")).json(&body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        async move {
            let r = r.send().await.unwrap();
            assert!(r.status().is_success(), "{}", r.status());
            r.json::<Value>().await.unwrap()
        }
    };
    let signed = call(
        "/v1/auth/login",
        serde_json::json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
        None,
    )
    .await;
    let token = signed["access_token"].as_str().unwrap();
    let job = call(
        "/v1/jobs",
        serde_json::json!({"title": "Software Engineer"}),
        Some(token),
    )
    .await;
    let candidate = call(
        "/v1/candidates",
        serde_json::json!({"name": "Grace Hopper", "email": "grace@navy.example"}),
        Some(token),
    )
    .await;
    let made = call(
        "/v1/interviews",
        serde_json::json!({"job_id": job["id"], "candidate_id": candidate["id"]}),
        Some(token),
    )
    .await;
    (
        made["id"].as_str().unwrap().parse().unwrap(),
        made["invite_url"].as_str().unwrap().to_owned(),
    )
}

struct Run {
    /// What the driver printed at the end: what the page showed.
    page: Value,
    id: Uuid,
    turns: Vec<TurnRecord>,
    status: InterviewStatus,
    cuts: usize,
    /// The server has the candidate's consent.
    consented: bool,
}

/// How a browser run goes.
#[derive(Clone, Copy, PartialEq)]
enum Scenario {
    /// A recruiter's interview (consent first), the answer spoken in one go, a second tab.
    Complete,
    /// An operator's interview; the connection is cut after the first answer.
    Reconnect,
    /// An operator's interview heard by a recogniser with live partials (the Deepgram fake at
    /// this address); the candidate stops mid-phrase to think before finishing each answer.
    Thinking(std::net::SocketAddr),
}

/// Serves the embedded default behind a cuttable proxy, creates an interview with
/// `viva interview create` (or, for the complete run, a recruiter through the API), and lets
/// Chromium take it from the link.
async fn interview_in_chromium(name: &str, scenario: Scenario) -> Run {
    check_tools();
    let dir = tempfile::tempdir().unwrap();
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("browser-artifacts")
        .join(name);
    std::fs::create_dir_all(&artifacts).unwrap();
    eprintln!("screenshots: {}", artifacts.display());

    let mut serve = viva(dir.path());
    serve.args(["serve", "--bind", "127.0.0.1:0"]);
    if let Scenario::Thinking(fake) = scenario {
        serve
            .env("VIVA_STT", "deepgram")
            .env("DEEPGRAM_BASE_URL", format!("ws://{fake}"))
            .env("DEEPGRAM_API_KEY", "dg-test-key");
    }
    let server_log = artifacts.join("server.log");
    let (mut server, addr) = spawn_serve_logging_to(serve, &server_log);
    let proxy = Proxy::start(addr.parse().unwrap()).await;
    let (id, url) = if scenario != Scenario::Complete {
        // An operator's interview (`viva interview create`): no notice to accept.
        let mut create = viva(dir.path());
        create.env("VIVA_PUBLIC_URL", format!("http://{}", proxy.addr));
        let created = interview_create(create, "Software Engineer");
        let id: Uuid = created["interview_id"].as_str().unwrap().parse().unwrap();
        (id, created["url"].as_str().unwrap().to_owned())
    } else {
        // A recruiter's, through the API: the page asks for consent first.
        let (id, url) = recruiters_interview(dir.path(), &addr).await;
        // Through the proxy (the link names the server's configured address).
        let path = url.split_once("/interview/").expect("a candidate link").1;
        let url = format!("http://{}/interview/{path}", proxy.addr);
        (id, url)
    };

    let audio = match scenario {
        Scenario::Thinking(_) => microphone_wav_saying(dir.path(), 500, &THINKING).await,
        _ => microphone_wav(dir.path(), 500).await,
    };
    let mut driver = tokio::process::Command::new("node");
    driver
        .current_dir(web_client())
        .arg("tests/candidate-driver.js")
        .args(["--url", &url, "--chromium", &chromium()])
        .arg("--audio")
        .arg(&audio)
        .arg("--artifacts")
        .arg(&artifacts)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true);
    match scenario {
        Scenario::Reconnect => {
            driver.arg("--cut");
        }
        Scenario::Complete => {
            driver.args(["--second-tab", "--consent"]);
        }
        Scenario::Thinking(_) => {}
    }
    let mut driver = driver
        .spawn()
        .expect("node (scripts/setup.sh --test installs it)");
    let mut stdin = driver.stdin.take().unwrap();
    let mut lines = BufReader::new(driver.stdout.take().unwrap()).lines();
    let mut cuts = 0;
    let page = tokio::time::timeout(RUN_GUARD, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let msg: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("driver printed {line:?}: {e}"));
            match msg["event"].as_str() {
                Some("answered") => {
                    cuts = proxy.cut();
                    stdin.write_all(b"cut\n").await.unwrap();
                }
                Some("done") => return msg,
                _ => panic!("unexpected driver output {line}"),
            }
        }
        panic!(
            "the driver ended early: {:?}\nthe server's last log lines ({}):\n{}",
            driver.wait().await,
            server_log.display(),
            log_tail(&server_log, 60)
        );
    })
    .await
    .expect("the browser run hung");

    let store = viva::server::open_store(&viva::config::Config::embedded(dir.path()))
        .await
        .unwrap();
    let turns = store.turns(id).await.unwrap();
    let record = store.get_interview(id).await.unwrap().unwrap();
    let (status, consented) = (record.status, record.consented_at.is_some());
    let _ = server.kill();
    let _ = server.wait();
    Run {
        page,
        id,
        turns,
        status,
        cuts,
        consented,
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

/// The captions the page shows for one side, without their "You: " / "Interviewer: " label.
fn captions(page: &Value, who: &str) -> Vec<String> {
    let label = if who == "candidate" {
        "You: "
    } else {
        "Interviewer: "
    };
    page["captions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["who"] == who)
        .map(|c| {
            assert_eq!(c["partial"], false, "a caption stayed partial: {c}");
            c["text"]
                .as_str()
                .unwrap()
                .strip_prefix(label)
                .unwrap()
                .to_owned()
        })
        .collect()
}

fn stored(turns: &[TurnRecord], speaker: Speaker) -> Vec<String> {
    turns
        .iter()
        .filter(|t| t.speaker == speaker)
        .map(|t| t.text.clone())
        .collect()
}

/// What every complete run must show and store, cut or not.
fn assert_complete_interview(run: &Run) {
    let page = &run.page;
    for t in &run.turns {
        eprintln!(
            "stored turn {} {:?} {:?} interrupted={} {:?}",
            t.seq, t.speaker, t.kind, t.interrupted, t.text
        );
    }
    eprintln!("page captions {}", page["captions"]);
    eprintln!("page seen {}", page["seen"]);
    assert_eq!(page["problems"], serde_json::json!([]), "page errors");
    // The microphone check heard the fake microphone, and offered it in the picker.
    assert_eq!(page["micCheck"], "We can hear you.");
    assert!(!strings(&page["devices"]).is_empty());
    // The page showed every state of the conversation and ended.
    let states = strings(&page["seen"]["bodyStates"]);
    for state in ["speaking", "listening", "thinking", "ended"] {
        assert!(states.iter().any(|s| s == state), "{state} in {states:?}");
    }
    assert_eq!(page["state"], "Finished");
    assert_eq!(page["status"], "The interview has ended. Thank you!");
    // Both questions were asked and counted.
    assert_eq!(page["progress"], "2", "questions shown");
    // Audio really flowed both ways through WebCodecs.
    let stats = &page["stats"];
    assert!(stats["packetsSent"].as_u64().unwrap() > 100, "{stats}");
    assert!(stats["packetsReceived"].as_u64().unwrap() > 100, "{stats}");
    assert_eq!(stats["audioState"], "running");

    // What the page captioned is what the server stored, turn for turn.
    assert_eq!(run.status, InterviewStatus::Completed, "{}", run.id);
    let candidate = captions(page, "candidate");
    assert!(candidate.len() >= 2, "candidate turns {candidate:?}");
    assert_eq!(candidate, stored(&run.turns, Speaker::Candidate));
    for answer in &candidate {
        if whisper_built_in() {
            // The embedded default hears words: most of the answer's (barge-in may cut the
            // first one short, and the loop may start mid-sentence).
            let said: Vec<&str> = ANSWER.split_whitespace().collect();
            let heard = answer.to_lowercase();
            let found = said
                .iter()
                .filter(|w| {
                    heard.contains(
                        &w.trim_matches(|c: char| !c.is_alphanumeric())
                            .to_lowercase(),
                    )
                })
                .count();
            assert!(found * 2 > said.len(), "{answer}");
        } else {
            // Without a recogniser the embedded default reports how long the speech was.
            assert!(answer.starts_with("[speech "), "{answer}");
        }
    }
    let interviewer = captions(page, "interviewer");
    assert_eq!(interviewer, stored(&run.turns, Speaker::Interviewer));
    assert!(interviewer.last().unwrap().contains("Goodbye"));
    let seqs: Vec<u32> = run.turns.iter().map(|t| t.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "turn seqs {seqs:?}");

    // Accessible: readable at 768 px, captions announced, contrast at least 4.5:1, and the
    // controls that make no sense after the end are disabled.
    assert_eq!(page["overflowX"], false, "horizontal scrolling at 768 px");
    assert_eq!(
        page["urlHasToken"], false,
        "the token was cleared from the address bar"
    );
    assert_eq!(page["captionsLive"], "polite");
    assert!(
        page["contrast"]["ratio"].as_f64().unwrap() >= 4.5,
        "contrast {}",
        page["contrast"]
    );
    let disabled = strings(&page["disabled"]);
    for id in ["repeat", "end", "answer", "send"] {
        assert!(disabled.iter().any(|d| d == id), "{id} in {disabled:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_candidate_completes_a_spoken_interview_in_chromium() {
    let run = interview_in_chromium("complete", Scenario::Complete).await;
    assert_complete_interview(&run);
    // Operated by keyboard alone, in reading order: "Allow microphone" is the first Tab stop,
    // and "Start interview" follows it (past the microphone picker when it is enabled).
    assert_eq!(run.page["allowTabs"], 1);
    let start_tabs = run.page["startTabs"].as_u64().unwrap();
    assert!((1..=2).contains(&start_tabs), "{start_tabs} Tab presses");
    assert_eq!(run.page["stats"]["reconnects"], 0);
    // The same link opened in another tab meanwhile was refused (4011), said why, and took
    // nothing over: the interview above went on to the end in the first tab.
    // It was a recruiter's interview: the page showed the organization's notice first, with
    // nothing to start until the candidate agreed, and the server recorded the consent.
    let notice = &run.page["notice"];
    assert!(
        notice["text"].as_str().unwrap().contains("AI interviewer"),
        "{notice}"
    );
    assert_eq!(notice["acceptDisabled"], true, "{notice}");
    assert_eq!(notice["setupHidden"], true, "{notice}");
    assert!(run.consented, "the consent is stored");
    let second = run.page["secondTab"]["status"].as_str().unwrap_or_default();
    assert!(
        second.contains("open in another tab or device"),
        "the second tab showed {second:?}"
    );
    let mut disabled = strings(&run.page["secondTab"]["disabled"]);
    disabled.sort();
    assert_eq!(
        disabled,
        ["answer", "end", "repeat", "send"],
        "nothing to press there"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_reconnects_after_a_network_drop_and_the_interview_goes_on() {
    let run = interview_in_chromium("reconnect", Scenario::Reconnect).await;
    assert!(run.cuts >= 1, "the WebSocket was open when cut");
    assert_eq!(run.page["resumedAfterCut"], true);
    assert!(run.page["stats"]["reconnects"].as_u64().unwrap() >= 1);
    let statuses = strings(&run.page["seen"]["statuses"]);
    let lost = statuses
        .iter()
        .position(|s| s.starts_with("Connection lost. Reconnecting"))
        .expect("the page said the connection was lost");
    let back = statuses
        .iter()
        .position(|s| s == "Connected. Picking up where we were.")
        .expect("the page said it resumed");
    assert!(lost < back, "{statuses:?}");
    // Nothing said before or after the drop is lost or doubled.
    assert_complete_interview(&run);
}

/// Issue #19: a candidate who stops mid-phrase to think sees the quiet "Take your time" while
/// the interviewer waits, and is not cut off: each answer is stored whole, pause included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_says_take_your_time_while_the_candidate_thinks_mid_answer() {
    let fake = common::fakes::FakeVendor::start().await;
    *fake.state.transcript.lock().unwrap() = THINKING.join(" ");
    let run = interview_in_chromium("thinking", Scenario::Thinking(fake.addr)).await;
    let states = strings(&run.page["seen"]["states"]);
    assert!(
        states.iter().any(|s| s == "Take your time"),
        "the page showed {states:?}"
    );
    let body = strings(&run.page["seen"]["bodyStates"]);
    assert!(body.iter().any(|s| s == "waiting"), "{body:?}");
    assert_eq!(run.status, InterviewStatus::Completed);
    // Every answer whole (the offline interviewer follows a short one up, so there are more
    // than its two questions): the thinking pause ended none of them.
    let answers: Vec<&TurnRecord> = run
        .turns
        .iter()
        .filter(|t| t.speaker == Speaker::Candidate)
        .collect();
    assert!(answers.len() >= 2, "{answers:?}");
    for a in answers {
        assert!(a.audio_ms > 5_000, "cut off: {a:?}");
        assert_eq!(a.text, THINKING.join(" "));
    }
}

/// The question the console's driver suggests (web-client/tests/console-driver.js).
const SUGGESTION: &str = "What is the hardest bug you have fixed, and how did you find it?";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recruiter_watches_listens_in_and_steers_from_the_console() {
    check_tools();
    let dir = tempfile::tempdir().unwrap();
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("browser-artifacts")
        .join("console");
    std::fs::create_dir_all(&artifacts).unwrap();
    eprintln!("screenshots: {}", artifacts.display());
    let mut serve = viva(dir.path());
    serve.args(["serve", "--bind", "127.0.0.1:0"]);
    let server_log = artifacts.join("server.log");
    let (mut server, addr) = spawn_serve_logging_to(serve, &server_log);
    create_admin(dir.path());
    // Acme collects integrity signals: the candidate page's events are kept for review.
    {
        let storage = viva::server::open_storage(&viva::config::Config::embedded(dir.path()))
            .await
            .unwrap();
        let admin = storage
            .accounts
            .user_by_email(ADMIN_EMAIL)
            .await
            .unwrap()
            .unwrap();
        let changes = viva::accounts::organization::OrgChanges {
            integrity_signals: Some(true),
            ..Default::default()
        };
        storage
            .orgs
            .update_org(admin.organization_id, &changes)
            .await
            .unwrap()
            .unwrap();
    }
    // The candidate page starts without a microphone check here: time for the first question.
    let audio = microphone_wav(dir.path(), 9_000).await;
    let mut driver = tokio::process::Command::new("node");
    driver
        .current_dir(web_client())
        .arg("tests/console-driver.js")
        .args([
            "--base",
            &format!("http://{addr}"),
            "--chromium",
            &chromium(),
        ])
        .args(["--email", ADMIN_EMAIL])
        .env("CONSOLE_PASSWORD", ADMIN_PASSWORD)
        .arg("--audio")
        .arg(&audio)
        .arg("--artifacts")
        .arg(&artifacts)
        .stdout(Stdio::piped())
        .kill_on_drop(true);
    let out = tokio::time::timeout(RUN_GUARD, driver.output())
        .await
        .expect("the browser run hung")
        .expect("node (scripts/setup.sh --test installs it)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    let Some(page) = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["event"] == "done")
    else {
        panic!(
            "the driver did not finish ({:?}):\n{stdout}\nthe server's last log lines ({}):\n{}",
            out.status,
            server_log.display(),
            log_tail(&server_log, 60)
        );
    };
    eprintln!("console run: {page:#}");
    assert_eq!(page["problems"], serde_json::json!([]), "page errors");
    // Every page: AA contrast, every control labelled, nothing wider than 1024 px.
    for c in page["checks"].as_array().unwrap() {
        assert!(c["contrast"]["ratio"].as_f64().unwrap() >= 4.5, "{c}");
        assert_eq!(c["unlabelled"], serde_json::json!([]), "{c}");
        assert_eq!(c["overflowX"], false, "{c}");
    }
    assert_eq!(
        page["keyboard"],
        serde_json::json!({"email": "email", "password": "password"}),
        "signed in by keyboard alone"
    );
    assert_eq!(
        page["copied"], page["invite"],
        "Copy link copies the invite link"
    );
    assert!(page["resumeShown"]
        .as_str()
        .unwrap()
        .contains("first compiler"));
    assert!(page["cardText"].as_str().unwrap().contains("Grace Hopper"));
    // Listening in: both sides' frames arrived and were decoded.
    assert!(page["frames"]["candidate"].as_u64().unwrap() > 25, "{page}");
    assert!(
        page["frames"]["interviewer"].as_u64().unwrap() > 25,
        "{page}"
    );
    if whisper_built_in() {
        let line = page["candidateLine"].as_str().unwrap().to_lowercase();
        assert!(line.contains("experience"), "{line}");
        // The transcribed answer's scores appeared live, labelled with how they were made.
        let analysis = page["analysis"].as_str().unwrap();
        assert!(
            analysis.contains("heuristic") && analysis.contains("relevance"),
            "{analysis}"
        );
    }
    // Assessed on request once ended: advisory, and labelled as a heuristic.
    let assessment = page["assessment"].as_str().unwrap();
    assert!(
        assessment.contains("Advisory") && assessment.contains("heuristic"),
        "{assessment}"
    );
    // The candidate page reported leaving the window and a paste; shown for review only.
    let review = page["integrity"].as_str().unwrap();
    assert!(review.contains("For review"), "{review}");
    assert!(review.contains("focus lost"), "{review}");
    assert!(
        review.contains("15 characters were pasted into the typed-answer box"),
        "{review}"
    );
    let lines = strings(&page["results"]["lines"]);
    assert!(
        lines
            .iter()
            .any(|l| l.contains(SUGGESTION) && l.contains("suggested by the team")),
        "{lines:?}"
    );
    assert!(strings(&page["results"]["notes"])
        .iter()
        .any(|n| n.contains("Clear answers")));
    assert_eq!(
        page["keptTitle"], "Data Engineer",
        "typed text survives a sign-in"
    );
    // A job edited and closed; someone invited sets their password from the link (which leaves
    // the address bar); a provider key shown by its last four characters only.
    let job = page["jobShown"].as_str().unwrap();
    assert!(
        job.contains("Senior Software Engineer") && job.contains("closed"),
        "{job}"
    );
    assert_eq!(page["invited"]["urlHasToken"], false);
    assert!(page["invited"]["contrast"]["ratio"].as_f64().unwrap() >= 4.5);
    assert!(page["keyShown"].as_str().unwrap().contains("ends in 7f3a"));
    assert_eq!(page["keyInPage"], false, "the key itself is never shown");
    // The recording: a line's moment played in Chromium (it decoded the Ogg Opus file).
    assert_eq!(page["clip"]["error"], Value::Null, "{page}");
    assert!(page["clip"]["duration"].as_f64().unwrap() > 5.0, "{page}");

    // What the server stored: the suggestion asked as suggested, the note and the end.
    let id: Uuid = page["interviewId"].as_str().unwrap().parse().unwrap();
    let storage = viva::server::open_storage(&viva::config::Config::embedded(dir.path()))
        .await
        .unwrap();
    let turns = storage.store.turns(id).await.unwrap();
    assert!(
        turns.iter().any(|t| t.suggested && t.text == SUGGESTION),
        "{turns:?}"
    );
    let record = storage.store.get_interview(id).await.unwrap().unwrap();
    assert_eq!(record.status, InterviewStatus::Cancelled);
    let notes = storage
        .notes
        .notes_in(viva::accounts::Scope::operator(record.organization_id), id)
        .await
        .unwrap()
        .unwrap();
    let kinds: Vec<&str> = notes.iter().map(|n| n.kind.as_str()).collect();
    assert_eq!(kinds, ["suggested_question", "note", "end"], "{notes:?}");
    let _ = server.kill();
    let _ = server.wait();
}
