//! Staff sign-in over the real server: sessions with rotating refresh tokens, reuse detection,
//! sign-out, lockout, forged tokens, bodies refused in the error envelope — on the embedded
//! SQLite store and on Postgres + Redis.

mod common;

use common::services::{Postgres, Redis};
use common::*;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;
use viva::accounts::tokens::AccessClaims;
use viva::accounts::Role;

const KEY: &str = "a-signing-key-for-the-api-tests-0123456789";
const PASSWORD: &str = "Analytical Engine 1843";

fn keyed(c: &mut viva::config::Config) {
    c.jwt_secret = Some(viva::config::Secret::new(KEY));
}

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    fn new(server: &TestServer) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: format!("http://{}", server.addr),
        }
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn login(&self, email: &str, password: &str) -> (StatusCode, Value) {
        self.post(
            "/v1/auth/login",
            json!({"email": email, "password": password}),
        )
        .await
    }

    async fn me(&self, access: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .get(format!("{}/v1/auth/me", self.base))
            .bearer_auth(access)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn logout(&self, access: &str) -> StatusCode {
        self.http
            .post(format!("{}/v1/auth/logout", self.base))
            .bearer_auth(access)
            .send()
            .await
            .unwrap()
            .status()
    }
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

async fn admin(server: &TestServer, email: &str, org: &str) -> Value {
    let created = viva::cli::create_admin(&server.config, email, org, None, PASSWORD)
        .await
        .unwrap();
    serde_json::to_value(created).unwrap()
}

/// The whole life of a session, on whichever store the server runs.
async fn sessions_rotate_detect_reuse_and_end(server: &TestServer) {
    let api = Api::new(server);
    let created = admin(server, "ada@acme.example", "Acme").await;
    assert_eq!(created["role"], "admin");
    assert_eq!(created["organization"]["created"], true);

    // Wrong password and unknown email: the same answer.
    let (s, wrong) = api
        .login("ada@acme.example", "Analytical Engine 1844")
        .await;
    assert_eq!(
        (s, code(&wrong)),
        (StatusCode::UNAUTHORIZED, "AUTHENTICATION_ERROR")
    );
    let (s, unknown) = api.login("nobody@acme.example", PASSWORD).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong, unknown, "no oracle for which emails exist");

    // Signed in (the email's case does not matter).
    let (s, first) = api.login("Ada@ACME.example", PASSWORD).await;
    assert_eq!(s, StatusCode::OK, "{first}");
    assert_eq!(first["token_type"], "Bearer");
    assert_eq!(first["expires_in"], 900);
    let access = first["access_token"].as_str().unwrap();
    let (s, me) = api.me(access).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["email"], "ada@acme.example");
    assert_eq!(me["role"], "admin");
    assert_eq!(me["organization"]["name"], "Acme");
    assert_eq!(me["organization"]["id"], created["organization"]["id"]);

    // Refresh rotates: the new refresh token works, the spent one does not…
    let spent = first["refresh_token"].as_str().unwrap();
    let (s, second) = api
        .post("/v1/auth/refresh", json!({"refresh_token": spent}))
        .await;
    assert_eq!(s, StatusCode::OK, "{second}");
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    let access2 = second["access_token"].as_str().unwrap();
    assert_eq!(api.me(access2).await.0, StatusCode::OK);
    // …and presenting it again (a thief's copy) ends the whole session at once.
    let (s, reused) = api
        .post("/v1/auth/refresh", json!({"refresh_token": spent}))
        .await;
    assert_eq!(
        (s, code(&reused)),
        (StatusCode::UNAUTHORIZED, "AUTHENTICATION_ERROR")
    );
    assert_eq!(api.me(access2).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(api.me(access).await.0, StatusCode::UNAUTHORIZED);
    let (s, _) = api
        .post(
            "/v1/auth/refresh",
            json!({"refresh_token": second["refresh_token"]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the family is revoked");

    // Sign out: the access token stops working at once, and its refresh token with it.
    let (_, third) = api.login("ada@acme.example", PASSWORD).await;
    let access3 = third["access_token"].as_str().unwrap();
    assert_eq!(api.me(access3).await.0, StatusCode::OK);
    assert_eq!(api.logout(access3).await, StatusCode::NO_CONTENT);
    assert_eq!(api.me(access3).await.0, StatusCode::UNAUTHORIZED);
    let (s, _) = api
        .post(
            "/v1/auth/refresh",
            json!({"refresh_token": third["refresh_token"]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(api.logout(access3).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_on_the_embedded_store() {
    let server = TestServer::start_with(keyed).await;
    sessions_rotate_detect_reuse_and_end(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_on_postgres_and_redis_survive_a_restart_revoked() {
    let (pg, redis) = (Postgres::start(), Redis::start());
    let with_services = |c: &mut viva::config::Config| {
        use_services(c, &pg, &redis);
        keyed(c);
    };
    let server = TestServer::start_with(with_services).await;
    sessions_rotate_detect_reuse_and_end(&server).await;
    // A session signed out before a restart stays signed out after it.
    let api = Api::new(&server);
    let (_, signed) = api.login("ada@acme.example", PASSWORD).await;
    let access = signed["access_token"].as_str().unwrap().to_owned();
    assert_eq!(api.logout(&access).await, StatusCode::NO_CONTENT);
    server.shutdown().await;
    let server = TestServer::start_with(with_services).await;
    assert_eq!(
        Api::new(&server).me(&access).await.0,
        StatusCode::UNAUTHORIZED
    );
}

/// A 429 in the envelope, with `Retry-After` of at most `max_secs`.
async fn assert_rate_limited(r: reqwest::Response, max_secs: u64) {
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=max_secs).contains(&retry), "{retry}");
    let body: Value = r.json().await.unwrap();
    assert_eq!(code(&body), "RATE_LIMIT_EXCEEDED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_failures_lock_the_account_and_unknown_emails_alike() {
    let server = TestServer::start_with(keyed).await;
    let api = Api::new(&server);
    admin(&server, "grace@navy.example", "Navy").await;
    for email in ["grace@navy.example", "nobody@navy.example"] {
        for _ in 0..5 {
            let (s, _) = api.login(email, "Wrong password 000").await;
            assert_eq!(s, StatusCode::UNAUTHORIZED);
        }
        // Locked: even the right password is refused, with when to come back.
        let r = api
            .http
            .post(format!("{}/v1/auth/login", api.base))
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_rate_limited(r, 900).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_attempts_are_limited_per_client_address() {
    let server = TestServer::start_with(|c| {
        keyed(c);
        c.auth_per_minute = 3;
    })
    .await;
    let api = Api::new(&server);
    admin(&server, "ida@lovelace.example", "Lovelace").await;
    // Right or wrong, known or not: each attempt from this address counts.
    assert_eq!(
        api.login("ida@lovelace.example", PASSWORD).await.0,
        StatusCode::OK
    );
    let (s, _) = api
        .login("nobody@lovelace.example", "Wrong password 000")
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(
        api.login("ida@lovelace.example", PASSWORD).await.0,
        StatusCode::OK
    );
    // The fourth this minute is refused before the password is looked at, with when to retry.
    let r = api
        .http
        .post(format!("{}/v1/auth/login", api.base))
        .json(&json!({"email": "ida@lovelace.example", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_rate_limited(r, 60).await;
    // Refresh (and invitation acceptance) have allowances of their own, of the same size.
    for _ in 0..3 {
        let (s, _) = api
            .post("/v1/auth/refresh", json!({"refresh_token": "x"}))
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let (s, body) = api
        .post("/v1/auth/refresh", json!({"refresh_token": "x"}))
        .await;
    assert_eq!(
        (s, code(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "RATE_LIMIT_EXCEEDED")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_expired_and_foreign_tokens_are_refused() {
    let server = TestServer::start_with(keyed).await;
    let api = Api::new(&server);
    admin(&server, "alan@bletchley.example", "Bletchley").await;
    let (_, signed) = api.login("alan@bletchley.example", PASSWORD).await;
    let access = signed["access_token"].as_str().unwrap();
    assert_eq!(api.me(access).await.0, StatusCode::OK);

    let valid: AccessClaims = {
        let payload = access.split('.').nth(1).unwrap();
        use base64::Engine;
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap();
        serde_json::from_slice(&json).unwrap()
    };
    let sign = |c: &AccessClaims, key: &str| {
        encode(
            &Header::new(Algorithm::HS256),
            c,
            &EncodingKey::from_secret(key.as_bytes()),
        )
        .unwrap()
    };
    let now = chrono::Utc::now().timestamp();
    let mut expired = valid.clone();
    (expired.iat, expired.exp) = (now - 3600, now - 1800);
    let mut wrong_aud = valid.clone();
    wrong_aud.aud = "viva:candidate".into();
    let mut not_access = valid.clone();
    not_access.typ = "refresh".into();
    let mut other_org = valid.clone();
    other_org.org = Uuid::new_v4();
    let mut other_session = valid.clone();
    other_session.sid = Uuid::new_v4();
    let mut promoted = valid.clone();
    promoted.role = Role::Admin;
    let none = {
        use base64::Engine;
        let b64 = |s: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!(
            "{}.{}.",
            b64(br#"{"alg":"none","typ":"JWT"}"#),
            b64(&serde_json::to_vec(&valid).unwrap())
        )
    };
    let (_, candidate_token) = server.create_interview().await;
    for (what, token) in [
        (
            "another key",
            sign(&valid, "another-signing-key-0123456789-abcdef"),
        ),
        ("expired", sign(&expired, KEY)),
        ("candidate audience", sign(&wrong_aud, KEY)),
        ("not an access token", sign(&not_access, KEY)),
        ("another organization", sign(&other_org, KEY)),
        ("no such session", sign(&other_session, KEY)),
        ("alg none", none),
        ("a candidate link's token", candidate_token),
        (
            "the refresh token",
            signed["refresh_token"].as_str().unwrap().to_owned(),
        ),
        ("garbage", "not.a.token".into()),
    ] {
        let (s, body) = api.me(&token).await;
        assert_eq!(
            (s, code(&body)),
            (StatusCode::UNAUTHORIZED, "AUTHENTICATION_ERROR"),
            "{what}"
        );
    }
    // A role in the token is not trusted: the store's is (the same user, a valid session).
    let (s, me) = api.me(&sign(&promoted, KEY)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["role"], "admin", "the store's role");
    // No token at all.
    let r = api
        .http
        .get(format!("{}/v1/auth/me", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_are_refused_in_the_error_envelope() {
    let server = TestServer::start_with(keyed).await;
    let api = Api::new(&server);
    let url = format!("{}/v1/auth/login", api.base);
    let send = |body: reqwest::Body, json: bool| {
        let mut r = api.http.post(&url).body(body);
        if json {
            r = r.header("content-type", "application/json");
        }
        r.send()
    };
    let cases: Vec<(&str, reqwest::Body, bool, u16, &str)> = vec![
        (
            "unknown field",
            json!({"email": "a@b.example", "password": "x", "admin": true})
                .to_string()
                .into(),
            true,
            400,
            "VALIDATION_ERROR",
        ),
        (
            "malformed",
            "{\"email\": ".into(),
            true,
            400,
            "VALIDATION_ERROR",
        ),
        (
            "missing field",
            json!({"email": "a@b.example"}).to_string().into(),
            true,
            400,
            "VALIDATION_ERROR",
        ),
        ("not JSON", "email=a".into(), false, 400, "VALIDATION_ERROR"),
        (
            "too large",
            json!({"email": "a".repeat(100_000), "password": "x"})
                .to_string()
                .into(),
            true,
            413,
            "PAYLOAD_TOO_LARGE",
        ),
    ];
    for (what, body, json, status, expected) in cases {
        let r = send(body, json).await.unwrap();
        assert_eq!(r.status().as_u16(), status, "{what}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(code(&body), expected, "{what}: {body}");
        assert!(body["error"]["message"].is_string(), "{what}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_keeps_its_refresh_token_in_an_http_only_cookie() {
    let server = TestServer::start_with(keyed).await;
    let api = Api::new(&server);
    admin(&server, "margaret@apollo.example", "Apollo").await;
    let origin = format!("http://{}", server.addr);
    let r = api
        .http
        .post(format!("{}/v1/auth/login", api.base))
        .header("origin", &origin)
        .json(&json!({"email": "margaret@apollo.example", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    for part in [
        "viva_refresh=",
        "HttpOnly",
        "SameSite=Strict",
        "Path=/v1/auth",
    ] {
        assert!(cookie.contains(part), "{cookie}");
    }
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: Value = r.json().await.unwrap();
    assert!(
        body.get("refresh_token").is_none(),
        "page scripts never see it"
    );
    let pair = cookie.split(';').next().unwrap().to_owned();
    let r = api
        .http
        .post(format!("{}/v1/auth/refresh", api.base))
        .header("origin", &origin)
        .header("cookie", &pair)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let rotated = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert_ne!(rotated.split(';').next().unwrap(), pair, "rotated");
    let access: Value = r.json().await.unwrap();
    let access = access["access_token"].as_str().unwrap();
    // Signing out clears the cookie.
    let r = api
        .http
        .post(format!("{}/v1/auth/logout", api.base))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let cleared = r.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cleared.starts_with("viva_refresh=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_are_kept_or_made_and_ready_says_what_is_down() {
    let (pg, mut redis) = (Postgres::start(), Redis::start());
    let server = TestServer::start_with(|c| use_services(c, &pg, &redis)).await;
    let http = reqwest::Client::new();
    let get = |path: &str, id: Option<&str>| {
        let mut r = http.get(format!("http://{}{path}", server.addr));
        if let Some(id) = id {
            r = r.header("x-request-id", id);
        }
        r.send()
    };
    // Kept when plain and short; replaced by a UUID otherwise; made when absent.
    let r = get("/health", Some("abc-123_X.y")).await.unwrap();
    assert_eq!(r.headers()["x-request-id"], "abc-123_X.y");
    for bad in [Some("<script>"), Some(&*"x".repeat(65)), None] {
        let r = get("/ready", bad).await.unwrap();
        let id = r.headers()["x-request-id"].to_str().unwrap();
        assert!(Uuid::parse_str(id).is_ok(), "{bad:?} → {id}");
    }
    // Ready while the store and Redis answer; not while Redis is down, and back by itself.
    let r = get("/ready", None).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    redis.stop();
    let r = get("/ready", None).await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = r.json().await.unwrap();
    assert_eq!(code(&body), "UNAVAILABLE");
    assert_eq!(body["error"]["details"]["unavailable"], json!(["hot"]));
    redis.resume();
    let mut ready = false;
    for _ in 0..50 {
        // Reconnecting takes the client's backoff: poll, bounded.
        if get("/ready", None).await.unwrap().status() == StatusCode::OK {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(ready, "ready again once Redis is back");
}
