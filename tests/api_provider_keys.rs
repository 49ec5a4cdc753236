//! Bring your own key, over the real server with a local fake of the vendor's API (OpenAI's
//! wire format), on SQLite and on Postgres with Redis: an organization's key is stored sealed,
//! shown only by its last four characters, and its interviews call the vendor with it while
//! everyone else's use the server's key; deleting it brings the server's key back.

mod common;

use common::api::{code, consented, ok, staff, Client};
use common::services::{Postgres, Redis};
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use uuid::Uuid;
use viva::accounts::Role;

const SERVER_KEY: &str = "sk-server-key-0001";
const ACME_KEY: &str = "sk-acme-own-key-1234";

/// The LLM keys the fake vendor saw, in order.
fn keys_seen(fake: &fakes::FakeVendor) -> Vec<String> {
    fake.state.chat.keys.lock().unwrap().clone()
}

/// Makes an API interview for Acme, consents, and hears its first question.
async fn acme_interview(server: &TestServer, admin: &Client) {
    let job = ok(
        admin,
        Method::POST,
        "/v1/jobs",
        Some(json!({"title": "SRE"})),
        StatusCode::CREATED,
    )
    .await;
    let who = Uuid::new_v4().simple().to_string();
    let cand = ok(
        admin,
        Method::POST,
        "/v1/candidates",
        Some(json!({"name": "Grace Hopper", "email": format!("{who}@navy.example")})),
        StatusCode::CREATED,
    )
    .await;
    let made = ok(
        admin,
        Method::POST,
        "/v1/interviews",
        Some(json!({"job_id": job["id"], "candidate_id": cand["id"]})),
        StatusCode::CREATED,
    )
    .await;
    let (id, token) = consented(admin, &made).await;
    let mut c = Candidate::join(server, id, &token, None).await;
    hear_question(&mut c).await;
}

async fn own_keys(server: &TestServer, fake: &fakes::FakeVendor) {
    let admin = staff(server, "ada@acme.example", "Acme", Role::Admin).await;
    let viewer = staff(server, "vi@acme.example", "Acme", Role::Viewer).await;
    let other = staff(server, "bea@bee.example", "Bee", Role::Admin).await;
    let path = "/v1/org/provider-keys/openai";

    // Only admins; vendors and keys are checked.
    let (s, _) = viewer
        .call(Method::PUT, path, Some(json!({"key": ACME_KEY})))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = admin
        .call(
            Method::PUT,
            "/v1/org/provider-keys/acme-ai",
            Some(json!({"key": ACME_KEY})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, err) = admin
        .call(Method::PUT, path, Some(json!({"key": "sk bad key"})))
        .await;
    assert_eq!(
        (s, code(&err)),
        (StatusCode::BAD_REQUEST, "VALIDATION_ERROR")
    );
    let set = ok(
        &admin,
        Method::PUT,
        path,
        Some(json!({"key": ACME_KEY})),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (
            set["vendor"].clone(),
            set["set"].clone(),
            set["last4"].clone()
        ),
        (json!("openai"), json!(true), json!("1234"))
    );
    let listed = ok(
        &admin,
        Method::GET,
        "/v1/org/provider-keys",
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 3);
    assert!(
        !listed.to_string().contains(ACME_KEY),
        "never the key itself"
    );
    let theirs = ok(
        &other,
        Method::GET,
        "/v1/org/provider-keys",
        None,
        StatusCode::OK,
    )
    .await;
    assert!(theirs["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|k| k["set"] == false));

    // Acme's interview calls the vendor with Acme's key; the operator's with the server's.
    acme_interview(server, &admin).await;
    assert_eq!(
        keys_seen(fake).last().unwrap(),
        &format!("Bearer {ACME_KEY}")
    );
    let (id, token) = server.create_interview().await;
    let mut c = Candidate::join(server, id, &token, None).await;
    hear_question(&mut c).await;
    assert_eq!(
        keys_seen(fake).last().unwrap(),
        &format!("Bearer {SERVER_KEY}")
    );

    // Deleted: the server's key again, for Acme's next interview.
    ok(&admin, Method::DELETE, path, None, StatusCode::NO_CONTENT).await;
    let (s, _) = admin.call(Method::DELETE, path, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "nothing to delete");
    acme_interview(server, &admin).await;
    assert_eq!(
        keys_seen(fake).last().unwrap(),
        &format!("Bearer {SERVER_KEY}")
    );

    let log = ok(
        &admin,
        Method::GET,
        "/v1/audit?per_page=100",
        None,
        StatusCode::OK,
    )
    .await;
    assert!(!log.to_string().contains(ACME_KEY));
    let actions: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"provider_key.set") && actions.contains(&"provider_key.deleted"),
        "{actions:?}"
    );
}

fn with_vendor(c: &mut viva::config::Config, fake: &fakes::FakeVendor) {
    c.stt = vec!["scripted".into()];
    c.llm = vec!["openai".into()];
    c.tts = vec!["scripted".into()];
    c.openai_base_url = fake.openai_url();
    c.openai_api_key = Some(viva::config::Secret::new(SERVER_KEY));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_keys_on_the_embedded_store() {
    let fake = fakes::FakeVendor::start().await;
    let server = TestServer::start_with(|c| with_vendor(c, &fake)).await;
    own_keys(&server, &fake).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_keys_on_postgres() {
    let fake = fakes::FakeVendor::start().await;
    let (pg, redis) = (Postgres::start(), Redis::start());
    let server = TestServer::start_with(|c| {
        use_services(c, &pg, &redis);
        with_vendor(c, &fake);
    })
    .await;
    own_keys(&server, &fake).await;
}
