//! [`WebhookStore`] on Postgres, and the outbox: deliveries are queued in the transaction that
//! changes an interview's status.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use super::postgres::PgStore;
use super::{StoreError, StoreResult};
use crate::accounts::Scope;
use crate::hiring::{Page, PageRequest};
use crate::webhooks::{Delivery, DeliveryStatus, Due, NewWebhook, Outcome, Webhook, WebhookStore};

fn webhook(r: &PgRow) -> StoreResult<Webhook> {
    Ok(Webhook {
        id: r.try_get("id")?,
        url: r.try_get("url")?,
        events: serde_json::from_value(r.try_get("events")?)
            .map_err(|e| StoreError::Corrupt(format!("webhook events: {e}")))?,
        created_at: r.try_get("created_at")?,
    })
}

fn delivery(r: &PgRow) -> StoreResult<Delivery> {
    let status: &str = r.try_get("status")?;
    let status = DeliveryStatus::parse(status)
        .ok_or_else(|| StoreError::Corrupt(format!("delivery status {status:?}")))?;
    Ok(Delivery {
        id: r.try_get("id")?,
        event: r.try_get("event")?,
        interview_id: r.try_get("interview_id")?,
        status,
        attempts: r.try_get::<i32, _>("attempts")? as u32,
        last_status_code: r
            .try_get::<Option<i32>, _>("last_status_code")?
            .map(|c| c as u16),
        last_error: r.try_get("last_error")?,
        next_attempt_at: if status == DeliveryStatus::Pending {
            Some(r.try_get("next_attempt_at")?)
        } else {
            None
        },
        created_at: r.try_get("created_at")?,
        delivered_at: r.try_get("delivered_at")?,
    })
}

/// Queues `event` about `interview` for every webhook of its organization that asked for it.
pub(super) async fn enqueue(
    conn: &mut PgConnection,
    interview: Uuid,
    event: &str,
) -> StoreResult<()> {
    let hooks: Vec<Uuid> = sqlx::query_scalar(
        "SELECT w.id FROM webhooks w JOIN interviews i ON i.organization_id = w.organization_id \
         WHERE i.id = $1 AND w.disabled_at IS NULL AND w.events ? $2",
    )
    .bind(interview)
    .bind(event)
    .fetch_all(&mut *conn)
    .await?;
    for hook in hooks {
        sqlx::query(
            "INSERT INTO webhook_deliveries (id, webhook_id, event, interview_id) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(Uuid::now_v7())
        .bind(hook)
        .bind(event)
        .bind(interview)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[async_trait]
impl WebhookStore for PgStore {
    async fn create_webhook(&self, new: &NewWebhook) -> StoreResult<Webhook> {
        let hook = Webhook {
            id: Uuid::now_v7(),
            url: new.url.clone(),
            events: new.events.clone(),
            created_at: Utc::now(),
        };
        sqlx::query(
            "INSERT INTO webhooks (id, organization_id, url, events, secret_sealed, created_by, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(hook.id)
        .bind(new.org)
        .bind(&hook.url)
        .bind(serde_json::to_value(&hook.events).expect("strings serialise"))
        .bind(&new.secret_sealed)
        .bind(new.created_by)
        .bind(hook.created_at)
        .execute(self.pool())
        .await?;
        Ok(hook)
    }

    async fn webhooks_in(&self, scope: Scope) -> StoreResult<Vec<Webhook>> {
        let rows = sqlx::query(
            "SELECT id, url, events, created_at FROM webhooks WHERE organization_id = $1 \
             AND disabled_at IS NULL ORDER BY created_at",
        )
        .bind(scope.org())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(webhook).collect()
    }

    async fn disable_webhook(&self, scope: Scope, id: Uuid) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE webhooks SET disabled_at = now() WHERE id = $1 AND organization_id = $2 \
             AND disabled_at IS NULL",
        )
        .bind(id)
        .bind(scope.org())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn deliveries_in(
        &self,
        scope: Scope,
        webhook: Uuid,
        page: PageRequest,
    ) -> StoreResult<Option<Page<Delivery>>> {
        let ours: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM webhooks WHERE id = $1 AND organization_id = $2")
                .bind(webhook)
                .bind(scope.org())
                .fetch_optional(self.pool())
                .await?;
        if ours.is_none() {
            return Ok(None);
        }
        let total: i64 =
            sqlx::query_scalar("SELECT count(*) FROM webhook_deliveries WHERE webhook_id = $1")
                .bind(webhook)
                .fetch_one(self.pool())
                .await?;
        let rows = sqlx::query(
            "SELECT * FROM webhook_deliveries WHERE webhook_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3",
        )
        .bind(webhook)
        .bind(i64::from(page.per_page))
        .bind(page.offset() as i64)
        .fetch_all(self.pool())
        .await?;
        let items = rows.iter().map(delivery).collect::<StoreResult<_>>()?;
        Ok(Some(page.of(items, total as u64)))
    }

    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<Due>> {
        // SKIP LOCKED: nodes claiming at once take different deliveries.
        let rows = sqlx::query(
            "WITH due AS ( \
               SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
               WHERE d.status = 'pending' AND d.next_attempt_at <= $2 \
               AND (d.lease_until IS NULL OR d.lease_until < $2) AND w.disabled_at IS NULL \
               ORDER BY d.next_attempt_at LIMIT $3 FOR UPDATE OF d SKIP LOCKED) \
             UPDATE webhook_deliveries d SET lease_until = $1 FROM due, webhooks w \
             WHERE d.id = due.id AND w.id = d.webhook_id \
             RETURNING d.id, w.url, w.secret_sealed, d.event, d.interview_id, d.attempts, \
             d.created_at",
        )
        .bind(lease_until)
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Due {
                    id: r.try_get("id")?,
                    url: r.try_get("url")?,
                    secret_sealed: r.try_get("secret_sealed")?,
                    event: r.try_get("event")?,
                    interview_id: r.try_get("interview_id")?,
                    attempts: r.try_get::<i32, _>("attempts")? as u32,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    async fn record_attempt(&self, id: Uuid, outcome: &Outcome) -> StoreResult<()> {
        let now = Utc::now();
        let (status, next, code, error, delivered) = match outcome {
            Outcome::Delivered { status } => ("delivered", now, Some(*status), None, Some(now)),
            Outcome::Retry { at, status, error } => {
                ("pending", *at, *status, Some(error.as_str()), None)
            }
            Outcome::Failed { status, error } => {
                ("failed", now, *status, Some(error.as_str()), None)
            }
        };
        sqlx::query(
            "UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1, \
             next_attempt_at = $2, lease_until = NULL, last_status_code = $3, last_error = $4, \
             delivered_at = $5 WHERE id = $6",
        )
        .bind(status)
        .bind(next)
        .bind(code.map(i32::from))
        .bind(error)
        .bind(delivered)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
