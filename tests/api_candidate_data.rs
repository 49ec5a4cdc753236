//! What is held about a candidate, over the real server on SQLite and on Postgres with Redis:
//! exported as one document, deleted with their interviews' transcripts and events, and purged
//! by the retention task once older than the organization keeps data — each recorded in the
//! audit log, none reachable from another organization.

mod common;

use common::api::{code, consented, ok, staff, Client};
use common::services::{Postgres, Redis};
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;
use viva::accounts::Role;
use viva::store::HotState;

/// Makes an interview for `candidate`, has the candidate accept the notice, answer once, and
/// the recruiter cancel it (so it has ended, with a transcript).
async fn interviewed(
    server: &TestServer,
    admin: &Client,
    job: &Value,
    candidate: &Value,
    answer: &str,
) -> Uuid {
    let made = ok(
        admin,
        Method::POST,
        "/v1/interviews",
        Some(json!({"job_id": job["id"], "candidate_id": candidate["id"]})),
        StatusCode::CREATED,
    )
    .await;
    let (id, token) = consented(admin, &made).await;
    let mut c = Candidate::join(server, id, &token, None).await;
    hear_question(&mut c).await;
    c.answer(answer).await;
    c.final_transcript().await;
    ok(
        admin,
        Method::POST,
        &format!("/v1/interviews/{id}/cancel"),
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(c.until_closed().await.map(|c| c.0), Some(4010));
    id
}

async fn candidate_data(server: &TestServer) {
    let admin = staff(server, "ada@acme.example", "Acme", Role::Admin).await;
    let viewer = staff(server, "vi@acme.example", "Acme", Role::Viewer).await;
    let other = staff(server, "bea@bee.example", "Bee", Role::Admin).await;
    let job = ok(
        &admin,
        Method::POST,
        "/v1/jobs",
        Some(json!({"title": "SRE"})),
        StatusCode::CREATED,
    )
    .await;
    let grace = ok(
        &admin,
        Method::POST,
        "/v1/candidates",
        Some(
            json!({"name": "Grace Hopper", "email": "grace@navy.example", "resume_text": "COBOL."}),
        ),
        StatusCode::CREATED,
    )
    .await;
    let alan = ok(
        &admin,
        Method::POST,
        "/v1/candidates",
        Some(json!({"name": "Alan Turing", "email": "alan@bletchley.example"})),
        StatusCode::CREATED,
    )
    .await;
    let graces = interviewed(server, &admin, &job, &grace, "I keep pagers quiet.").await;
    let alans = interviewed(server, &admin, &job, &alan, "Machines can think.").await;

    // Export: everything about Grace in one document, to her organization's recruiters.
    let path = format!("/v1/candidates/{}/export", grace["id"].as_str().unwrap());
    for (c, want) in [
        (&other, StatusCode::NOT_FOUND),
        (&viewer, StatusCode::FORBIDDEN),
    ] {
        let (s, err) = c.call(Method::GET, &path, None).await;
        assert_eq!(s, want, "{err}");
    }
    let doc = ok(&admin, Method::GET, &path, None, StatusCode::OK).await;
    assert_eq!(doc["candidate"]["email"], "grace@navy.example");
    assert_eq!(doc["interviews"].as_array().unwrap().len(), 1);
    let said: Vec<&str> = doc["interviews"][0]["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["speaker"] == "candidate")
        .map(|t| t["text"].as_str().unwrap())
        .collect();
    assert_eq!(said, ["I keep pagers quiet."]);
    assert!(!doc.to_string().contains("Machines can think"), "only hers");

    // With Redis, his interview's checkpoint and live event stream are there until he is deleted.
    let redis = match &server.config.redis_url {
        Some(url) => {
            let hot = viva::store::redis::RedisHot::connect(url.expose())
                .await
                .unwrap();
            assert!(hot.load_checkpoint(alans).await.unwrap().is_some());
            assert!(!hot
                .read_events(alans, 0, std::time::Duration::ZERO)
                .await
                .unwrap()
                .is_empty());
            Some(hot)
        }
        None => None,
    };

    // Deleting Alan deletes his interview and its transcript and events.
    let alan_path = format!("/v1/candidates/{}", alan["id"].as_str().unwrap());
    let (s, _) = other.call(Method::DELETE, &alan_path, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    ok(
        &admin,
        Method::DELETE,
        &alan_path,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    let (s, err) = admin
        .call(Method::GET, &format!("/v1/interviews/{alans}"), None)
        .await;
    assert_eq!((s, code(&err)), (StatusCode::NOT_FOUND, "NOT_FOUND"));
    let store = server.store().await;
    assert!(store.get_interview(alans).await.unwrap().is_none());
    assert!(store.turns(alans).await.unwrap().is_empty());
    assert!(store.events_after(alans, 0, 100).await.unwrap().is_empty());
    if let Some(hot) = &redis {
        assert!(hot.load_checkpoint(alans).await.unwrap().is_none());
        let left = hot
            .read_events(alans, 0, std::time::Duration::ZERO)
            .await
            .unwrap();
        assert!(left.is_empty(), "{left:?}");
    }
    assert!(
        !store.turns(graces).await.unwrap().is_empty(),
        "nobody else's"
    );

    // Retention: at 30 days, a sweep 31 days on purges Grace's interview once.
    ok(
        &admin,
        Method::PATCH,
        "/v1/org",
        Some(json!({"retention_days": 30})),
        StatusCode::OK,
    )
    .await;
    let storage = viva::server::open_storage(&server.config).await.unwrap();
    let retention = viva::retention::Retention {
        orgs: storage.orgs.clone(),
        interviews: storage.interviews.clone(),
        audit: storage.audit.clone(),
        recordings: None,
    };
    let now = chrono::Utc::now();
    assert_eq!(retention.sweep(now).await.unwrap(), 0, "nothing is old yet");
    assert_eq!(
        retention
            .sweep(now + chrono::Duration::days(31))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        retention
            .sweep(now + chrono::Duration::days(31))
            .await
            .unwrap(),
        0,
        "once"
    );
    assert!(store.turns(graces).await.unwrap().is_empty());
    let view = ok(
        &admin,
        Method::GET,
        &format!("/v1/interviews/{graces}"),
        None,
        StatusCode::OK,
    )
    .await;
    assert!(view["purged_at"].is_string(), "{view}");
    assert_eq!(
        store.get_interview(graces).await.unwrap().unwrap().resume,
        None
    );

    // The audit log has each of these; another organization's has none of them.
    let log = ok(
        &admin,
        Method::GET,
        "/v1/audit?per_page=100",
        None,
        StatusCode::OK,
    )
    .await;
    let entry = |a: &str| {
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["action"] == a)
            .cloned()
            .unwrap_or_else(|| panic!("{a} missing: {log}"))
    };
    assert_eq!(
        entry("candidate.deleted")["details"]["interviews_deleted"],
        1
    );
    assert_eq!(entry("candidate.exported")["target_id"], grace["id"]);
    let purged = entry("retention.purged");
    assert_eq!(
        (
            purged["actor_id"].clone(),
            purged["details"]["interviews"].clone()
        ),
        (Value::Null, json!(1))
    );
    let (_, theirs) = other
        .call(Method::GET, "/v1/audit?action=retention.purged", None)
        .await;
    assert_eq!(theirs["total"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn candidate_data_on_the_embedded_store() {
    let server = TestServer::start().await;
    candidate_data(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn candidate_data_on_postgres() {
    let (pg, redis) = (Postgres::start(), Redis::start());
    let server = TestServer::start_with(|c| use_services(c, &pg, &redis)).await;
    candidate_data(&server).await;
}
