//! Restoring an interview from what its last owner left: the durable turns and events, the
//! live stream and the hot checkpoint. Pure: [`restore`] only combines what
//! [`Actor::load`](super::Actor) fetched, so every rule here is unit-tested without a store.

use crate::store::{Checkpoint, StoredEvent, TurnRecord, CHECKPOINT_VERSION};

/// How far `seq` skips after an unclean stop: more than the events a node can have sent but not
/// yet written (the event writers' queues hold 16 384 each).
pub(super) const CRASH_SEQ_GAP: u64 = 1 << 16;

/// What the last owner left, as fetched.
pub(super) struct Sources {
    /// The durable turns, in order.
    pub turns: Vec<TurnRecord>,
    /// The hot checkpoint, if any (of any version).
    pub checkpoint: Option<Checkpoint>,
    /// The highest event `seq` in the durable store (0: none).
    pub stored_seq: u64,
    /// The live stream's events, oldest first (empty without a shared stream).
    pub streamed: Vec<StoredEvent>,
    /// The durable store's first events, when the stream is behind it (see [`history_from_stream`]).
    pub stored_events: Vec<StoredEvent>,
    /// How many recent events are kept for replay.
    pub window: usize,
}

/// The actor's starting point.
#[derive(Debug, PartialEq)]
pub(super) struct Restored {
    /// The conversation: the durable turns, then the checkpoint's unsaved ones.
    pub turns: Vec<TurnRecord>,
    /// Turns the last owner could not store: written before anything else.
    pub unsaved: Vec<TurnRecord>,
    /// The replay window's events.
    pub history: Vec<(u64, String)>,
    pub next_seq: u64,
    pub next_turn: u32,
    /// The candidate's resume secret, kept across owners.
    pub resume_secret: Option<String>,
    /// The candidate was connected when the last owner stopped: it gets the takeover hold.
    pub holder_was_connected: bool,
}

/// Whether the live stream has everything the store has (then it is the replay history: it also
/// has what an outage kept from the store). Decides whether `stored_events` must be fetched.
pub(super) fn history_from_stream(streamed: &[StoredEvent], stored_seq: u64) -> bool {
    streamed.last().is_some_and(|e| e.seq >= stored_seq)
}

pub(super) fn restore(src: Sources) -> Restored {
    let checkpoint = src.checkpoint.filter(|c| c.v == CHECKPOINT_VERSION);
    let mut turns = src.turns;
    // Unsaved turns the store took after all are not restored twice.
    let last_stored = turns.last().map(|t| t.seq);
    let unsaved: Vec<TurnRecord> = checkpoint
        .as_ref()
        .map(|c| c.unsaved.clone())
        .unwrap_or_default()
        .into_iter()
        .filter(|t| last_stored.is_none_or(|s| t.seq > s))
        .collect();
    turns.extend(unsaved.iter().cloned());

    let streamed_seq = src.streamed.last().map_or(0, |e| e.seq);
    let source = if history_from_stream(&src.streamed, src.stored_seq) {
        src.streamed
    } else {
        src.stored_events
    };
    let skip = source.len().saturating_sub(src.window);
    let history = source
        .into_iter()
        .skip(skip)
        .map(|e| (e.seq, e.body))
        .collect();

    let mut next_seq = checkpoint
        .as_ref()
        .map_or(1, |c| c.next_seq)
        .max(src.stored_seq + 1)
        .max(streamed_seq + 1);
    // A previous owner that did not stop cleanly may have sent events that reached neither the
    // stream nor the store: numbering on from what was kept would give those seqs to new
    // events. Skip past anything it could have sent; a client that saw them gets a resync,
    // never a seq it has seen before.
    let ran_before = checkpoint.is_some() || src.stored_seq > 0 || streamed_seq > 0;
    if ran_before && !checkpoint.as_ref().is_some_and(|c| c.clean) {
        next_seq += CRASH_SEQ_GAP;
    }
    let resume_secret = checkpoint.as_ref().and_then(|c| c.resume_secret.clone());
    Restored {
        turns,
        unsaved,
        history,
        next_seq,
        next_turn: checkpoint.as_ref().map_or(0, |c| c.next_turn),
        holder_was_connected: checkpoint
            .as_ref()
            .is_some_and(|c| c.holder_connected && resume_secret.is_some()),
        resume_secret,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{InterviewState, Speaker, TurnKind};
    use chrono::Utc;
    use uuid::Uuid;

    fn turn(seq: u32) -> TurnRecord {
        TurnRecord {
            suggested: false,
            interview_id: Uuid::nil(),
            seq,
            speaker: Speaker::Candidate,
            kind: TurnKind::Answer,
            text: format!("turn {seq}"),
            transcribed: true,
            interrupted: false,
            audio_ms: 0,
            started_at: Utc::now(),
            ended_at: Utc::now(),
            timings: None,
            decision: None,
        }
    }

    fn event(seq: u64) -> StoredEvent {
        StoredEvent {
            interview_id: Uuid::nil(),
            seq,
            body: format!("{{\"seq\":{seq}}}"),
        }
    }

    fn checkpoint(next_seq: u64, clean: bool) -> Checkpoint {
        Checkpoint {
            v: CHECKPOINT_VERSION,
            interview_id: Uuid::nil(),
            next_seq,
            next_turn: 7,
            state: InterviewState::Listening,
            updated_at: Utc::now(),
            unsaved: Vec::new(),
            clean,
            resume_secret: Some("secret".into()),
            holder_connected: true,
            fence: 1,
        }
    }

    fn sources() -> Sources {
        Sources {
            turns: Vec::new(),
            checkpoint: None,
            stored_seq: 0,
            streamed: Vec::new(),
            stored_events: Vec::new(),
            window: 3,
        }
    }

    #[test]
    fn a_new_interview_starts_at_the_beginning() {
        let r = restore(sources());
        assert_eq!((r.next_seq, r.next_turn), (1, 0));
        assert!(r.turns.is_empty() && r.history.is_empty() && r.unsaved.is_empty());
        assert_eq!((r.resume_secret, r.holder_was_connected), (None, false));
    }

    #[test]
    fn a_clean_stop_numbers_on_and_keeps_the_holder_and_secret() {
        let r = restore(Sources {
            checkpoint: Some(checkpoint(12, true)),
            stored_seq: 9,
            ..sources()
        });
        assert_eq!((r.next_seq, r.next_turn), (12, 7));
        assert_eq!(r.resume_secret.as_deref(), Some("secret"));
        assert!(r.holder_was_connected);
    }

    #[test]
    fn an_unclean_stop_skips_past_anything_the_last_owner_could_have_sent() {
        let r = restore(Sources {
            checkpoint: Some(checkpoint(12, false)),
            ..sources()
        });
        assert_eq!(r.next_seq, 12 + CRASH_SEQ_GAP);
        // No checkpoint at all, but events were stored: also unclean.
        let r = restore(Sources {
            stored_seq: 40,
            ..sources()
        });
        assert_eq!(r.next_seq, 41 + CRASH_SEQ_GAP);
    }

    #[test]
    fn numbering_continues_after_whichever_source_went_furthest() {
        let r = restore(Sources {
            checkpoint: Some(checkpoint(5, true)),
            stored_seq: 8,
            streamed: (1..=10).map(event).collect(),
            ..sources()
        });
        assert_eq!(r.next_seq, 11);
    }

    #[test]
    fn unsaved_turns_join_the_conversation_unless_the_store_took_them() {
        let mut cp = checkpoint(20, true);
        cp.unsaved = vec![turn(2), turn(3), turn(4)];
        let r = restore(Sources {
            turns: vec![turn(0), turn(1), turn(2)],
            checkpoint: Some(cp),
            ..sources()
        });
        let seqs = |ts: &[TurnRecord]| ts.iter().map(|t| t.seq).collect::<Vec<_>>();
        assert_eq!(seqs(&r.unsaved), [3, 4]);
        assert_eq!(seqs(&r.turns), [0, 1, 2, 3, 4]);
    }

    #[test]
    fn history_is_the_stream_when_it_is_ahead_else_the_store_in_the_window() {
        let streamed: Vec<StoredEvent> = (1..=6).map(event).collect();
        let stored: Vec<StoredEvent> = (1..=4).map(event).collect();
        assert!(history_from_stream(&streamed, 4));
        let r = restore(Sources {
            stored_seq: 4,
            streamed: streamed.clone(),
            stored_events: stored.clone(),
            checkpoint: Some(checkpoint(7, true)),
            ..sources()
        });
        let seqs: Vec<u64> = r.history.iter().map(|(s, _)| *s).collect();
        assert_eq!(seqs, [4, 5, 6], "the stream, last `window` events");
        // The stream lost its tail (Redis restarted): the store's events.
        assert!(!history_from_stream(&streamed[..2], 4));
        let r = restore(Sources {
            stored_seq: 4,
            streamed: streamed[..2].to_vec(),
            stored_events: stored,
            checkpoint: Some(checkpoint(7, true)),
            ..sources()
        });
        let seqs: Vec<u64> = r.history.iter().map(|(s, _)| *s).collect();
        assert_eq!(seqs, [2, 3, 4]);
    }

    #[test]
    fn a_checkpoint_of_another_version_is_ignored() {
        let mut cp = checkpoint(50, true);
        cp.v = CHECKPOINT_VERSION + 1;
        cp.unsaved = vec![turn(0)];
        let r = restore(Sources {
            checkpoint: Some(cp),
            ..sources()
        });
        assert_eq!(r, restore(sources()));
    }
}
