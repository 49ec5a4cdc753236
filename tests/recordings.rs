//! Recordings over the real server: an interview set to be recorded (and whose candidate
//! accepted the notice) keeps both sides' audio as Ogg Opus files that decode as Opus, listed
//! and served to its organization only; one not set to be recorded keeps nothing; a candidate's
//! erasure and retention delete them — in the data directory (the embedded default) and in an S3-compatible store
//! (moto's server) with Postgres and Redis.

mod common;

use common::api::{consented, post, staff, Client};
use common::services::{Postgres, Redis, S3};
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use viva::accounts::Role;
use viva::audio::codec::Decoder16k;
use viva::protocol::Event;
use viva::recording::ogg;

/// The bytes of a recorded file.
async fn file(c: &Client, url: &str) -> (StatusCode, Vec<u8>) {
    let r = c
        .http
        .get(format!("{}{url}", c.base))
        .bearer_auth(&c.token)
        .send()
        .await
        .unwrap();
    let status = r.status();
    if status == StatusCode::OK {
        assert_eq!(r.headers()["content-type"], "audio/ogg");
    }
    (status, r.bytes().await.unwrap().to_vec())
}

async fn an_interview_is_recorded_for_its_organization_only(server: &TestServer) {
    let admin = staff(server, "ada@acme.example", "Acme", Role::Admin).await;
    let viewer = staff(server, "vi@acme.example", "Acme", Role::Viewer).await;
    let other = staff(server, "bea@bee.example", "Bee", Role::Admin).await;
    let job = post(&admin, "/v1/jobs", json!({"title": "Analyst"})).await;
    let who = post(
        &admin,
        "/v1/candidates",
        json!({"name": "Ada Lovelace", "email": "ada@engine.example"}),
    )
    .await;
    let made = post(
        &admin,
        "/v1/interviews",
        json!({"job_id": job["id"], "candidate_id": who["id"], "record_audio": true}),
    )
    .await;
    assert_eq!(made["settings"]["record_audio"], true, "{made}");
    let (id, token) = consented(&admin, &made).await;
    let unrecorded = post(
        &admin,
        "/v1/interviews",
        json!({"job_id": job["id"], "candidate_id": who["id"]}),
    )
    .await;
    let (quiet_id, quiet_token) = consented(&admin, &unrecorded).await;

    // A spoken exchange, then the candidate ends it: the files are kept before the close.
    let mut c = Candidate::join(server, id, &token, None).await;
    hear_question(&mut c).await;
    c.say(speech("I model the numbers before I trust them.").await)
        .await;
    c.final_transcript().await;
    hear_question(&mut c).await;
    c.send_text(json!({"type": "control", "action": "end"}))
        .await;
    c.until("ended", |e| matches!(e, Event::Ended { .. })).await;
    c.until_closed().await;

    let list = format!("/v1/interviews/{id}/recordings");
    let (s, parts) = viewer.call(Method::GET, &list, None).await;
    assert_eq!(s, StatusCode::OK, "{parts}");
    let items = parts["items"].as_array().unwrap();
    let sides: Vec<&str> = items.iter().map(|p| p["side"].as_str().unwrap()).collect();
    assert_eq!(sides.len(), 2, "{parts}");
    assert!(sides.contains(&"candidate") && sides.contains(&"interviewer"));
    for p in items {
        let (s, bytes) = file(&viewer, p["url"].as_str().unwrap()).await;
        assert_eq!(s, StatusCode::OK);
        let contents = ogg::read(&bytes).unwrap();
        // Real Opus: every packet decodes.
        let mut decoder = Decoder16k::new().unwrap();
        for packet in &contents.packets {
            decoder.decode(packet).expect("an Opus packet");
        }
        // Both sides span the exchange: the question, the answer (a few seconds), the next.
        assert!(
            contents.duration_ms > 3_000,
            "{p}: {} ms",
            contents.duration_ms
        );
    }

    // Another organization finds none of it; a made-up file name is not found either.
    let url = items[0]["url"].as_str().unwrap();
    assert_eq!(
        other.call(Method::GET, &list, None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(file(&other, url).await.0, StatusCode::NOT_FOUND);
    for bad in ["../../etc/passwd", "candidate-x.ogg", "notes.txt"] {
        let path = format!("/v1/interviews/{id}/recordings/{bad}");
        assert_eq!(file(&viewer, &path).await.0, StatusCode::NOT_FOUND, "{bad}");
    }

    // Not set to be recorded: nothing kept.
    let mut q = Candidate::join(server, quiet_id, &quiet_token, None).await;
    hear_question(&mut q).await;
    q.send_text(json!({"type": "control", "action": "end"}))
        .await;
    q.until_closed().await;
    let (_, none) = viewer
        .call(
            Method::GET,
            &format!("/v1/interviews/{quiet_id}/recordings"),
            None,
        )
        .await;
    assert_eq!(none["items"], json!([]));

    // A candidate's erasure takes their interviews' recordings with it.
    let storage = viva::server::open_storage(&server.config).await.unwrap();
    let kept = viva::server::open_recordings(&server.config, storage.store.clone());
    let grace = post(
        &admin,
        "/v1/candidates",
        json!({"name": "Grace Hopper", "email": "grace@navy.example"}),
    )
    .await;
    let theirs = post(
        &admin,
        "/v1/interviews",
        json!({"job_id": job["id"], "candidate_id": grace["id"], "record_audio": true}),
    )
    .await;
    let (erased, erased_token) = consented(&admin, &theirs).await;
    let mut g = Candidate::join(server, erased, &erased_token, None).await;
    hear_question(&mut g).await;
    g.send_text(json!({"type": "control", "action": "end"}))
        .await;
    g.until_closed().await;
    let prefix = format!("{erased}/");
    assert_eq!(kept.store.list(&prefix).await.unwrap().len(), 2);
    let (s, _) = admin
        .call(
            Method::DELETE,
            &format!("/v1/candidates/{}", grace["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(kept.store.list(&prefix).await.unwrap().is_empty());

    // Past the organization's retention, the recordings go with the transcript.
    let retention = viva::retention::Retention {
        orgs: storage.orgs.clone(),
        interviews: storage.interviews.clone(),
        audit: storage.audit.clone(),
        recordings: Some(kept.store.clone()),
    };
    let later = chrono::Utc::now() + chrono::Duration::days(400);
    assert!(retention.sweep(later).await.unwrap() >= 2);
    let (_, gone) = viewer.call(Method::GET, &list, None).await;
    assert_eq!(gone["items"], json!([]));
    assert_eq!(file(&viewer, url).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recordings_in_the_data_directory() {
    let server = TestServer::start().await;
    an_interview_is_recorded_for_its_organization_only(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recordings_in_an_s3_compatible_store() {
    let (pg, redis, s3) = (Postgres::start(), Redis::start(), S3::start());
    let server = TestServer::start_with(|c| {
        use_services(c, &pg, &redis);
        c.s3_endpoint = Some(s3.endpoint());
        c.s3_access_key_id = "testing".into();
        c.s3_secret_access_key = Some(viva::config::Secret::new("testing"));
    })
    .await;
    an_interview_is_recorded_for_its_organization_only(&server).await;
    // The files were in the bucket (and are gone after the retention sweep): the store is S3.
    let listing = reqwest::get(format!("{}/viva-recordings?list-type=2", s3.endpoint()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        listing.contains("<Name>viva-recordings</Name>"),
        "{listing}"
    );
    assert!(!listing.contains(".ogg"), "{listing}");
    assert!(
        !server.config.data_dir.join("recordings").exists(),
        "nothing went to the data directory"
    );
}
