//! Webhooks: an organization's endpoints, told when its interviews start, complete or are
//! cancelled (and, with assessments, when one is ready). Deliveries are queued in the durable
//! store in the same transaction as the change they announce (an outbox: nothing announced is
//! lost to a crash, nothing is announced that did not happen), then posted by a background task
//! on every node ([`delivery`]), claimed with a lease, retried with backoff, and listed with
//! their outcome.
//!
//! Each request is signed: `Viva-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
//! "<t>.<body>" with the webhook's secret>`; `Viva-Webhook-Id` is the delivery's id (the same on
//! every retry, for the receiver to drop duplicates).

pub mod delivery;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use uuid::Uuid;

use crate::accounts::Scope;
use crate::hiring::{Page, PageRequest};
use crate::store::StoreResult;

/// Event types a webhook may ask for.
pub const EVENTS: [&str; 4] = [
    "interview.started",
    "interview.completed",
    "interview.cancelled",
    "assessment.ready",
];
/// Webhooks an organization may have.
pub const MAX_WEBHOOKS: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Webhook {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<String>,
    pub created_at: DateTime<Utc>,
}

/// A webhook about to be stored.
pub struct NewWebhook {
    pub org: Uuid,
    pub url: String,
    pub events: Vec<String>,
    pub secret_sealed: String,
    pub created_by: Option<Uuid>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryStatus {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "delivered" => Self::Delivered,
            "failed" => Self::Failed,
            _ => return None,
        })
    }
}

/// One delivery, as `GET /v1/webhooks/{id}/deliveries` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Delivery {
    pub id: Uuid,
    pub event: String,
    pub interview_id: Uuid,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub last_status_code: Option<u16>,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// A delivery the worker has claimed.
#[derive(Debug, Clone)]
pub struct Due {
    pub id: Uuid,
    pub url: String,
    pub secret_sealed: String,
    pub event: String,
    pub interview_id: Uuid,
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
}

/// How an attempt went.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Delivered {
        status: u16,
    },
    /// Try again at `at`.
    Retry {
        at: DateTime<Utc>,
        status: Option<u16>,
        error: String,
    },
    /// No more tries.
    Failed {
        status: Option<u16>,
        error: String,
    },
}

#[async_trait]
pub trait WebhookStore: Send + Sync + 'static {
    async fn create_webhook(&self, new: &NewWebhook) -> StoreResult<Webhook>;
    /// The organization's webhooks that are on, oldest first.
    async fn webhooks_in(&self, scope: Scope) -> StoreResult<Vec<Webhook>>;
    /// Turns a webhook off (its pending deliveries are not sent); `false` if there is none.
    async fn disable_webhook(&self, scope: Scope, id: Uuid) -> StoreResult<bool>;
    /// A webhook's deliveries, newest first; `None` if the webhook is not the organization's.
    async fn deliveries_in(
        &self,
        scope: Scope,
        webhook: Uuid,
        page: PageRequest,
    ) -> StoreResult<Option<Page<Delivery>>>;
    /// Claims up to `limit` due deliveries of webhooks that are on, until `lease_until`.
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<Due>>;
    /// Records an attempt (and releases the lease).
    async fn record_attempt(&self, id: Uuid, outcome: &Outcome) -> StoreResult<()>;
}

/// The event a status change announces, if any.
pub fn event_for(status: crate::store::InterviewStatus) -> Option<&'static str> {
    use crate::store::InterviewStatus as S;
    match status {
        S::InProgress => Some("interview.started"),
        S::Completed => Some("interview.completed"),
        S::Cancelled => Some("interview.cancelled"),
        S::Scheduled | S::Abandoned => None,
    }
}

/// The request body of a delivery: `{id, type, created_at, data: {interview_id}}` (a thin
/// event: the receiver reads the rest through the API).
pub fn body(d: &Due) -> String {
    serde_json::json!({
        "id": d.id,
        "type": d.event,
        "created_at": d.created_at,
        "data": { "interview_id": d.interview_id },
    })
    .to_string()
}

/// `Viva-Signature` for `body` sent at unix time `t`.
pub fn signature(secret: &str, t: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{t}.{body}").as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("t={t},v1={hex}")
}

/// A new signing secret (shown once).
pub fn new_secret() -> String {
    format!("whsec_{}", crate::accounts::tokens::new_opaque_token())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_the_timestamp_and_body() {
        // RFC 4231 style check against an independent computation of the same construction.
        let sig = signature("key", 1700000000, "{}");
        let mut mac = Hmac::<Sha256>::new_from_slice(b"key").unwrap();
        mac.update(b"1700000000.{}");
        let want: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(sig, format!("t=1700000000,v1={want}"));
        assert_ne!(signature("other", 1700000000, "{}"), sig);
        assert_ne!(signature("key", 1700000001, "{}"), sig);
    }

    #[test]
    fn status_changes_name_their_events() {
        use crate::store::InterviewStatus as S;
        assert_eq!(event_for(S::InProgress), Some("interview.started"));
        assert_eq!(event_for(S::Completed), Some("interview.completed"));
        assert_eq!(event_for(S::Scheduled), None);
        for e in [S::InProgress, S::Completed, S::Cancelled].map(event_for) {
            assert!(EVENTS.contains(&e.unwrap()));
        }
    }
}
