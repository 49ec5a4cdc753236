//! Measurements: HDR histograms (µs resolution), counters and a per-second timeline.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ErrorKind {
    Connect,
    Disconnected,
    Closed(u16),
    Protocol,
    ServerError,
    Timeout,
}

impl ErrorKind {
    pub fn label(self) -> String {
        match self {
            Self::Connect => "connect".into(),
            Self::Disconnected => "disconnected".into(),
            // Named after docs/protocol.md, so a report says what the server refused.
            Self::Closed(c) => match c {
                4008 => "closed_4008_policy".into(),
                4009 => "closed_4009_replaced".into(),
                4011 => "closed_4011_live_elsewhere".into(),
                1013 => "closed_1013_try_again".into(),
                c => format!("closed_{c}"),
            },
            Self::Protocol => "protocol".into(),
            Self::ServerError => "server_error".into(),
            Self::Timeout => "timeout".into(),
        }
    }
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds")
}

/// Percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Percentiles {
    pub count: u64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl Percentiles {
    fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self::default();
        }
        let ms = |us: u64| (us as f64 / 1000.0 * 10.0).round() / 10.0;
        Self {
            count: h.len(),
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p99: ms(h.value_at_quantile(0.99)),
            max: ms(h.max()),
        }
    }
}

#[derive(Default)]
struct Inner {
    connect: Option<Histogram<u64>>,
    first_audio: Option<Histogram<u64>>,
    turn: Option<Histogram<u64>>,
    server_added: Option<Histogram<u64>>,
    commit: Option<Histogram<u64>>,
    monitor_lag: Option<Histogram<u64>>,
    api_list: Option<Histogram<u64>>,
    api_login: Option<Histogram<u64>>,
    api_errors: BTreeMap<String, u64>,
    window_turn: Option<Histogram<u64>>,
    resume: Option<Histogram<u64>>,
    reconnects: u64,
    committed: BTreeMap<uuid::Uuid, u32>,
    turns: u64,
    underruns: u64,
    listen_frames: u64,
    active: u64,
    completed: u64,
    errors: BTreeMap<ErrorKind, u64>,
}

fn record(h: &mut Option<Histogram<u64>>, d: Duration) {
    let us = (d.as_micros() as u64).max(1);
    let _ = h.get_or_insert_with(histogram).record(us);
}

/// Shared, cheap-to-clone handle that sessions report into.
#[derive(Clone, Default)]
pub struct Recorder(Arc<Mutex<Inner>>);

impl Recorder {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.0.lock().expect("stats lock"))
    }

    pub fn started(&self) {
        self.with(|s| s.active += 1);
    }
    pub fn connect(&self, d: Duration) {
        self.with(|s| record(&mut s.connect, d));
    }
    pub fn first_audio(&self, d: Duration) {
        self.with(|s| record(&mut s.first_audio, d));
    }
    pub fn turn(&self, d: Duration) {
        self.with(|s| {
            record(&mut s.turn, d);
            record(&mut s.window_turn, d);
            s.turns += 1;
        });
    }
    pub fn server_added(&self, d: Duration) {
        self.with(|s| record(&mut s.server_added, d));
    }
    /// The durable write of the candidate's turn (part of the server-added latency).
    pub fn commit(&self, d: Duration) {
        self.with(|s| record(&mut s.commit, d));
    }
    /// A listen-in frame a monitor received.
    pub fn listen_frame(&self) {
        self.with(|s| s.listen_frames += 1);
    }
    pub fn monitor_lag(&self, d: Duration) {
        self.with(|s| record(&mut s.monitor_lag, d));
    }
    /// One API request of the recruiter traffic (`crate::api`): how long its whole answer took,
    /// or what went wrong (`http_<status>`, `timeout`, `connect`, `read`).
    pub fn api(&self, call: crate::api::Call, d: Duration, outcome: Result<(), String>) {
        self.with(|s| match outcome {
            Ok(()) => match call {
                crate::api::Call::List => record(&mut s.api_list, d),
                crate::api::Call::Login => record(&mut s.api_login, d),
            },
            Err(kind) => {
                let what = match call {
                    crate::api::Call::List => "list",
                    crate::api::Call::Login => "login",
                };
                *s.api_errors.entry(format!("{what}_{kind}")).or_default() += 1;
            }
        });
    }
    /// A candidate reconnecting (`--reconnects`).
    pub fn reconnect(&self) {
        self.with(|s| s.reconnects += 1);
    }
    /// From a lost connection to the interviewer's next audio on the new one.
    pub fn resume(&self, d: Duration) {
        self.with(|s| record(&mut s.resume, d));
    }
    /// The answers interview `id`'s server committed (final transcripts received), for a run
    /// with reconnects to be checked against the store.
    pub fn committed(&self, id: uuid::Uuid, answers: u32) {
        self.with(|s| {
            s.committed.insert(id, answers);
        });
    }
    pub fn underrun(&self) {
        self.with(|s| s.underruns += 1);
    }
    pub fn error(&self, kind: ErrorKind) {
        self.with(|s| {
            *s.errors.entry(kind).or_default() += 1;
            s.active = s.active.saturating_sub(1);
        });
    }
    /// A monitor's problem: counted, but the session goes on.
    pub fn monitor_error(&self, kind: ErrorKind) {
        self.with(|s| *s.errors.entry(kind).or_default() += 1);
    }
    pub fn completed(&self, _answers: u32) {
        self.with(|s| {
            s.completed += 1;
            s.active = s.active.saturating_sub(1);
        });
    }

    /// A timeline point: takes the turn latencies recorded since the last one.
    pub fn tick(&self, t: f64, cpu_pct: Option<f64>, rss_mb: Option<f64>) -> Point {
        self.with(|s| {
            let window = s
                .window_turn
                .take()
                .map(|h| Percentiles::of(&h))
                .unwrap_or_default();
            Point {
                t,
                sessions: s.active,
                turns: s.turns,
                turn_p50_ms: window.p50,
                turn_p99_ms: window.p99,
                cpu_pct,
                rss_mb,
            }
        })
    }

    pub fn summary(&self) -> Summary {
        let pct = |h: &Option<Histogram<u64>>| h.as_ref().map(Percentiles::of).unwrap_or_default();
        self.with(|s| Summary {
            sessions_completed: s.completed,
            turns_completed: s.turns,
            errors: s.errors.values().sum(),
            errors_by_kind: s.errors.iter().map(|(k, v)| (k.label(), *v)).collect(),
            connect_ms: pct(&s.connect),
            first_audio_ms: pct(&s.first_audio),
            turn_latency_ms: pct(&s.turn),
            server_added_latency_ms: pct(&s.server_added),
            commit_ms: pct(&s.commit),
            monitor_lag_ms: pct(&s.monitor_lag),
            api_list_ms: pct(&s.api_list),
            api_login_ms: pct(&s.api_login),
            api_errors: s.api_errors.values().sum(),
            api_errors_by_kind: s.api_errors.clone(),
            underruns: s.underruns,
            listen_frames: s.listen_frames,
            reconnects: s.reconnects,
            resume_ms: pct(&s.resume),
            committed_answers: s.committed.values().map(|n| u64::from(*n)).sum(),
            committed_by_interview: s.committed.clone(),
        })
    }
}

/// One second of the run.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    pub t: f64,
    pub sessions: u64,
    pub turns: u64,
    pub turn_p50_ms: f64,
    pub turn_p99_ms: f64,
    pub cpu_pct: Option<f64>,
    pub rss_mb: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub sessions_completed: u64,
    pub turns_completed: u64,
    pub errors: u64,
    pub errors_by_kind: BTreeMap<String, u64>,
    pub connect_ms: Percentiles,
    pub first_audio_ms: Percentiles,
    pub turn_latency_ms: Percentiles,
    pub server_added_latency_ms: Percentiles,
    pub commit_ms: Percentiles,
    pub monitor_lag_ms: Percentiles,
    /// Recruiter API traffic (`--api-rps`, `--login-rps`): successful requests only.
    pub api_list_ms: Percentiles,
    pub api_login_ms: Percentiles,
    /// API requests that failed, not counted in `errors` (which are the interviews').
    pub api_errors: u64,
    pub api_errors_by_kind: BTreeMap<String, u64>,
    pub underruns: u64,
    /// Listen-in frames the monitors received (`--listen`).
    pub listen_frames: u64,
    /// Reconnects of the candidates (`--reconnects`), and the time from a lost connection to
    /// the interviewer's next audio on the new one.
    pub reconnects: u64,
    pub resume_ms: Percentiles,
    /// With `--reconnects`: answers the server committed (final transcripts received), in all
    /// and by interview, to check against the store.
    pub committed_answers: u64,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub committed_by_interview: BTreeMap<uuid::Uuid, u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_in_milliseconds() {
        let r = Recorder::default();
        for ms in 1..=100 {
            r.turn(Duration::from_millis(ms));
        }
        let s = r.summary();
        assert_eq!(s.turns_completed, 100);
        assert_eq!(s.turn_latency_ms.count, 100);
        assert!((s.turn_latency_ms.p50 - 50.0).abs() <= 0.1);
        assert!((s.turn_latency_ms.p99 - 99.0).abs() <= 0.1);
        assert!((s.turn_latency_ms.max - 100.0).abs() <= 0.1);
        r.error(ErrorKind::Closed(4008));
        r.error(ErrorKind::Closed(4008));
        assert_eq!(r.summary().errors_by_kind["closed_4008_policy"], 2);
        // The window resets at each tick.
        assert!(r.tick(1.0, None, None).turn_p50_ms > 0.0);
        assert_eq!(r.tick(2.0, None, None).turn_p50_ms, 0.0);
    }
}
