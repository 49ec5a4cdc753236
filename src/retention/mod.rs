//! Retention: each organization keeps interview data `retention_days` (`PATCH /v1/org`, 365 by
//! default). A background task deletes what is older — transcripts, event logs, notes, analyses,
//! recordings and the copies of the résumé and job description an interview was given — and
//! records each purge in
//! the organization's audit log. The interview row stays (status, times, usage, `purged_at`).
//!
//! Every node may run it: a purge is idempotent (what is gone is not counted again).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::accounts::organization::OrgStore;
use crate::audit::{self, AuditStore, Record};
use crate::hiring::interviews::InterviewDirectory;
use crate::store::StoreResult;

/// How often the task looks.
pub const EVERY: Duration = Duration::from_secs(60 * 60);

/// What the task needs from the store.
#[derive(Clone)]
pub struct Retention {
    pub orgs: Arc<dyn OrgStore>,
    pub interviews: Arc<dyn InterviewDirectory>,
    pub audit: Arc<dyn AuditStore>,
    /// Recordings, deleted with the rest (`None`: none are kept).
    pub recordings: Option<Arc<dyn crate::recording::RecordingStore>>,
}

impl Retention {
    /// One pass at `now`: the interviews purged, summed over organizations.
    pub async fn sweep(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let mut total = 0;
        for (org, days) in self.orgs.retention_of_all().await? {
            let cutoff = now - chrono::Duration::days(i64::from(days));
            if let Some(recordings) = &self.recordings {
                for id in self.interviews.purgeable_before(org, cutoff).await? {
                    // A store that cannot delete now is tried again at the next sweep (the
                    // interview is purged only once its recordings are gone).
                    if let Err(e) = recordings.delete_prefix(&format!("{id}/")).await {
                        tracing::warn!(interview = %id, error = %e, "cannot delete a recording past its retention");
                        return Ok(total);
                    }
                }
            }
            let purged = self.interviews.purge_before(org, cutoff).await?;
            if purged > 0 {
                tracing::info!(%org, purged, days, "interview data past its retention deleted");
                let details = serde_json::json!({ "interviews": purged, "retention_days": days });
                audit::record(
                    self.audit.as_ref(),
                    Record::new(org, None, "retention.purged").details(details),
                )
                .await;
            }
            total += purged;
        }
        Ok(total)
    }

    /// Sweeps every [`EVERY`] (the first soon after start) until `stop`.
    pub async fn run(self, stop: CancellationToken) {
        let me = &self;
        let failed = "retention sweep failed; trying again later";
        crate::periodic::every(EVERY, stop, failed, || me.sweep(Utc::now())).await
    }
}
