//! `/v1/users` and invitations over the real server: an admin adds staff, who set their
//! password through a single-use link; roles apply at once; disabling ends sessions at once;
//! another organization's user is a 404; resets replace earlier links — SQLite and Postgres.

mod common;

use common::api::{accept_invite, code, sign_in, staff};
use common::services::{Postgres, Redis};
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use viva::accounts::Role;

const NEW_PASSWORD: &str = "Difference Engine 1822";

async fn staff_are_invited_changed_and_disabled(server: &TestServer) {
    let admin = staff(server, "ada@acme.example", "Acme", Role::Admin).await;
    let other = staff(server, "bea@bee.example", "Bee", Role::Admin).await;

    let (s, added) = admin
        .call(
            Method::POST,
            "/v1/users",
            Some(json!({"email": "rex@acme.example", "name": "Rex", "role": "recruiter"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{added}");
    assert_eq!(added["user"]["role"], "recruiter");
    assert_eq!(added["user"]["password_set"], false);
    assert!(added["user"].get("password_hash").is_none());
    let url = added["invite"]["url"].as_str().unwrap();
    let token = added["invite"]["token"].as_str().unwrap().to_owned();
    assert!(
        url.ends_with(&format!("/console/accept-invite#token={token}")),
        "{url}"
    );
    let user_path = format!("/v1/users/{}", added["user"]["id"].as_str().unwrap());

    // No password yet; a refused password leaves the link usable; then it is spent.
    assert_eq!(
        sign_in(server, "rex@acme.example", "").await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    let (s, weak) = accept_invite(server, &token, "rex@acme.example!").await;
    assert_eq!(
        (s, code(&weak)),
        (StatusCode::BAD_REQUEST, "VALIDATION_ERROR"),
        "{weak}"
    );
    let (s, _) = accept_invite(server, &token, NEW_PASSWORD).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, used) = accept_invite(server, &token, "Another Password 99").await;
    assert_eq!(
        (s, code(&used)),
        (StatusCode::UNAUTHORIZED, "AUTHENTICATION_ERROR")
    );
    let rex = sign_in(server, "rex@acme.example", NEW_PASSWORD)
        .await
        .unwrap();
    let (s, _) = rex
        .call(Method::POST, "/v1/jobs", Some(json!({"title": "Analyst"})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "a recruiter creates");

    // Only admins manage staff; another organization's admin finds nobody.
    let (s, err) = rex.call(Method::GET, "/v1/users", None).await;
    assert_eq!(
        (s, code(&err)),
        (StatusCode::FORBIDDEN, "AUTHORIZATION_ERROR")
    );
    for (method, path, body) in [
        (Method::GET, user_path.clone(), None),
        (
            Method::PATCH,
            user_path.clone(),
            Some(json!({"role": "admin"})),
        ),
        (Method::DELETE, user_path.clone(), None),
        (Method::POST, format!("{user_path}/password-reset"), None),
    ] {
        let (s, err) = other.call(method.clone(), &path, body).await;
        assert_eq!(
            (s, code(&err)),
            (StatusCode::NOT_FOUND, "NOT_FOUND"),
            "{method} {path}"
        );
    }
    let (_, theirs) = other.call(Method::GET, "/v1/users", None).await;
    assert_eq!(theirs["total"], 1, "only themselves");
    let (_, ours) = admin.call(Method::GET, "/v1/users", None).await;
    assert_eq!(ours["total"], 2);

    // A taken email; an admin cannot lock themselves out.
    let (s, _) = admin
        .call(
            Method::POST,
            "/v1/users",
            Some(json!({"email": "REX@acme.example", "role": "viewer"})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (_, me) = admin.call(Method::GET, "/v1/auth/me", None).await;
    let me_path = format!("/v1/users/{}", me["id"].as_str().unwrap());
    for body in [json!({"role": "viewer"}), json!({"disabled": true})] {
        let (s, _) = admin.call(Method::PATCH, &me_path, Some(body)).await;
        assert_eq!(s, StatusCode::CONFLICT);
    }

    // A new role applies to the token already held.
    let (s, changed) = admin
        .call(Method::PATCH, &user_path, Some(json!({"role": "viewer"})))
        .await;
    assert_eq!(
        (s, changed["role"].as_str()),
        (StatusCode::OK, Some("viewer"))
    );
    let (s, _) = rex
        .call(
            Method::POST,
            "/v1/jobs",
            Some(json!({"title": "Analyst II"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // A reset: the new link replaces the old one; the old password works until it is used.
    let (s, first) = admin
        .call(Method::POST, &format!("{user_path}/password-reset"), None)
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, second) = admin
        .call(Method::POST, &format!("{user_path}/password-reset"), None)
        .await;
    assert!(sign_in(server, "rex@acme.example", NEW_PASSWORD)
        .await
        .is_ok());
    let (s, _) = accept_invite(
        server,
        first["token"].as_str().unwrap(),
        "Brand New Pass 77",
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "replaced by the second link");
    let (s, _) = accept_invite(
        server,
        second["token"].as_str().unwrap(),
        "Brand New Pass 77",
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(sign_in(server, "rex@acme.example", NEW_PASSWORD)
        .await
        .is_err());
    let rex = sign_in(server, "rex@acme.example", "Brand New Pass 77")
        .await
        .unwrap();

    // Disabled: the session ends at once, and signing in is refused like a wrong password.
    assert_eq!(
        rex.call(Method::GET, "/v1/jobs", None).await.0,
        StatusCode::OK
    );
    let (s, _) = admin.call(Method::DELETE, &user_path, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, err) = rex.call(Method::GET, "/v1/jobs", None).await;
    assert_eq!(
        (s, code(&err)),
        (StatusCode::UNAUTHORIZED, "AUTHENTICATION_ERROR")
    );
    assert_eq!(
        sign_in(server, "rex@acme.example", "Brand New Pass 77")
            .await
            .err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    let (_, shown) = admin.call(Method::GET, &user_path, None).await;
    assert_eq!(shown["disabled"], true);
    // Enabled again, they sign in again.
    let (s, _) = admin
        .call(Method::PATCH, &user_path, Some(json!({"disabled": false})))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(sign_in(server, "rex@acme.example", "Brand New Pass 77")
        .await
        .is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_on_the_embedded_store() {
    let server = TestServer::start().await;
    staff_are_invited_changed_and_disabled(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_on_postgres() {
    let (pg, redis) = (Postgres::start(), Redis::start());
    let server = TestServer::start_with(|c| use_services(c, &pg, &redis)).await;
    staff_are_invited_changed_and_disabled(&server).await;
}
