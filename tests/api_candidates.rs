//! `/v1/candidates` over the real server: roles, organization scoping (another organization's
//! candidate is a 404 for every verb), emails unique per organization, search, validation — on
//! SQLite and on Postgres.

mod common;

use common::api::{code, staff};
use common::services::{Postgres, Redis};
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use viva::accounts::Role;

async fn candidates_are_scoped_unique_and_searchable(server: &TestServer) {
    let recruiter = staff(server, "ada@acme.example", "Acme", Role::Admin).await;
    let viewer = staff(server, "vi@acme.example", "Acme", Role::Viewer).await;
    let other = staff(server, "bea@bee.example", "Bee", Role::Admin).await;

    let (s, grace) = recruiter
        .call(
            Method::POST,
            "/v1/candidates",
            Some(json!({
                "name": " Grace Hopper ",
                "email": "grace@navy.example",
                "resume_text": "Rear admiral. COBOL."
            })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{grace}");
    assert_eq!(grace["name"], "Grace Hopper");
    let path = format!("/v1/candidates/{}", grace["id"].as_str().unwrap());
    let (s, got) = viewer.call(Method::GET, &path, None).await;
    assert_eq!((s, &got), (StatusCode::OK, &grace));

    // One email, one candidate, in any case, within an organization; another may have it too.
    let (s, dup) = recruiter
        .call(
            Method::POST,
            "/v1/candidates",
            Some(json!({"name": "G. Hopper", "email": "GRACE@navy.example"})),
        )
        .await;
    assert_eq!((s, code(&dup)), (StatusCode::CONFLICT, "CONFLICT"), "{dup}");
    let (s, _) = other
        .call(
            Method::POST,
            "/v1/candidates",
            Some(json!({"name": "Grace Hopper", "email": "grace@navy.example"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "another organization's candidate");

    // A viewer reads only; another organization finds nothing.
    let (s, err) = viewer
        .call(
            Method::POST,
            "/v1/candidates",
            Some(json!({"name": "X", "email": "x@y.example"})),
        )
        .await;
    assert_eq!(
        (s, code(&err)),
        (StatusCode::FORBIDDEN, "AUTHORIZATION_ERROR")
    );
    for (method, body) in [
        (Method::GET, None),
        (Method::PATCH, Some(json!({"name": "Taken over"}))),
        (Method::DELETE, None),
    ] {
        let (s, err) = other.call(method.clone(), &path, body).await;
        assert_eq!(
            (s, code(&err)),
            (StatusCode::NOT_FOUND, "NOT_FOUND"),
            "{method}"
        );
    }

    // Search by a part of the name or email, any case; LIKE's wildcards are plain characters.
    let (s, _) = recruiter
        .call(
            Method::POST,
            "/v1/candidates",
            Some(json!({"name": "Alan Turing", "email": "alan_t@bletchley.example"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    for (q, expected) in [
        ("hopper", 1),
        ("BLETCHLEY", 1),
        ("example", 2),
        ("_", 1),
        ("%", 0),
    ] {
        let (_, found) = viewer
            .call(
                Method::GET,
                &format!("/v1/candidates?q={}", urlencode(q)),
                None,
            )
            .await;
        assert_eq!(found["total"], expected, "q={q}: {found}");
    }

    // Changes; a change to a taken email is a conflict and changes nothing.
    let (s, changed) = recruiter
        .call(
            Method::PATCH,
            &path,
            Some(json!({"resume_text": "Rear admiral. COBOL. Nanoseconds."})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(changed["email"], "grace@navy.example");
    let (s, _) = recruiter
        .call(
            Method::PATCH,
            &path,
            Some(json!({"email": "alan_t@bletchley.example"})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    for (body, what) in [
        (json!({"name": ""}), "empty name"),
        (json!({"email": "not an email"}), "email"),
        (json!({"phone": "1"}), "unknown field"),
        (json!({"resume_text": "x".repeat(100_001)}), "long résumé"),
    ] {
        let (s, err) = recruiter.call(Method::PATCH, &path, Some(body)).await;
        assert!(
            s == StatusCode::BAD_REQUEST || s == StatusCode::PAYLOAD_TOO_LARGE,
            "{what}: {s} {err}"
        );
    }
    let (_, unchanged) = viewer.call(Method::GET, &path, None).await;
    assert_eq!(
        unchanged["resume_text"],
        "Rear admiral. COBOL. Nanoseconds."
    );

    let (s, _) = recruiter.call(Method::DELETE, &path, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = viewer.call(Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, left) = viewer.call(Method::GET, "/v1/candidates", None).await;
    assert_eq!(left["total"], 1);
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn candidates_on_the_embedded_store() {
    let server = TestServer::start().await;
    candidates_are_scoped_unique_and_searchable(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn candidates_on_postgres() {
    let (pg, redis) = (Postgres::start(), Redis::start());
    let server = TestServer::start_with(|c| use_services(c, &pg, &redis)).await;
    candidates_are_scoped_unique_and_searchable(&server).await;
}
