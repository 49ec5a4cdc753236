//! The delivery task: every node claims due deliveries with a lease (so two nodes never post the
//! same one at once), posts each, and records the outcome. A 2xx is delivered; anything else is
//! retried after 10 s, 30 s, 2 min, 10 min, 30 min, 2 h and 6 h, then failed. Requests time out
//! after 10 s and follow no redirects; without `VIVA_WEBHOOKS_ALLOW_PRIVATE`, an endpoint that
//! resolves to a loopback, private or link-local address is refused (no requests into the
//! server's own network).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use super::{body, signature, Due, Outcome, WebhookStore};
use crate::vault::Vault;

/// Waits before each retry; after the last, the delivery has failed.
pub const BACKOFF: [Duration; 7] = [
    Duration::from_secs(10),
    Duration::from_secs(30),
    Duration::from_secs(120),
    Duration::from_secs(600),
    Duration::from_secs(1800),
    Duration::from_secs(7200),
    Duration::from_secs(21600),
];
/// How often the task looks for due deliveries.
pub const POLL: Duration = Duration::from_secs(1);
/// How long a claimed delivery is this node's.
const LEASE: Duration = Duration::from_secs(60);
const TIMEOUT: Duration = Duration::from_secs(10);
/// Deliveries claimed at once.
const BATCH: u32 = 16;
/// The most of a receiver's error body kept.
const MAX_ERROR: usize = 300;

#[derive(Clone)]
pub struct Deliverer {
    pub store: Arc<dyn WebhookStore>,
    pub vault: Vault,
    pub http: reqwest::Client,
    pub allow_private: bool,
}

impl Deliverer {
    pub fn new(store: Arc<dyn WebhookStore>, vault: Vault, allow_private: bool) -> Self {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("viva-webhooks/1")
            .build()
            .expect("a plain HTTP client");
        Self {
            store,
            vault,
            http,
            allow_private,
        }
    }

    /// Polls until `stop`.
    pub async fn run(self, stop: CancellationToken) {
        let me = &self;
        let failed = "webhook deliveries not claimed; trying again";
        crate::periodic::every(POLL, stop, failed, || me.pass()).await
    }

    /// Claims what is due and delivers it: how many were attempted.
    pub async fn pass(&self) -> crate::store::StoreResult<usize> {
        self.pass_at(Utc::now()).await
    }

    /// [`Self::pass`] as if it were `now` (tests reach a retry's time without waiting for it).
    pub async fn pass_at(&self, now: chrono::DateTime<Utc>) -> crate::store::StoreResult<usize> {
        let lease = now + chrono::Duration::from_std(LEASE).expect("fits");
        let due = self.store.claim_due(now, lease, BATCH).await?;
        let n = due.len();
        futures_util::future::join_all(due.into_iter().map(|d| async move {
            let outcome = self.attempt(&d).await;
            if let Err(e) = self.store.record_attempt(d.id, &outcome).await {
                tracing::warn!(delivery = %d.id, error = %e, "webhook attempt not recorded; it will be retried");
            }
        }))
        .await;
        Ok(n)
    }

    async fn attempt(&self, d: &Due) -> Outcome {
        let (status, error) = match self.post(d).await {
            Ok(status) if (200..300).contains(&status) => return Outcome::Delivered { status },
            Ok(status) => (Some(status), format!("the endpoint answered {status}")),
            Err(e) => (None, e),
        };
        let outcome = after_failure(d.attempts, Utc::now(), status, error);
        if let Outcome::Failed { error, .. } = &outcome {
            tracing::warn!(delivery = %d.id, %error, "webhook delivery failed for good");
        }
        outcome
    }

    /// Posts one delivery: the status, or why there was none.
    async fn post(&self, d: &Due) -> Result<u16, String> {
        let secret = self
            .vault
            .open(&d.secret_sealed)
            .map_err(|e| e.to_string())?;
        let url = reqwest::Url::parse(&d.url).map_err(|_| "the URL does not parse".to_owned())?;
        if !self.allow_private {
            refuse_private(&url).await?;
        }
        let body = body(d);
        let r = self
            .http
            .post(url)
            .header("Content-Type", "application/json")
            .header("Viva-Webhook-Id", d.id.to_string())
            .header(
                "Viva-Signature",
                signature(&secret, Utc::now().timestamp(), &body),
            )
            .body(body)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    "the endpoint did not answer within 10 s".to_owned()
                } else if e.is_connect() {
                    "the endpoint could not be reached".to_owned()
                } else {
                    "the request failed".to_owned()
                }
            })?;
        let status = r.status().as_u16();
        if !(200..300).contains(&status) {
            let text = r.text().await.unwrap_or_default();
            if !text.is_empty() {
                tracing::debug!(delivery = %d.id, status, body = %text.chars().take(MAX_ERROR).collect::<String>(), "webhook refused");
            }
        }
        Ok(status)
    }
}

/// What follows a failed attempt, after `attempts` earlier ones: a retry on the schedule, or,
/// past its end, failure.
pub fn after_failure(
    attempts: u32,
    now: chrono::DateTime<Utc>,
    status: Option<u16>,
    error: String,
) -> Outcome {
    match BACKOFF.get(attempts as usize) {
        Some(wait) => Outcome::Retry {
            at: now + chrono::Duration::from_std(*wait).expect("fits"),
            status,
            error,
        },
        None => Outcome::Failed { status, error },
    }
}

/// Refuses an endpoint whose host is, or resolves to, an address inside a private network.
async fn refuse_private(url: &reqwest::Url) -> Result<(), String> {
    let host = url.host_str().ok_or("the URL has no host")?;
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs = tokio::net::lookup_host((host.trim_matches(['[', ']']), port))
        .await
        .map_err(|_| "the endpoint's host does not resolve".to_owned())?;
    for a in addrs {
        if is_private(a.ip()) {
            return Err(
                "the endpoint is in a private network (VIVA_WEBHOOKS_ALLOW_PRIVATE)".into(),
            );
        }
    }
    Ok(())
}

/// Loopback, private, link-local, unspecified, shared (CGNAT) and unique-local addresses.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v) => {
            v.is_loopback()
                || v.is_private()
                || v.is_link_local()
                || v.is_unspecified()
                || v.is_broadcast()
                || (v.octets()[0] == 100 && (v.octets()[1] & 0xc0) == 64)
        }
        IpAddr::V6(v) => {
            v.is_loopback()
                || v.is_unspecified()
                || (v.segments()[0] & 0xfe00) == 0xfc00
                || (v.segments()[0] & 0xffc0) == 0xfe80
                || v.to_ipv4_mapped()
                    .is_some_and(|m| is_private(IpAddr::V4(m)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_are_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.5.5",
            "169.254.169.254",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "0.0.0.0",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:4700::1111", "100.128.0.1"] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn failures_are_retried_on_the_schedule_then_given_up() {
        let now = Utc::now();
        let mut waits = vec![];
        for attempts in 0..BACKOFF.len() as u32 {
            match after_failure(attempts, now, Some(500), "500".into()) {
                Outcome::Retry { at, .. } => waits.push((at - now).num_seconds()),
                other => panic!("attempt {attempts}: {other:?}"),
            }
        }
        assert_eq!(waits, [10, 30, 120, 600, 1800, 7200, 21600]);
        assert_eq!(
            after_failure(BACKOFF.len() as u32, now, None, "unreachable".into()),
            Outcome::Failed {
                status: None,
                error: "unreachable".into()
            }
        );
    }

    #[tokio::test]
    async fn a_private_endpoint_is_refused() {
        let url = reqwest::Url::parse("http://127.0.0.1:9/hook").unwrap();
        assert!(refuse_private(&url)
            .await
            .unwrap_err()
            .contains("private network"));
    }
}
