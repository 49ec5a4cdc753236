//! Webhooks against a local receiver (a real HTTP server speaking plain JSON), on SQLite and on
//! Postgres with Redis: deliveries are queued with the change they announce, signed with the
//! webhook's secret, retried after a refusal, listed with their outcome, and stop when the
//! webhook is deleted. The delivery task is driven by the test (`Deliverer::pass_at`), so retry
//! times are reached without waiting for them.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode as AxumStatus};
use common::api::{code, consented, ok, staff};
use common::services::{Postgres, Redis};
use common::*;
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::sync::mpsc;
use viva::accounts::Role;
use viva::webhooks::delivery::Deliverer;

/// What the receiver got: its headers and body.
type Received = (HeaderMap, String);

/// A receiver that refuses its first `refusals` requests with 503, then takes them.
async fn receiver(refusals: usize) -> (String, mpsc::UnboundedReceiver<Received>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let seen = Arc::new(AtomicUsize::new(0));
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let (tx, seen) = (tx.clone(), seen.clone());
            async move {
                let n = seen.fetch_add(1, Ordering::SeqCst);
                tx.send((headers, body)).unwrap();
                if n < refusals {
                    AxumStatus::SERVICE_UNAVAILABLE
                } else {
                    AxumStatus::NO_CONTENT
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, rx)
}

/// Checks `Viva-Signature` the way a receiver would; returns the body as JSON.
fn verified(secret: &str, (headers, body): &Received) -> Value {
    let sig = headers["viva-signature"].to_str().unwrap();
    let (t, v1) = sig
        .strip_prefix("t=")
        .and_then(|r| r.split_once(",v1="))
        .expect("t=…,v1=…");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    let want: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(v1, want, "the signature verifies with the webhook's secret");
    let v: Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        headers["viva-webhook-id"].to_str().unwrap(),
        v["id"].as_str().unwrap()
    );
    v
}

async fn webhooks(server: &TestServer) {
    let admin = staff(server, "ada@acme.example", "Acme", Role::Admin).await;
    let recruiter = staff(server, "rex@acme.example", "Acme", Role::Recruiter).await;
    let other = staff(server, "bea@bee.example", "Bee", Role::Admin).await;
    let (url, mut got) = receiver(1).await;
    let storage = viva::server::open_storage(&server.config).await.unwrap();
    let deliverer = Deliverer::new(
        storage.webhooks.clone(),
        viva::server::vault(&server.config).unwrap(),
        true,
    );

    // Only admins; the URL and events are checked.
    let events = json!([
        "interview.started",
        "interview.completed",
        "interview.cancelled"
    ]);
    let (s, _) = recruiter
        .call(
            Method::POST,
            "/v1/webhooks",
            Some(json!({"url": url, "events": events})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    for bad in [
        json!({"url": "ftp://example.com/x", "events": events}),
        json!({"url": "https://user:pw@example.com/x", "events": events}),
        json!({"url": url, "events": ["interview.exploded"]}),
        json!({"url": url, "events": []}),
    ] {
        let (s, err) = admin.call(Method::POST, "/v1/webhooks", Some(bad)).await;
        assert_eq!(
            (s, code(&err)),
            (StatusCode::BAD_REQUEST, "VALIDATION_ERROR"),
            "{err}"
        );
    }
    let hook = ok(
        &admin,
        Method::POST,
        "/v1/webhooks",
        Some(json!({"url": url, "events": events})),
        StatusCode::CREATED,
    )
    .await;
    let secret = hook["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let listed = ok(&admin, Method::GET, "/v1/webhooks", None, StatusCode::OK).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert!(
        !listed.to_string().contains(&secret),
        "the secret is shown once"
    );
    let deliveries = format!("/v1/webhooks/{}/deliveries", hook["id"].as_str().unwrap());
    let (s, _) = other.call(Method::GET, &deliveries, None).await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "another organization's webhook is not found"
    );

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
        Some(json!({"name": "Grace Hopper", "email": "grace@navy.example"})),
        StatusCode::CREATED,
    )
    .await;
    let new_interview = || async {
        ok(
            &admin,
            Method::POST,
            "/v1/interviews",
            Some(json!({"job_id": job["id"], "candidate_id": grace["id"]})),
            StatusCode::CREATED,
        )
        .await
    };

    // A cancel is queued with the change; refused once, it is retried and delivered.
    let first = new_interview().await;
    ok(
        &admin,
        Method::POST,
        &format!("/v1/interviews/{}/cancel", first["id"].as_str().unwrap()),
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(deliverer.pass().await.unwrap(), 1);
    let refused = verified(&secret, &got.recv().await.unwrap());
    assert_eq!(
        (
            refused["type"].clone(),
            refused["data"]["interview_id"].clone()
        ),
        (json!("interview.cancelled"), first["id"].clone())
    );
    let page = ok(&admin, Method::GET, &deliveries, None, StatusCode::OK).await;
    let d = &page["items"][0];
    assert_eq!(
        (
            d["status"].clone(),
            d["attempts"].clone(),
            d["last_status_code"].clone()
        ),
        (json!("pending"), json!(1), json!(503)),
        "{page}"
    );
    assert!(d["next_attempt_at"].is_string());
    assert_eq!(
        deliverer.pass().await.unwrap(),
        0,
        "not before its retry time"
    );
    let later = chrono::Utc::now() + chrono::Duration::seconds(11);
    assert_eq!(deliverer.pass_at(later).await.unwrap(), 1);
    let again = verified(&secret, &got.recv().await.unwrap());
    assert_eq!(again["id"], refused["id"], "a retry is the same delivery");
    let page = ok(&admin, Method::GET, &deliveries, None, StatusCode::OK).await;
    let d = &page["items"][0];
    assert_eq!(
        (
            d["status"].clone(),
            d["attempts"].clone(),
            d["last_status_code"].clone()
        ),
        (json!("delivered"), json!(2), json!(204)),
        "{page}"
    );

    // An interview taken and ended by the candidate: started, then completed.
    let second = new_interview().await;
    let (id, token) = consented(&admin, &second).await;
    let mut c = Candidate::join(server, id, &token, None).await;
    hear_question(&mut c).await;
    c.send_text(json!({"type": "control", "action": "end"}))
        .await;
    assert_eq!(c.until_closed().await.map(|c| c.0), Some(4010));
    assert_eq!(deliverer.pass().await.unwrap(), 2);
    let mut types = vec![];
    for _ in 0..2 {
        let v = verified(&secret, &got.recv().await.unwrap());
        assert_eq!(v["data"]["interview_id"], json!(id.to_string()));
        types.push(v["type"].as_str().unwrap().to_owned());
    }
    types.sort();
    assert_eq!(types, ["interview.completed", "interview.started"]);

    // Deleted: nothing more is queued or sent; another organization cannot delete it.
    let path = format!("/v1/webhooks/{}", hook["id"].as_str().unwrap());
    let (s, _) = other.call(Method::DELETE, &path, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    ok(&admin, Method::DELETE, &path, None, StatusCode::NO_CONTENT).await;
    let third = new_interview().await;
    ok(
        &admin,
        Method::POST,
        &format!("/v1/interviews/{}/cancel", third["id"].as_str().unwrap()),
        None,
        StatusCode::OK,
    )
    .await;
    assert_eq!(deliverer.pass().await.unwrap(), 0);
    assert!(got.try_recv().is_err());
    let log = ok(
        &admin,
        Method::GET,
        "/v1/audit?per_page=100",
        None,
        StatusCode::OK,
    )
    .await;
    let actions: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"webhook.created") && actions.contains(&"webhook.deleted"),
        "{actions:?}"
    );
}

fn no_worker(c: &mut viva::config::Config) {
    c.webhooks_worker = false;
    c.webhooks_allow_private = true;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_on_the_embedded_store() {
    let server = TestServer::start_with(no_worker).await;
    webhooks(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_on_postgres() {
    let (pg, redis) = (Postgres::start(), Redis::start());
    let server = TestServer::start_with(|c| {
        use_services(c, &pg, &redis);
        no_worker(c);
    })
    .await;
    webhooks(&server).await;
}
