//! Watching an interview another node drives: what a watcher is told first, rebuilt from the
//! durable turns and the owner's last hot checkpoint. The live stream brings what happened
//! since (see `http/relay.rs`); the [`Feed`] brings the monitor-only messages and listen-in
//! audio; [`Mail`] carries a remote watcher's heartbeat and steering to the driving node.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use uuid::Uuid;

use super::conversation::Conversation;
use crate::protocol::{ConnectionMessage, InterviewState};
use crate::store::{Checkpoint, FeedItem, HotState, InterviewRecord, TurnRecord};

/// A watcher's start: `ready` and `resync`, and the `seq` the live stream continues after.
pub struct WatchStart {
    pub ready: ConnectionMessage,
    pub resync: ConnectionMessage,
    pub after: u64,
}

pub fn watch_start(
    id: Uuid,
    interview: InterviewRecord,
    turns: Vec<TurnRecord>,
    checkpoint: Option<&Checkpoint>,
) -> WatchStart {
    let state = checkpoint.map_or(InterviewState::Thinking, |c| c.state);
    let next_turn = checkpoint.map_or(0, |c| c.next_turn);
    // Start from the checkpoint's position; the stream brings what happened since.
    let after = checkpoint.map_or(0, |c| c.next_seq.saturating_sub(1));
    let conv = Conversation::new(interview, turns, next_turn);
    WatchStart {
        ready: ConnectionMessage::Ready {
            interview_id: id,
            resumed: true,
            state,
            last_seq: after,
            resume_secret: None,
        },
        resync: ConnectionMessage::Resync {
            snapshot: conv.snapshot(state, after),
        },
        after,
    }
}

/// A message for the node that drives an interview, left in the hot state by another node
/// (`HotState::send_mail`) and taken at the driving node's next lease renewal.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Mail {
    /// Someone watches from another node: feed it the monitor-only messages (and, with
    /// `listen`, both sides' audio) for [`WATCH_TTL`] more.
    Watching { listen: bool },
    /// A question suggested from another node.
    Suggest { text: String },
    /// A note stored from another node, for the watchers here.
    Note {
        note: crate::protocol::monitor::InterviewNote,
    },
}

/// How often a watcher on another node says it is still there.
pub const WATCH_HEARTBEAT: Duration = Duration::from_secs(5);
/// How long the driving node feeds a remote watcher after its last heartbeat.
pub const WATCH_TTL: Duration = Duration::from_secs(15);
/// How long a message waits for the driving node.
pub const MAIL_TTL: Duration = Duration::from_secs(600);

impl Mail {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("mail serialises")
    }
}

/// Items queued for the feed before new ones are dropped (the feed is live-only).
const FEED_QUEUE: usize = 8192;

/// This node's publisher of the feeds watchers on other nodes read: actors hand it items
/// without waiting; one task writes them to the hot state in batches.
#[derive(Clone)]
pub struct Feed {
    tx: mpsc::Sender<(Uuid, FeedItem)>,
}

impl Feed {
    /// Starts the publishing task (inside a tokio runtime).
    pub fn start(hot: Arc<dyn HotState>) -> Self {
        let (tx, mut rx) = mpsc::channel::<(Uuid, FeedItem)>(FEED_QUEUE);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(256);
            while rx.recv_many(&mut batch, 256).await > 0 {
                if let Err(e) = hot.publish_feed(&batch).await {
                    tracing::debug!(error = %e, items = batch.len(), "live feed not published");
                }
                batch.clear();
            }
        });
        Self { tx }
    }

    /// Queues an item; dropped when the publisher is behind.
    pub fn push(&self, id: Uuid, item: FeedItem) {
        let _ = self.tx.try_send((id, item));
    }
}
