//! Staff clients of the REST API for the tests: sign-in and calls with the access token.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use viva::accounts::{password, NewUser, Role};

use super::TestServer;

pub const PASSWORD: &str = "Analytical Engine 1843";

pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
}

impl Client {
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut r = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().await.unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// `POST path` with a raw body of `content_type` (a CSV upload).
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: &str,
    ) -> (StatusCode, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("content-type", content_type)
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

/// Signs in a staff user of `org` with `role` (admins through `viva admin create`, the others
/// written to the store as an admin's invitation will).
pub async fn staff(server: &TestServer, email: &str, org: &str, role: Role) -> Client {
    if role == Role::Admin {
        viva::cli::create_admin(&server.config, email, org, None, PASSWORD)
            .await
            .unwrap();
    } else {
        let storage = viva::server::open_storage(&server.config).await.unwrap();
        let org = storage
            .accounts
            .organization_by_name(org)
            .await
            .unwrap()
            .expect("the organization's admin first");
        storage
            .accounts
            .create_user(&NewUser {
                organization_id: org.id,
                email: email.into(),
                name: None,
                role,
                password_hash: Some(password::hash(PASSWORD)),
            })
            .await
            .unwrap();
    }
    let http = reqwest::Client::new();
    let base = format!("http://{}", server.addr);
    let signed: Value = http
        .post(format!("{base}/v1/auth/login"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    Client {
        token: signed["access_token"].as_str().expect("signed in").into(),
        http,
        base,
    }
}

pub fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or_default()
}

/// Signs in with a password; the client, or the status it was refused with.
pub async fn sign_in(
    server: &TestServer,
    email: &str,
    password: &str,
) -> Result<Client, StatusCode> {
    let http = reqwest::Client::new();
    let base = format!("http://{}", server.addr);
    let r = http
        .post(format!("{base}/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    if r.status() != StatusCode::OK {
        return Err(r.status());
    }
    let signed: Value = r.json().await.unwrap();
    Ok(Client {
        token: signed["access_token"].as_str().unwrap().into(),
        http,
        base,
    })
}

/// `POST /v1/auth/accept-invite` (no credentials).
pub async fn accept_invite(
    server: &TestServer,
    token: &str,
    password: &str,
) -> (StatusCode, Value) {
    let r = reqwest::Client::new()
        .post(format!("http://{}/v1/auth/accept-invite", server.addr))
        .json(&json!({"token": token, "password": password}))
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// `call`, asserting the answer's status: its body.
pub async fn ok(
    c: &Client,
    method: Method,
    path: &str,
    body: Option<Value>,
    want: StatusCode,
) -> Value {
    let (s, v) = c.call(method, path, body).await;
    assert_eq!(s, want, "{path}: {v}");
    v
}

/// `POST path body`, which must answer 201; the body.
pub async fn post(c: &Client, path: &str, body: Value) -> Value {
    let (s, v) = c.call(Method::POST, path, Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{path}: {v}");
    v
}

/// A job (`job`: its body), a candidate (Grace Hopper) and an interview for them (`settings`:
/// the interview's own fields), made by `c`; the interview as created.
pub async fn scheduled(c: &Client, job: Value, settings: Value) -> Value {
    let job = post(c, "/v1/jobs", job).await;
    let cand = post(
        c,
        "/v1/candidates",
        json!({"name": "Grace Hopper", "email": "grace@navy.example"}),
    )
    .await;
    let mut body = json!({"job_id": job["id"], "candidate_id": cand["id"]});
    if let (Some(b), Some(extra)) = (body.as_object_mut(), settings.as_object()) {
        b.extend(extra.clone());
    }
    post(c, "/v1/interviews", body).await
}

/// The same client with another bearer token (a candidate's link, an API key).
pub fn with_token(c: &Client, token: &str) -> Client {
    Client {
        http: c.http.clone(),
        base: c.base.clone(),
        token: token.into(),
    }
}

/// An interview made through the API (`made`, the 201 body) whose candidate has accepted the
/// current notice: its id and the candidate's token.
pub async fn consented(c: &Client, made: &Value) -> (uuid::Uuid, String) {
    let id: uuid::Uuid = made["id"].as_str().unwrap().parse().unwrap();
    let token = made["invite_url"]
        .as_str()
        .unwrap()
        .split_once("#token=")
        .expect("the token in the fragment")
        .1
        .to_owned();
    let notice = ok(
        &with_token(c, &token),
        Method::GET,
        &format!("/v1/interviews/{id}/notice"),
        None,
        StatusCode::OK,
    )
    .await;
    ok(
        &with_token(c, &token),
        Method::POST,
        &format!("/v1/interviews/{id}/consent"),
        Some(json!({ "notice_version": notice["version"] })),
        StatusCode::NO_CONTENT,
    )
    .await;
    (id, token)
}
