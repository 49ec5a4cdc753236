//! Organizations' prompts over the real server (SQLite, and Postgres with Redis): admins list the
//! defaults, add versions (checked: unknown names and placeholders refused with what to change),
//! roll back to an earlier version or the default; only admins; another organization sees none of
//! them (and a foreign version is a 404). An interview takes the active interviewer prompt when
//! it is made — the model (the OpenAI fake) is instructed with it — and keeps it after the
//! organization moves on; `GET …/plan` shows the versions it uses.

mod common;

use common::api::{consented, post, staff, Client};
use common::fakes::FakeVendor;
use common::services::{Postgres, Redis};
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use viva::accounts::Role;

async fn get(c: &Client, path: &str) -> (StatusCode, Value) {
    c.call(Method::GET, path, None).await
}

fn named<'a>(list: &'a Value, name: &str) -> &'a Value {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{name} not listed: {list}"))
}

const OURS_V1: &str = "You are Acme's interviewer for {role}. Ask {max_questions} questions, \
    one at a time, about the candidate's own work. When done, thank them and write {end_marker}.";
const OURS_V2: &str = "You are Acme's second interviewer for {role}. One question per turn. \
    Close with thanks and {end_marker}.";

/// An interview made now by `admin`, joined until its first question: the system prompt the model
/// was given, and the interview's plan view.
async fn interview_now(server: &TestServer, fake: &FakeVendor, admin: &Client) -> (String, Value) {
    let job = post(
        admin,
        "/v1/jobs",
        json!({"title": "Site Reliability Engineer"}),
    )
    .await;
    let cand = post(
        admin,
        "/v1/candidates",
        json!({"name": "Ada Lovelace", "email": format!("ada{}@example.org", uuid::Uuid::new_v4())}),
    )
    .await;
    let made = post(
        admin,
        "/v1/interviews",
        json!({"job_id": job["id"], "candidate_id": cand["id"]}),
    )
    .await;
    let (id, token) = consented(admin, &made).await;
    let before = fake.state.chat.bodies.lock().unwrap().len();
    let mut c = Candidate::join(server, id, &token, None).await;
    hear_question(&mut c).await;
    let system = fake.state.chat.bodies.lock().unwrap()[before]["messages"][0]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    drop(c);
    let (s, plan) = get(admin, &format!("/v1/interviews/{id}/plan")).await;
    assert_eq!(s, StatusCode::OK, "{plan}");
    (system, plan)
}

async fn prompts_are_versioned_per_organization(server: &TestServer, fake: &FakeVendor) {
    let admin = staff(server, "ada@acme.example", "Acme", Role::Admin).await;
    let recruiter = staff(server, "rex@acme.example", "Acme", Role::Recruiter).await;
    let other = staff(server, "bea@bee.example", "Bee", Role::Admin).await;

    // The defaults, before the organization has any.
    let (s, list) = get(&admin, "/v1/prompts").await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let interviewer = named(&list, "interviewer");
    assert_eq!(interviewer["in_use"], "interviewer.v1");
    assert_eq!(interviewer["default"]["label"], "interviewer.v1");
    assert!(interviewer["default"]["body"]
        .as_str()
        .unwrap()
        .contains("{end_marker}"));
    assert!(interviewer["versions"].as_array().unwrap().is_empty());
    assert_eq!(named(&list, "analyst")["placeholders"], json!([]));

    // Only admins.
    for (method, path, body) in [
        (Method::GET, "/v1/prompts", None),
        (
            Method::POST,
            "/v1/prompts",
            Some(json!({"name": "interviewer", "body": OURS_V1})),
        ),
        (
            Method::POST,
            "/v1/prompts/interviewer/activate",
            Some(json!({"version": null})),
        ),
    ] {
        let (s, e) = recruiter.call(method, path, body).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}: {e}");
    }

    // Refused with what to change; nothing stored.
    let refusals = [
        (
            json!({"name": "grader", "body": "x"}),
            "name: one of interviewer, analyst, assessor",
        ),
        (
            json!({"name": "interviewer", "body": "Ask about {salary}. {end_marker}"}),
            "body: unknown placeholder {salary} (the interviewer prompt takes {role}, \
             {job_description}, {resume}, {max_questions}, {end_marker})",
        ),
        (
            json!({"name": "interviewer", "body": "Ask for {role}."}),
            "body: the interviewer prompt must contain {end_marker}",
        ),
        (
            json!({"name": "analyst", "body": "   "}),
            "body: the prompt is empty",
        ),
    ];
    for (body, message) in refusals {
        let (s, e) = admin.call(Method::POST, "/v1/prompts", Some(body)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
        assert_eq!(e["error"]["message"], message);
    }
    let (s, e) = admin
        .call(
            Method::POST,
            "/v1/prompts",
            Some(json!({"name": "analyst", "body": "x", "active": true})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "unknown fields: {e}");
    let (_, list) = get(&admin, "/v1/prompts").await;
    assert!(named(&list, "interviewer")["versions"]
        .as_array()
        .unwrap()
        .is_empty());

    // Version 1: active; an interview made now is instructed with it.
    let v1 = post(
        &admin,
        "/v1/prompts",
        json!({"name": "interviewer", "body": OURS_V1}),
    )
    .await;
    assert_eq!(
        (
            v1["version"].as_u64(),
            v1["label"].as_str(),
            v1["active"].as_bool()
        ),
        (Some(1), Some("interviewer.org.v1"), Some(true))
    );
    let (system, first) = interview_now(server, fake, &admin).await;
    assert!(
        system.starts_with("You are Acme's interviewer for Site Reliability Engineer. Ask 6"),
        "{system}"
    );
    assert!(system.contains("write [[END]]"), "{system}");
    assert_eq!(
        first["prompts"],
        json!({"interviewer": "interviewer.org.v1", "analyst": "analyst.v1", "assessor": "assessor.v1"})
    );

    // Version 2 replaces it for new interviews; the one made before keeps version 1.
    let v2 = post(
        &admin,
        "/v1/prompts",
        json!({"name": "interviewer", "body": OURS_V2}),
    )
    .await;
    assert_eq!(v2["version"], 2);
    let (system, _) = interview_now(server, fake, &admin).await;
    assert!(
        system.starts_with("You are Acme's second interviewer"),
        "{system}"
    );
    let id = first["interview_id"].as_str().unwrap();
    let (_, again) = get(&admin, &format!("/v1/interviews/{id}/plan")).await;
    assert_eq!(again["prompts"]["interviewer"], "interviewer.org.v1");
    let (_, list) = get(&admin, "/v1/prompts").await;
    let versions = &named(&list, "interviewer")["versions"];
    assert_eq!(
        versions
            .as_array()
            .unwrap()
            .iter()
            .map(|v| (
                v["version"].as_u64().unwrap(),
                v["active"].as_bool().unwrap()
            ))
            .collect::<Vec<_>>(),
        [(2, true), (1, false)]
    );

    // Another organization sees none of it, cannot activate it, and interviews on the default.
    let (_, theirs) = get(&other, "/v1/prompts").await;
    assert!(named(&theirs, "interviewer")["versions"]
        .as_array()
        .unwrap()
        .is_empty());
    let (s, e) = other
        .call(
            Method::POST,
            "/v1/prompts/interviewer/activate",
            Some(json!({"version": 1})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{e}");
    let (system, theirs) = interview_now(server, fake, &other).await;
    assert!(
        system.starts_with("You are a friendly, professional interviewer"),
        "{system}"
    );
    assert_eq!(theirs["prompts"]["interviewer"], "interviewer.v1");

    // Rolled back to version 1, then to the server's default; unknown names and versions 404.
    let activate = "/v1/prompts/interviewer/activate";
    let (s, p) = admin
        .call(Method::POST, activate, Some(json!({"version": 1})))
        .await;
    assert_eq!(
        (s, p["in_use"].as_str()),
        (StatusCode::OK, Some("interviewer.org.v1")),
        "{p}"
    );
    let (s, p) = admin
        .call(Method::POST, activate, Some(json!({"version": null})))
        .await;
    assert_eq!(
        (s, p["in_use"].as_str()),
        (StatusCode::OK, Some("interviewer.v1")),
        "{p}"
    );
    assert!(p["versions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|v| v["active"] == false));
    let (system, _) = interview_now(server, fake, &admin).await;
    assert!(
        system.starts_with("You are a friendly, professional interviewer"),
        "{system}"
    );
    for (path, version) in [(activate, 9), ("/v1/prompts/grader/activate", 1)] {
        let (s, e) = admin
            .call(Method::POST, path, Some(json!({"version": version})))
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}: {e}");
    }

    // Each change is in the audit log.
    let (_, log) = get(&admin, "/v1/audit?per_page=100").await;
    let actions: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .filter(|a| a.starts_with("prompt."))
        .collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "prompt.created").count(),
        2,
        "{actions:?}"
    );
    assert_eq!(
        actions.iter().filter(|a| **a == "prompt.activated").count(),
        2,
        "{actions:?}"
    );
}

fn with_model(c: &mut viva::config::Config, fake: &FakeVendor) {
    c.llm = vec!["openai".into(), "offline-interviewer".into()];
    c.openai_base_url = fake.openai_url();
    c.openai_api_key = Some(viva::config::Secret::new("sk-test-not-a-real-key-123456"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompts_on_the_embedded_store() {
    let fake = FakeVendor::start().await;
    let server = TestServer::start_with(|c| with_model(c, &fake)).await;
    prompts_are_versioned_per_organization(&server, &fake).await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompts_on_postgres_with_redis() {
    let fake = FakeVendor::start().await;
    let (pg, redis) = (Postgres::start(), Redis::start());
    let server = TestServer::start_with(|c| {
        with_model(c, &fake);
        use_services(c, &pg, &redis);
    })
    .await;
    prompts_are_versioned_per_organization(&server, &fake).await;
    server.shutdown().await;
}
