//! Tokens, tickets, passwords and vendor API keys never appear in logs, even at TRACE level;
//! a request's log lines carry its id.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::*;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const VENDOR_KEY: &str = "sk-live-abcdef0123456789";
const STAFF_PASSWORD: &str = "Analytical Engine 1843";

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_never_reach_the_logs() {
    let capture = Capture::default();
    let sink = capture.clone();
    tracing_subscriber::fmt()
        // Everything at TRACE except the test client's own handshake (it logs the request it sends).
        .with_env_filter("trace,tungstenite::handshake::client=off")
        .with_writer(move || sink.clone())
        .init();

    // Real vendor clients (against the local fakes), failing now and then, so their error paths
    // log too.
    let fake = fakes::FakeVendor::start().await;
    fake.state
        .chat
        .script([fakes::Misbehave::Status(500, None)]);
    fake.state
        .tts
        .script([fakes::Misbehave::Status(429, Some(0))]);
    // (Every transcription, the one made at the pause included: refused until the candidate is
    // asked to repeat.)
    fake.state
        .stt
        .always(Some(fakes::Misbehave::Status(401, None)));
    let server = TestServer::start_with(|c| {
        c.stt = vec!["openai".into()];
        c.llm = vec!["openai".into()];
        c.tts = vec!["openai".into()];
        c.openai_base_url = fake.openai_url();
        c.openai_api_key = Some(viva::config::Secret::new(VENDOR_KEY));
        c.provider_retry_base_ms = 10;
    })
    .await;
    let (id, token) = server.create_interview().await;
    let mut c = Candidate::join(&server, id, &token, None).await;
    hear_question(&mut c).await;
    // The transcription is refused (401): the candidate is asked to repeat.
    c.say(speech("Hello, I am ready.").await).await;
    c.until(
        "stt_failed",
        |e| matches!(e, viva::protocol::Event::Error { code, .. } if code == "stt_failed"),
    )
    .await;
    fake.state.stt.always(None);

    let ticket = reqwest::Client::new()
        .post(format!("http://{}/v1/interviews/{id}/ticket", server.addr))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap()["ticket"]
        .as_str()
        .unwrap()
        .to_owned();
    let req = format!("{}?ticket={ticket}", server.ws_url(id))
        .into_client_request()
        .unwrap();
    let (ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let mut c2 = Candidate::start_resuming(ws, &c.resume_point(), true).await;
    assert_eq!(c.until_closed().await.map(|c| c.0), Some(4009));
    c2.next().await;
    // The OpenAI Realtime endpoint, the token in a header and in a subprotocol (refused while
    // the interview is held, which logs too).
    expect_realtime_refusal(
        realtime_bearer(server.addr, &token).await,
        "try_again",
        1013,
    )
    .await;
    let mut req = format!("ws://{}/v1/realtime", server.addr)
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        format!("realtime, openai-insecure-api-key.{token}")
            .parse()
            .unwrap(),
    );
    let (ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    expect_realtime_refusal(ws, "try_again", 1013).await;

    // Staff credentials: a password, access and refresh tokens and an invitation link, through
    // sign-in, refresh, a staff call and an invitation, with a request id to find the lines by.
    let admin = viva::cli::create_admin(
        &server.config,
        "ada@acme.example",
        "Acme",
        None,
        STAFF_PASSWORD,
    )
    .await
    .unwrap();
    let http = reqwest::Client::new();
    let base = format!("http://{}", server.addr);
    let signed: serde_json::Value = http
        .post(format!("{base}/v1/auth/login"))
        .header("x-request-id", "req-logging-1")
        .json(&serde_json::json!({"email": admin.email, "password": STAFF_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = signed["access_token"].as_str().unwrap().to_owned();
    let refresh = signed["refresh_token"].as_str().unwrap().to_owned();
    let refreshed: serde_json::Value = http
        .post(format!("{base}/v1/auth/refresh"))
        .json(&serde_json::json!({"refresh_token": refresh}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = refreshed["access_token"]
        .as_str()
        .unwrap_or(&access)
        .to_owned();
    let invited: serde_json::Value = http
        .post(format!("{base}/v1/users"))
        .bearer_auth(&access)
        .json(&serde_json::json!({"email": "rex@acme.example", "role": "viewer"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let invite = invited["invite"]["token"].as_str().unwrap().to_owned();
    server.shutdown().await;

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("candidate connected"), "logs were captured");
    let signature = token.rsplit('.').next().unwrap();
    if let Some(line) = logs.lines().find(|l| l.contains(signature)) {
        panic!("token leaked into logs: {line}");
    }
    if let Some(line) = logs.lines().find(|l| l.contains(&ticket)) {
        panic!("ticket leaked into logs: {line}");
    }
    assert!(
        logs.contains("speech-to-text failed"),
        "vendor errors were logged"
    );
    for (what, secret) in [
        ("password", STAFF_PASSWORD),
        ("access token", access.rsplit('.').next().unwrap()),
        ("refresh token", refresh.as_str()),
        ("invitation link", invite.as_str()),
    ] {
        if let Some(line) = logs.lines().find(|l| l.contains(secret)) {
            panic!("{what} leaked into logs: {line}");
        }
    }
    // Every line of a request carries its id.
    assert!(
        logs.lines()
            .filter(|l| l.contains("/v1/auth/login"))
            .all(|l| l.contains("request_id") && l.contains("req-logging-1")),
        "the request id is in the request's log lines"
    );
    assert!(logs.contains("req-logging-1"));
    if let Some(line) = logs.lines().find(|l| l.contains(VENDOR_KEY)) {
        panic!("API key leaked into logs: {line}");
    }
    // Nor into anything the candidate received.
    for r in &c.received {
        assert!(!format!("{r:?}").contains(VENDOR_KEY));
    }
}
