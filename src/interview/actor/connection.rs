//! The candidate's connection: attaching (with the resume secret), detaching, and every event
//! going out, in `seq` order, to it and the monitors.

use axum::extract::ws::Utf8Bytes;
use tokio::time::Instant;

use super::lines::WELCOME_BACK_TEXT;
use super::{Actor, Phase};
use crate::interview::events::Replay;
use crate::interview::handle::{AttachError, Connection, Outbound};
use crate::interview::speak::Source;
use crate::protocol::monitor::ConnectionChange;
use crate::protocol::{close, ConnectionMessage, Event, InterviewState, TurnKind};
use crate::store::StoredEvent;

impl Actor {
    /// Logs an event, sends it to the connection and the monitors, and queues its durable copy.
    pub(super) fn emit(&mut self, event: Event) {
        let (seq, json) = self.log.append(event);
        self.deps.events.append(StoredEvent {
            interview_id: self.id,
            seq,
            body: json.to_string(),
        });
        self.broadcast(&json);
        self.send(Outbound::Text(json));
    }

    pub(super) fn set_state(&mut self, state: InterviewState) {
        if self.state != state {
            self.state = state;
            self.emit(Event::State { state });
            self.publish_status();
        }
    }

    /// Hands a message to the candidate's connection; one that is not reading is dropped.
    pub(super) fn send(&mut self, msg: Outbound) {
        let Some(conn) = &self.conn else { return };
        if conn.tx.try_send(msg).is_err() {
            tracing::warn!(interview = %self.id, conn = conn.id, "client not reading; disconnecting");
            let conn = self.conn.take().expect("checked");
            let _ = conn
                .tx
                .try_send(Outbound::Close(close::POLICY, "client not reading"));
            self.detached("client not reading");
        }
    }

    /// The first message of every connection. `resumed`: the interview had already started.
    /// The resume secret goes to the candidate's connection only.
    pub(super) fn ready(&self, resume_secret: Option<String>) -> ConnectionMessage {
        ConnectionMessage::Ready {
            interview_id: self.id,
            resumed: self.phase != Phase::Waiting || !self.conv.turns.is_empty(),
            state: self.state,
            last_seq: self.log.last_seq(),
            resume_secret,
        }
    }

    /// The full state, for clients that cannot be caught up by replay.
    pub(super) fn resync(&self) -> ConnectionMessage {
        ConnectionMessage::Resync {
            snapshot: self.conv.snapshot(self.state, self.log.last_seq()),
        }
    }

    pub(super) fn attach(
        &mut self,
        conn: Connection,
        resume_from: Option<u64>,
        resume_secret: Option<String>,
    ) -> Result<(), AttachError> {
        if self.is_over() {
            return Err(AttachError::Ended);
        }
        let proven = self.takeover_allowed(resume_secret.as_deref())?;
        if !proven {
            // A new holder (first connection, or a takeover after the hold): the old secret
            // no longer works.
            self.resume_secret = crate::auth::new_ticket();
        }
        let change = if self.replace_connection() {
            ConnectionChange::Replaced
        } else if self.phase == Phase::Waiting && self.conv.turns.is_empty() {
            ConnectionChange::Connected
        } else {
            ConnectionChange::Resumed
        };
        let mut batch = vec![to_json(&self.ready(Some(self.resume_secret.clone())))];
        if let Some(after) = resume_from {
            match self.log.replay_after(after) {
                Replay::Events(events) => batch.extend(events),
                Replay::Resync => batch.push(to_json(&self.resync())),
            }
        }
        conn.tx
            .try_send(Outbound::Batch(batch))
            .map_err(|_| AttachError::Stopped)?;
        // What a Realtime client set applies to its own connection only.
        self.client_silence_ms = 0;
        self.conn = Some(conn);
        self.grace_until = None;
        self.connection_changed(change, None);
        if self.phase == Phase::Waiting {
            self.start_conversation();
        } else if let Some(s) = &mut self.speaking {
            // This connection has not heard the turn in progress: play it from the start.
            s.playback.restart();
        } else if std::mem::take(&mut self.welcome_back) {
            self.begin_reply(
                Source::Fixed(WELCOME_BACK_TEXT.into()),
                TurnKind::Notice,
                true,
            );
        }
        Ok(())
    }

    /// The takeover rule: while the holder is connected, and for `takeover_hold` after it left,
    /// only a newcomer with the resume secret may take the interview (`Busy` otherwise).
    /// `Ok(true)`: the newcomer proved it holds the session.
    fn takeover_allowed(&self, resume_secret: Option<&str>) -> Result<bool, AttachError> {
        let proven = resume_secret.is_some_and(|s| same_secret(s, &self.resume_secret));
        let held = self.conn.is_some()
            || self
                .holder_left
                .is_some_and(|left| Instant::now() < left + self.deps.cfg.takeover_hold);
        if held && !proven {
            tracing::info!(interview = %self.id, "refused a second connection without the resume secret");
            return Err(AttachError::Busy);
        }
        Ok(proven)
    }

    /// Another node asks for the interview: the candidate reached it (a handoff). Under the
    /// takeover rule the interview goes: the connection here, if any, is replaced (4009, as on
    /// one node: the newer connection wins, so two devices cannot bounce it between nodes),
    /// and the loop ends with a final checkpoint and the lease given up. `false`: refused.
    pub(super) fn hand_over(&mut self, resume_secret: Option<&str>) -> bool {
        if self.is_over() {
            // Nothing to hand over: the asker finds it ended (or its new owner).
            return true;
        }
        if self.takeover_allowed(resume_secret).is_err() {
            crate::metrics::global().count_handoff(crate::metrics::Handoff::Refused);
            return false;
        }
        tracing::info!(interview = %self.id, "handing the interview over to another node");
        crate::metrics::global().count_handoff(crate::metrics::Handoff::Given);
        if self.replace_connection() {
            self.connection_changed(ConnectionChange::Replaced, None);
        }
        self.handing_over = true;
        true
    }

    /// Closes the candidate's connection, if there is one, as replaced by a newer one (4009);
    /// `true` if there was one.
    fn replace_connection(&mut self) -> bool {
        let Some(old) = self.conn.take() else {
            return false;
        };
        let _ = old.tx.try_send(Outbound::Close(
            close::REPLACED,
            "replaced by a newer connection",
        ));
        true
    }

    /// The candidate's connection is gone (`why`, for the watchers): the grace period starts.
    pub(super) fn detached(&mut self, why: &str) {
        self.drops += 1;
        self.connection_changed(ConnectionChange::Dropped, Some(why));
        let now = Instant::now();
        self.holder_left = Some(now);
        self.grace_until = Some(now + self.deps.cfg.grace);
        // An answer cut off by the drop is committed as said so far; the candidate is invited
        // to go on when they are back.
        self.discard_preemption("the candidate's connection dropped");
        if let Some(stt) = self.ear.cut() {
            self.welcome_back = true;
            self.finish_utterance(stt, 0, false, true);
        }
    }
}

/// Compares secrets in time independent of where they differ.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

pub(super) fn to_json<T: serde::Serialize>(v: &T) -> Utf8Bytes {
    Utf8Bytes::from(serde_json::to_string(v).expect("protocol types serialise"))
}
