//! The assessment job runner, on every node: claims due jobs with a lease (a node that dies
//! mid-job leaves it to be claimed again once the lease runs out), makes the assessment, and
//! stores the one result per interview; a failed attempt is retried with backoff, then given
//! up (`failed`; `regenerate` queues it again).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use super::report::{assess, assessable, AssessInput};
use super::{AssessmentStore, Claimed};
use crate::protocol::EventEnvelope;
use crate::store::{Store, StoreResult};

/// How often due jobs are looked for.
pub const POLL: Duration = Duration::from_secs(2);
/// How long a claimed job is this node's, by default (`VIVA_ASSESSMENT_LEASE_SECS`).
pub const LEASE: Duration = Duration::from_secs(120);
/// Waits after failed attempts 1, 2, 3…; past the end, the job fails.
pub const BACKOFF: [Duration; 4] = [
    Duration::from_secs(30),
    Duration::from_secs(120),
    Duration::from_secs(600),
    Duration::from_secs(3600),
];
const BATCH: u32 = 4;

#[derive(Clone)]
pub struct Assessor {
    pub jobs: Arc<dyn AssessmentStore>,
    pub store: Arc<dyn Store>,
    pub analyst: crate::analysis::Analyst,
    /// How long a claimed job is this node's ([`LEASE`] unless configured).
    pub lease: Duration,
}

impl Assessor {
    /// Polls until `stop`.
    pub async fn run(self, stop: CancellationToken) {
        let me = &self;
        let failed = "assessment jobs not claimed; trying again";
        crate::periodic::every(POLL, stop, failed, || me.pass()).await
    }

    /// Claims what is due and assesses it: how many jobs were attempted.
    pub async fn pass(&self) -> StoreResult<usize> {
        self.pass_at(Utc::now()).await
    }

    /// [`Self::pass`] as if it were `now` (tests reach a lease's end without waiting for it).
    pub async fn pass_at(&self, now: chrono::DateTime<Utc>) -> StoreResult<usize> {
        let lease = now + chrono::Duration::from_std(self.lease).expect("a lease fits");
        let due = self.jobs.claim_assessments(now, lease, BATCH).await?;
        let n = due.len();
        for job in due {
            self.attempt(&job, now).await;
        }
        Ok(n)
    }

    async fn attempt(&self, job: &Claimed, now: chrono::DateTime<Utc>) {
        let id = job.interview_id;
        let result = match self.make(job).await {
            Ok(body) => self.jobs.complete_assessment(job, &body).await,
            Err(error) => {
                let retry_at = BACKOFF
                    .get(job.attempts.saturating_sub(1) as usize)
                    .map(|w| now + chrono::Duration::from_std(*w).expect("fits"));
                if retry_at.is_none() {
                    tracing::warn!(interview = %id, %error, "assessment failed for good");
                } else {
                    tracing::warn!(interview = %id, %error, "assessment attempt failed; retrying");
                }
                self.jobs.fail_assessment(job, retry_at, &error).await
            }
        };
        match result {
            Ok(()) => {
                tracing::info!(interview = %id, generation = job.generation, "assessment made")
            }
            // The lease runs out and the job is claimed again.
            Err(e) => {
                tracing::warn!(interview = %id, error = %e, "assessment not recorded; it will be retried")
            }
        }
    }

    /// Makes the assessment from what the store holds. The error is for the job's record
    /// (what failed, never data).
    pub async fn make(&self, job: &Claimed) -> Result<super::Assessment, String> {
        let id = job.interview_id;
        let load = |what: &str, e: crate::store::StoreError| {
            tracing::warn!(interview = %id, error = %e, "assessment: {what} not read");
            format!("the {what} could not be read")
        };
        let interview = self
            .store
            .get_interview(id)
            .await
            .map_err(|e| load("interview", e))?
            .ok_or("the interview no longer exists")?;
        let turns = self
            .store
            .turns(id)
            .await
            .map_err(|e| load("transcript", e))?;
        // The whole log (`events_after` gives the newest `limit`).
        let last = self
            .store
            .max_event_seq(id)
            .await
            .map_err(|e| load("event log", e))?;
        let events: Vec<_> = self
            .store
            .events_after(id, 0, u32::try_from(last).unwrap_or(u32::MAX))
            .await
            .map_err(|e| load("event log", e))?
            .iter()
            .filter_map(|e| serde_json::from_str::<EventEnvelope>(&e.body).ok())
            .map(|e| e.event)
            .collect();
        let input = AssessInput {
            interview: &interview,
            turns: &turns,
            events: &events,
            generation: job.generation,
        };
        // Each answer analysed (a model's failures are `unscored` answers, not a failed job).
        let mut analysed = Vec::new();
        for ctx in assessable(&input) {
            let a = self
                .analyst
                .analyse(&ctx, interview.prompts.as_deref())
                .await;
            analysed.push((ctx, a));
        }
        let mut assessment = assess(&input, analysed, &self.analyst);
        // A model analyst also writes the words (the scores stay the rules').
        if let crate::analysis::Analyst::Model(m) = &self.analyst {
            let prompts = interview.prompts.as_deref();
            if super::summary::write(m, &mut assessment, prompts).await {
                assessment.versions.assessor = format!(
                    "{} + {} ({})",
                    assessment.versions.assessor,
                    crate::prompts::version_of(prompts, crate::prompts::PromptName::Assessor),
                    m.model
                );
            }
        }
        // Made after the scores, from the record alone: no score can depend on it.
        if interview.settings.integrity_signals == Some(true) {
            let client = self
                .store
                .client_signals(id)
                .await
                .map_err(|e| load("client events", e))?;
            assessment.integrity = Some(crate::integrity::review(&interview, &turns, &client));
        }
        Ok(assessment)
    }
}
