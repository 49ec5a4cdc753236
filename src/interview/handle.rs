//! The actor's public face: a cheap `Clone` handle over a bounded mailbox.

use axum::extract::ws::Utf8Bytes;
use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::protocol::monitor::{InterviewNote, WatcherView};
use crate::protocol::{ControlAction, Snapshot};

/// What the actor sends a connection's writer task. The writer only does I/O.
#[derive(Debug, Clone)]
pub enum Outbound {
    Text(Utf8Bytes),
    /// Several text messages in order (replay on attach).
    Batch(Vec<Utf8Bytes>),
    Audio(Bytes),
    /// The candidate's speech began or ended (sent to a Realtime connection only: it becomes
    /// `input_audio_buffer.speech_started`/`speech_stopped`).
    Speech(Speech),
    Close(u16, &'static str),
}

/// What the ear made of the candidate's sound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speech {
    Started,
    /// It ended, and is an answer being transcribed.
    Stopped,
    /// It ended too short to be speech (a cough, a click), or the client cleared it: dropped.
    Dropped,
}

/// Capacity of a connection's outbound queue. Audio is paced at most ~200 ms ahead, so a
/// healthy client never has more than a few dozen messages queued; a full queue means the
/// client is not reading and it is disconnected (it can resume).
pub const OUTBOUND_QUEUE: usize = 256;

/// A connection attached to an interview.
#[derive(Debug, Clone)]
pub struct Connection {
    pub id: u64,
    pub tx: mpsc::Sender<Outbound>,
    /// An OpenAI Realtime client (`/v1/realtime`): it is also told when speech starts and stops.
    pub realtime: bool,
}

impl Connection {
    /// A connection speaking Viva's own protocol.
    pub fn native(id: u64, tx: mpsc::Sender<Outbound>) -> Self {
        Self {
            id,
            tx,
            realtime: false,
        }
    }

    /// A connection speaking the OpenAI Realtime protocol (`/v1/realtime`).
    pub fn realtime(id: u64, tx: mpsc::Sender<Outbound>) -> Self {
        Self {
            id,
            tx,
            realtime: true,
        }
    }
}

#[derive(Debug)]
pub enum Command {
    Attach {
        conn: Connection,
        resume_from: Option<u64>,
        /// The secret of the candidate's last `ready`, if it has one.
        resume_secret: Option<String>,
        reply: oneshot::Sender<Result<(), AttachError>>,
    },
    /// The connection is gone; `reason` is shown to the watchers.
    Detach {
        conn_id: u64,
        reason: &'static str,
    },
    Audio {
        conn_id: u64,
        packet: Bytes,
        /// Frames of this connection dropped just before this one (a full mailbox): concealed.
        lost: u32,
    },
    /// 20 ms frames of 16 kHz PCM (a Realtime client's audio), after `lost` dropped frames.
    Pcm {
        conn_id: u64,
        pcm: Box<[i16]>,
        lost: u32,
    },
    /// The Realtime client ended its turn: `true` if an answer was in progress (it is ended).
    CommitInput {
        conn_id: u64,
        reply: oneshot::Sender<bool>,
    },
    /// The Realtime client dropped what it has said so far in this turn.
    ClearInput {
        conn_id: u64,
    },
    /// The Realtime client stopped the interviewer's turn (`response.cancel`): as a barge-in.
    StopSpeaking {
        conn_id: u64,
    },
    /// The Realtime client's `turn_detection`: the silence that ends the candidate's turn is at
    /// least this (already within limits; 0: the interview's own).
    TurnSilence {
        conn_id: u64,
        ms: u32,
    },
    AnswerText {
        conn_id: u64,
        text: String,
    },
    Control {
        conn_id: u64,
        action: ControlAction,
    },
    /// The candidate's page reported an integrity event.
    ClientEvent {
        conn_id: u64,
        event: crate::protocol::ClientEventKind,
        chars: Option<u32>,
    },
    Snapshot {
        reply: oneshot::Sender<Snapshot>,
    },
    /// The hiring team cancelled the interview: the interviewer says so (with `reason`) and
    /// it ends as `cancelled`.
    Cancel {
        reason: Option<String>,
    },
    /// The candidate's link was re-issued: the connection holding the old one is closed.
    DropCandidate,
    /// The candidate reached another node, which asks for the interview (a handoff, with the
    /// secret the candidate showed it): under the takeover rule, `true` and the actor
    /// checkpoints, closes its connection and gives the lease up; `false`: refused.
    HandOver {
        resume_secret: Option<String>,
        reply: oneshot::Sender<bool>,
    },
    /// A question the hiring team suggests: asked, as written, at the next turn boundary
    /// (never interrupting). `false`: not taken (the interview is ending, or holds
    /// [`MAX_SUGGESTIONS`](crate::interview::actor::MAX_SUGGESTIONS) already).
    Suggest {
        text: String,
        reply: oneshot::Sender<bool>,
    },
    /// A watcher: gets `ready`, the events after `after` (or a snapshot), the stored notes,
    /// then every event and the monitor-only messages. The reply is its watcher id.
    Monitor {
        joining: Joining,
        reply: oneshot::Sender<Result<u64, AttachError>>,
    },
    /// Watcher `id` left.
    Unwatch {
        id: u64,
    },
    /// A note or steering action was stored: shown to the watchers.
    Note {
        note: InterviewNote,
    },
}

/// A watcher joining (see [`Command::Monitor`]).
#[derive(Debug)]
pub struct Joining {
    pub tx: mpsc::Sender<Outbound>,
    /// The last `seq` it has (a dashboard reconnecting), if any.
    pub after: Option<u64>,
    /// Who it is, as other watchers see them; `listening`: it also gets both sides' audio.
    pub who: WatcherView,
    /// The interview's stored notes, sent after the snapshot (or replay).
    pub notes: Vec<InterviewNote>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AttachError {
    #[error("no such interview")]
    NotFound,
    #[error("interview ended")]
    Ended,
    #[error("interview actor stopped")]
    Stopped,
    #[error("interview could not be loaded")]
    Internal,
    #[error("interview is live on another node")]
    Elsewhere,
    #[error("interview is live in another tab or device")]
    Busy,
    /// This node is shutting down (draining): the candidate reconnects to another.
    #[error("server draining")]
    Draining,
}

/// Why an audio frame was not delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioRejected {
    /// The mailbox is full: the frame is dropped (the decoder conceals it).
    Full,
    /// The actor has stopped.
    Stopped,
}

#[derive(Clone, Debug)]
pub struct InterviewHandle {
    pub id: Uuid,
    /// Distinguishes successive actors of the same interview in the registry.
    pub instance: u64,
    tx: mpsc::Sender<Command>,
}

impl InterviewHandle {
    pub(crate) fn new(id: Uuid, instance: u64, tx: mpsc::Sender<Command>) -> Self {
        Self { id, instance, tx }
    }

    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    pub async fn attach(
        &self,
        conn: Connection,
        resume_from: Option<u64>,
        resume_secret: Option<String>,
    ) -> Result<(), AttachError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Attach {
                conn,
                resume_from,
                resume_secret,
                reply,
            })
            .await
            .map_err(|_| AttachError::Stopped)?;
        rx.await.map_err(|_| AttachError::Stopped)?
    }

    /// The candidate's connection `conn_id` is gone, for `reason` (shown to the watchers).
    pub async fn detach(&self, conn_id: u64, reason: &'static str) {
        let _ = self.tx.send(Command::Detach { conn_id, reason }).await;
    }

    /// Never waits, as [`Self::audio`]: PCM frames from a Realtime client.
    pub fn pcm(&self, conn_id: u64, pcm: Box<[i16]>, lost: u32) -> Result<(), AudioRejected> {
        self.try_audio(Command::Pcm { conn_id, pcm, lost })
    }

    fn try_audio(&self, cmd: Command) -> Result<(), AudioRejected> {
        self.tx.try_send(cmd).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => AudioRejected::Full,
            mpsc::error::TrySendError::Closed(_) => AudioRejected::Stopped,
        })
    }

    /// Ends the candidate's answer in progress now. `None`: the actor has stopped.
    pub async fn commit_input(&self, conn_id: u64) -> Option<bool> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::CommitInput { conn_id, reply })
            .await
            .ok()?;
        rx.await.ok()
    }

    /// A Realtime client's request with nothing to reply. `false`: the actor has stopped.
    pub async fn realtime(&self, cmd: Command) -> bool {
        self.tx.send(cmd).await.is_ok()
    }

    /// Never waits: audio must not queue without bound. `lost`: frames dropped just before.
    pub fn audio(&self, conn_id: u64, packet: Bytes, lost: u32) -> Result<(), AudioRejected> {
        self.try_audio(Command::Audio {
            conn_id,
            packet,
            lost,
        })
    }

    pub async fn answer_text(&self, conn_id: u64, text: String) -> bool {
        self.tx
            .send(Command::AnswerText { conn_id, text })
            .await
            .is_ok()
    }

    pub async fn client_event(
        &self,
        conn_id: u64,
        event: crate::protocol::ClientEventKind,
        chars: Option<u32>,
    ) -> bool {
        self.tx
            .send(Command::ClientEvent {
                conn_id,
                event,
                chars,
            })
            .await
            .is_ok()
    }

    pub async fn control(&self, conn_id: u64, action: ControlAction) -> bool {
        self.tx
            .send(Command::Control { conn_id, action })
            .await
            .is_ok()
    }

    /// Adds a watcher (`joining.after`: the last `seq` it has: it gets the events after it, or
    /// a `resync` snapshot if they are no longer held; `None`: the snapshot). Its watcher id.
    pub async fn monitor(&self, joining: Joining) -> Result<u64, AttachError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Monitor { joining, reply })
            .await
            .map_err(|_| AttachError::Stopped)?;
        rx.await.map_err(|_| AttachError::Stopped)?
    }

    /// Watcher `id` left (the others are told who is still watching).
    pub async fn unwatch(&self, id: u64) {
        let _ = self.tx.send(Command::Unwatch { id }).await;
    }

    /// Shows a stored note to the watchers; `false` if the actor has stopped.
    pub async fn note(&self, note: InterviewNote) -> bool {
        self.tx.send(Command::Note { note }).await.is_ok()
    }

    /// Suggests a question (see [`Command::Suggest`]); `false` if it was not taken or the actor
    /// has stopped.
    pub async fn suggest(&self, text: String) -> bool {
        let (reply, rx) = oneshot::channel();
        if self
            .tx
            .send(Command::Suggest { text, reply })
            .await
            .is_err()
        {
            return false;
        }
        rx.await.unwrap_or(false)
    }

    /// Tells the actor the interview was cancelled; `false` if it has stopped.
    pub async fn cancel(&self, reason: Option<String>) -> bool {
        self.tx.send(Command::Cancel { reason }).await.is_ok()
    }

    /// Closes the candidate's connection (its link was replaced); `false` if the actor stopped.
    pub async fn drop_candidate(&self) -> bool {
        self.tx.send(Command::DropCandidate).await.is_ok()
    }

    /// Asks the actor to hand the interview to another node (see [`Command::HandOver`]);
    /// `None` if it has stopped.
    pub async fn hand_over(&self, resume_secret: Option<String>) -> Option<bool> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::HandOver {
                resume_secret,
                reply,
            })
            .await
            .ok()?;
        rx.await.ok()
    }

    pub async fn snapshot(&self) -> Option<Snapshot> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Command::Snapshot { reply }).await.ok()?;
        rx.await.ok()
    }
}
