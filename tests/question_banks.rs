//! Organizations' own question banks over the real server (SQLite, and Postgres with the bank
//! cache in Redis): imported from CSV and JSON as versions of one name, a bad row refused by its
//! line with nothing stored, built-in names kept, another organization's banks invisible (404),
//! and an interview naming the bank planned from its newest version.

mod common;

use common::api::{post, staff, Client};
use common::services::{Postgres, Redis};
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use viva::accounts::Role;

const CSV: &str = "id,text,skills,type,difficulty,rubric\n\
    fe-1,\"What is a closure, and when is it useful?\",javascript;closures,technical,1,\"A function with its scope; callbacks, private state.\"\n\
    fe-2,How do you keep a design system consistent?,design-systems;react,technical,3,\"Tokens, shared components, visual tests.\"\n\
    fe-3,\"Tell me about a \"\"hard\"\" bug you fixed.\",debugging,project,2,Symptoms; cause; fix; prevention.\n";

async fn get(c: &Client, path: &str) -> (StatusCode, Value) {
    c.call(Method::GET, path, None).await
}

async fn banks_are_imported_versioned_and_used(server: &TestServer) {
    let admin = staff(server, "ada@acme.example", "Acme", Role::Admin).await;
    let viewer = staff(server, "vi@acme.example", "Acme", Role::Viewer).await;
    let other = staff(server, "bea@bee.example", "Bee", Role::Admin).await;
    let import = "/v1/question-banks?name=acme-frontend&title=Acme%20front%20end";

    // Version 1 from CSV.
    let (s, v1) = admin.post_raw(import, "text/csv; charset=utf-8", CSV).await;
    assert_eq!(s, StatusCode::CREATED, "{v1}");
    assert_eq!(
        (v1["version"].as_u64(), v1["questions"].as_u64()),
        (Some(1), Some(3))
    );

    // A bad row: refused by its line, nothing stored (still version 1, three questions).
    let bad = format!("{CSV}fe-4,Why?,x,technical,7,Because.\n");
    let (s, e) = admin.post_raw(import, "text/csv", &bad).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["error"]["message"], "line 5: difficulty: from 1 to 5");
    let (_, listed) = get(&viewer, "/v1/question-banks").await;
    let mine: Vec<&Value> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["source"] == "organization")
        .collect();
    assert_eq!(mine.len(), 1, "{listed}");
    assert_eq!(
        (mine[0]["version"].as_u64(), mine[0]["questions"].as_u64()),
        (Some(1), Some(3))
    );
    // The built-in banks are listed too.
    assert!(listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|b| b["name"] == "react" && b["source"] == "built_in"));

    // Version 2 from JSON: two questions.
    let two = json!({"name": "acme-frontend", "title": "Acme front end", "questions": [
        {"id": "fe-a", "text": "How would you make a slow list render fast?", "skills": ["react", "performance"],
         "type": "technical", "difficulty": 2, "rubric": "Measure first; memoisation; virtualisation; keys."},
        {"id": "fe-b", "text": "Tell me about a component library you built.", "skills": ["design-systems"],
         "type": "project", "difficulty": 3, "rubric": "Their part, consumers, versioning, what they would change."}]});
    let (s, v2) = admin
        .call(Method::POST, "/v1/question-banks", Some(two))
        .await;
    assert_eq!(
        (s, v2["version"].as_u64()),
        (StatusCode::CREATED, Some(2)),
        "{v2}"
    );
    let (_, newest) = get(&viewer, "/v1/question-banks/acme-frontend").await;
    assert_eq!(
        (
            newest["version"].as_u64(),
            newest["questions"].as_array().unwrap().len()
        ),
        (Some(2), 2)
    );
    let (_, first) = get(&viewer, "/v1/question-banks/acme-frontend?version=1").await;
    assert_eq!(
        first["questions"][0]["text"],
        "What is a closure, and when is it useful?"
    );
    assert_eq!(
        get(&viewer, "/v1/question-banks/acme-frontend?version=9")
            .await
            .0,
        StatusCode::NOT_FOUND
    );

    // Refusals: a built-in name, a viewer, neither JSON nor CSV, a CSV without its name.
    let (s, e) = admin
        .post_raw("/v1/question-banks?name=react&title=Mine", "text/csv", CSV)
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    assert_eq!(
        viewer.post_raw(import, "text/csv", CSV).await.0,
        StatusCode::FORBIDDEN
    );
    let (s, e) = admin.post_raw(import, "text/plain", CSV).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    let (s, e) = admin.post_raw("/v1/question-banks", "text/csv", CSV).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");

    // Another organization sees none of it.
    assert_eq!(
        get(&other, "/v1/question-banks/acme-frontend").await.0,
        StatusCode::NOT_FOUND
    );
    let (_, theirs) = get(&other, "/v1/question-banks").await;
    assert!(
        theirs["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["source"] == "built_in"),
        "{theirs}"
    );

    // An interview naming the bank is planned from its newest version; an unknown name is refused.
    let job = post(
        &admin,
        "/v1/jobs",
        json!({"title": "Frontend Engineer", "skills": ["React"]}),
    )
    .await;
    let cand = post(
        &admin,
        "/v1/candidates",
        json!({"name": "Grace Hopper", "email": "grace@navy.example"}),
    )
    .await;
    let made = post(
        &admin,
        "/v1/interviews",
        json!({"job_id": job["id"], "candidate_id": cand["id"], "template": "acme-frontend"}),
    )
    .await;
    let (_, plan) = get(
        &viewer,
        &format!("/v1/interviews/{}/plan", made["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(
        (
            plan["plan"]["bank"].as_str(),
            plan["plan"]["bank_version"].as_u64()
        ),
        (Some("acme-frontend"), Some(2)),
        "{plan}"
    );
    let ids: Vec<&str> = plan["plan"]["pool"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(ids.contains(&"fe-a") && ids.contains(&"fe-b"));
    let (s, e) = admin
        .call(Method::POST, "/v1/interviews", Some(json!({"job_id": job["id"], "candidate_id": cand["id"], "template": "no-such-bank"})))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    // Another organization cannot name it either.
    let job_b = post(&other, "/v1/jobs", json!({"title": "Engineer"})).await;
    let cand_b = post(
        &other,
        "/v1/candidates",
        json!({"name": "Ada", "email": "ada@bee.example"}),
    )
    .await;
    let (s, _) = other
        .call(Method::POST, "/v1/interviews", Some(json!({"job_id": job_b["id"], "candidate_id": cand_b["id"], "template": "acme-frontend"})))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn question_banks_on_the_embedded_store() {
    let server = TestServer::start().await;
    banks_are_imported_versioned_and_used(&server).await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn question_banks_on_postgres_with_redis() {
    let (pg, redis) = (Postgres::start(), Redis::start());
    let server = TestServer::start_with(|c| use_services(c, &pg, &redis)).await;
    banks_are_imported_versioned_and_used(&server).await;
    server.shutdown().await;
}
