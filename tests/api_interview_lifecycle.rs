//! An interview's life as a recruiter steers it, over the real server (SQLite, and Postgres
//! with Redis): settings on creation, the candidate's notice and consent (close 4012 until
//! then), a re-issued link (the old one stops working), a staff monitor closed when its session
//! signs out (4001), cancelling (a live interview ends politely; one not started cannot be
//! joined), and the audit log that records it — each refused to another organization (404).

mod common;

use common::api::{code, post, staff, with_token, Client};
use common::services::{Postgres, Redis};
use common::*;
use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;
use viva::accounts::Role;
use viva::protocol::Event;

fn link(made: &Value) -> (Uuid, String) {
    let id: Uuid = made["id"].as_str().unwrap().parse().unwrap();
    let token = made["invite_url"]
        .as_str()
        .unwrap()
        .split_once("#token=")
        .map(|(_, t)| t.to_owned())
        .expect("the token in the fragment");
    (id, token)
}

async fn status_of(c: &Client, method: Method, path: &str, body: Option<Value>) -> StatusCode {
    c.call(method, path, body).await.0
}

async fn an_interview_is_steered_by_its_recruiters(server: &TestServer) {
    let admin = staff(server, "ada@acme.example", "Acme", Role::Admin).await;
    let viewer = staff(server, "vi@acme.example", "Acme", Role::Viewer).await;
    let other = staff(server, "bea@bee.example", "Bee", Role::Admin).await;
    let job = post(
        &admin,
        "/v1/jobs",
        json!({"title": "Software Engineer", "description": "Rust services."}),
    )
    .await;
    let grace = post(
        &admin,
        "/v1/candidates",
        json!({"name": "Grace Hopper", "email": "grace@navy.example"}),
    )
    .await;
    let base = json!({"job_id": job["id"], "candidate_id": grace["id"]});
    let with = |extra: Value| {
        let mut b = base.clone();
        b.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        b
    };

    // Settings are checked, field by field.
    for (bad, field) in [
        (json!({"max_questions": 0}), "max_questions"),
        (json!({"max_minutes": 1}), "max_minutes"),
        (json!({"language": "klingon, please"}), "language"),
        (json!({"template": "astrology"}), "template"),
        (json!({"accommodations": ["teleport"]}), "accommodations"),
    ] {
        let (s, err) = admin
            .call(Method::POST, "/v1/interviews", Some(with(bad)))
            .await;
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
    let made = post(
        &admin,
        "/v1/interviews",
        with(json!({"max_questions": 2, "template": "software", "accommodations": ["extra_time"]})),
    )
    .await;
    assert_eq!(made["settings"]["max_questions"], 2);
    assert_eq!(made["settings"]["accommodations"], json!(["extra_time"]));
    let (id, token) = link(&made);
    let me = with_token(&admin, &token);

    // The notice first: without consent the stream refuses to start.
    let (s, notice) = me
        .call(Method::GET, &format!("/v1/interviews/{id}/notice"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{notice}");
    assert_eq!(notice["version"], 0);
    assert_eq!(
        (
            notice["consent_required"].clone(),
            notice["consented"].clone()
        ),
        (json!(true), json!(false))
    );
    assert!(notice["text"].as_str().unwrap().contains("AI interviewer"));
    expect(connect(server, id, &token).await, 4012, "consent required").await;
    // The same on the OpenAI Realtime endpoint, in OpenAI's words (issue #18).
    expect_realtime_refusal(
        realtime_bearer(server.addr, &token).await,
        "consent_required",
        4012,
    )
    .await;
    // A candidate token opens nothing of the staff API; a staff token no candidate endpoint.
    assert_eq!(
        status_of(&me, Method::GET, &format!("/v1/interviews/{id}"), None).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status_of(
            &admin,
            Method::GET,
            &format!("/v1/interviews/{id}/notice"),
            None
        )
        .await,
        StatusCode::UNAUTHORIZED
    );

    // The organization writes its own notice: version 1. Consent to an older one is refused.
    let (s, v1) = admin
        .call(
            Method::PUT,
            "/v1/org/notice",
            Some(json!({"text": "Acme's notice: an AI interviews you; a person decides."})),
        )
        .await;
    assert_eq!(
        (s, v1["version"].clone()),
        (StatusCode::OK, json!(1)),
        "{v1}"
    );
    assert_eq!(
        status_of(
            &viewer,
            Method::PUT,
            "/v1/org/notice",
            Some(json!({"text": "x"}))
        )
        .await,
        StatusCode::FORBIDDEN
    );
    let (_, theirs) = other.call(Method::GET, "/v1/org/notice", None).await;
    assert_eq!(theirs["version"], 0, "another organization keeps its own");
    let consent = |v: u32| json!({ "notice_version": v });
    let (s, err) = me
        .call(
            Method::POST,
            &format!("/v1/interviews/{id}/consent"),
            Some(consent(0)),
        )
        .await;
    assert_eq!((s, code(&err)), (StatusCode::CONFLICT, "CONFLICT"), "{err}");
    let (_, notice) = me
        .call(Method::GET, &format!("/v1/interviews/{id}/notice"), None)
        .await;
    assert_eq!(notice["version"], 1);
    assert!(notice["text"]
        .as_str()
        .unwrap()
        .starts_with("Acme's notice"));
    let (s, _) = me
        .call(
            Method::POST,
            &format!("/v1/interviews/{id}/consent"),
            Some(consent(1)),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, view) = viewer
        .call(Method::GET, &format!("/v1/interviews/{id}"), None)
        .await;
    assert!(view["consented_at"].is_string(), "{view}");

    // A re-issued link: the old one stops working, the new one opens the interview.
    assert_eq!(
        status_of(
            &other,
            Method::POST,
            &format!("/v1/interviews/{id}/invite"),
            None
        )
        .await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status_of(
            &viewer,
            Method::POST,
            &format!("/v1/interviews/{id}/invite"),
            None
        )
        .await,
        StatusCode::FORBIDDEN
    );
    let again = post(&admin, &format!("/v1/interviews/{id}/invite"), json!({})).await;
    let (_, new_token) = link(&again);
    assert_ne!(new_token, token);
    assert_eq!(
        status_of(
            &me,
            Method::POST,
            &format!("/v1/interviews/{id}/ticket"),
            None
        )
        .await,
        StatusCode::UNAUTHORIZED
    );
    expect(connect(server, id, &token).await, 4001, "link replaced").await;
    expect_realtime_refusal(
        realtime_bearer(server.addr, &token).await,
        "invalid_api_key",
        4001,
    )
    .await;
    let mut c = Candidate::join(server, id, &new_token, None).await;
    hear_question(&mut c).await;

    // A staff monitor: the viewer's own sign-in, for as long as that session lasts.
    expect(
        connect_url(&server.monitor_url(id), &other.token).await,
        4004,
        "no such interview",
    )
    .await;
    let mut watch = connect_url(&server.monitor_url(id), &viewer.token).await;
    assert!(matches!(watch.next().await, Some(Ok(Message::Text(_)))));
    assert_eq!(
        status_of(&viewer, Method::POST, "/v1/auth/logout", None).await,
        StatusCode::NO_CONTENT
    );
    let (closed, reason) = close_code(&mut watch).await;
    assert_eq!((closed, reason.as_str()), (4001, "signed out"));

    // Cancelled while live: the candidate hears why, then it ends.
    let cancel = format!("/v1/interviews/{id}/cancel");
    assert_eq!(
        status_of(&other, Method::POST, &cancel, None).await,
        StatusCode::NOT_FOUND
    );
    let (s, view) = admin
        .call(
            Method::POST,
            &cancel,
            Some(json!({"reason": "The position was filled"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{view}");
    assert_eq!(view["status"], "cancelled");
    assert_eq!(view["cancel_reason"], "The position was filled");
    c.until(
        "ended",
        |e| matches!(e, Event::Ended { reason } if reason == "cancelled"),
    )
    .await;
    let said: String = c
        .events()
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    assert!(
        said.contains("The position was filled"),
        "the reason is said"
    );
    assert_eq!(c.until_closed().await.map(|c| c.0), Some(4010));
    let (s, err) = admin.call(Method::POST, &cancel, None).await;
    assert_eq!((s, code(&err)), (StatusCode::CONFLICT, "CONFLICT"));
    let stored = server
        .store()
        .await
        .get_interview(id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, viva::store::InterviewStatus::Cancelled);

    // Cancelled before it started: no body needed, and its link opens nothing.
    let later = post(&admin, "/v1/interviews", base.clone()).await;
    let (later_id, later_token) = link(&later);
    let (s, view) = admin
        .call(
            Method::POST,
            &format!("/v1/interviews/{later_id}/cancel"),
            None,
        )
        .await;
    assert_eq!(
        (s, view["status"].clone()),
        (StatusCode::OK, json!("cancelled"))
    );
    expect(connect(server, later_id, &later_token).await, 4010, "ended").await;
    let (_, page) = admin
        .call(Method::GET, "/v1/interviews?status=cancelled", None)
        .await;
    assert_eq!(page["total"], 2, "{page}");

    // A failed sign-in, then the audit log: the admin's organization only, admins only.
    let (s, _) = sign_in_status(server, "ada@acme.example", "not the password").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, log) = admin
        .call(Method::GET, "/v1/audit?per_page=100", None)
        .await;
    assert_eq!(s, StatusCode::OK, "{log}");
    let actions: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "login",
        "login_failed",
        "logout",
        "org.notice_updated",
        "interview.link_reissued",
        "interview.cancelled",
    ] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
    let newest = &log["items"][0];
    assert_eq!(newest["action"], "login_failed", "newest first: {log}");
    assert!(newest["ip"].as_str().unwrap().starts_with("127."));
    let (_, cancels) = admin
        .call(Method::GET, "/v1/audit?action=interview.cancelled", None)
        .await;
    assert_eq!(cancels["total"], 2);
    assert_eq!(
        cancels["items"][0]["target_id"],
        json!(later_id.to_string())
    );
    let (_, theirs) = other
        .call(Method::GET, "/v1/audit?per_page=100", None)
        .await;
    assert!(
        theirs["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["action"] == "login"),
        "another organization sees only its own: {theirs}"
    );
    let recruiter = staff(server, "rex@acme.example", "Acme", Role::Recruiter).await;
    assert_eq!(
        status_of(&recruiter, Method::GET, "/v1/audit", None).await,
        StatusCode::FORBIDDEN
    );
}

async fn sign_in_status(server: &TestServer, email: &str, password: &str) -> (StatusCode, Value) {
    let r = reqwest::Client::new()
        .post(format!("http://{}/v1/auth/login", server.addr))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steering_on_the_embedded_store() {
    let server = TestServer::start().await;
    an_interview_is_steered_by_its_recruiters(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steering_on_postgres() {
    let (pg, redis) = (Postgres::start(), Redis::start());
    let server = TestServer::start_with(|c| use_services(c, &pg, &redis)).await;
    an_interview_is_steered_by_its_recruiters(&server).await;
}

/// `max_minutes`: an interview whose time is up closes politely at its next turn. It began six
/// minutes ago on a five-minute budget (its start moved back in the store, as a candidate coming
/// back after a long absence would find it): the interviewer's next turn is the closing, and the
/// interview completes with `ended.reason = "budget"`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interview_past_its_minutes_closes_politely_at_its_next_turn() {
    let server = TestServer::start().await;
    let admin = staff(&server, "ada@acme.example", "Acme", Role::Admin).await;
    let made = common::api::scheduled(
        &admin,
        json!({"title": "Data Engineer"}),
        json!({"max_minutes": 5}),
    )
    .await;
    let (id, token) = common::api::consented(&admin, &made).await;
    let db = sqlx::SqlitePool::connect(&format!(
        "sqlite:{}",
        server.config.data_dir.join("viva.db").display()
    ))
    .await
    .unwrap();
    let six_minutes_ago = (chrono::Utc::now() - chrono::Duration::minutes(6))
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    sqlx::query("UPDATE interviews SET started_at = ? WHERE id = ?")
        .bind(six_minutes_ago)
        .bind(id.to_string())
        .execute(&db)
        .await
        .unwrap();

    let mut c = Candidate::join(&server, id, &token, None).await;
    let ended = c.until("ended", |e| matches!(e, Event::Ended { .. })).await;
    assert!(
        matches!(&ended.event, Event::Ended { reason } if reason == "budget"),
        "{ended:?}"
    );
    let said = final_agent_texts(&c.events());
    assert_eq!(said.len(), 1, "only the closing was said: {said:?}");
    assert!(
        said[0].1.starts_with("We have reached the time available"),
        "{said:?}"
    );
    // The status is written before the candidate is closed (not before `ended` is sent).
    c.until_closed().await;
    let rec = server
        .store()
        .await
        .get_interview(id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rec.status, viva::store::InterviewStatus::Completed);
}
