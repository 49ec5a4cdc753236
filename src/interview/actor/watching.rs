//! The watchers: joining (ready, replay or snapshot, stored notes), leaving, listen-in audio,
//! the monitor-only messages (docs/protocol.md), and this interview's card on the live board.
//! Everything here is a `try_send` or a map insert: a watcher that does not read is dropped
//! and never slows the interview.

use tokio::sync::mpsc;

use super::connection::to_json;
use super::{Actor, Phase, Watcher};
use crate::interview::board::BoardEvent;
use crate::interview::events::Replay;
use crate::interview::handle::{AttachError, Joining, Outbound};
use crate::interview::remote::{Mail, WATCH_TTL};
use crate::protocol::live::LiveStatus;
use crate::protocol::monitor::{
    ConnectionChange, MonitorEvent, Stage, WatcherView, LEVEL_INTERVAL_MS,
};
use crate::protocol::{Speaker, TurnKind, FRAME_MS};
use crate::recording::Side;
use crate::store::FeedItem;
use tokio::time::Instant;

/// Levels measured per one sent to the board (about once a second).
const LEVELS_PER_BOARD_LEVEL: u32 = 5;

impl Actor {
    /// A watcher: `ready` now, then the events after `after` when they are all still held (a
    /// reconnecting dashboard misses nothing, and gets nothing twice), else a snapshot; then
    /// the stored notes; then everything live. Its watcher id.
    pub(super) fn add_monitor(&mut self, j: Joining) -> Result<u64, AttachError> {
        let mut batch = vec![to_json(&self.ready(None))];
        match j.after.map(|a| self.log.replay_after(a)) {
            Some(Replay::Events(events)) => batch.extend(events),
            Some(Replay::Resync) | None => batch.push(to_json(&self.resync())),
        }
        batch.extend(
            j.notes
                .into_iter()
                .map(|note| to_json(&MonitorEvent::Note { note })),
        );
        j.tx.try_send(Outbound::Batch(batch))
            .map_err(|_| AttachError::Stopped)?;
        self.watchers_joined += 1;
        let id = self.watchers_joined;
        self.monitors.push(Watcher {
            id,
            tx: j.tx,
            who: j.who,
        });
        self.presence();
        // Where the candidate is now, for a watcher that joins after they connected or dropped.
        if self.phase != Phase::Waiting || self.conn.is_some() {
            let (event, reason) = match self.conn {
                Some(_) => (ConnectionChange::Connected, None),
                None => (ConnectionChange::Dropped, Some("not connected".to_owned())),
            };
            let json = to_json(&MonitorEvent::CandidateConnection { event, reason });
            if let Some(w) = self.monitors.last() {
                let _ = w.tx.try_send(Outbound::Text(json));
            }
        }
        Ok(id)
    }

    pub(super) fn remove_monitor(&mut self, id: u64) {
        let before = self.monitors.len();
        self.monitors.retain(|m| m.id != id);
        if self.monitors.len() != before {
            self.presence();
        }
    }

    /// Closes every monitor (the interview ended or is unloading).
    pub(super) fn close_monitors(&mut self, code: u16, reason: &'static str) {
        for m in self.monitors.drain(..) {
            let _ = m.tx.try_send(Outbound::Close(code, reason));
        }
    }

    /// Hands a message to every monitor; those not reading are dropped (and the others told).
    pub(super) fn broadcast(&mut self, json: &axum::extract::ws::Utf8Bytes) {
        if self.monitors.is_empty() {
            return;
        }
        let before = self.monitors.len();
        self.monitors
            .retain(|m| keeps_up(m.tx.try_send(Outbound::Text(json.clone()))));
        if self.monitors.len() != before {
            self.presence();
        }
    }

    /// A monitor-only message (no `seq`) to the watchers, here and on other nodes.
    pub(super) fn tell_monitors(&mut self, event: &MonitorEvent) {
        let remote = self.remote_watch().is_some();
        if self.monitors.is_empty() && !remote {
            return;
        }
        let json = to_json(event);
        if remote {
            self.deps
                .feed
                .push(self.id, FeedItem::Text(json.as_str().to_owned()));
        }
        self.broadcast(&json);
    }

    /// Whether someone watches from another node (and listens in), forgetting one whose
    /// heartbeats stopped.
    pub(super) fn remote_watch(&mut self) -> Option<bool> {
        let (until, listen) = self.remote?;
        if Instant::now() >= until {
            self.remote = None;
            return None;
        }
        Some(listen)
    }

    /// A message another node left for this interview.
    pub(super) fn on_mail(&mut self, raw: &str) {
        let mail = match serde_json::from_str::<Mail>(raw) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(interview = %self.id, error = %e, "unreadable mail from another node");
                return;
            }
        };
        match mail {
            Mail::Watching { listen } => {
                let listen = listen || self.remote_watch() == Some(true);
                self.remote = Some((Instant::now() + WATCH_TTL, listen));
            }
            Mail::Suggest { text } => {
                if !self.suggest(text) {
                    tracing::info!(interview = %self.id, "a suggestion from another node was not taken");
                }
            }
            Mail::Note { note } => self.tell_monitors(&MonitorEvent::Note { note }),
        }
    }

    /// A question the hiring team suggests: asked at the next turn boundary, unless the
    /// interview is ending or already holds [`MAX_SUGGESTIONS`](super::MAX_SUGGESTIONS).
    pub(super) fn suggest(&mut self, text: String) -> bool {
        let taken =
            !self.is_over() && !self.cancelled && self.suggestions.len() < super::MAX_SUGGESTIONS;
        if taken {
            self.suggestions.push_back(text);
            // Asked now if the interviewer is waiting to ask; else at the next boundary.
            self.maybe_reply();
        }
        taken
    }

    /// Who is watching, to the watchers and the board. (Watchers dropped while this is sent
    /// are in the next one.)
    fn presence(&mut self) {
        let watchers: Vec<WatcherView> = self.monitors.iter().map(|m| m.who.clone()).collect();
        let json = to_json(&MonitorEvent::Watchers { watchers });
        if self.remote_watch().is_some() {
            self.deps
                .feed
                .push(self.id, FeedItem::Text(json.as_str().to_owned()));
        }
        self.monitors
            .retain(|m| keeps_up(m.tx.try_send(Outbound::Text(json.clone()))));
        self.publish_status();
    }

    /// A packet of `channel`'s audio to the monitors listening in (nothing is built when none
    /// is).
    /// Whether a watcher, here or on another node, listens in.
    pub(super) fn anyone_listening(&mut self) -> bool {
        self.monitors.iter().any(|m| m.who.listening)
            || (self.remote.is_some() && self.remote_watch() == Some(true))
    }

    pub(super) fn send_to_listeners(&mut self, channel: u8, packet: &[u8]) {
        if let Some(r) = &mut self.recorder {
            let side = if channel == super::CHANNEL_CANDIDATE {
                Side::Candidate
            } else {
                Side::Interviewer
            };
            r.push(side, packet);
        }
        if !self.anyone_listening() {
            return;
        }
        let remote = self.remote.is_some() && self.remote_watch() == Some(true);
        let mut frame = bytes::BytesMut::with_capacity(1 + packet.len());
        frame.extend_from_slice(&[channel]);
        frame.extend_from_slice(packet);
        let frame = frame.freeze();
        if remote {
            self.deps.feed.push(self.id, FeedItem::Audio(frame.clone()));
        }
        let before = self.monitors.len();
        self.monitors.retain(|m| {
            !m.who.listening || keeps_up(m.tx.try_send(Outbound::Audio(frame.clone())))
        });
        if self.monitors.len() != before {
            self.presence();
        }
    }

    /// After each frame heard: the level, every [`LEVEL_INTERVAL_MS`], to the watchers (and
    /// about once a second to the board) when anyone looks.
    pub(super) fn meter(&mut self) {
        let Some((dbfs, speaking)) = self.ear.take_level(LEVEL_INTERVAL_MS / FRAME_MS) else {
            return;
        };
        self.tell_monitors(&MonitorEvent::Level { dbfs, speaking });
        self.levels += 1;
        if self.levels >= LEVELS_PER_BOARD_LEVEL {
            self.levels = 0;
            let org = self.conv.interview.organization_id;
            if self.deps.board.watched(org) {
                self.deps
                    .board
                    .publish(org, BoardEvent::Level(self.id, dbfs));
            }
        }
    }

    /// The candidate's connection changed.
    pub(super) fn connection_changed(&mut self, event: ConnectionChange, reason: Option<&str>) {
        self.tell_monitors(&MonitorEvent::CandidateConnection {
            event,
            reason: reason.map(str::to_owned),
        });
        self.publish_status();
    }

    /// A provider or the store degraded: the watchers are told, and the card shows it.
    pub(super) fn degrade(&mut self, stage: Stage, detail: &str) {
        self.degraded = true;
        self.tell_monitors(&MonitorEvent::Degraded {
            stage,
            detail: detail.to_owned(),
        });
        self.publish_status();
    }

    /// This interview's live status to the board, when it changed.
    pub(super) fn publish_status(&mut self) {
        if self.phase == Phase::Waiting && self.conn.is_none() {
            // Not started here yet (loaded for a watcher, or waiting for the candidate).
            return;
        }
        let status = LiveStatus {
            state: self.state,
            started_at: self.conv.interview.started_at,
            question: self
                .conv
                .turns
                .iter()
                .filter(|t| t.speaker == Speaker::Interviewer && t.kind == TurnKind::Question)
                .count() as u32,
            questions: Some(
                self.conv
                    .interview
                    .settings
                    .max_questions
                    .unwrap_or(self.deps.cfg.max_questions),
            ),
            candidate_connected: self.conn.is_some(),
            drops: self.drops,
            degraded: self.degraded,
            watchers: self.monitors.len() as u32,
        };
        if self.board_status.as_ref() != Some(&status) {
            self.board_status = Some(status.clone());
            let org = self.conv.interview.organization_id;
            self.deps
                .board
                .publish(org, BoardEvent::Status(self.id, status));
        }
    }

    /// Starts recording when this interview is recorded: its settings ask for it and the
    /// candidate accepted the notice (an interview made without one is never recorded).
    pub(super) fn start_recording(&mut self) {
        let i = &self.conv.interview;
        let wanted = i.settings.record_audio == Some(true) && i.consented_at.is_some();
        let Some(recordings) = self.deps.recordings.clone().filter(|_| wanted) else {
            return;
        };
        if self.recorder.is_some() {
            return;
        }
        let offset_ms = i.started_at.map_or(0, |s| {
            (chrono::Utc::now() - s).num_milliseconds().max(0) as u64
        });
        tracing::info!(interview = %self.id, offset_ms, "recording");
        self.recorder = Some(crate::recording::Recorder::start(
            recordings, self.id, offset_ms,
        ));
    }

    /// The interview leaves this node: ended, or unloaded (the board shows it as not loaded).
    pub(super) fn leave_board(&mut self) {
        let org = self.conv.interview.organization_id;
        let event = match self.phase {
            Phase::Ended(reason) => BoardEvent::Ended(self.id, reason.to_owned()),
            _ if self.board_status.is_none() => return,
            _ => BoardEvent::Unloaded(self.id),
        };
        self.deps.board.publish(org, event);
    }
}

/// Whether a monitor took a message; one whose queue is full is not reading and is dropped
/// (it never slows the interview).
fn keeps_up(sent: Result<(), mpsc::error::TrySendError<Outbound>>) -> bool {
    match sent {
        Ok(()) => true,
        Err(mpsc::error::TrySendError::Full(_)) => {
            tracing::warn!("monitor not reading; dropping it");
            false
        }
        Err(mpsc::error::TrySendError::Closed(_)) => false,
    }
}
