//! Hot-state upkeep off the actor's loop: checkpoints and the ownership lease.
//!
//! Checkpoints go through one writer task per interview, one write at a time, the newest
//! waiting one winning (a slow Redis delays a checkpoint, never a frame or an event); it reports
//! each write done, so what waits for one (an answer during a store outage) goes on then. The
//! lease is renewed by a task that reports whether it is still ours. The final checkpoint, at
//! the way out, is written after every earlier one.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use uuid::Uuid;

use super::{cancelled_mark, Actor, Internal, Phase};
use crate::interview::handle::Outbound;
use crate::interview::Deps;
use crate::protocol::close;
use crate::store::{Checkpoint, Claim, StorageCounters, StoreError, CHECKPOINT_VERSION};

/// Checkpoints are written every turn, and this often while the interviewer speaks.
const SPEAKING_CHECKPOINT_EVERY: Duration = Duration::from_secs(5);

/// What a lease renewal found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Renewal {
    /// Ours, with this generation.
    Ours(u64),
    /// Another node holds it.
    Lost,
    /// The hot state did not answer: still ours as far as anyone can tell.
    Unknown,
}

pub(super) struct Upkeep {
    /// The newest checkpoint not yet taken by the writer, numbered.
    next: watch::Sender<Option<(u64, Checkpoint)>>,
    /// The number of the last checkpoint the writer finished (stored or failed).
    written: watch::Receiver<u64>,
    writer: JoinHandle<()>,
    requested: u64,
    last_checkpoint: Instant,
    lease_renew_at: Instant,
    lease_in_flight: bool,
}

impl Upkeep {
    /// `report`: where a checkpoint refused for a newer owner's is reported ([`Internal::Fenced`]).
    pub(super) fn start(id: Uuid, deps: &Arc<Deps>, report: mpsc::Sender<Internal>) -> Self {
        let (next, mut rx) = watch::channel::<Option<(u64, Checkpoint)>>(None);
        let (done_tx, written) = watch::channel(0u64);
        let task_deps = deps.clone();
        let writer = tokio::spawn(async move {
            // Ends once the actor drops its side, after the last checkpoint it asked for.
            while rx.changed().await.is_ok() {
                let Some((n, cp)) = rx.borrow_and_update().clone() else {
                    continue;
                };
                match task_deps.hot.save_checkpoint(&cp).await {
                    Ok(()) => {}
                    Err(StoreError::Fenced) => {
                        tracing::warn!(interview = %id, fence = cp.fence, "checkpoint refused: a newer owner's is stored");
                        let _ = report.try_send(Internal::Fenced);
                    }
                    Err(e) => {
                        tracing::warn!(interview = %id, error = %e, "checkpoint failed");
                        StorageCounters::count(&task_deps.events.counters().checkpoint_failures);
                    }
                }
                let _ = done_tx.send(n);
            }
        });
        let now = Instant::now();
        Self {
            next,
            written,
            writer,
            requested: 0,
            last_checkpoint: now,
            lease_renew_at: now + deps.cfg.lease_ttl / 3,
            lease_in_flight: false,
        }
    }

    /// Resolves when a checkpoint write finishes, with its number.
    pub(super) async fn checkpoint_written(&mut self) -> Option<u64> {
        self.written.changed().await.ok()?;
        Some(*self.written.borrow_and_update())
    }

    /// While the interviewer speaks, a checkpoint every few seconds.
    pub(super) fn checkpoint_due(&self, now: Instant) -> bool {
        now >= self.last_checkpoint + SPEAKING_CHECKPOINT_EVERY
    }

    pub(super) fn lease_due(&self, now: Instant) -> bool {
        !self.lease_in_flight && now >= self.lease_renew_at
    }

    pub(super) fn wake_at(&self) -> Option<Instant> {
        (!self.lease_in_flight).then_some(self.lease_renew_at)
    }

    /// Renews the ownership lease in a task that reports back ([`Internal::Lease`]). A
    /// hot-state outage counts as still ours (nobody else can take it from Redis either). The
    /// same task looks for a cancel made through another node ([`cancelled_mark`]).
    pub(super) fn renew_lease(
        &mut self,
        id: Uuid,
        deps: &Arc<Deps>,
        report: mpsc::Sender<Internal>,
        claim: Claim,
    ) {
        self.lease_in_flight = true;
        self.lease_renew_at = Instant::now() + deps.cfg.lease_ttl / 3;
        deps.board.share_again(id);
        let deps = deps.clone();
        tokio::spawn(async move {
            let lease = match deps
                .hot
                .acquire_lease(id, &deps.cfg.node, deps.cfg.lease_ttl, claim)
                .await
            {
                Ok(Some(generation)) => Renewal::Ours(generation),
                Ok(None) => Renewal::Lost,
                Err(e) => {
                    tracing::debug!(interview = %id, error = %e, "lease renewal failed");
                    Renewal::Unknown
                }
            };
            // The reason stays in the store: read out only by the node the cancel went to.
            let cancelled =
                matches!(deps.hot.is_revoked(&cancelled_mark(id)).await, Ok(true)).then_some(None);
            // What watchers on other nodes left for this interview.
            let mail = match deps.hot.take_mail(id).await {
                Ok(m) => m,
                Err(e) => {
                    tracing::debug!(interview = %id, error = %e, "cannot read the interview's mail");
                    Vec::new()
                }
            };
            let _ = report
                .send(Internal::Lease {
                    lease,
                    cancelled,
                    mail,
                })
                .await;
        });
    }
}

impl Actor {
    /// The fencing token this owner's writes carry.
    pub(super) fn fence(&self) -> u64 {
        self.lease_gen.unwrap_or(self.store_fence)
    }

    /// What a lease renewal asks for: the generation held, or (unknown: the hot state was
    /// down at load) one above the store's fence.
    pub(super) fn lease_claim(&self) -> Claim {
        match self.lease_gen {
            Some(held) => Claim::Renew { held },
            None => Claim::Take {
                floor: self.store_fence,
            },
        }
    }

    fn checkpoint_record(&self, clean: bool) -> Checkpoint {
        Checkpoint {
            v: CHECKPOINT_VERSION,
            interview_id: self.id,
            next_seq: self.log.next_seq(),
            next_turn: self.conv.next_turn(),
            state: self.state,
            updated_at: Utc::now(),
            unsaved: self.writes.unsaved(),
            clean,
            resume_secret: Some(self.resume_secret.clone()),
            holder_connected: self.conn.is_some(),
            fence: self.fence(),
        }
    }

    /// Asks for a checkpoint of the state now; returns its number (see `writes_checkpointed`).
    pub(super) fn checkpoint(&mut self) -> u64 {
        let cp = self.checkpoint_record(false);
        let u = &mut self.upkeep;
        u.last_checkpoint = Instant::now();
        u.requested += 1;
        let n = u.requested;
        u.next.send_replace(Some((n, cp)));
        n
    }

    pub(super) fn on_lease(&mut self, lease: Renewal) {
        self.upkeep.lease_in_flight = false;
        match (lease, self.lease_gen) {
            (Renewal::Unknown, _) => {}
            // Taken while unknown (the hot state was down at load): this generation from now on.
            (Renewal::Ours(generation), None) => self.lease_gen = Some(generation),
            (Renewal::Ours(generation), Some(ours)) if generation == ours => {}
            // Lost and taken again since: someone else may have driven it in between, and
            // this actor's conversation may be behind theirs.
            (Renewal::Ours(_), Some(_)) => self.moved("lease lost and taken again"),
            (Renewal::Lost, _) => self.moved("lease lost: another node drives this interview now"),
        }
    }

    /// Another owner drives this interview now (its lease or a fenced write said so): the
    /// candidate is told to reconnect, and the actor leaves without writing anything more.
    pub(super) fn moved(&mut self, why: &str) {
        if self.is_over() {
            return;
        }
        tracing::warn!(interview = %self.id, fence = self.fence(), why, "another owner drives this interview; stopping");
        crate::metrics::global().count_ownership_lost();
        // The new owner's checkpoints are the ones that count now.
        self.upkeep.writer.abort();
        self.send(Outbound::Close(
            close::TRY_AGAIN,
            "interview moved; reconnect",
        ));
        self.close_monitors(close::TRY_AGAIN, "interview moved; reconnect");
        self.conn = None;
        self.phase = Phase::Moved;
    }

    /// The way out: the final checkpoint (after every earlier one; `clean`, unless the
    /// interview moved), then the lease is given up.
    pub(super) async fn final_checkpoint(&mut self) {
        let final_cp = self.checkpoint_record(true);
        tracing::info!(interview = %self.id, next_seq = final_cp.next_seq, fence = final_cp.fence, "final checkpoint");
        let u = &mut self.upkeep;
        u.requested += 1;
        u.next.send_replace(Some((u.requested, final_cp)));
        // Dropping the sender ends the writer once it has written the last one.
        let (closed, _) = watch::channel(None);
        drop(std::mem::replace(&mut u.next, closed));
        let _ = (&mut u.writer).await;
        if let Err(e) = self
            .deps
            .hot
            .release_lease(self.id, &self.deps.cfg.node)
            .await
        {
            tracing::debug!(interview = %self.id, error = %e, "lease release failed; it expires");
        }
    }
}
