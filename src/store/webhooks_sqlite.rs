//! [`WebhookStore`] on the embedded SQLite store, and the outbox: deliveries are queued in the
//! transaction that changes an interview's status.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};
use uuid::Uuid;

use super::sqlite::{opt_ts, parse_ts, parse_uuid, ts, SqliteStore};
use super::{StoreError, StoreResult};
use crate::accounts::Scope;
use crate::hiring::{Page, PageRequest};
use crate::webhooks::{Delivery, DeliveryStatus, Due, NewWebhook, Outcome, Webhook, WebhookStore};

fn webhook(r: &SqliteRow) -> StoreResult<Webhook> {
    let events: String = r.try_get("events")?;
    Ok(Webhook {
        id: parse_uuid(r.try_get("id")?)?,
        url: r.try_get("url")?,
        events: serde_json::from_str(&events)
            .map_err(|e| StoreError::Corrupt(format!("webhook events: {e}")))?,
        created_at: parse_ts(r.try_get("created_at")?)?,
    })
}

fn delivery(r: &SqliteRow) -> StoreResult<Delivery> {
    let status: &str = r.try_get("status")?;
    let status = DeliveryStatus::parse(status)
        .ok_or_else(|| StoreError::Corrupt(format!("delivery status {status:?}")))?;
    Ok(Delivery {
        id: parse_uuid(r.try_get("id")?)?,
        event: r.try_get("event")?,
        interview_id: parse_uuid(r.try_get("interview_id")?)?,
        status,
        attempts: r.try_get::<i64, _>("attempts")? as u32,
        last_status_code: r
            .try_get::<Option<i64>, _>("last_status_code")?
            .map(|c| c as u16),
        last_error: r.try_get("last_error")?,
        next_attempt_at: if status == DeliveryStatus::Pending {
            Some(parse_ts(r.try_get("next_attempt_at")?)?)
        } else {
            None
        },
        created_at: parse_ts(r.try_get("created_at")?)?,
        delivered_at: opt_ts(r.try_get("delivered_at")?)?,
    })
}

/// Queues `event` about `interview` for every webhook of its organization that asked for it.
pub(super) async fn enqueue(
    conn: &mut SqliteConnection,
    interview: Uuid,
    event: &str,
) -> StoreResult<()> {
    let hooks: Vec<String> = sqlx::query_scalar(
        "SELECT w.id FROM webhooks w JOIN interviews i ON i.organization_id = w.organization_id \
         WHERE i.id = ? AND w.disabled_at IS NULL \
         AND EXISTS (SELECT 1 FROM json_each(w.events) WHERE value = ?)",
    )
    .bind(interview.to_string())
    .bind(event)
    .fetch_all(&mut *conn)
    .await?;
    let now = ts(Utc::now());
    for hook in hooks {
        sqlx::query(
            "INSERT INTO webhook_deliveries (id, webhook_id, event, interview_id, \
             next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(hook)
        .bind(event)
        .bind(interview.to_string())
        .bind(&now)
        .bind(&now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn create_webhook(&self, new: &NewWebhook) -> StoreResult<Webhook> {
        let hook = Webhook {
            id: Uuid::now_v7(),
            url: new.url.clone(),
            events: new.events.clone(),
            created_at: Utc::now(),
        };
        sqlx::query(
            "INSERT INTO webhooks (id, organization_id, url, events, secret_sealed, created_by, \
             created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(hook.id.to_string())
        .bind(new.org.to_string())
        .bind(&hook.url)
        .bind(serde_json::to_string(&hook.events).expect("strings serialise"))
        .bind(&new.secret_sealed)
        .bind(new.created_by.map(|u| u.to_string()))
        .bind(ts(hook.created_at))
        .execute(&self.writer)
        .await?;
        self.webhooks_on
            .store(true, std::sync::atomic::Ordering::Relaxed);
        Ok(hook)
    }

    async fn webhooks_in(&self, scope: Scope) -> StoreResult<Vec<Webhook>> {
        let rows = sqlx::query(
            "SELECT id, url, events, created_at FROM webhooks WHERE organization_id = ? \
             AND disabled_at IS NULL ORDER BY created_at",
        )
        .bind(scope.org().to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(webhook).collect()
    }

    async fn disable_webhook(&self, scope: Scope, id: Uuid) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE webhooks SET disabled_at = ? WHERE id = ? AND organization_id = ? \
             AND disabled_at IS NULL",
        )
        .bind(ts(Utc::now()))
        .bind(id.to_string())
        .bind(scope.org().to_string())
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn deliveries_in(
        &self,
        scope: Scope,
        webhook: Uuid,
        page: PageRequest,
    ) -> StoreResult<Option<Page<Delivery>>> {
        let ours: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM webhooks WHERE id = ? AND organization_id = ?")
                .bind(webhook.to_string())
                .bind(scope.org().to_string())
                .fetch_optional(&self.pool)
                .await?;
        if ours.is_none() {
            return Ok(None);
        }
        let total: i64 =
            sqlx::query_scalar("SELECT count(*) FROM webhook_deliveries WHERE webhook_id = ?")
                .bind(webhook.to_string())
                .fetch_one(&self.pool)
                .await?;
        let rows = sqlx::query(
            "SELECT * FROM webhook_deliveries WHERE webhook_id = ? \
             ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
        )
        .bind(webhook.to_string())
        .bind(i64::from(page.per_page))
        .bind(page.offset() as i64)
        .fetch_all(&self.pool)
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
        let rows = sqlx::query(
            "UPDATE webhook_deliveries SET lease_until = ?1 WHERE id IN ( \
               SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
               WHERE d.status = 'pending' AND d.next_attempt_at <= ?2 \
               AND (d.lease_until IS NULL OR d.lease_until < ?2) AND w.disabled_at IS NULL \
               ORDER BY d.next_attempt_at LIMIT ?3) \
             RETURNING id, webhook_id, event, interview_id, attempts, created_at",
        )
        .bind(ts(lease_until))
        .bind(ts(now))
        .bind(i64::from(limit))
        .fetch_all(&self.writer)
        .await?;
        let mut due = Vec::with_capacity(rows.len());
        for r in rows {
            let hook: String = r.try_get("webhook_id")?;
            let w = sqlx::query("SELECT url, secret_sealed FROM webhooks WHERE id = ?")
                .bind(&hook)
                .fetch_one(&self.pool)
                .await?;
            due.push(Due {
                id: parse_uuid(r.try_get("id")?)?,
                url: w.try_get("url")?,
                secret_sealed: w.try_get("secret_sealed")?,
                event: r.try_get("event")?,
                interview_id: parse_uuid(r.try_get("interview_id")?)?,
                attempts: r.try_get::<i64, _>("attempts")? as u32,
                created_at: parse_ts(r.try_get("created_at")?)?,
            });
        }
        Ok(due)
    }

    async fn record_attempt(&self, id: Uuid, outcome: &Outcome) -> StoreResult<()> {
        let now = ts(Utc::now());
        let (status, next, code, error, delivered) = match outcome {
            Outcome::Delivered { status } => (
                "delivered",
                now.clone(),
                Some(*status),
                None,
                Some(now.clone()),
            ),
            Outcome::Retry { at, status, error } => {
                ("pending", ts(*at), *status, Some(error.as_str()), None)
            }
            Outcome::Failed { status, error } => {
                ("failed", now.clone(), *status, Some(error.as_str()), None)
            }
        };
        sqlx::query(
            "UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, \
             next_attempt_at = ?, lease_until = NULL, last_status_code = ?, last_error = ?, \
             delivered_at = ? WHERE id = ?",
        )
        .bind(status)
        .bind(next)
        .bind(code.map(i64::from))
        .bind(error)
        .bind(delivered)
        .bind(id.to_string())
        .execute(&self.writer)
        .await?;
        Ok(())
    }
}
