//! `/v1/interviews` over the real server: a recruiter makes an interview for a candidate and a
//! job of their organization, its link opens the candidate's stream, and the organization lists
//! and filters its interviews; other organizations (and the operator's) see none of them — on
//! SQLite and on Postgres.

mod common;

use common::api::{code, post, staff};
use common::services::{Postgres, Redis};
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;
use viva::accounts::Role;

async fn interviews_are_made_opened_and_listed(server: &TestServer) {
    let admin = staff(server, "ada@acme.example", "Acme", Role::Admin).await;
    let viewer = staff(server, "vi@acme.example", "Acme", Role::Viewer).await;
    let other = staff(server, "bea@bee.example", "Bee", Role::Admin).await;
    let job = post(
        &admin,
        "/v1/jobs",
        json!({"title": "Data Engineer", "description": "Pipelines.", "skills": ["SQL"]}),
    )
    .await;
    let grace = post(
        &admin,
        "/v1/candidates",
        json!({"name": "Grace Hopper", "email": "grace@navy.example", "resume_text": "COBOL."}),
    )
    .await;
    let alan = post(
        &admin,
        "/v1/candidates",
        json!({"name": "Alan Turing", "email": "alan@bletchley.example"}),
    )
    .await;
    let theirs = post(&other, "/v1/jobs", json!({"title": "Theirs"})).await;

    let made = post(
        &admin,
        "/v1/interviews",
        json!({"job_id": job["id"], "candidate_id": grace["id"]}),
    )
    .await;
    assert_eq!(made["status"], "scheduled");
    let id: Uuid = made["id"].as_str().unwrap().parse().unwrap();
    let url = made["invite_url"].as_str().unwrap();
    let token = url
        .split_once(&format!("/interview/{id}#token="))
        .map(|(_, t)| t.to_owned())
        .expect("the candidate link, token in the fragment");
    assert!(made["expires_at"].as_str().unwrap() > "2026");
    post(
        &admin,
        "/v1/interviews",
        json!({"job_id": job["id"], "candidate_id": alan["id"]}),
    )
    .await;

    // The link opens the interview once the candidate accepted the notice: the interviewer
    // asks about the job.
    let r = reqwest::Client::new()
        .post(format!("http://{}/v1/interviews/{id}/consent", server.addr))
        .bearer_auth(&token)
        .json(&json!({"notice_version": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let mut c = Candidate::join(server, id, &token, None).await;
    hear_question(&mut c).await;
    let stored = server
        .store()
        .await
        .get_interview(id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.role, "Data Engineer");
    assert!(stored.job_description.unwrap().contains("Skills: SQL."));
    assert_eq!(stored.resume.as_deref(), Some("COBOL."));

    // The transcript: the question asked, then the answer, with offsets from the start.
    c.answer("I build pipelines that fail loudly.").await;
    c.final_transcript().await;
    let (s, tr) = viewer
        .call(
            Method::GET,
            &format!("/v1/interviews/{id}/transcript"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{tr}");
    let turns = tr["turns"].as_array().unwrap();
    assert_eq!(turns[0]["speaker"], "interviewer");
    assert_eq!(turns[0]["kind"], "question");
    let answer = turns
        .iter()
        .find(|t| t["speaker"] == "candidate")
        .expect("the answer is stored before its final transcript goes out");
    assert_eq!(answer["text"], "I build pipelines that fail loudly.");
    assert!(answer["turn"].as_u64().unwrap() > turns[0]["turn"].as_u64().unwrap());
    let (q_end, a_start) = (
        turns[0]["end_ms"].as_i64().unwrap(),
        answer["start_ms"].as_i64().unwrap(),
    );
    assert!(
        turns[0]["start_ms"].as_i64().unwrap() <= q_end && q_end <= a_start,
        "{tr}"
    );
    let (s, _) = other
        .call(
            Method::GET,
            &format!("/v1/interviews/{id}/transcript"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The event log, paged forward, as the candidate received it.
    let received: Vec<u64> = c.events().iter().map(|e| e.seq).collect();
    let mut logged = Vec::new();
    let mut after = 0;
    for _ in 0..100 {
        let (s, page) = viewer
            .call(
                Method::GET,
                &format!("/v1/interviews/{id}/events?after_seq={after}&limit=3"),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{page}");
        let items = page["items"].as_array().unwrap();
        if items.is_empty() {
            break;
        }
        assert!(items.len() <= 3);
        logged.extend(items.iter().map(|e| e["seq"].as_u64().unwrap()));
        after = page["next_after_seq"].as_u64().unwrap();
    }
    // The durable copy is written behind the live path, and the interview goes on meanwhile:
    // where both have events, they are the same, in order.
    let n = logged.len().min(received.len());
    assert!(n > 0);
    assert_eq!(logged[..n], received[..n], "the same events, in order");
    let (s, _) = other
        .call(Method::GET, &format!("/v1/interviews/{id}/events"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Read back, filtered; the operator's interviews are the default organization's.
    server.create_interview().await;
    let (s, one) = viewer
        .call(Method::GET, &format!("/v1/interviews/{id}"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{one}");
    assert_eq!(one["candidate_id"], grace["id"]);
    assert_eq!(one["job_id"], job["id"]);
    assert!(one["usage"]["cost_usd"].is_number());
    let count = |q: String| {
        let viewer = &viewer;
        async move {
            let (s, page) = viewer
                .call(Method::GET, &format!("/v1/interviews{q}"), None)
                .await;
            assert_eq!(s, StatusCode::OK, "{q}: {page}");
            page["total"].as_u64().unwrap()
        }
    };
    assert_eq!(count(String::new()).await, 2);
    assert_eq!(
        count(format!("?candidate_id={}", grace["id"].as_str().unwrap())).await,
        1
    );
    assert_eq!(
        count(format!("?job_id={}", job["id"].as_str().unwrap())).await,
        2
    );
    assert_eq!(count("?created_after=2099-01-01T00:00:00Z".into()).await, 0);
    assert_eq!(
        count("?created_before=2099-01-01T00:00:00Z".into()).await,
        2
    );
    assert_eq!(count("?status=completed".into()).await, 0);
    for bad in ["?status=paused", "?created_after=yesterday", "?job_id=7"] {
        let (s, err) = viewer
            .call(Method::GET, &format!("/v1/interviews{bad}"), None)
            .await;
        assert_eq!(
            (s, code(&err)),
            (StatusCode::BAD_REQUEST, "VALIDATION_ERROR"),
            "{bad}"
        );
    }

    // Another organization sees nothing and cannot use these ids; a viewer makes nothing.
    let (s, _) = other
        .call(Method::GET, &format!("/v1/interviews/{id}"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, none) = other.call(Method::GET, "/v1/interviews", None).await;
    assert_eq!(none["total"], 0);
    let (s, err) = other
        .call(
            Method::POST,
            "/v1/interviews",
            Some(json!({"job_id": theirs["id"], "candidate_id": grace["id"]})),
        )
        .await;
    assert_eq!(
        (s, code(&err)),
        (StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR"),
        "{err}"
    );
    let (s, err) = admin
        .call(
            Method::POST,
            "/v1/interviews",
            Some(json!({"job_id": theirs["id"], "candidate_id": grace["id"]})),
        )
        .await;
    assert_eq!(
        (s, code(&err)),
        (StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR")
    );
    let (s, err) = viewer
        .call(
            Method::POST,
            "/v1/interviews",
            Some(json!({"job_id": job["id"], "candidate_id": grace["id"]})),
        )
        .await;
    assert_eq!(
        (s, code(&err)),
        (StatusCode::FORBIDDEN, "AUTHORIZATION_ERROR")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interviews_on_the_embedded_store() {
    let server = TestServer::start().await;
    interviews_are_made_opened_and_listed(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interviews_on_postgres() {
    let (pg, redis) = (Postgres::start(), Redis::start());
    let server = TestServer::start_with(|c| use_services(c, &pg, &redis)).await;
    interviews_are_made_opened_and_listed(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interview_creation_is_limited_per_account_and_per_address() {
    // One a minute per account; five per client address.
    let server = TestServer::start_with(|c| c.interviews_per_minute = 1).await;
    let admin = staff(&server, "ada@acme.example", "Acme", Role::Admin).await;
    let job = post(&admin, "/v1/jobs", json!({"title": "Data Engineer"})).await;
    let grace = post(
        &admin,
        "/v1/candidates",
        json!({"name": "Grace Hopper", "email": "grace@navy.example"}),
    )
    .await;
    let body = json!({"job_id": job["id"], "candidate_id": grace["id"]});
    post(&admin, "/v1/interviews", body.clone()).await;
    let refused = |(s, v): (StatusCode, Value)| {
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
        assert_eq!(code(&v), "RATE_LIMIT_EXCEEDED");
    };
    refused(
        admin
            .call(Method::POST, "/v1/interviews", Some(body.clone()))
            .await,
    );
    // Other accounts have their own allowance, until the address has made five.
    for n in 1..=4 {
        let r = staff(
            &server,
            &format!("r{n}@acme.example"),
            "Acme",
            Role::Recruiter,
        )
        .await;
        post(&r, "/v1/interviews", body.clone()).await;
    }
    let sixth = staff(&server, "r5@acme.example", "Acme", Role::Recruiter).await;
    refused(
        sixth
            .call(Method::POST, "/v1/interviews", Some(body.clone()))
            .await,
    );
    // Other requests are not limited by it.
    let (s, list) = sixth.call(Method::GET, "/v1/interviews", None).await;
    assert_eq!((s, list["total"].as_u64()), (StatusCode::OK, Some(5)));
}
