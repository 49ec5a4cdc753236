//! The assessment job survives `kill -9` of the node running it: a completed interview's job is
//! claimed by a real `viva serve` process (the embedded store) with the model analyst (the OpenAI
//! fake); while the model is still thinking about the first answer, the process is killed.
//! A new process takes the job again once its lease runs out and makes it: exactly one
//! assessment, announced once by the `assessment.ready` webhook (the test waits on the webhook,
//! never on a clock).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::api::{consented, post, scheduled, staff, Client};
use common::fakes::{Analysed, FakeVendor};
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use viva::accounts::Role;

/// The longest the test waits for anything (a guard against a hang, not a synchroniser).
const GUARD: Duration = Duration::from_secs(90);

fn viva(data_dir: &Path, fake: &FakeVendor) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_viva"));
    c.env("VIVA_DATA_DIR", data_dir)
        .env("VIVA_STT", "untranscribed")
        .env("VIVA_LLM", "offline-interviewer")
        .env("VIVA_TTS", "scripted")
        .env("VIVA_ANALYST", "openai")
        .env("OPENAI_BASE_URL", fake.openai_url())
        .env("OPENAI_API_KEY", "sk-test-not-a-real-key-123456")
        // The stalled model is never given up on: only the kill stops it.
        .env("VIVA_ANALYST_TIMEOUT_MS", "600000")
        .env("VIVA_ASSESSMENT_LEASE_SECS", "3")
        .env("VIVA_WEBHOOKS_ALLOW_PRIVATE", "true");
    c
}

/// `viva serve`, its log in `log` (shown when the test fails).
fn serve(data_dir: &Path, fake: &FakeVendor, log: &Path) -> (Served, String) {
    let mut cmd = viva(data_dir, fake);
    cmd.args(["serve", "--bind", "127.0.0.1:0"]);
    spawn_serve_logging_to(cmd, log)
}

/// A webhook receiver: each delivery's JSON body.
async fn receiver() -> (String, mpsc::UnboundedReceiver<Value>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: String| {
            let tx = tx.clone();
            async move {
                tx.send(serde_json::from_str::<Value>(&body).unwrap())
                    .unwrap();
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_assessment_leaves_it_to_the_next_and_one_assessment_is_made() {
    let fake = FakeVendor::start().await;
    // The first structured request never gets its answer; later ones are answered.
    fake.state
        .analyses
        .lock()
        .unwrap()
        .push_back(Analysed::Stall(Duration::from_secs(3600)));
    let (hook, mut delivered) = receiver().await;

    // The interview, on a server that leaves assessments to other nodes: one question, answered
    // by typing; the interviewer closes and the interview completes, queuing its assessment.
    let server = TestServer::start_with(|c| {
        c.stt = vec!["untranscribed".into()];
        c.llm = vec!["offline-interviewer".into()];
        c.assessments_worker = false;
        c.webhooks_allow_private = true;
    })
    .await;
    let admin = staff(&server, "ada@acme.example", "Acme", Role::Admin).await;
    post(
        &admin,
        "/v1/webhooks",
        json!({"url": hook, "events": ["assessment.ready"]}),
    )
    .await;
    let made = scheduled(
        &admin,
        json!({"title": "React Developer"}),
        json!({"max_questions": 1}),
    )
    .await;
    let (id, token) = consented(&admin, &made).await;
    let mut c = Candidate::join(&server, id, &token, None).await;
    while next_turn_heard(&mut c).await {
        // Each question answered fully (a thin answer would get a follow-up); the closing not.
        let said = final_agent_texts(&c.events());
        if said.last().is_some_and(|(_, t)| t.contains("Goodbye")) {
            continue;
        }
        c.answer(
            "I split state by who reads and writes it, keep it local while one component needs \
             it, and reach for useReducer when transitions relate, because one reducer keeps \
             them testable.",
        )
        .await;
        c.final_transcript().await;
    }
    drop(c);
    let dir = server.dir.clone();
    server.shutdown().await;

    // A node claims the job and asks the model about the answer; the model stalls; kill -9.
    let logs = tempfile::tempdir().unwrap();
    let (first_log, second_log) = (
        logs.path().join("first.log"),
        logs.path().join("second.log"),
    );
    let (mut node, _) = serve(dir.path(), &fake, &first_log);
    if tokio::time::timeout(GUARD, fake.state.analysis_arrived.notified())
        .await
        .is_err()
    {
        panic!(
            "the worker never asked the model:\n{}",
            log_tail(&first_log, 40)
        );
    }
    node.0.kill().unwrap();
    node.0.wait().unwrap();
    drop(node);

    // A new node: once the dead node's lease runs out it takes the job, and makes it.
    let (_node, addr) = serve(dir.path(), &fake, &second_log);
    let Ok(Some(ready)) = tokio::time::timeout(GUARD, delivered.recv()).await else {
        panic!("no assessment.ready:\n{}", log_tail(&second_log, 40));
    };
    assert_eq!(ready["type"], "assessment.ready", "{ready}");
    assert_eq!(ready["data"]["interview_id"], id.to_string(), "{ready}");
    let admin = Client {
        base: format!("http://{addr}"),
        ..admin
    };
    let (s, a) = admin
        .call(
            Method::GET,
            &format!("/v1/interviews/{id}/assessment"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{a}");
    assert_eq!(
        (
            a["status"].as_str(),
            a["method"].as_str(),
            a["generation"].as_u64()
        ),
        (Some("ready"), Some("model"), Some(1)),
        "{a}"
    );
    assert_eq!(a["answers"][0]["analysis"]["status"], "scored", "{a}");
    // Asked twice (the dead node's request, then the new node's), made once, announced once.
    assert_eq!(fake.state.structured("answer_analysis").len(), 2);
    let storage = viva::server::open_storage(&viva::config::Config::embedded(dir.path()))
        .await
        .unwrap();
    let queued = storage
        .assessments
        .assessment_job(id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((queued.generation, queued.attempts), (1, 2), "{queued:?}");
    let db = sqlx::SqlitePool::connect(&format!("sqlite:{}", dir.path().join("viva.db").display()))
        .await
        .unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM assessments WHERE interview_id = ?")
        .bind(id.to_string())
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(rows, 1, "one assessment");
    assert!(delivered.try_recv().is_err(), "announced once");
}
