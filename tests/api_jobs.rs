//! `/v1/jobs` over the real server: roles, organization scoping (another organization's job is
//! a 404 for every verb), validation, pagination — on SQLite and on Postgres.

mod common;

use common::api::{code, staff};
use common::services::{Postgres, Redis};
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use viva::accounts::Role;

async fn jobs_are_scoped_checked_and_paged(server: &TestServer) {
    let admin = staff(server, "ada@acme.example", "Acme", Role::Admin).await;
    let recruiter = staff(server, "rex@acme.example", "Acme", Role::Recruiter).await;
    let viewer = staff(server, "vi@acme.example", "Acme", Role::Viewer).await;
    let other = staff(server, "bea@bee.example", "Bee", Role::Admin).await;

    let (s, job) = recruiter
        .call(
            Method::POST,
            "/v1/jobs",
            Some(json!({
                "title": "  Data Engineer ",
                "description": "Pipelines and warehouses.",
                "skills": ["SQL", "sql", "Rust"],
                "seniority": "senior",
                "language": "pt-BR"
            })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{job}");
    assert_eq!(job["title"], "Data Engineer");
    assert_eq!(job["skills"], json!(["SQL", "Rust"]));
    assert_eq!(job["status"], "open");
    assert_eq!(job["seniority"], "senior");
    let id = job["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/jobs/{id}");

    // Everyone in the organization reads it; a viewer changes nothing.
    for who in [&admin, &recruiter, &viewer] {
        let (s, got) = who.call(Method::GET, &path, None).await;
        assert_eq!((s, &got), (StatusCode::OK, &job));
    }
    for (method, body) in [
        (Method::POST, Some(json!({"title": "Another"}))),
        (Method::PATCH, Some(json!({"title": "Renamed"}))),
        (Method::DELETE, None),
    ] {
        let target = if method == Method::POST {
            "/v1/jobs"
        } else {
            &path
        };
        let (s, err) = viewer.call(method.clone(), target, body).await;
        assert_eq!(
            (s, code(&err)),
            (StatusCode::FORBIDDEN, "AUTHORIZATION_ERROR"),
            "{method}"
        );
    }

    // Another organization: not found, whatever the verb; its list is its own.
    for (method, body) in [
        (Method::GET, None),
        (Method::PATCH, Some(json!({"title": "Mine now"}))),
        (Method::DELETE, None),
    ] {
        let (s, err) = other.call(method.clone(), &path, body).await;
        assert_eq!(
            (s, code(&err)),
            (StatusCode::NOT_FOUND, "NOT_FOUND"),
            "{method}"
        );
    }
    let (_, theirs) = other.call(Method::GET, "/v1/jobs", None).await;
    assert_eq!(theirs["total"], 0);
    let (s, _) = other.call(Method::GET, "/v1/jobs/not-a-uuid", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Partial updates; null clears the seniority.
    let (s, changed) = recruiter
        .call(
            Method::PATCH,
            &path,
            Some(json!({"status": "closed", "seniority": null})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{changed}");
    assert_eq!(changed["status"], "closed");
    assert_eq!(changed["seniority"], Value::Null);
    assert_eq!(changed["title"], "Data Engineer", "untouched");

    // Refused in the envelope, nothing changed.
    for (body, what) in [
        (json!({"title": " "}), "title"),
        (json!({"title": "x", "salary": 1}), "unknown field"),
        (json!({"title": "x", "status": "paused"}), "status"),
        (json!({"title": "x", "language": "english"}), "language"),
        (json!({"title": "x", "skills": "SQL"}), "skills"),
    ] {
        let (s, err) = recruiter.call(Method::POST, "/v1/jobs", Some(body)).await;
        assert_eq!(
            (s, code(&err)),
            (StatusCode::BAD_REQUEST, "VALIDATION_ERROR"),
            "{what}: {err}"
        );
    }
    let (s, err) = viewer
        .call(Method::GET, "/v1/jobs?status=paused", None)
        .await;
    assert_eq!(
        (s, code(&err)),
        (StatusCode::BAD_REQUEST, "VALIDATION_ERROR")
    );

    // Pages, newest first; a filter.
    for i in 0..24 {
        let (s, _) = recruiter
            .call(
                Method::POST,
                "/v1/jobs",
                Some(json!({"title": format!("Role {i}")})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let (_, page) = viewer
        .call(Method::GET, "/v1/jobs?page=2&per_page=10", None)
        .await;
    assert_eq!(
        (page["total"].clone(), page["pages"].clone()),
        (json!(25), json!(3))
    );
    assert_eq!(page["items"].as_array().unwrap().len(), 10);
    assert_eq!(page["items"][0]["title"], "Role 13");
    let (_, closed) = viewer
        .call(Method::GET, "/v1/jobs?status=closed", None)
        .await;
    assert_eq!(closed["total"], 1);
    assert_eq!(closed["items"][0]["id"], id.as_str());
    let (_, huge) = viewer
        .call(Method::GET, "/v1/jobs?per_page=1000", None)
        .await;
    assert_eq!(huge["per_page"], 100);

    // Deleted: gone for everyone.
    let (s, _) = recruiter.call(Method::DELETE, &path, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = admin.call(Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = recruiter.call(Method::DELETE, &path, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_on_the_embedded_store() {
    let server = TestServer::start().await;
    jobs_are_scoped_checked_and_paged(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_on_postgres() {
    let (pg, redis) = (Postgres::start(), Redis::start());
    let server = TestServer::start_with(|c| use_services(c, &pg, &redis)).await;
    jobs_are_scoped_checked_and_paged(&server).await;
}
