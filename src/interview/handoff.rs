//! Handoff: a candidate who reaches a node that does not drive their interview is held there
//! while the interview comes to them, instead of being refused.
//!
//! The node the candidate reached (the asker, [`take_over`]) first applies the takeover rule
//! from the owner's last checkpoint (a newcomer without the resume secret is refused while
//! the holder is connected), then asks every node over the hot state ([`Ask`], a Redis
//! publish); the node that drives it ([`serve`]) applies the rule again on the live actor and
//! either refuses (an answer the asker reads) or hands over: its actor closes its connection,
//! writes its final checkpoint and gives the lease up. The asker polls the lease and takes it
//! as soon as it is free — which is also how a dead owner's interview moves, once its lease
//! expires. Fencing (the lease's generation on every write) keeps a slow old owner from
//! writing after the new one.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{AttachError, Registry};
use crate::store::{Claim, HotState};

/// How often the asker looks at the lease while it waits.
const POLL: Duration = Duration::from_millis(100);
/// How long a refusal is kept for the asker to read.
const ANSWER_TTL: Duration = Duration::from_secs(30);

/// A node's request for an interview, to every node (only its owner acts on it).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Ask {
    pub interview_id: Uuid,
    /// Names this request's answer.
    pub request: String,
    /// The asking node (for the logs).
    pub from: String,
    /// The resume secret the candidate showed the asker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_secret: Option<String>,
}

/// What the asker waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The lease is the asker's now: its actor loads the interview.
    Taken,
    /// The takeover rule refused the newcomer.
    Refused,
    /// The owner neither handed over nor let its lease expire in time.
    TimedOut,
}

/// Takes interview `id` over for `node`, asking whoever drives it: returns once the lease is
/// `node`'s (`Taken`), the owner refused, or `wait` is spent. Without Redis (one node) there is
/// nobody to ask, and nothing is awaited beyond the lease.
pub async fn take_over(
    hot: &Arc<dyn HotState>,
    node: &str,
    lease_ttl: Duration,
    id: Uuid,
    resume_secret: Option<&str>,
    wait: Duration,
) -> Outcome {
    // The rule, from the owner's last checkpoint: no question is asked of a live owner for a
    // newcomer that cannot win.
    if let Ok(Some(cp)) = hot.load_checkpoint(id).await {
        let proven = match (&cp.resume_secret, resume_secret) {
            (Some(ours), Some(theirs)) => super::actor::same_secret(theirs, ours),
            _ => false,
        };
        if cp.holder_connected && !proven {
            tracing::info!(interview = %id, "handoff refused here: the candidate's session is live elsewhere");
            crate::metrics::global().count_handoff(crate::metrics::Handoff::Refused);
            return Outcome::Refused;
        }
    }
    let ask = Ask {
        interview_id: id,
        request: crate::auth::new_ticket(),
        from: node.to_owned(),
        resume_secret: resume_secret.map(str::to_owned),
    };
    let body = serde_json::to_string(&ask).expect("asks serialise");
    if let Err(e) = hot.ask_handoff(&body).await {
        tracing::debug!(interview = %id, error = %e, "handoff not asked; waiting for the lease");
    }
    let deadline = Instant::now() + wait;
    loop {
        match hot
            .acquire_lease(id, node, lease_ttl, Claim::Take { floor: 0 })
            .await
        {
            Ok(Some(_)) => {
                tracing::info!(interview = %id, "interview taken over from another node");
                crate::metrics::global().count_handoff(crate::metrics::Handoff::Taken);
                return Outcome::Taken;
            }
            Ok(None) => {}
            Err(e) => {
                tracing::debug!(interview = %id, error = %e, "lease unreadable during a handoff")
            }
        }
        if let Ok(Some(answer)) = hot.handoff_answer(&ask.request).await {
            if answer == "refused" {
                return Outcome::Refused;
            }
        }
        if Instant::now() >= deadline {
            return Outcome::TimedOut;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The owner's side: answers every node's asks for the interviews this node drives (holds
/// the lease of), until `cancel` (none without a shared hot state).
pub async fn serve(registry: Registry, hot: Arc<dyn HotState>, cancel: CancellationToken) {
    let mut asks = match hot.handoff_asks().await {
        Ok(Some(asks)) => asks,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for handoff requests; candidates who reach another node wait for the lease");
            return;
        }
    };
    loop {
        let body = tokio::select! {
            b = asks.recv() => match b {
                Some(b) => b,
                None => return,
            },
            _ = cancel.cancelled() => return,
        };
        let Ok(ask) = serde_json::from_str::<Ask>(&body) else {
            tracing::debug!("malformed handoff request ignored");
            continue;
        };
        let Some(handle) = registry.get(ask.interview_id) else {
            continue;
        };
        let (hot, node) = (hot.clone(), registry.deps().cfg.node.clone());
        tokio::spawn(async move {
            // An ask read late (this node was paused, say) may find the lease gone to the
            // asker already: only the lease's holder hands over.
            match hot.lease_holder(ask.interview_id).await {
                Ok(Some(holder)) if holder != node => return,
                Ok(_) => {}
                Err(e) => tracing::debug!(error = %e, "lease unreadable; answering the ask"),
            }
            let given = handle.hand_over(ask.resume_secret.clone()).await;
            tracing::info!(interview = %ask.interview_id, to = %ask.from, ?given, "handoff asked");
            if given == Some(false) {
                if let Err(e) = hot
                    .answer_handoff(&ask.request, "refused", ANSWER_TTL)
                    .await
                {
                    tracing::debug!(error = %e, "handoff refusal not recorded");
                }
            }
        });
    }
}

/// How a wait on a handoff ends for the candidate's connection.
pub fn refusal(outcome: Outcome) -> Option<AttachError> {
    match outcome {
        Outcome::Taken => None,
        Outcome::Refused => Some(AttachError::Busy),
        Outcome::TimedOut => Some(AttachError::Elsewhere),
    }
}
