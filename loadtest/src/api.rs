//! Recruiter API traffic beside the interviews: `GET /v1/interviews` and sign-ins, each at a
//! fixed rate. Open loop: every request starts on its tick whatever the earlier ones are doing,
//! so a slow server gets more requests in flight, not fewer requests — what real clients do.

use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};

use crate::stats::Recorder;

/// The staff account the traffic signs in as (the rates are `Options::api_rps` and
/// `Options::login_rps`).
#[derive(Debug, Clone)]
pub struct Account {
    pub email: String,
    pub password: String,
}

/// Which request a measurement is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    List,
    Login,
}

/// Signs in; the access token, or why not.
async fn sign_in(http: &reqwest::Client, base: &str, t: &Account) -> anyhow::Result<String> {
    let r = http
        .post(format!("{base}/v1/auth/login"))
        .json(&serde_json::json!({"email": t.email, "password": t.password}))
        .send()
        .await?;
    let status = r.status();
    let body: serde_json::Value = r.json().await?;
    match body["access_token"].as_str() {
        Some(token) if status.is_success() => Ok(token.to_owned()),
        _ => anyhow::bail!("signing in as {}: {status} {body}", t.email),
    }
}

/// Sends `list_rps` lists and `login_rps` sign-ins a second until dropped (abort the task that
/// runs it). Signs in once first (an error if that fails), then again every 10 minutes (access
/// tokens last 15).
pub async fn run(
    base: String,
    (list_rps, login_rps): (f64, f64),
    t: Account,
    rec: Recorder,
) -> anyhow::Result<()> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let mut token = sign_in(&http, &base, &t).await?;
    let mut signed_at = Instant::now();
    let every = |rps: f64| {
        let mut i = tokio::time::interval(Duration::from_secs_f64(1.0 / rps.max(0.001)));
        i.set_missed_tick_behavior(MissedTickBehavior::Burst);
        i
    };
    let (mut lists, mut logins) = (every(list_rps), every(login_rps));
    let mut in_flight = JoinSet::new();
    loop {
        tokio::select! {
            _ = lists.tick(), if list_rps > 0.0 => {
                if signed_at.elapsed() > Duration::from_secs(600) {
                    token = sign_in(&http, &base, &t).await?;
                    signed_at = Instant::now();
                }
                let req = http
                    .get(format!("{base}/v1/interviews?per_page=20"))
                    .bearer_auth(&token);
                in_flight.spawn(measure(req, Call::List, rec.clone()));
            }
            _ = logins.tick(), if login_rps > 0.0 => {
                let req = http
                    .post(format!("{base}/v1/auth/login"))
                    .json(&serde_json::json!({"email": t.email, "password": t.password}));
                in_flight.spawn(measure(req, Call::Login, rec.clone()));
            }
            Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
        }
    }
}

async fn measure(req: reqwest::RequestBuilder, call: Call, rec: Recorder) {
    let start = Instant::now();
    let outcome = match req.send().await {
        // The whole answer, not just its headers.
        Ok(r) => {
            let status = r.status();
            match r.bytes().await {
                Ok(_) if status.is_success() => Ok(()),
                Ok(_) => Err(format!("http_{}", status.as_u16())),
                Err(_) => Err("read".to_owned()),
            }
        }
        Err(e) if e.is_timeout() => Err("timeout".to_owned()),
        Err(_) => Err("connect".to_owned()),
    };
    rec.api(call, start.elapsed(), outcome);
}
