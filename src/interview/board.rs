//! The live board's source on this node: each organization's running interviews as their
//! actors report them. Actors publish without waiting (a broadcast per organization, sent to
//! only when someone watches); `GET /v1/live` subscribes and reads the last status of each.
//! With Redis, each status is also shared (a key per interview, kept alive by the lease
//! renewals) so that boards on other nodes show it too.

use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use tokio::sync::{broadcast, mpsc};
use uuid::Uuid;

use crate::store::HotState;

use crate::protocol::live::LiveStatus;

/// What an actor reports.
#[derive(Debug, Clone, PartialEq)]
pub enum BoardEvent {
    Started(Uuid),
    Status(Uuid, LiveStatus),
    Level(Uuid, f32),
    Ended(Uuid, String),
    /// No longer loaded here (unloaded after the grace period, or moved to another node).
    Unloaded(Uuid),
}

/// Updates a slow board may fall behind by before it is told to resnapshot.
const BOARD_QUEUE: usize = 1024;

#[derive(Default)]
pub struct Board {
    orgs: DashMap<Uuid, broadcast::Sender<BoardEvent>>,
    /// Each loaded interview's organization and last status.
    status: DashMap<Uuid, (Uuid, LiveStatus)>,
    /// Statuses for the other nodes' boards (with Redis), written by one task.
    shared: Option<mpsc::Sender<(Uuid, Option<String>)>>,
}

/// Shared statuses queued before new ones are dropped (the next change or renewal resends).
const SHARED_QUEUE: usize = 4096;

impl Board {
    /// A board whose statuses are shared through `hot` for `ttl` at a time (see
    /// [`Board::share_again`]).
    pub fn shared(hot: Arc<dyn HotState>, ttl: Duration) -> Self {
        let (tx, mut rx) = mpsc::channel::<(Uuid, Option<String>)>(SHARED_QUEUE);
        tokio::spawn(async move {
            while let Some((id, status)) = rx.recv().await {
                if let Err(e) = hot.put_live(id, status.as_deref(), ttl).await {
                    tracing::debug!(interview = %id, error = %e, "live status not shared");
                }
            }
        });
        Self {
            shared: Some(tx),
            ..Self::default()
        }
    }

    /// Whether statuses are shared with other nodes.
    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    fn share(&self, id: Uuid, status: Option<String>) {
        if let Some(tx) = &self.shared {
            let _ = tx.try_send((id, status));
        }
    }

    /// Shares a running interview's status again (its lease renewal: the shared copy outlives
    /// a quiet stretch, and expires when the node that drives it is gone).
    pub fn share_again(&self, id: Uuid) {
        if self.shared.is_some() {
            if let Some(s) = self.status.get(&id) {
                let json = serde_json::to_string(&s.1).expect("statuses serialise");
                drop(s);
                self.share(id, Some(json));
            }
        }
    }

    /// Updates for `org` from now on.
    pub fn subscribe(&self, org: Uuid) -> broadcast::Receiver<BoardEvent> {
        self.orgs
            .entry(org)
            .or_insert_with(|| broadcast::channel(BOARD_QUEUE).0)
            .subscribe()
    }

    /// Whether anyone watches `org`'s board on this node.
    pub fn watched(&self, org: Uuid) -> bool {
        self.orgs
            .get(&org)
            .is_some_and(|tx| tx.receiver_count() > 0)
    }

    /// The last status of a loaded interview.
    pub fn status(&self, id: Uuid) -> Option<LiveStatus> {
        self.status.get(&id).map(|s| s.1.clone())
    }

    pub fn publish(&self, org: Uuid, event: BoardEvent) {
        match &event {
            BoardEvent::Status(id, s) => {
                self.status.insert(*id, (org, s.clone()));
                if self.shared.is_some() {
                    self.share(
                        *id,
                        Some(serde_json::to_string(s).expect("statuses serialise")),
                    );
                }
            }
            BoardEvent::Ended(id, _) | BoardEvent::Unloaded(id) => {
                self.status.remove(id);
                self.share(*id, None);
            }
            BoardEvent::Started(_) | BoardEvent::Level(..) => {}
        }
        if let Some(tx) = self.orgs.get(&org) {
            if tx.receiver_count() > 0 {
                let _ = tx.send(event);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::InterviewState;

    fn status(question: u32) -> LiveStatus {
        LiveStatus {
            state: InterviewState::Listening,
            started_at: None,
            question,
            questions: Some(3),
            candidate_connected: true,
            drops: 0,
            degraded: false,
            watchers: 0,
        }
    }

    #[test]
    fn a_board_gets_its_organizations_updates_only_and_statuses_are_kept() {
        let board = Board::default();
        let (a, b, id) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        assert!(!board.watched(a));
        board.publish(a, BoardEvent::Status(id, status(1)));
        let mut rx = board.subscribe(a);
        assert!(board.watched(a) && !board.watched(b));
        board.publish(b, BoardEvent::Started(Uuid::now_v7()));
        board.publish(a, BoardEvent::Status(id, status(2)));
        assert_eq!(rx.try_recv().unwrap(), BoardEvent::Status(id, status(2)));
        assert!(rx.try_recv().is_err());
        assert_eq!(board.status(id), Some(status(2)));
        board.publish(a, BoardEvent::Ended(id, "completed".into()));
        assert_eq!(board.status(id), None);
    }
}
