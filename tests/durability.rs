//! Never losing an interview, on the production backends (a real Postgres and a real Redis per
//! test): a whole interview, a `kill -9`, a Redis outage, a Postgres outage, the pause when too
//! many turns wait, and two nodes sharing one interview's state.
//!
//! Outages are real: the servers are stopped and started again. Waiting for the server to
//! notice a service is back is waiting on another process's reconnect timer, so those few
//! waits poll an observable condition (`/health`, the database) under the hang guard.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::services::{Postgres, Redis};
use common::*;
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;
use viva::protocol::TurnKind;
use viva::protocol::{close, Event, EventEnvelope, Speaker};
use viva::store::postgres::{PgSettings, PgStore};
use viva::store::redis::RedisHot;
use viva::store::{HotState, Store, TurnRecord};

async fn pg_turns(pg: &Postgres, id: Uuid) -> Vec<TurnRecord> {
    let store = PgStore::connect(
        &pg.url(),
        PgSettings {
            migrate: false,
            ..PgSettings::default()
        },
    )
    .await
    .unwrap();
    store.turns(id).await.unwrap()
}

fn is_error(code: &'static str) -> impl Fn(&Event) -> bool {
    move |e| matches!(e, Event::Error { code: c, .. } if c == code)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_and_redis_carry_a_whole_interview() {
    let (pg, redis) = (Postgres::start(), Redis::start());
    let server = TestServer::start_with(|c| use_services(c, &pg, &redis)).await;
    let (id, token) = server.create_interview().await;
    let mut c = Candidate::join(&server, id, &token, None).await;
    hear_question(&mut c).await;
    c.say(speech("I have built real time audio systems in Rust for five years.").await)
        .await;
    let t = c.final_transcript().await;
    // Durable in Postgres before its final transcript was sent.
    let Event::Transcript { turn, .. } = t.event else {
        unreachable!()
    };
    let stored = pg_turns(&pg, id).await;
    assert!(stored
        .iter()
        .any(|s| s.seq == turn && s.speaker == Speaker::Candidate));
    hear_question(&mut c).await;

    let stored = pg_turns(&pg, id).await;
    assert_in_order_once(&stored);
    let kinds: Vec<_> = stored.iter().map(|t| (t.speaker, t.kind)).collect();
    assert_eq!(
        kinds,
        vec![
            (Speaker::Interviewer, TurnKind::Question),
            (Speaker::Candidate, TurnKind::Answer),
            (Speaker::Interviewer, TurnKind::Question),
        ]
    );
    let reply_timings = stored[2]
        .timings
        .as_ref()
        .expect("the reply's timings are stored");
    assert!(reply_timings.response_ms > 0);

    // Hot state: the checkpoint, this node's lease, and the live stream holding exactly the
    // events the candidate received.
    let hot = RedisHot::connect(&redis.url()).await.unwrap();
    let cp = hot.load_checkpoint(id).await.unwrap().expect("checkpoint");
    assert!(cp.unsaved.is_empty());
    assert_eq!(cp.next_turn, 3);
    assert!(
        hot.acquire_lease(
            id,
            "another-node",
            Duration::from_secs(5),
            viva::store::Claim::Take { floor: 0 },
        )
        .await
        .unwrap()
        .is_none(),
        "the serving node holds the lease"
    );
    let seen: Vec<(u64, serde_json::Value)> = c
        .events()
        .iter()
        .map(|e| (e.seq, serde_json::to_value(e).unwrap()))
        .collect();
    let last = seen.last().unwrap().0;
    let streamed = eventually("the live stream to catch up", || async {
        let s = hot.read_events(id, 0, Duration::ZERO).await.unwrap();
        s.last().is_some_and(|e| e.seq >= last).then_some(s)
    })
    .await;
    let streamed: Vec<(u64, serde_json::Value)> = streamed
        .into_iter()
        .filter(|e| e.seq <= last)
        .map(|e| (e.seq, serde_json::from_str(&e.body).unwrap()))
        .collect();
    assert_eq!(streamed, seen);

    let health = server.health().await;
    assert_eq!(health["status"], "ok", "{health}");
    server.shutdown().await;
}

// ---- kill -9 ---------------------------------------------------------------------------------

struct Node {
    child: common::Served,
    addr: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn viva(data_dir: &Path, pg: &Postgres, redis: &Redis) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_viva"));
    c.env("DATABASE_URL", pg.url())
        .env("REDIS_URL", redis.url())
        .env("VIVA_DATA_DIR", data_dir)
        .env("VIVA_NODE_ID", "node-a")
        .env("VIVA_STT", "scripted")
        .env("VIVA_LLM", "scripted")
        .env("VIVA_TTS", "scripted")
        .env("VIVA_SCRIPTED_QUESTIONS", "3");
    c
}

/// Starts `viva serve` on port 0.
fn serve(data_dir: &Path, pg: &Postgres, redis: &Redis) -> Node {
    let mut cmd = viva(data_dir, pg, redis);
    cmd.args(["serve", "--bind", "127.0.0.1:0"]);
    let (child, addr) = spawn_serve(cmd);
    Node { child, addr }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_interview_the_answer_is_in_postgres_and_it_resumes_at_the_next_question() {
    let (pg, redis) = (Postgres::start(), Redis::start());
    let dir = tempfile::tempdir().unwrap();
    let created = interview_create(viva(dir.path(), &pg, &redis), "SRE");
    let id: Uuid = created["interview_id"].as_str().unwrap().parse().unwrap();
    let token = created["candidate_token"].as_str().unwrap().to_owned();
    let url = |node: &Node| format!("ws://{}/v1/interviews/{id}/stream", node.addr);

    let mut node = serve(dir.path(), &pg, &redis);
    let mut c = Candidate::join_url(&url(&node), &token, Resume::default()).await;
    let q1 = hear_question(&mut c).await;
    c.answer("I keep systems up by making failure boring.")
        .await;
    let answered = c.final_transcript().await;
    // kill -9: no shutdown, no final checkpoint.
    node.child.kill().unwrap();
    node.child.wait().unwrap();
    assert_eq!(c.until_closed().await, None, "the connection just died");

    let stored = pg_turns(&pg, id).await;
    assert_eq!(
        answers(&stored),
        vec!["I keep systems up by making failure boring."]
    );

    let node = serve(dir.path(), &pg, &redis);
    let resume = Resume {
        from: Some(answered.seq),
        secret: c.resume_secret.clone(),
    };
    let mut c2 = Candidate::join_url(&url(&node), &token, resume).await;
    let next = hear_question(&mut c2).await;
    assert!(next > q1, "a new turn, not the first question again");
    let q1_text = &stored[0].text;
    let spoken: Vec<String> = c2
        .events()
        .iter()
        .filter_map(|e| match &e.event {
            Event::AgentText {
                text,
                is_final: true,
                ..
            } => Some(text.clone()),
            _ => None,
        })
        .collect();
    assert!(
        !spoken.is_empty() && !spoken.contains(q1_text),
        "{spoken:?}"
    );
    // Events the dead node sent after its last checkpoint may be lost; their seqs are never
    // given to new events: whatever the first connection saw, the second sees higher.
    let seen = c.last_seq();
    assert!(seen >= answered.seq);
    assert!(
        c2.events().iter().all(|e| e.seq > seen),
        "seq continues past all {seen} seen"
    );

    let stored = pg_turns(&pg, id).await;
    assert_in_order_once(&stored);
    assert_eq!(answers(&stored).len(), 1, "the answer is stored once");
    assert_eq!(stored.last().unwrap().speaker, Speaker::Interviewer);
}

// ---- outages ---------------------------------------------------------------------------------

/// A server on `pg` and `redis` (with `questions` scripted questions), an interview on it, and
/// its candidate once the first question has been heard.
async fn at_first_question(
    pg: &Postgres,
    redis: &Redis,
    questions: u32,
    adjust: impl FnOnce(&mut viva::config::Config),
) -> (TestServer, Uuid, Candidate) {
    let server = TestServer::start_with(|c| {
        use_services(c, pg, redis);
        c.scripted_questions = questions;
        adjust(c);
    })
    .await;
    let (id, token) = server.create_interview().await;
    let mut c = Candidate::join(&server, id, &token, None).await;
    hear_question(&mut c).await;
    (server, id, c)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_loses_nothing_and_service_resumes_by_itself() {
    let (pg, mut redis) = (Postgres::start(), Redis::start());
    let (server, id, mut c) = at_first_question(&pg, &redis, 3, |_| {}).await;

    redis.stop();
    c.answer("First answer, while Redis is down.").await;
    c.final_transcript().await;
    hear_question(&mut c).await;
    let health = server.health().await;
    assert_eq!(
        (health["status"].as_str(), health["hot"].as_str()),
        (Some("degraded"), Some("unavailable")),
        "{health}"
    );
    let failures = &health["storage_failures"];
    assert!(
        failures["checkpoint_failures"].as_u64().unwrap() > 0,
        "counted: {health}"
    );
    assert_eq!(failures["turn_write_failures"], 0, "{health}");

    redis.resume();
    eventually("the server to reconnect to Redis", || async {
        (server.health().await["hot"] == "ok").then_some(())
    })
    .await;
    c.answer("Second answer, Redis is back.").await;
    let t = c.final_transcript().await;

    let stored = pg_turns(&pg, id).await;
    assert_in_order_once(&stored);
    assert_eq!(
        answers(&stored),
        vec![
            "First answer, while Redis is down.",
            "Second answer, Redis is back."
        ]
    );
    // Checkpoints flow again: the one after the second answer is in the new Redis.
    let hot = RedisHot::connect(&redis.url()).await.unwrap();
    let cp = hot
        .load_checkpoint(id)
        .await
        .unwrap()
        .expect("checkpoint after recovery");
    assert!(cp.next_seq > t.seq);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_outage_queues_turns_and_writes_them_in_order_once_it_is_back() {
    let (mut pg, redis) = (Postgres::start(), Redis::start());
    let (server, id, mut c) = at_first_question(&pg, &redis, 3, |_| {}).await;

    pg.stop();
    c.answer("Said while Postgres is down.").await;
    c.until("storage_degraded", is_error("storage_degraded"))
        .await;
    c.final_transcript().await;
    // The interview goes on: the next question is asked and heard.
    hear_question(&mut c).await;
    let health = server.health().await;
    assert_eq!(health["store"], "unavailable", "{health}");
    assert!(
        health["storage_failures"]["turn_write_failures"]
            .as_u64()
            .unwrap()
            > 0,
        "counted: {health}"
    );
    // Meanwhile the answer is durable in Redis, in the checkpoint another node would resume.
    let hot = RedisHot::connect(&redis.url()).await.unwrap();
    let cp = hot.load_checkpoint(id).await.unwrap().expect("checkpoint");
    assert!(
        cp.unsaved
            .iter()
            .any(|t| t.text == "Said while Postgres is down."),
        "{:?}",
        cp.unsaved
    );

    pg.resume();
    let stored = eventually("the queued turns to reach Postgres", || async {
        let t = pg_turns(&pg, id).await;
        (t.len() >= 3).then_some(t)
    })
    .await;
    c.answer("Said after it came back.").await;
    c.final_transcript().await;

    let stored_after = pg_turns(&pg, id).await;
    assert_in_order_once(&stored_after);
    assert_eq!(&stored_after[..3], &stored[..]);
    assert_eq!(
        answers(&stored_after),
        vec!["Said while Postgres is down.", "Said after it came back."]
    );
    // The event log catches up too: every event the candidate saw, once.
    let last = c.last_seq();
    let pg_store = PgStore::connect(&pg.url(), PgSettings::default())
        .await
        .unwrap();
    let events = eventually("the event log to catch up", || async {
        let e = pg_store.events_after(id, 0, 10_000).await.unwrap();
        e.last().is_some_and(|e| e.seq >= last).then_some(e)
    })
    .await;
    let seqs: Vec<u64> = events
        .iter()
        .map(|e| e.seq)
        .filter(|s| *s <= last)
        .collect();
    let seen: Vec<u64> = c.events().iter().map(|e| e.seq).collect();
    assert_eq!(seqs, seen);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_bound_the_interview_pauses_until_postgres_is_back() {
    let (mut pg, redis) = (Postgres::start(), Redis::start());
    let (server, id, mut c) = at_first_question(&pg, &redis, 4, |c| c.max_unsaved_turns = 2).await;

    pg.stop();
    c.answer("One.").await; // waiting: the answer
    c.final_transcript().await;
    hear_question(&mut c).await; // waiting: the answer and this question
    c.answer("Two.").await; // three waiting: past the bound
    c.final_transcript().await;
    // Announced when the next question was due, i.e. as the answer was taken.
    let paused = c
        .events()
        .into_iter()
        .find(|e| is_error("storage_unavailable")(&e.event))
        .cloned()
        .expect("storage_unavailable");
    let Event::Error { fatal, .. } = &paused.event else {
        unreachable!()
    };
    assert!(!fatal, "a pause, not the end");

    let resumed_at = chrono::Utc::now();
    pg.resume();
    hear_question(&mut c).await;
    let stored = pg_turns(&pg, id).await;
    assert_in_order_once(&stored);
    assert_eq!(answers(&stored), vec!["One.", "Two."]);
    let third = stored
        .iter()
        .filter(|t| t.kind == TurnKind::Question)
        .nth(2)
        .expect("the third question");
    assert!(
        third.started_at >= resumed_at,
        "no question was asked while the interview was paused"
    );
    server.shutdown().await;
}

// ---- two nodes -------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_node_drives_an_interview_others_relay_it_and_take_over_when_it_stops() {
    let (pg, redis) = (Postgres::start(), Redis::start());
    // Nodes share the database, Redis and the token signing key.
    let node = |c: &mut viva::config::Config| {
        use_services(c, &pg, &redis);
        c.scripted_questions = 3;
        c.jwt_secret = Some(viva::config::Secret::new(
            "one-signing-key-for-every-node-0123456789",
        ));
    };
    let a = TestServer::start_with(node).await;
    let b = TestServer::start_with(node).await;
    let created = viva::cli::create_interview(&a.config, "Analyst".into(), None, None)
        .await
        .unwrap();
    let (id, token) = (created.interview_id, created.candidate_token);
    let mut c = Candidate::join(&a, id, &token, None).await;
    hear_question(&mut c).await;

    // B will not take it for a newcomer without the resume secret while the candidate is
    // connected to A (the takeover rule, applied by A on B's ask).
    let mut intruder = Candidate::join(&b, id, &token, None).await;
    let (code, reason) = intruder.until_closed().await.unwrap();
    assert_eq!(code, close::LIVE_ELSEWHERE, "{reason}");

    // A recruiter on B watches it live through the shared stream: the same bytes.
    let mut mon = connect_url(&b.monitor_url(id), &created.monitor_token).await;
    for expected in ["ready", "resync"] {
        let Some(Ok(Message::Text(t))) = mon.next().await else {
            panic!("expected {expected}")
        };
        let v: serde_json::Value = serde_json::from_str(&t).unwrap();
        assert_eq!(v["type"], expected);
    }
    c.answer("Numbers tell stories.").await;
    let t = c.final_transcript().await;
    let relayed = loop {
        let text = match mon.next().await {
            Some(Ok(Message::Text(text))) => text,
            // The server's keep-alive pings (every 20 s) are not events.
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("relay ended: {other:?}"),
        };
        let e: EventEnvelope = serde_json::from_str(&text).unwrap();
        if e.seq == t.seq {
            break e;
        }
    };
    assert_eq!(relayed, t);

    // A stops (a deploy): the candidate is told to reconnect, and B takes over.
    let resume = c.resume_point();
    let seen = c.last_seq();
    a.shutdown().await;
    assert_eq!(c.until_closed().await.unwrap().0, close::SERVICE_RESTART);
    let mut c = Candidate::rejoin(&b, id, &token, resume).await;
    hear_question(&mut c).await;
    assert!(
        c.events().iter().all(|e| e.seq > seen),
        "seq continues on B"
    );
    let stored = pg_turns(&pg, id).await;
    assert_in_order_once(&stored);
    assert_eq!(answers(&stored), vec!["Numbers tell stories."]);
    let questions = stored
        .iter()
        .filter(|t| t.kind == TurnKind::Question)
        .count();
    assert!(questions >= 2, "B asked the next question");
    // The monitor on B, relayed through the stream, sees B's first event exactly as the
    // candidate did.
    let from_b = loop {
        let text = match mon.next().await {
            Some(Ok(Message::Text(text))) => text,
            // The server's keep-alive pings (every 20 s) are not events.
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("relay ended: {other:?}"),
        };
        let e: EventEnvelope = serde_json::from_str(&text).unwrap();
        if e.seq > seen {
            break e;
        }
    };
    let first_on_b = c.events().into_iter().next().cloned().expect("events on B");
    assert_eq!(from_b, first_on_b);
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_actions_through_one_node_reach_the_node_that_drives_the_interview() {
    use reqwest::{Method, StatusCode};
    let (pg, redis) = (Postgres::start(), Redis::start());
    let node = |c: &mut viva::config::Config| cluster_node(c, &pg, &redis);
    let a = TestServer::start_with(node).await;
    let b = TestServer::start_with(node).await;
    // An admin of the organization that owns `viva interview create`'s interviews, signed in on A.
    let admin = common::api::staff(
        &a,
        "ops@viva.example",
        "default",
        viva::accounts::Role::Admin,
    )
    .await;
    let on_b = common::api::with_token(&admin, &admin.token);
    let on_b = common::api::Client {
        base: format!("http://{}", b.addr),
        ..on_b
    };

    // Cancelled through B while A drives it: A's interviewer closes, the candidate sees why.
    let created = viva::cli::create_interview(&a.config, "Analyst".into(), None, None)
        .await
        .unwrap();
    let id = created.interview_id;
    let mut c = Candidate::join(&a, id, &created.candidate_token, None).await;
    hear_question(&mut c).await;
    let (s, v) = on_b
        .call(Method::POST, &format!("/v1/interviews/{id}/cancel"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "cancelled");
    let ended = c.until("ended", |e| matches!(e, Event::Ended { .. })).await;
    assert!(matches!(ended.event, Event::Ended { reason } if reason == "cancelled"));

    // Watching on B with the sign-in made on A: signing out on A closes B's socket through the
    // shared hot state ("signed out"), not at B's next re-check of the store ("session ended",
    // up to 15 s later).
    let (other, _) = a.create_interview().await;
    let mut mon = connect_url(&b.monitor_url(other), &admin.token).await;
    let Some(Ok(Message::Text(ready))) = mon.next().await else {
        panic!("expected ready")
    };
    assert!(ready.contains(r#""type":"ready""#), "{ready}");
    let (s, _) = admin.call(Method::POST, "/v1/auth/logout", None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let closed = loop {
        match mon.next().await {
            Some(Ok(Message::Close(Some(f)))) => break (u16::from(f.code), f.reason.to_string()),
            Some(Ok(_)) => {}
            other => panic!("no close frame: {other:?}"),
        }
    };
    assert_eq!(closed, (close::UNAUTHORIZED, "signed out".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recruiter_on_another_node_sees_the_board_listens_in_and_steers() {
    use futures_util::SinkExt;
    const SUGGESTION: &str = "Which report are you proudest of, and why?";
    let (pg, redis) = (Postgres::start(), Redis::start());
    let node = |c: &mut viva::config::Config| {
        cluster_node(c, &pg, &redis);
        // Leases renewed every second: a remote watcher's heartbeat and steering are taken
        // within about a second.
        c.lease_secs = 3;
    };
    let a = TestServer::start_with(node).await;
    let b = TestServer::start_with(node).await;
    let admin = common::api::staff(
        &a,
        "ops@viva.example",
        "default",
        viva::accounts::Role::Admin,
    )
    .await;
    let created = viva::cli::create_interview(&a.config, "Analyst".into(), None, None)
        .await
        .unwrap();
    let id = created.interview_id;
    let mut c = Candidate::join(&a, id, &created.candidate_token, None).await;
    hear_question(&mut c).await;

    // B's live board shows the interview A drives, with the status A shares.
    let mut board = connect_url(&format!("ws://{}/v1/live", b.addr), &admin.token).await;
    let status = loop {
        let Some(Ok(Message::Text(t))) = board.next().await else {
            panic!("board on B ended")
        };
        let v: serde_json::Value = serde_json::from_str(&t).unwrap();
        let live = match v["type"].as_str() {
            Some("snapshot") => v["interviews"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["interview_id"] == serde_json::json!(id))
                .map(|c| c["live"].clone()),
            Some("started") => Some(v["interview"]["live"].clone()),
            Some("update") if v["interview_id"] == serde_json::json!(id) => Some(v["live"].clone()),
            _ => None,
        };
        if let Some(live) = live.filter(|l| !l.is_null()) {
            break live;
        }
    };
    assert_eq!(status["candidate_connected"], true, "{status}");
    drop(board);

    // Watching and listening on B while A drives it.
    let url = format!("ws://{}/v1/interviews/{id}/monitor?listen=1", b.addr);
    let mut mon = connect_url(&url, &admin.token).await;
    let (mut frames, mut levels) = ([0usize; 2], 0usize);
    while frames[0] < 25 || levels == 0 {
        match mon.next().await {
            Some(Ok(Message::Binary(f))) => {
                assert!(f.len() > 1 && f[0] <= 1, "a listen-in frame");
                frames[usize::from(f[0])] += 1;
            }
            Some(Ok(Message::Text(t))) => {
                let v: serde_json::Value = serde_json::from_str(&t).unwrap();
                if v["type"] == "level" {
                    assert!(v.get("seq").is_none());
                    levels += 1;
                }
            }
            other => panic!("monitor on B ended: {other:?}"),
        }
    }

    // A suggestion made on B is asked by A's interviewer after the candidate's answer.
    mon.send(Message::Text(
        serde_json::json!({"type": "suggest_question", "text": SUGGESTION})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    let ack = loop {
        match mon.next().await {
            Some(Ok(Message::Text(t))) if t.contains(r#""type":"steered""#) => {
                break serde_json::from_str::<serde_json::Value>(&t).unwrap()
            }
            Some(Ok(_)) => {}
            other => panic!("monitor on B ended: {other:?}"),
        }
    };
    assert_eq!(ack["accepted"], true, "{ack}");
    c.say(speech("I wrote the quarterly churn report.").await)
        .await;
    c.final_transcript().await;
    c.until(
        "the suggested question",
        |e| matches!(e, Event::AgentText { text, is_final: true, .. } if text == SUGGESTION),
    )
    .await;
    // The interviewer's voice reaches B too.
    while frames[1] < 25 {
        match mon.next().await {
            Some(Ok(Message::Binary(f))) => frames[usize::from(f[0])] += 1,
            Some(Ok(_)) => {}
            other => panic!("monitor on B ended: {other:?}"),
        }
    }
    hear_question(&mut c).await;
    let stored = a.turns(id).await;
    assert!(
        stored.iter().any(|t| t.suggested && t.text == SUGGESTION),
        "{stored:?}"
    );
}

/// A node of a cluster: the shared Postgres and Redis, and one token signing key for all.
fn cluster_node(c: &mut viva::config::Config, pg: &Postgres, redis: &Redis) {
    use_services(c, pg, redis);
    c.jwt_secret = Some(viva::config::Secret::new(
        "one-signing-key-for-every-node-0123456789",
    ));
}

// ---- fencing ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_owner_cannot_write_a_turn_after_a_newer_owner_has_and_stops() {
    let (pg, redis) = (Postgres::start(), Redis::start());
    // A long lease: A still believes it owns the interview when its write is refused.
    let a = TestServer::start_with(|c| {
        cluster_node(c, &pg, &redis);
        c.lease_secs = 600;
        c.scripted_questions = 3;
    })
    .await;
    let (id, token) = a.create_interview().await;
    let mut c = Candidate::join(&a, id, &token, None).await;
    hear_question(&mut c).await;

    // A newer owner (its lease generation far above A's) wrote the turn A will write next, as
    // after a partition in which A's lease expired unseen.
    let pg_store = PgStore::connect(&pg.url(), PgSettings::default())
        .await
        .unwrap();
    let asked = pg_store.turns(id).await.unwrap();
    let next_seq = asked.last().unwrap().seq + 1;
    let newer = TurnRecord {
        seq: next_seq,
        speaker: Speaker::Candidate,
        kind: TurnKind::Answer,
        text: "Written by the newer owner.".into(),
        ..asked[0].clone()
    };
    pg_store.insert_turn(&newer, 1_000).await.unwrap();

    // A's answer write carries A's lower token: refused. A stops driving the interview and
    // tells the candidate to reconnect; nothing of A's is stored.
    c.answer("An answer the stale owner heard.").await;
    let (code, reason) = c.until_closed().await.expect("a close frame");
    assert_eq!(
        (code, reason.as_str()),
        (close::TRY_AGAIN, "interview moved; reconnect")
    );
    let stored = pg_store.turns(id).await.unwrap();
    assert_in_order_once(&stored);
    assert_eq!(answers(&stored), vec!["Written by the newer owner."]);
    assert_eq!(pg_store.fence(id).await.unwrap(), 1_000);

    // Reconnecting, the candidate gets an owner with a token above the store's: the
    // conversation goes on from the newer owner's turn.
    let mut c = Candidate::rejoin(&a, id, &token, c.resume_point()).await;
    let next = hear_question(&mut c).await;
    assert!(next > next_seq, "asked after the newer owner's turn");
    c.answer("And now the owner hears me.").await;
    c.final_transcript().await;
    let stored = pg_store.turns(id).await.unwrap();
    assert_in_order_once(&stored);
    assert_eq!(
        answers(&stored),
        vec!["Written by the newer owner.", "And now the owner hears me."]
    );
    assert!(pg_store.fence(id).await.unwrap() > 1_000);
}

// ---- handoff ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_candidate_who_reaches_another_node_is_held_while_the_interview_is_handed_over() {
    let (pg, redis) = (Postgres::start(), Redis::start());
    // Leases far longer than the test: the interview can only move by a handoff, never by an
    // expired lease.
    let node = |c: &mut viva::config::Config| {
        cluster_node(c, &pg, &redis);
        c.lease_secs = 600;
        c.scripted_questions = 4;
    };
    let a = TestServer::start_with(node).await;
    let b = TestServer::start_with(node).await;
    let (id, token) = a.create_interview().await;
    let mut on_a = Candidate::join(&a, id, &token, None).await;
    hear_question(&mut on_a).await;
    on_a.answer("First answer, given on A.").await;
    on_a.final_transcript().await;
    hear_question(&mut on_a).await;

    // The candidate's network changes and the load balancer sends them to B while A still
    // holds their old connection: B holds the new one, A hands over (its connection is
    // replaced, as on one node), B resumes from A's final checkpoint.
    let seen = on_a.last_seq();
    let mut on_b = Candidate::rejoin(&b, id, &token, on_a.resume_point()).await;
    assert_eq!(
        on_a.until_closed().await.unwrap().0,
        close::REPLACED,
        "the older connection is replaced"
    );
    on_b.answer("Second answer, given on B.").await;
    let t = on_b.final_transcript().await;
    assert!(t.seq > seen, "seq continues on B");
    hear_question(&mut on_b).await;

    // A newcomer without the secret on A is refused by B (the candidate is connected there),
    // so two devices cannot bounce the interview between nodes.
    let mut intruder = Candidate::join(&a, id, &token, None).await;
    assert_eq!(
        intruder.until_closed().await.unwrap().0,
        close::LIVE_ELSEWHERE
    );

    // And back: the same candidate reaching A again takes the interview back to A.
    let mut back_on_a = Candidate::rejoin(&a, id, &token, on_b.resume_point()).await;
    assert_eq!(on_b.until_closed().await.unwrap().0, close::REPLACED);
    back_on_a.answer("Third answer, given on A again.").await;
    back_on_a.final_transcript().await;

    let stored = pg_turns(&pg, id).await;
    assert_in_order_once(&stored);
    assert_eq!(
        answers(&stored),
        vec![
            "First answer, given on A.",
            "Second answer, given on B.",
            "Third answer, given on A again."
        ]
    );
}

// ---- drain -----------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draining_node_says_not_ready_refuses_new_sockets_and_its_interviews_move_on() {
    let (pg, redis) = (Postgres::start(), Redis::start());
    let node = |c: &mut viva::config::Config| {
        cluster_node(c, &pg, &redis);
        // Leases far longer than the test: B can only take the interview because A gave its
        // lease up while draining.
        c.lease_secs = 600;
        c.scripted_questions = 3;
        c.drain_secs = 600;
        // A connection that has not said hello holds the drain open (until its hello timeout):
        // the test looks at the draining node while it is there.
        c.hello_timeout_secs = 600;
    };
    let mut a = TestServer::start_with(node).await;
    let b = TestServer::start_with(node).await;
    let (id, token) = a.create_interview().await;
    let mut c = Candidate::join(&a, id, &token, None).await;
    hear_question(&mut c).await;
    c.answer("Answered before the deploy.").await;
    c.final_transcript().await;
    let silent = connect(&a, id, &token).await;

    // SIGTERM: the candidate is told to reconnect (the drain has begun once it is).
    a.begin_shutdown();
    let (code, _) = c.until_closed().await.expect("a close frame");
    assert_eq!(code, close::SERVICE_RESTART);
    let ready = reqwest::get(format!("http://{}/ready", a.addr))
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["error"]["code"], "UNAVAILABLE", "{body}");
    // A new WebSocket is refused before the upgrade, so a load balancer retries it elsewhere.
    let mut req = a.ws_url(id).into_client_request().unwrap();
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        format!("viva.v1, bearer.{token}").parse().unwrap(),
    );
    match tokio_tungstenite::connect_async(req).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status(), 503);
            assert_eq!(resp.headers()["retry-after"], "1");
        }
        other => panic!(
            "expected 503 before the upgrade, got {:?}",
            other.map(|_| ())
        ),
    }

    // The interview goes on at once on B: A gave its lease up with its final checkpoint.
    let mut c = Candidate::rejoin(&b, id, &token, c.resume_point()).await;
    hear_question(&mut c).await;
    c.answer("Answered after the deploy.").await;
    c.final_transcript().await;
    let stored = pg_turns(&pg, id).await;
    assert_in_order_once(&stored);
    assert_eq!(
        answers(&stored),
        vec!["Answered before the deploy.", "Answered after the deploy."]
    );

    // Once the last connection is gone, A stops.
    drop(silent);
    a.stopped().await;
}
