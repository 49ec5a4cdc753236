//! The interview's seq-numbered event log: assigns `seq`, serialises once, keeps a replay window.

use std::collections::VecDeque;

use axum::extract::ws::Utf8Bytes;
use chrono::Utc;

use crate::protocol::{Event, EventEnvelope};

/// What a resuming client gets.
#[derive(Debug, PartialEq)]
pub enum Replay {
    /// Every event after the client's `resume_from`, in order.
    Events(Vec<Utf8Bytes>),
    /// The gap cannot be replayed: send a snapshot.
    Resync,
}

pub struct EventLog {
    next_seq: u64,
    /// Lowest seq this log can vouch for: events before it (from before a restart) are only
    /// replayable if they were loaded from the durable log.
    window: VecDeque<(u64, Utf8Bytes)>,
    capacity: usize,
}

impl EventLog {
    /// `next_seq` continues the interview's numbering; `history` is the tail of the stored log.
    pub fn new(next_seq: u64, history: Vec<(u64, String)>, capacity: usize) -> Self {
        let mut window: VecDeque<(u64, Utf8Bytes)> = history
            .into_iter()
            .filter(|(seq, _)| *seq < next_seq)
            .map(|(seq, body)| (seq, Utf8Bytes::from(body)))
            .collect();
        while window.len() > capacity {
            window.pop_front();
        }
        Self {
            next_seq: next_seq.max(1),
            window,
            capacity: capacity.max(1),
        }
    }

    pub fn last_seq(&self) -> u64 {
        self.next_seq - 1
    }

    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Assigns the next seq, stamps the time and serialises the event once.
    pub fn append(&mut self, event: Event) -> (u64, Utf8Bytes) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let env = EventEnvelope {
            seq,
            ts: Utc::now(),
            event,
        };
        let json = Utf8Bytes::from(serde_json::to_string(&env).expect("events serialise"));
        if self.window.len() == self.capacity {
            self.window.pop_front();
        }
        self.window.push_back((seq, json.clone()));
        (seq, json)
    }

    /// Events with `seq > after`, or `Resync` if some of them are no longer (or never were) held.
    pub fn replay_after(&self, after: u64) -> Replay {
        if after > self.last_seq() {
            // The client saw events this log does not have (lost in a crash): start it afresh.
            return Replay::Resync;
        }
        if after == self.last_seq() {
            return Replay::Events(Vec::new());
        }
        match self.window.front() {
            Some(&(first, _)) if first <= after + 1 => {
                let skip = (after + 1 - first) as usize;
                let events: Vec<_> = self
                    .window
                    .iter()
                    .skip(skip)
                    .map(|(_, j)| j.clone())
                    .collect();
                // The window must be contiguous up to the last seq.
                if events.len() as u64 == self.last_seq() - after {
                    Replay::Events(events)
                } else {
                    Replay::Resync
                }
            }
            _ => Replay::Resync,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::InterviewState;

    fn state() -> Event {
        Event::State {
            state: InterviewState::Listening,
        }
    }

    #[test]
    fn seq_is_strictly_increasing_and_replay_is_exact() {
        let mut log = EventLog::new(1, vec![], 4);
        for _ in 0..6 {
            log.append(state());
        }
        assert_eq!(log.last_seq(), 6);
        // Window holds 3..=6.
        match log.replay_after(3) {
            Replay::Events(ev) => {
                let seqs: Vec<u64> = ev
                    .iter()
                    .map(|j| serde_json::from_str::<EventEnvelope>(j).unwrap().seq)
                    .collect();
                assert_eq!(seqs, vec![4, 5, 6]);
            }
            Replay::Resync => panic!("should replay"),
        }
        assert_eq!(log.replay_after(2), Replay::Events(log_tail(&log, 3)));
        assert_eq!(log.replay_after(1), Replay::Resync);
        assert_eq!(log.replay_after(6), Replay::Events(vec![]));
        assert_eq!(log.replay_after(9), Replay::Resync);
    }

    fn log_tail(log: &EventLog, from: u64) -> Vec<Utf8Bytes> {
        match log.replay_after(from - 1) {
            Replay::Events(e) => e,
            Replay::Resync => vec![],
        }
    }

    #[test]
    fn restored_log_continues_numbering_and_replays_history() {
        let history = vec![(5, "{\"a\":5}".to_string()), (6, "{\"a\":6}".to_string())];
        let mut log = EventLog::new(7, history, 16);
        let (seq, _) = log.append(state());
        assert_eq!(seq, 7);
        match log.replay_after(4) {
            Replay::Events(ev) => assert_eq!(ev.len(), 3),
            Replay::Resync => panic!("history should replay"),
        }
        assert_eq!(log.replay_after(3), Replay::Resync);
    }
}
