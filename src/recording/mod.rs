//! Interview recordings: both sides' audio as sent (Opus), kept as Ogg Opus files — one per
//! side for each stretch an actor drives the interview (a restart or a move starts another),
//! named `<interview>/<side>-<ms from the start>.ogg` — through a [`RecordingStore`].
//!
//! Recorded only when the interview's settings ask for it (`record_audio`, from the
//! organization's defaults or the request) **and** the candidate accepted the notice. The actor
//! hands each packet to a [`Recorder`] with a `try_send` (never waits); the recorder's task
//! writes the Ogg pages to a spool file, padding gaps (the interviewer silent, the candidate
//! away) with silence so that a file's time is the interview's time, and hands the finished
//! file to the store when the actor stops. Deleted with the interview's other data
//! (retention, the candidate's erasure).
//!
//! - [`ogg`]: the Ogg Opus writer (and reader).
//! - [`store`]: a directory (the embedded default) or an S3-compatible bucket.

pub mod ogg;
pub mod store;

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::time::Instant;
use uuid::Uuid;

pub use store::{DirStore, RecordingError, RecordingStore, S3Settings, S3Store};

/// The two sides.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Candidate,
    Interviewer,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Candidate => "candidate",
            Self::Interviewer => "interviewer",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "candidate" => Some(Self::Candidate),
            "interviewer" => Some(Self::Interviewer),
            _ => None,
        }
    }
}

/// One recorded file, as the API lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct RecordingPart {
    pub side: Side,
    /// Where it starts, in milliseconds from the interview's start (the transcript's clock).
    pub offset_ms: u64,
    /// `GET` this (with the same credentials) for the Ogg Opus file.
    pub url: String,
}

/// `<interview>/<side>-<offset>.ogg`.
pub fn key(interview: Uuid, side: Side, offset_ms: u64) -> String {
    format!("{interview}/{}-{offset_ms}.ogg", side.as_str())
}

/// The side and offset a key names.
pub fn parse_key(key: &str) -> Option<(Side, u64)> {
    let name = key.rsplit('/').next()?.strip_suffix(".ogg")?;
    let (side, offset) = name.rsplit_once('-')?;
    Some((Side::parse(side)?, offset.parse().ok()?))
}

/// This node's recordings: the store, and where files are written while they grow.
pub struct Recordings {
    pub store: Arc<dyn RecordingStore>,
    pub spool: PathBuf,
    /// Asked, before a finished file is kept, whether its interview still exists (its
    /// candidate may have been erased meanwhile).
    pub interviews: Option<Arc<dyn crate::store::Store>>,
}

/// Packets a recorder holds before dropping (counted) rather than making the actor wait.
const QUEUE: usize = 1024;
/// A gap longer than this (the interviewer silent, the candidate away) is filled with silence.
const GAP_MS: u64 = 100;

/// One stretch of an interview's recording (see the module docs).
pub struct Recorder {
    tx: mpsc::Sender<(Side, Bytes)>,
    task: tokio::task::JoinHandle<()>,
    dropped: u64,
}

impl Recorder {
    /// Starts recording interview `id`, `offset_ms` after its start.
    pub fn start(recordings: Arc<Recordings>, id: Uuid, offset_ms: u64) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let task = tokio::spawn(record(recordings, id, offset_ms, rx));
        Self {
            tx,
            task,
            dropped: 0,
        }
    }

    /// No more packets: the files are finished and handed to the store (the returned task;
    /// dropping the recorder does the same without it).
    pub fn finish(self) -> tokio::task::JoinHandle<()> {
        self.task
    }

    /// One 20 ms packet of `side`, as it flows.
    pub fn push(&mut self, side: Side, packet: &[u8]) {
        if self
            .tx
            .try_send((side, Bytes::copy_from_slice(packet)))
            .is_err()
        {
            self.dropped += 1;
            if self.dropped.is_power_of_two() {
                tracing::warn!(dropped = self.dropped, "recording behind; packets dropped");
            }
        }
    }
}

/// A side's file while it is written.
struct Track {
    writer: ogg::OggOpusWriter<std::io::BufWriter<std::fs::File>>,
    path: PathBuf,
    side: Side,
}

async fn record(
    recordings: Arc<Recordings>,
    id: Uuid,
    offset_ms: u64,
    mut rx: mpsc::Receiver<(Side, Bytes)>,
) {
    let started = Instant::now();
    let silence = crate::audio::client::silence_packet();
    let mut tracks: Vec<Track> = Vec::new();
    let open = |side: Side| -> std::io::Result<Track> {
        std::fs::create_dir_all(&recordings.spool)?;
        let path = recordings
            .spool
            .join(format!("{id}-{}-{offset_ms}.ogg", side.as_str()));
        let file = std::io::BufWriter::new(std::fs::File::create(&path)?);
        let serial =
            u32::from_le_bytes(id.as_bytes()[..4].try_into().expect("4 bytes")) ^ side as u32;
        Ok(Track {
            writer: ogg::OggOpusWriter::new(file, serial)?,
            path,
            side,
        })
    };
    while let Some((side, packet)) = rx.recv().await {
        let at_ms = started.elapsed().as_millis() as u64;
        let track = match tracks.iter_mut().position(|t| t.side == side) {
            Some(i) => &mut tracks[i],
            None => match open(side) {
                Ok(t) => {
                    tracks.push(t);
                    tracks.last_mut().expect("pushed")
                }
                Err(e) => {
                    tracing::error!(interview = %id, error = %e, "cannot write a recording");
                    return;
                }
            },
        };
        // This side's time catches up with the clock: silence through a gap.
        let mut failed = None;
        while track.writer.duration_ms() + GAP_MS < at_ms {
            if let Err(e) = track.writer.push(&silence) {
                failed = Some(e);
                break;
            }
        }
        if let Err(e) = failed.map_or_else(|| track.writer.push(&packet), Err) {
            tracing::error!(interview = %id, error = %e, "cannot write a recording");
            return;
        }
    }
    // The actor stopped: each file is finished and kept.
    for t in tracks {
        let finished = t.writer.finish().and_then(|mut w| {
            use std::io::Write;
            w.flush()
        });
        if let Err(e) = finished {
            tracing::error!(interview = %id, error = %e, "cannot finish a recording");
            continue;
        }
        if let Some(db) = &recordings.interviews {
            if matches!(db.get_interview(id).await, Ok(None)) {
                tracing::info!(interview = %id, "interview deleted while recorded; recording dropped");
                let _ = tokio::fs::remove_file(&t.path).await;
                continue;
            }
        }
        let key = key(id, t.side, offset_ms);
        if let Err(e) = recordings.store.put(&key, &t.path).await {
            tracing::error!(interview = %id, error = %e, key, "cannot keep a recording");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_the_side_and_the_offset() {
        let id = Uuid::nil();
        let k = key(id, Side::Interviewer, 1500);
        assert_eq!(k, format!("{id}/interviewer-1500.ogg"));
        assert_eq!(parse_key(&k), Some((Side::Interviewer, 1500)));
        assert_eq!(parse_key("x/other-1.ogg"), None);
        assert_eq!(parse_key("x/candidate-1.wav"), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_recording_keeps_time_through_gaps_and_lands_in_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let recordings = Arc::new(Recordings {
            store: Arc::new(DirStore::new(dir.path().join("recordings"))),
            spool: dir.path().join("spool"),
            interviews: None,
        });
        let id = Uuid::now_v7();
        let mut r = Recorder::start(recordings.clone(), id, 2000);
        let packet = crate::audio::client::silence_packet();
        for _ in 0..10 {
            r.push(Side::Candidate, &packet);
            tokio::time::advance(std::time::Duration::from_millis(20)).await;
        }
        // The interviewer speaks after a second of the candidate's silence.
        tokio::time::advance(std::time::Duration::from_millis(1000)).await;
        r.push(Side::Interviewer, &[0xf8, 1, 2]);
        r.finish().await.unwrap();
        let keys = recordings.store.list(&format!("{id}/")).await.unwrap();
        assert_eq!(
            keys,
            [
                key(id, Side::Candidate, 2000),
                key(id, Side::Interviewer, 2000)
            ]
        );
        let candidate = recordings.store.get(&keys[0]).await.unwrap().unwrap();
        let c = ogg::read(&candidate).unwrap();
        assert_eq!(c.packets.len(), 10);
        let interviewer = recordings.store.get(&keys[1]).await.unwrap().unwrap();
        let i = ogg::read(&interviewer).unwrap();
        // Silence up to where it spoke (about 1.2 s in), then its packet.
        assert!(
            i.duration_ms >= 1100 && i.duration_ms <= 1300,
            "{}",
            i.duration_ms
        );
        assert_eq!(i.packets.last().unwrap(), &vec![0xf8, 1, 2]);
    }
}
