//! The bad-input suite, continued: what a link holder or a stranger can do to a node. Each test
//! runs against the real server (in-process on port 0, or the `viva` binary where process limits
//! matter) and checks that the abuse gets a clear refusal and that a live interview on the same
//! node does not notice.

mod common;

use common::*;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;
use viva::protocol::Event;

/// A live interview that must not notice what the tests do beside it: it answers, and the
/// interviewer asks the next question (with audio).
async fn still_live(c: &mut Candidate, answer: &str) {
    c.answer(answer).await;
    let t = c.final_transcript().await;
    assert!(
        matches!(&t.event, viva::protocol::Event::Transcript { text, .. } if text == answer),
        "{t:?}"
    );
    hear_question(c).await;
}

/// A WebSocket to `url` with the token and an `Origin` header.
async fn with_origin(url: &str, token: &str, origin: &str) -> Ws {
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        format!("viva.v1, bearer.{token}").parse().unwrap(),
    );
    req.headers_mut().insert("Origin", origin.parse().unwrap());
    tokio_tungstenite::connect_async(req).await.unwrap().0
}

/// Reads what the server sends on a raw TCP connection until it closes it.
async fn read_to_close(tcp: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(HANG_GUARD, tcp.read_to_end(&mut out))
        .await
        .expect("the server never closed the connection");
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ping_flood_is_closed_before_pongs_pile_up_and_others_do_not_notice() {
    let server = TestServer::start().await;
    let (id, token) = server.create_interview().await;
    let (other, other_token) = server.create_interview().await;
    let monitor_token = viva::server::auth(&server.config)
        .unwrap()
        .issue_for(viva::auth::Audience::Monitor, id);
    let mut live = Candidate::join(&server, other, &other_token, None).await;
    hear_question(&mut live).await;

    for phase in ["before hello", "after hello", "monitor"] {
        let mut ws = match phase {
            "monitor" => connect_url(&server.monitor_url(id), &monitor_token).await,
            _ => connect(&server, id, &token).await,
        };
        if phase == "after hello" {
            ws.send(hello(None)).await.unwrap();
        }
        // 125-byte pings, ten times the budget, at once, without reading. (A client that goes on
        // flooding past the close loses the close frame to a reset: the server stops reading it.)
        for _ in 0..200 {
            if ws.feed(Message::Ping(vec![7u8; 125].into())).await.is_err() {
                break;
            }
        }
        let _ = ws.flush().await;
        let (code, reason) = close_code(&mut ws).await;
        assert_eq!(
            (code, reason.as_str()),
            (4008, "too many messages"),
            "{phase}"
        );
    }
    still_live(&mut live, "Still here after the flood.").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_answers_are_capped_in_length_and_rate() {
    let server = TestServer::start().await;
    let (id, token) = server.create_interview().await;
    let mut c = Candidate::join(&server, id, &token, None).await;
    hear_question(&mut c).await;

    // Longer than two minutes of speech: refused, not stored.
    c.answer(&"word ".repeat(500)).await;
    let closed = c.until_closed().await.unwrap();
    assert_eq!(closed.0, 4008);
    assert!(closed.1.contains("typed answer too long"), "{closed:?}");

    // Back (with the secret): three at once are fine, the fourth in the same minute is not.
    let mut c = Candidate::rejoin(&server, id, &token, c.resume_point()).await;
    for i in 1..=4 {
        c.answer(&format!("Typed answer {i}.")).await;
    }
    let closed = c.until_closed().await.unwrap();
    assert_eq!(closed, (4008, "typed answers too fast".into()));
    // The third answer's write may still be running: its final transcript goes out (live, or
    // replayed on the way back) only once it is stored.
    let third = |e: &Event| matches!(e, Event::Transcript { text, is_final: true, .. } if text == "Typed answer 3.");
    let stored_before_close = c.events().iter().any(|e| third(&e.event));
    // A reconnect does not refill the allowance: it is the interview's.
    let mut c = Candidate::rejoin(&server, id, &token, c.resume_point()).await;
    if !stored_before_close {
        c.until("the third answer stored", third).await;
    }
    c.answer("One more.").await;
    assert_eq!(c.until_closed().await.unwrap().0, 4008);

    let answers: Vec<String> = server
        .turns(id)
        .await
        .into_iter()
        .filter(|t| t.speaker == viva::protocol::Speaker::Candidate)
        .map(|t| t.text)
        .collect();
    assert_eq!(
        answers,
        ["Typed answer 1.", "Typed answer 2.", "Typed answer 3."],
        "nothing refused was stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn someone_else_with_the_link_cannot_take_over_a_live_interview() {
    let server = TestServer::start().await;
    let (id, token) = server.create_interview().await;
    let mut holder = Candidate::join(&server, id, &token, None).await;
    hear_question(&mut holder).await;
    assert!(holder.resume_secret.is_some(), "ready carries the secret");

    let intruder = connect(&server, id, &token).await;
    let mut intruder = Candidate::start(intruder, None, true).await;
    assert_eq!(
        intruder.until_closed().await,
        Some((4011, "live in another tab or device".into()))
    );
    let guess = Resume {
        from: None,
        secret: Some("0".repeat(64)),
    };
    let mut guesser = Candidate::rejoin(&server, id, &token, guess).await;
    assert_eq!(guesser.until_closed().await.map(|c| c.0), Some(4011));
    still_live(&mut holder, "I am still the one answering.").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_from_other_origins_cannot_connect() {
    let server = TestServer::start().await;
    let (id, token) = server.create_interview().await;
    let url = server.ws_url(id);
    for origin in [
        "https://evil.example",
        "null",
        "http://localhost.evil.example",
    ] {
        expect(
            with_origin(&url, &token, origin).await,
            4003,
            "origin not allowed",
        )
        .await;
    }
    // Without VIVA_PUBLIC_URL, a loopback page may (the server's own page, a dev server).
    let ws = with_origin(&url, &token, "http://localhost:5173").await;
    let mut c = Candidate::start(ws, None, true).await;
    assert!(matches!(c.next().await, Received::Conn(_)), "ready");

    // With a public URL: its origin and the configured ones only.
    let server = TestServer::start_with(|c| {
        c.public_url = Some("https://interviews.example.com".into());
        c.cors_origins = vec!["https://app.example.com".into()];
    })
    .await;
    let (id, token) = server.create_interview().await;
    expect(
        with_origin(&server.ws_url(id), &token, "http://localhost:5173").await,
        4003,
        "origin",
    )
    .await;
    for allowed in ["https://interviews.example.com", "https://app.example.com"] {
        let (id, token) = server.create_interview().await;
        let ws = with_origin(&server.ws_url(id), &token, allowed).await;
        let mut c = Candidate::start(ws, None, true).await;
        match c.next().await {
            Received::Conn(_) => {}
            other => panic!("{allowed}: expected ready, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_the_security_headers() {
    let server = TestServer::start().await;
    let (id, _) = server.create_interview().await;
    let http = reqwest::Client::new();
    for path in [
        format!("/interview/{id}"),
        "/candidate/candidate.js".into(),
        "/health".into(),
        "/no-such-file".into(),
    ] {
        let r = http
            .get(format!("http://{}{path}", server.addr))
            .send()
            .await
            .unwrap();
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("connect-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert!(
            h.get("strict-transport-security").is_none(),
            "no HSTS over http"
        );
    }
    let server =
        TestServer::start_with(|c| c.public_url = Some("https://viva.example".into())).await;
    let r = reqwest::get(format!("http://{}/health", server.addr))
        .await
        .unwrap();
    assert!(r.headers()["strict-transport-security"]
        .to_str()
        .unwrap()
        .starts_with("max-age="));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitors_are_capped_per_interview() {
    let server = TestServer::start_with(|c| c.max_monitors = 2).await;
    let (id, token) = server.create_interview().await;
    let mut c = Candidate::join(&server, id, &token, None).await;
    hear_question(&mut c).await;
    let monitor_token = viva::server::auth(&server.config)
        .unwrap()
        .issue_for(viva::auth::Audience::Monitor, id);
    let mut first = connect_url(&server.monitor_url(id), &monitor_token).await;
    let _second = connect_url(&server.monitor_url(id), &monitor_token).await;
    // Both are served (ready first).
    assert!(matches!(first.next().await, Some(Ok(Message::Text(_)))));
    expect(
        connect_url(&server.monitor_url(id), &monitor_token).await,
        4008,
        "too many monitors",
    )
    .await;
    // A seat frees when a monitor leaves.
    first.close(None).await.unwrap();
    while first.next().await.is_some() {}
    let mut again = loop {
        let mut m = connect_url(&server.monitor_url(id), &monitor_token).await;
        match m.next().await {
            Some(Ok(Message::Text(_))) => break m,
            // The server may not have seen the first one go yet.
            Some(Ok(Message::Close(_))) => tokio::task::yield_now().await,
            other => panic!("unexpected {other:?}"),
        }
    };
    still_live(&mut c, "Watched by two.").await;
    assert!(matches!(again.next().await, Some(Ok(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_dribbling_connections_are_closed_and_capped_per_client() {
    let server = TestServer::start_with(|c| {
        c.header_timeout_secs = 1;
        c.max_connections_per_ip = 4;
    })
    .await;
    let (id, token) = server.create_interview().await;
    // The live interview holds one of the four places, and outlives the header timeout.
    let mut live = Candidate::join(&server, id, &token, None).await;
    hear_question(&mut live).await;

    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    let mut dribbling = TcpStream::connect(server.addr).await.unwrap();
    dribbling
        .write_all(b"GET /health HTTP/1.1\r\nHo")
        .await
        .unwrap();
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    // A fifth connection from the same address: 503 with Retry-After, then closed.
    let mut fifth = TcpStream::connect(server.addr).await.unwrap();
    fifth
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let refused = read_to_close(&mut fifth).await;
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert!(
        refused.to_ascii_lowercase().contains("retry-after: 5"),
        "{refused}"
    );
    assert!(refused.contains(r#""code":"UNAVAILABLE""#), "{refused}");

    // The header timeout closes the silent, the dribbling and the idle one.
    assert_eq!(read_to_close(&mut silent).await, "");
    let dribbled = read_to_close(&mut dribbling).await;
    assert!(!dribbled.contains("200 OK"), "{dribbled}");
    let _ = read_to_close(&mut idle).await;
    // Their places are free again, and the interview went on through it all.
    let health = server.health().await;
    assert_eq!(health["status"], "ok");
    still_live(&mut live, "Long after the header timeout.").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_caps_its_connections_and_answers_503_past_the_cap() {
    let server = TestServer::start_with(|c| c.max_connections = 3).await;
    let held: Vec<TcpStream> =
        futures_util::future::join_all((0..3).map(|_| TcpStream::connect(server.addr)))
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
    let r = reqwest::get(format!("http://{}/health", server.addr))
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "5");
    drop(held);
    // Given back when they close (the server notices at its own pace).
    loop {
        match reqwest::get(format!("http://{}/health", server.addr)).await {
            Ok(r) if r.status() == 200 => {
                let h: serde_json::Value = r.json().await.unwrap();
                assert_eq!(h["connections"]["max"], 3);
                break;
            }
            // Still refused (503, or the refusal raced the request).
            _ => tokio::task::yield_now().await,
        }
    }
}

/// The file limit of a spawned server, set before it starts.
fn with_file_limit(cmd: &mut std::process::Command, limit: u64) {
    use std::os::unix::process::CommandExt;
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
}

/// The binary on the embedded default, with the scripted recogniser (no Whisper model needed).
fn viva_cmd(dir: &std::path::Path) -> std::process::Command {
    let mut cmd = viva_embedded(dir);
    cmd.env("VIVA_STT", "scripted");
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_flood_on_few_file_descriptors_leaves_live_interviews_their_voice() {
    let dir = tempfile::tempdir().unwrap();
    let created = interview_create(viva_cmd(dir.path()), "Analyst");
    let id: Uuid = created["interview_id"].as_str().unwrap().parse().unwrap();
    let token = created["candidate_token"].as_str().unwrap().to_owned();
    // 256 descriptors: the server keeps 128 for interviews and takes at most 128 connections.
    let mut cmd = viva_cmd(dir.path());
    cmd.args(["serve", "--bind", "127.0.0.1:0"])
        .env("VIVA_HEADER_TIMEOUT_SECS", "2")
        .env("VIVA_MAX_CONNECTIONS_PER_IP", "100000");
    with_file_limit(&mut cmd, 256);
    let (mut child, addr) = spawn_serve(cmd);
    let url = format!("ws://{addr}/v1/interviews/{id}/stream");
    let mut live = Candidate::join_url(&url, &token, Resume::default()).await;
    hear_question(&mut live).await;

    // 300 connections that never send a byte.
    let mut flood = Vec::new();
    for _ in 0..300 {
        flood.push(TcpStream::connect(&addr).await.unwrap());
    }
    // The interviewer still speaks (espeak-ng starts: descriptors were kept for it).
    let answer = "I would start by measuring.";
    live.answer(answer).await;
    live.final_transcript().await;
    let next = hear_question(&mut live).await;
    assert!(
        live.received
            .iter()
            .any(|r| matches!(r, Received::Audio(_))),
        "interviewer audio after the flood (turn {next})"
    );
    // Past the cap the flood was refused at once (503) or closed; the rest time out.
    let mut refused = 0;
    for s in &mut flood {
        if read_to_close(s).await.starts_with("HTTP/1.1 503") {
            refused += 1;
        }
    }
    assert!(refused > 0, "connections past the cap were refused");
    drop(flood);
    let health: serde_json::Value = loop {
        match reqwest::get(format!("http://{addr}/health")).await {
            Ok(r) if r.status() == 200 => break r.json().await.unwrap(),
            _ => tokio::task::yield_now().await,
        }
    };
    assert_eq!(health["connections"]["max"], 128, "{health}");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn a_short_signing_key_stops_the_server_at_start_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let out = viva_cmd(dir.path())
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("VIVA_JWT_SECRET", "a")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("at least 32"), "{err}");
    assert!(err.contains("openssl rand -hex 32"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_dir_and_its_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    // A data dir the server creates (umask 022 would make it world-readable).
    let server = TestServer::start_with(|c| c.data_dir = c.data_dir.join("data")).await;
    let (id, token) = server.create_interview().await;
    let mut c = Candidate::join(&server, id, &token, None).await;
    hear_question(&mut c).await;
    let mode = |name: &str| {
        let p = server.config.data_dir.join(name);
        std::fs::metadata(&p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(""), 0o700);
    for f in ["viva.db", "viva.db-wal", "jwt.secret"] {
        assert_eq!(mode(f), 0o600, "{f}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_that_never_ends_is_cut_at_the_cap_kept_and_the_candidate_told() {
    let server = TestServer::start_with(|c| c.max_utterance_secs = 2).await;
    let (id, token) = server.create_interview().await;
    let mut c = Candidate::join(&server, id, &token, None).await;
    hear_question(&mut c).await;
    // About nine seconds of speech without a pause long enough to end the turn.
    let long = speech(
        "I have five years of experience building web applications with React and TypeScript, \
         and before that I spent three years on backend services in Go and Rust, \
         mostly on payment systems that had to stay up all the time.",
    )
    .await;
    let spoken_ms = long.len() as u32 * 20;
    c.say(long).await;
    // The notice is text only: shown, not spoken, so nothing interrupts the candidate.
    let notice = c
        .until("the notice", |e| {
            matches!(
                e,
                viva::protocol::Event::AgentText {
                    kind: viva::protocol::TurnKind::Notice,
                    is_final: true,
                    ..
                }
            )
        })
        .await;
    let viva::protocol::Event::AgentText { turn, text, .. } = &notice.event else {
        unreachable!()
    };
    assert!(text.contains("time limit for one answer"), "{text}");
    assert!(
        !c.events()
            .iter()
            .any(|e| e.event == viva::protocol::Event::AudioStart { turn: *turn }),
        "the notice is not spoken"
    );
    // The speech that went on became the next answer(s); the interviewer then asks on.
    hear_question(&mut c).await;
    let turns = server.turns(id).await;
    let answers: Vec<_> = turns
        .iter()
        .filter(|t| t.speaker == viva::protocol::Speaker::Candidate)
        .collect();
    assert!(answers.len() >= 2, "{turns:?}");
    assert!(answers.iter().all(|a| a.audio_ms <= 2000), "{answers:?}");
    assert_eq!(
        answers[0].audio_ms, 2000,
        "the first is cut exactly at the cap"
    );
    let kept: u32 = answers.iter().map(|a| a.audio_ms).sum();
    assert!(
        kept + 2000 >= spoken_ms,
        "no speech is lost: {kept} ms kept of {spoken_ms} ms"
    );
    // Stored in conversation order: the capped answer, then the notice about it.
    let notice_at = turns.iter().position(|t| t.seq == *turn).unwrap();
    assert_eq!(turns[notice_at - 1].seq, answers[0].seq, "{turns:?}");
    assert_eq!(turns[notice_at].kind, viva::protocol::TurnKind::Notice);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_monitor_that_goes_silent_is_closed() {
    let server = TestServer::start_with(|c| c.idle_timeout_secs = 1).await;
    let (id, _) = server.create_interview().await;
    let monitor_token = viva::server::auth(&server.config)
        .unwrap()
        .issue_for(viva::auth::Audience::Monitor, id);
    // Connected, reading, but sending nothing (not even a pong) within the idle timeout.
    let ws = connect_url(&server.monitor_url(id), &monitor_token).await;
    expect(ws, 4008, "idle").await;
}
