//! What operators get: Prometheus metrics at `/metrics` (loopback, or with its token), CORS for
//! the API from the allowed origins only, and JSON logs (`VIVA_LOG=json`) whose request lines
//! carry the request's id.

mod common;

use std::process::Stdio;

use common::api::{staff, Client};
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use viva::accounts::Role;

async fn metrics(server: &TestServer, token: Option<&str>) -> (StatusCode, String) {
    let mut r = reqwest::Client::new().get(format!("http://{}/metrics", server.addr));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let r = r.send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

/// The value of the series `name` (exact, labels included) in a scrape.
fn series(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("{name} missing from:\n{text}"))
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_interviews_turns_and_requests() {
    let server = TestServer::start().await;
    let admin: Client = staff(&server, "ada@acme.example", "Acme", Role::Admin).await;
    let (s, before) = metrics(&server, None).await;
    assert_eq!(s, StatusCode::OK);
    let turns = series(&before, "viva_turns_total");
    for _ in 0..2 {
        let (s, _) = admin.call(Method::GET, "/v1/jobs", None).await;
        assert_eq!(s, StatusCode::OK);
    }
    let (id, token) = server.create_interview().await;
    let mut c = Candidate::join(&server, id, &token, None).await;
    hear_question(&mut c).await;
    c.answer("I like small, well-named modules.").await;
    // The reply to the answer is measured when its audio starts.
    c.until("turn_metrics", |e| {
        matches!(e, viva::protocol::Event::TurnMetrics { .. })
    })
    .await;
    let (_, text) = metrics(&server, None).await;
    assert!(series(&text, "viva_turns_total") > turns);
    assert!(series(&text, "viva_turn_stage_seconds_count{stage=\"server\"}") >= 1.0);
    assert_eq!(series(&text, "viva_live_interviews"), 1.0);
    assert!(series(&text, "viva_websocket_connections") >= 1.0);
    assert!(series(&text, "viva_store_write_seconds_count{kind=\"turn\"}") >= 1.0);
    assert!(
        series(
            &text,
            "viva_http_requests_total{route=\"/v1/jobs\",status=\"200\"}"
        ) >= 2.0
    );
    assert!(text.contains("# TYPE viva_provider_errors_total counter"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_want_their_token_when_one_is_set() {
    let server = TestServer::start_with(|c| {
        c.metrics_token = Some(viva::config::Secret::new("scrape-me-0123456789"));
    })
    .await;
    assert_eq!(metrics(&server, None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        metrics(&server, Some("wrong")).await.0,
        StatusCode::NOT_FOUND
    );
    let (s, text) = metrics(&server, Some("scrape-me-0123456789")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(text.contains("viva_live_interviews 0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_lets_allowed_origins_in_and_no_others() {
    let server = TestServer::start_with(|c| {
        c.public_url = Some("https://viva.acme.example".into());
        c.cors_origins = vec!["https://ats.acme.example".into()];
    })
    .await;
    let preflight = |origin: &'static str| {
        let url = format!("http://{}/v1/jobs", server.addr);
        async move {
            reqwest::Client::new()
                .request(Method::OPTIONS, url)
                .header("Origin", origin)
                .header("Access-Control-Request-Method", "POST")
                .header(
                    "Access-Control-Request-Headers",
                    "authorization, content-type",
                )
                .send()
                .await
                .unwrap()
        }
    };
    let ok = preflight("https://ats.acme.example").await;
    assert!(ok.status().is_success(), "{}", ok.status());
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://ats.acme.example"
    );
    assert_eq!(ok.headers()["access-control-allow-credentials"], "true");
    let allowed = ok.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(allowed.contains("authorization") && allowed.contains("content-type"));
    let no = preflight("https://evil.example").await;
    assert!(no.headers().get("access-control-allow-origin").is_none());
    // A simple request from an allowed origin is readable by its page; the answer carries no
    // wildcard.
    let r = reqwest::Client::new()
        .get(format!("http://{}/health", server.addr))
        .header("Origin", "https://ats.acme.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://ats.acme.example"
    );
    let exposed = r.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap();
    assert!(exposed.contains("x-request-id"), "{exposed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_a_line_with_the_request_id() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_viva"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("VIVA_DATA_DIR", dir.path())
        .env("VIVA_LOG", "json")
        .env("RUST_LOG", "info,tower_http=debug")
        .env("VIVA_STT", "scripted")
        .env("VIVA_LLM", "scripted")
        .env("VIVA_TTS", "scripted")
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = next_line(&mut lines).await;
        let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
        assert!(v["timestamp"].is_string() && v["level"].is_string(), "{v}");
        if v["fields"]["message"] == "viva listening" {
            break v["fields"]["addr"].as_str().unwrap().to_owned();
        }
    };
    let status = reqwest::Client::new()
        .get(format!("http://{addr}/health"))
        .header("X-Request-ID", "ops-json-1")
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
    let line = loop {
        let line = next_line(&mut lines).await;
        serde_json::from_str::<Value>(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
        if line.contains("ops-json-1") {
            break line;
        }
    };
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["span"]["request_id"], json!("ops-json-1"), "{v}");
    assert_eq!(v["span"]["path"], json!("/health"));
    child.kill().await.unwrap();
}

async fn next_line(
    lines: &mut tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStderr>>,
) -> String {
    tokio::time::timeout(HANG_GUARD, lines.next_line())
        .await
        .expect("a log line")
        .unwrap()
        .expect("viva exited")
}
