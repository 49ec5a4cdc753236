//! API keys (service accounts) and organization settings over the real server, on SQLite and
//! on Postgres with Redis: a key is shown once, works as a bearer token with its role, keeps
//! its organization's scope, and stops at once when revoked (a socket opened with it closes,
//! 4001); the organization's settings are read by its staff, changed by its admins, and fill
//! what a new interview leaves out.

mod common;

use common::api::{code, consented, ok, staff, with_token};
use common::services::{Postgres, Redis};
use common::*;
use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use viva::accounts::Role;

async fn keys_and_settings(server: &TestServer) {
    let admin = staff(server, "ada@acme.example", "Acme", Role::Admin).await;
    let viewer = staff(server, "vi@acme.example", "Acme", Role::Viewer).await;
    let recruiter = staff(server, "rex@acme.example", "Acme", Role::Recruiter).await;
    let other = staff(server, "bea@bee.example", "Bee", Role::Admin).await;

    // Only admins make keys; the key is shown once.
    for c in [&viewer, &recruiter] {
        let (s, err) = c
            .call(
                Method::POST,
                "/v1/api-keys",
                Some(json!({"name": "ATS", "role": "viewer"})),
            )
            .await;
        assert_eq!(
            (s, code(&err)),
            (StatusCode::FORBIDDEN, "AUTHORIZATION_ERROR")
        );
    }
    let (s, err) = admin
        .call(
            Method::POST,
            "/v1/api-keys",
            Some(json!({"name": " ", "role": "viewer"})),
        )
        .await;
    assert_eq!(
        (s, code(&err)),
        (StatusCode::BAD_REQUEST, "VALIDATION_ERROR")
    );
    let made = ok(
        &admin,
        Method::POST,
        "/v1/api-keys",
        Some(json!({"name": "Greenhouse sync", "role": "recruiter"})),
        StatusCode::CREATED,
    )
    .await;
    let secret = made["key"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("vk_") && secret.starts_with(made["prefix"].as_str().unwrap()));
    let listed = ok(&admin, Method::GET, "/v1/api-keys", None, StatusCode::OK).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert!(
        !listed.to_string().contains(&secret),
        "a list never shows the key"
    );
    let ats = with_token(&admin, &secret);

    // The key works with its role, in its organization only.
    let job = ok(
        &ats,
        Method::POST,
        "/v1/jobs",
        Some(json!({"title": "Platform Engineer"})),
        StatusCode::CREATED,
    )
    .await;
    let (s, _) = ats
        .call(
            Method::POST,
            "/v1/users",
            Some(json!({"email": "x@acme.example", "role": "viewer"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "a recruiter key manages no users");
    let me = ok(&ats, Method::GET, "/v1/auth/me", None, StatusCode::OK).await;
    assert_eq!(
        (me["api_key"]["name"].clone(), me["role"].clone()),
        (json!("Greenhouse sync"), json!("recruiter"))
    );
    let (s, _) = ats.call(Method::POST, "/v1/auth/logout", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (_, theirs) = other.call(Method::GET, "/v1/jobs", None).await;
    assert_eq!(theirs["total"], 0);
    let (s, _) = other
        .call(
            Method::GET,
            &format!("/v1/jobs/{}", job["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = other
        .call(
            Method::DELETE,
            &format!("/v1/api-keys/{}", made["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "another organization's key is not found"
    );

    // The organization's settings: read by its staff, changed by its admins.
    let org = ok(&viewer, Method::GET, "/v1/org", None, StatusCode::OK).await;
    assert_eq!(org["name"], "Acme");
    assert_eq!(
        (
            org["retention_days"].clone(),
            org["integrity_signals"].clone()
        ),
        (json!(365), json!(false))
    );
    assert_eq!(org["notice"]["version"], 0);
    let (s, _) = recruiter
        .call(
            Method::PATCH,
            "/v1/org",
            Some(json!({"retention_days": 30})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    for (bad, field) in [
        (json!({"retention_days": 0}), "retention_days"),
        (
            json!({"interview_defaults": {"max_questions": 99}}),
            "interview_defaults.max_questions",
        ),
        (json!({"colour": "blue"}), "colour"),
        (json!({"name": ""}), "name"),
    ] {
        let (s, err) = admin.call(Method::PATCH, "/v1/org", Some(bad)).await;
        assert_eq!(
            (s, code(&err)),
            (StatusCode::BAD_REQUEST, "VALIDATION_ERROR"),
            "{err}"
        );
        assert!(
            err["error"]["message"].as_str().unwrap().contains(field),
            "{err}"
        );
    }
    let (s, err) = admin
        .call(Method::PATCH, "/v1/org", Some(json!({"name": "bee"})))
        .await;
    assert_eq!(
        (s, code(&err)),
        (StatusCode::CONFLICT, "CONFLICT"),
        "names are unique regardless of case"
    );
    let org = ok(
        &admin,
        Method::PATCH,
        "/v1/org",
        Some(json!({
            "name": "Acme Hiring",
            "retention_days": 30,
            "integrity_signals": true,
            "interview_defaults": {"max_questions": 4, "accommodations": ["extra_time"]},
        })),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (org["name"].clone(), org["retention_days"].clone()),
        (json!("Acme Hiring"), json!(30))
    );
    assert!(org["notice"]["text"]
        .as_str()
        .unwrap()
        .contains("kept for 30 days"));
    let (_, bee) = other.call(Method::GET, "/v1/org", None).await;
    assert_eq!(
        bee["retention_days"], 365,
        "another organization's settings are its own"
    );

    // New interviews start from the defaults; their own fields win.
    let grace = ok(
        &ats,
        Method::POST,
        "/v1/candidates",
        Some(json!({"name": "Grace Hopper", "email": "grace@navy.example"})),
        StatusCode::CREATED,
    )
    .await;
    let base = json!({"job_id": job["id"], "candidate_id": grace["id"]});
    let plain = ok(
        &ats,
        Method::POST,
        "/v1/interviews",
        Some(base.clone()),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(plain["settings"]["max_questions"], 4);
    assert_eq!(plain["settings"]["accommodations"], json!(["extra_time"]));
    let mut own = base.clone();
    own["max_questions"] = json!(2);
    let own = ok(
        &ats,
        Method::POST,
        "/v1/interviews",
        Some(own),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(own["settings"]["max_questions"], 2);

    // A monitor opened with the key, closed when the key is revoked.
    let (id, token) = consented(&admin, &plain).await;
    let mut c = Candidate::join(server, id, &token, None).await;
    hear_question(&mut c).await;
    let mut watch = connect_url(&server.monitor_url(id), &secret).await;
    assert!(matches!(watch.next().await, Some(Ok(Message::Text(_)))));
    ok(
        &admin,
        Method::DELETE,
        &format!("/v1/api-keys/{}", made["id"].as_str().unwrap()),
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    let (closed, reason) = close_code(&mut watch).await;
    assert_eq!((closed, reason.as_str()), (4001, "API key revoked"));
    let (s, err) = ats.call(Method::GET, "/v1/jobs", None).await;
    assert_eq!(
        (s, code(&err)),
        (StatusCode::UNAUTHORIZED, "AUTHENTICATION_ERROR")
    );
    let listed = ok(&admin, Method::GET, "/v1/api-keys", None, StatusCode::OK).await;
    assert_eq!(listed["items"], json!([]));

    // The audit log names the key behind what it did.
    let log = ok(
        &admin,
        Method::GET,
        "/v1/audit?per_page=100",
        None,
        StatusCode::OK,
    )
    .await;
    let items = log["items"].as_array().unwrap();
    let find = |a: &str| items.iter().find(|e| e["action"] == a).cloned();
    assert!(find("api_key.created").is_some() && find("api_key.revoked").is_some());
    let updated = find("org.updated").expect("org.updated");
    assert_eq!(updated["details"]["retention_days"], 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_and_settings_on_the_embedded_store() {
    let server = TestServer::start().await;
    keys_and_settings(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_and_settings_on_postgres() {
    let (pg, redis) = (Postgres::start(), Redis::start());
    let server = TestServer::start_with(|c| use_services(c, &pg, &redis)).await;
    keys_and_settings(&server).await;
}
