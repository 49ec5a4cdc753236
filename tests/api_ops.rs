//! What operators get: Prometheus metrics at `/metrics` (loopback, or with its token), CORS for
//! the API from the allowed origins only, and JSON logs (`VIVA_LOG=json`) whose request lines
//! carry the request's id; and the API's OpenAPI 3.1 document, which lists every route (each
//! served), validates against the specification's schema, and renders at `/docs` in Chromium.

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

/// Every operation of the API and the streams (issue #14, docs/api.md): what outside clients
/// rely on. A route added or removed changes this list on purpose.
const ROUTES: &[(&str, &str)] = &[
    ("GET", "/health"),
    ("GET", "/metrics"),
    ("GET", "/ready"),
    ("GET", "/v1/api-keys"),
    ("POST", "/v1/api-keys"),
    ("DELETE", "/v1/api-keys/{id}"),
    ("GET", "/v1/audit"),
    ("POST", "/v1/auth/accept-invite"),
    ("POST", "/v1/auth/login"),
    ("POST", "/v1/auth/logout"),
    ("GET", "/v1/auth/me"),
    ("POST", "/v1/auth/refresh"),
    ("GET", "/v1/candidates"),
    ("POST", "/v1/candidates"),
    ("GET", "/v1/candidates/{id}"),
    ("DELETE", "/v1/candidates/{id}"),
    ("PATCH", "/v1/candidates/{id}"),
    ("GET", "/v1/candidates/{id}/export"),
    ("GET", "/v1/candidates/{id}/history"),
    ("POST", "/v1/candidates/{id}/resume"),
    ("GET", "/v1/interviews"),
    ("POST", "/v1/interviews"),
    ("GET", "/v1/interviews/{id}"),
    ("POST", "/v1/interviews/{id}/cancel"),
    ("POST", "/v1/interviews/{id}/consent"),
    ("GET", "/v1/interviews/{id}/assessment"),
    ("POST", "/v1/interviews/{id}/assessment/regenerate"),
    ("GET", "/v1/interviews/{id}/events"),
    ("POST", "/v1/interviews/{id}/invite"),
    ("GET", "/v1/interviews/{id}/monitor"),
    ("GET", "/v1/interviews/{id}/notes"),
    ("POST", "/v1/interviews/{id}/notes"),
    ("GET", "/v1/interviews/{id}/recordings"),
    ("GET", "/v1/interviews/{id}/recordings/{file}"),
    ("GET", "/v1/interviews/{id}/notice"),
    ("GET", "/v1/interviews/{id}/plan"),
    ("GET", "/v1/interviews/{id}/stream"),
    ("POST", "/v1/interviews/{id}/ticket"),
    ("GET", "/v1/interviews/{id}/transcript"),
    ("GET", "/v1/question-banks"),
    ("POST", "/v1/question-banks"),
    ("GET", "/v1/question-banks/{name}"),
    ("GET", "/v1/prompts"),
    ("POST", "/v1/prompts"),
    ("POST", "/v1/prompts/{name}/activate"),
    ("GET", "/v1/jobs"),
    ("POST", "/v1/jobs"),
    ("GET", "/v1/jobs/{id}"),
    ("DELETE", "/v1/jobs/{id}"),
    ("PATCH", "/v1/jobs/{id}"),
    ("GET", "/v1/live"),
    ("GET", "/v1/org"),
    ("PATCH", "/v1/org"),
    ("GET", "/v1/org/notice"),
    ("PUT", "/v1/org/notice"),
    ("GET", "/v1/org/provider-keys"),
    ("PUT", "/v1/org/provider-keys/{vendor}"),
    ("DELETE", "/v1/org/provider-keys/{vendor}"),
    ("GET", "/v1/realtime"),
    ("GET", "/v1/users"),
    ("POST", "/v1/users"),
    ("GET", "/v1/users/{id}"),
    ("DELETE", "/v1/users/{id}"),
    ("PATCH", "/v1/users/{id}"),
    ("POST", "/v1/users/{id}/password-reset"),
    ("GET", "/v1/webhooks"),
    ("POST", "/v1/webhooks"),
    ("DELETE", "/v1/webhooks/{id}"),
    ("GET", "/v1/webhooks/{id}/deliveries"),
];

/// The server's `/openapi.json`.
async fn document(base: &str) -> Value {
    let r = reqwest::get(format!("{base}/openapi.json")).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

fn documented(doc: &Value) -> std::collections::BTreeSet<(String, String)> {
    let mut out = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_document_lists_every_route_and_each_is_served() {
    let server = TestServer::start().await;
    let http = reqwest::Client::new();
    let base = format!("http://{}", server.addr);
    let doc = document(&base).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let listed = documented(&doc);
    let expected: std::collections::BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    let missing: Vec<_> = expected.difference(&listed).collect();
    let unexpected: Vec<_> = listed.difference(&expected).collect();
    assert!(
        missing.is_empty() && unexpected.is_empty(),
        "not in the document: {missing:?}; in it but not in ROUTES: {unexpected:?}"
    );
    // `viva openapi` prints the same document.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_viva"))
        .arg("openapi")
        .output()
        .unwrap();
    assert!(out.status.success());
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed, doc);

    // Operation ids are unique (clients generated from the document name methods by them).
    let mut ids = std::collections::BTreeSet::new();
    for (method, path) in &listed {
        let id = doc["paths"][path.as_str()][method.to_lowercase()]["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path}: no operationId"))
            .to_owned();
        assert!(ids.insert(id.clone()), "operationId {id} twice");
    }

    // Every documented operation is served by its handler: never the router's 405, and a 404 is
    // the handler's (the error envelope), not the static-file fallback's empty one.
    for (method, path) in &listed {
        let url = path
            .replace("{id}", &uuid::Uuid::new_v4().to_string())
            .replace("{vendor}", "openai");
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let r = http
            .request(method.clone(), format!("{base}{url}"))
            .send()
            .await
            .unwrap();
        let status = r.status();
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        if status == StatusCode::NOT_FOUND {
            let body: Value = r.json().await.unwrap_or(Value::Null);
            assert_eq!(
                body["error"]["code"], "NOT_FOUND",
                "{method} {path}: {body}"
            );
        }
        // Each operation documents its errors in the envelope.
        let op = &doc["paths"][path.as_str()][method.as_str().to_lowercase()];
        assert!(
            op["responses"]["default"]["content"]["application/json"]["schema"]["$ref"]
                .as_str()
                .is_some_and(|r| r.ends_with("/ErrorBody")),
            "{method} {path}: no error envelope in {op}"
        );
    }

    // No route is registered around the document: outside src/http/openapi.rs (the document and
    // its page) and src/http/web.rs (the web client's pages), the code adds routes only through
    // `routes!`, which documents them.
    let mut stray = Vec::new();
    let mut dirs = vec![std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src"
    ))];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs")
                && !path.ends_with("http/openapi.rs")
                && !path.ends_with("http/web.rs")
            {
                let text = std::fs::read_to_string(&path).unwrap();
                if text.contains(".route(") || text.contains(".route_service(") {
                    stray.push(path.display().to_string());
                }
            }
        }
    }
    assert!(
        stray.is_empty(),
        "routes added outside `routes!`: {stray:?}"
    );
    server.shutdown().await;
}

/// The document validates against the OpenAPI 3.1 specification's JSON Schema (every `$ref`
/// resolving), and `/docs` — Swagger UI, served from the binary — renders each operation in
/// Chromium with no console error (a Content-Security-Policy refusal would be one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_document_validates_as_openapi_3_1_and_renders_at_docs() {
    let web_client = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web-client");
    assert!(
        web_client
            .join("node_modules/@seriousme/openapi-schema-validator")
            .exists(),
        "web-client/node_modules is missing: run `npm ci` in web-client/ (scripts/setup.sh --test does)"
    );
    let server = TestServer::start().await;
    let base = format!("http://{}", server.addr);
    let doc = document(&base).await;
    let artifacts = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("docs-page");
    std::fs::create_dir_all(&artifacts).unwrap();
    let out = tokio::process::Command::new("node")
        .arg(web_client.join("tests/openapi-check.js"))
        .arg("--url")
        .arg(&base)
        .arg("--artifacts")
        .arg(&artifacts)
        .current_dir(&web_client)
        .stderr(Stdio::inherit())
        .output()
        .await
        .expect("node (scripts/setup.sh --test installs it)");
    assert!(out.status.success(), "openapi-check.js failed");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["valid"], true, "not valid OpenAPI: {report}");
    assert_eq!(report["version"], "3.1", "{report}");
    assert_eq!(report["refs_resolve"], true, "{report}");
    assert_eq!(
        report["operations_rendered"].as_u64().unwrap() as usize,
        documented(&doc).len(),
        "{report}"
    );
    assert_eq!(report["console_errors"], json!([]), "{report}");
    server.shutdown().await;
}
