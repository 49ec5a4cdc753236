//! Watching an interview another node drives: what a watcher is told first, rebuilt from the
//! durable turns and the owner's last hot checkpoint. The live stream brings what happened
//! since (see `http/relay.rs`).

use uuid::Uuid;

use super::conversation::Conversation;
use crate::protocol::{ConnectionMessage, InterviewState};
use crate::store::{Checkpoint, InterviewRecord, TurnRecord};

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
