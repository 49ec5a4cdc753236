//! Bad input gets a clear close code (or HTTP error), and never disturbs other sessions.

mod common;

use common::*;
use futures_util::SinkExt;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;
use viva::auth::{Claims, AUDIENCE, ISSUER};

/// Connects with the given `Sec-WebSocket-Protocol` (if any) and URL suffix.
async fn raw(server: &TestServer, id: &str, protocols: Option<String>, query: &str) -> Ws {
    let url = format!("ws://{}/v1/interviews/{id}/stream{query}", server.addr);
    let mut req = url.into_client_request().unwrap();
    if let Some(p) = protocols {
        req.headers_mut()
            .insert("Sec-WebSocket-Protocol", p.parse().unwrap());
    }
    tokio_tungstenite::connect_async(req).await.unwrap().0
}

async fn with_token(server: &TestServer, id: Uuid, token: &str) -> Ws {
    raw(
        server,
        &id.to_string(),
        Some(format!("viva.v1, bearer.{token}")),
        "",
    )
    .await
}

fn b64url(input: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fn claims(id: Uuid, exp_offset: i64) -> Claims {
    let now = chrono::Utc::now().timestamp();
    Claims {
        sub: id.to_string(),
        aud: AUDIENCE.into(),
        iss: ISSUER.into(),
        iat: now,
        exp: now + exp_offset,
        jti: Uuid::new_v4().to_string(),
        role: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_credentials_are_refused_with_their_close_codes() {
    let server = TestServer::start().await;
    let (id, token) = server.create_interview().await;
    let (other_id, _) = server.create_interview().await;
    let secret = viva::auth::load_or_create_secret(None, &server.config.data_dir).unwrap();
    let key = EncodingKey::from_secret(&secret);

    // A live interview on the same server, which must not notice any of this.
    let mut live = Candidate::join(&server, id, &token, None).await;
    hear_question(&mut live).await;

    expect(
        raw(&server, &id.to_string(), Some("viva.v1".into()), "").await,
        4001,
        "missing",
    )
    .await;
    expect(with_token(&server, id, "not-a-jwt").await, 4001, "invalid").await;
    let expired = encode(&Header::new(Algorithm::HS256), &claims(id, -3600), &key).unwrap();
    expect(with_token(&server, id, &expired).await, 4001, "expired").await;
    let forged_key = EncodingKey::from_secret(b"someone-else's-key-someone-else's");
    let forged = encode(
        &Header::new(Algorithm::HS256),
        &claims(id, 3600),
        &forged_key,
    )
    .unwrap();
    expect(with_token(&server, id, &forged).await, 4001, "invalid").await;
    let unsigned = format!(
        "{}.{}.",
        b64url(br#"{"alg":"none","typ":"JWT"}"#),
        b64url(serde_json::to_string(&claims(id, 3600)).unwrap().as_bytes())
    );
    expect(with_token(&server, id, &unsigned).await, 4001, "invalid").await;
    let wrong_alg = encode(&Header::new(Algorithm::HS512), &claims(id, 3600), &key).unwrap();
    expect(with_token(&server, id, &wrong_alg).await, 4001, "invalid").await;
    // A valid token for another interview.
    expect(
        with_token(&server, other_id, &token).await,
        4003,
        "another interview",
    )
    .await;
    // A valid token for an interview that does not exist.
    let ghost = Uuid::now_v7();
    let ghost_token = encode(&Header::new(Algorithm::HS256), &claims(ghost, 3600), &key).unwrap();
    expect(
        with_token(&server, ghost, &ghost_token).await,
        4004,
        "no such",
    )
    .await;
    expect(
        raw(
            &server,
            "not-a-uuid",
            Some(format!("viva.v1, bearer.{token}")),
            "",
        )
        .await,
        4004,
        "no such",
    )
    .await;

    // The live interview carries on.
    live.send_text(serde_json::json!({"type": "answer_text", "text": "Still here."}))
        .await;
    live.final_transcript().await;
    hear_question(&mut live).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tickets_work_once_for_their_interview_only() {
    let server = TestServer::start().await;
    let (id, token) = server.create_interview().await;
    let (other_id, other_token) = server.create_interview().await;
    let http = reqwest::Client::new();
    let url = |id: Uuid| format!("http://{}/v1/interviews/{id}/ticket", server.addr);

    let r = http.post(url(id)).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "AUTHENTICATION_ERROR");
    let r = http
        .post(url(other_id))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    // Another interview's ticket: not found (a token never learns whether another id exists).
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"]["code"],
        "NOT_FOUND"
    );

    let r = http.post(url(id)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let ticket = r.json::<serde_json::Value>().await.unwrap()["ticket"]
        .as_str()
        .unwrap()
        .to_owned();
    // No subprotocol at all: the ticket alone opens the interview, once.
    let ws = raw(&server, &id.to_string(), None, &format!("?ticket={ticket}")).await;
    let mut c = Candidate::start(ws, None, true).await;
    hear_question(&mut c).await;
    let again = raw(&server, &id.to_string(), None, &format!("?ticket={ticket}")).await;
    expect(again, 4001, "ticket").await;

    let r = http
        .post(url(other_id))
        .bearer_auth(&other_token)
        .send()
        .await
        .unwrap();
    let other_ticket = r.json::<serde_json::Value>().await.unwrap()["ticket"]
        .as_str()
        .unwrap()
        .to_owned();
    let wrong = raw(
        &server,
        &id.to_string(),
        None,
        &format!("?ticket={other_ticket}"),
    )
    .await;
    expect(wrong, 4003, "another interview").await;

    // A client hammering the ticket endpoint is told to slow down (structured 429); other
    // interviews are not affected.
    let mut statuses = Vec::new();
    for _ in 0..31 {
        let r = http.post(url(id)).bearer_auth(&token).send().await.unwrap();
        statuses.push(r.status().as_u16());
        if r.status() == 429 {
            let body: serde_json::Value = r.json().await.unwrap();
            assert_eq!(body["error"]["code"], "RATE_LIMIT_EXCEEDED");
        }
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    let r = http
        .post(url(other_id))
        .bearer_auth(&other_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    let health: serde_json::Value = http
        .get(format!("http://{}/health", server.addr))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
}

/// Sends `first` after connecting with valid credentials (a hello first when `after_hello`).
async fn misbehave(
    server: &TestServer,
    id: Uuid,
    token: &str,
    after_hello: bool,
    msgs: Vec<Message>,
) -> Ws {
    let mut ws = with_token(server, id, token).await;
    if after_hello {
        ws.send(hello(None)).await.unwrap();
    }
    for m in msgs {
        // The server may close before everything is written.
        if ws.feed(m).await.is_err() {
            break;
        }
    }
    let _ = ws.flush().await;
    ws
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_violations_close_with_a_reason_and_spare_other_sessions() {
    // Each case is a new connection right after the last one was closed: no takeover hold.
    let server = TestServer::start_with(|c| {
        c.hello_timeout_secs = 1;
        c.takeover_hold_secs = 0;
    })
    .await;
    let (live_id, live_token) = server.create_interview().await;
    let mut live = Candidate::join(&server, live_id, &live_token, None).await;
    hear_question(&mut live).await;

    let (id, token) = server.create_interview().await;
    let t = &token;
    let hello_v2 = Message::text(
        r#"{"type":"hello","protocol":2,"audio":{"codec":"opus","sample_rate":48000,"channels":1,"frame_ms":20}}"#,
    );
    let hello_pcm = Message::text(
        r#"{"type":"hello","protocol":1,"audio":{"codec":"pcm","sample_rate":16000,"channels":1,"frame_ms":20}}"#,
    );
    let cases: Vec<(&str, bool, Vec<Message>, u16, &str)> = vec![
        (
            "audio before hello",
            false,
            vec![Message::binary(silence_packet())],
            4002,
            "hello",
        ),
        ("no hello at all", false, vec![], 4002, "no hello"),
        (
            "malformed hello",
            false,
            vec![Message::text("{not json")],
            4002,
            "malformed",
        ),
        (
            "another message first",
            false,
            vec![Message::text(r#"{"type":"control","action":"end"}"#)],
            4002,
            "first message",
        ),
        (
            "protocol 2",
            false,
            vec![hello_v2],
            4006,
            "protocol version",
        ),
        (
            "wrong audio format",
            false,
            vec![hello_pcm],
            4006,
            "audio format",
        ),
        (
            "malformed JSON later",
            true,
            vec![Message::text("]]")],
            4002,
            "malformed",
        ),
        (
            "unknown message type",
            true,
            vec![Message::text(r#"{"type":"shout"}"#)],
            4002,
            "malformed",
        ),
        (
            "unknown client event",
            true,
            vec![Message::text(
                r#"{"type":"client_event","event":"screenshot"}"#,
            )],
            4002,
            "malformed",
        ),
        (
            "client event with its text",
            true,
            vec![Message::text(
                r#"{"type":"client_event","event":"paste","chars":3,"text":"abc"}"#,
            )],
            4002,
            "malformed",
        ),
        (
            "second hello",
            true,
            vec![hello(None)],
            4002,
            "hello already",
        ),
        (
            "garbage audio",
            true,
            vec![Message::binary(vec![0xFFu8; 40])],
            4002,
            "Opus",
        ),
        (
            "empty audio",
            true,
            vec![Message::binary(Vec::<u8>::new())],
            4002,
            "Opus",
        ),
        (
            "60 ms packet",
            true,
            vec![Message::binary(vec![11 << 3, 1, 2, 3])],
            4002,
            "20 ms",
        ),
        (
            "oversized binary",
            true,
            vec![Message::binary(vec![0u8; 2000])],
            4008,
            "1500",
        ),
        (
            "oversized text",
            true,
            vec![Message::text("x".repeat(70 * 1024))],
            4008,
            "too large",
        ),
        (
            "audio flood",
            true,
            vec![Message::binary(silence_packet()); 3000],
            4008,
            "faster than real time",
        ),
    ];
    for (name, after_hello, msgs, code, reason) in cases {
        eprintln!("case: {name}");
        let mut ws = misbehave(&server, id, t, after_hello, msgs).await;
        let (got, why) = close_code(&mut ws).await;
        assert_eq!(got, code, "{name}: closed with {got} ({why})");
        assert!(
            why.contains(reason),
            "{name}: reason {why:?} lacks {reason:?}"
        );
    }

    // No data lost: the interview the bad clients were on is intact and resumable.
    let mut ok = Candidate::join(&server, id, &token, None).await;
    hear_question(&mut ok).await;
    assert_eq!(server.turns(id).await.len(), 1);

    // The live interview never noticed.
    live.send_text(serde_json::json!({"type": "answer_text", "text": "Still here."}))
        .await;
    hear_question(&mut live).await;
    assert_eq!(server.turns(live_id).await.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_public_web_client_is_served() {
    let server = TestServer::start().await;
    let get = |path: &str| {
        let url = format!("http://{}{path}", server.addr);
        async move { reqwest::get(url).await.unwrap() }
    };
    let page = get(&format!("/interview/{}", Uuid::new_v4())).await;
    assert_eq!(page.status(), 200);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("/candidate/candidate.js"));
    for script in ["/candidate/candidate.js", "/candidate/mic-worklet.js"] {
        let res = get(script).await;
        assert_eq!(res.status(), 200, "{script}");
        assert_eq!(res.headers()["content-type"], "text/javascript", "{script}");
    }
    // The npm tooling beside public/ is not reachable, however the path is spelled.
    for path in [
        "/package.json",
        "/node_modules/playwright-core/package.json",
        "/tests/candidate-driver.js",
        "/../package.json",
        "/%2e%2e/package.json",
        "/candidate/..%2f..%2fpackage.json",
    ] {
        assert_eq!(get(path).await.status(), 404, "{path}");
    }
}
