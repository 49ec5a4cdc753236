//! Prometheus metrics (`GET /metrics`, text format 0.0.4), kept in process-wide atomics: live
//! interviews and WebSocket connections (read when scraped), interviewer replies and their
//! per-stage latency, turn and event write latency, provider errors by provider and kind, and
//! HTTP requests by route and status. Recording is a few relaxed atomic adds — nothing awaits,
//! so the interview actor records its reply timings itself.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use dashmap::DashMap;

use crate::protocol::TurnTimings;

/// Histogram bucket bounds, in seconds.
const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// A cumulative histogram of durations.
#[derive(Default)]
pub struct Histogram {
    /// Observations at or under each bound (not yet cumulative).
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, d: Duration) {
        let s = d.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| s <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (b, n) in BUCKETS.iter().zip(&self.buckets) {
            cumulative += n.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{b}\"}} {cumulative}");
        }
        let count = self.count();
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {count}");
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {sum}");
        let _ = writeln!(out, "{name}_count{braces} {count}");
    }
}

/// The stages of an interviewer reply that are measured (`turn_metrics`).
const STAGES: [&str; 7] = [
    "endpoint",
    "stt",
    "commit",
    "llm_first_token",
    "tts_first_audio",
    "response",
    "server",
];

#[derive(Default)]
pub struct Metrics {
    stages: [Histogram; STAGES.len()],
    turn_writes: Histogram,
    event_writes: Histogram,
    provider_errors: DashMap<(String, &'static str), AtomicU64>,
    http: DashMap<(String, u16), AtomicU64>,
    /// Interviews this node stopped driving because another owner took them (lease lost, a
    /// write fenced).
    ownership_lost: AtomicU64,
    /// Handoffs: interviews this node gave to another on its request, took from another, and
    /// requests it refused (the takeover rule).
    handoffs: [AtomicU64; 3],
    /// The interviewer's 20 ms frames by how they were made (see [`VoiceFrames`]).
    voice_frames: [AtomicU64; 4],
    /// Preemptive replies: used, discarded.
    preemptive: [AtomicU64; 2],
}

/// What became of a preemptive reply, for `viva_preemptive_replies_total`.
#[derive(Debug, Clone, Copy)]
pub enum Preemptive {
    /// It was the reply: the turn ended on the words it was prepared for.
    Used = 0,
    /// Thrown away (the candidate went on, the words differed, the reply changed): its model
    /// and speech calls were waste.
    Discarded = 1,
}

/// How an interviewer frame was made, for `viva_voice_frames_total`.
#[derive(Debug, Clone, Copy)]
pub enum VoiceFrames {
    /// From PCM, by this server's encoder.
    Encoded = 0,
    /// A vendor's Opus packet, passed through untouched.
    Passed = 1,
    /// A vendor's Opus that did not fit (not mono 20 ms), decoded and encoded again.
    Reencoded = 2,
    /// From the cache of repeated sentences.
    Cached = 3,
}

/// What became of a handoff, for `viva_handoffs_total`.
#[derive(Debug, Clone, Copy)]
pub enum Handoff {
    Given = 0,
    Taken = 1,
    Refused = 2,
}

/// A counter family with one label whose values are fixed (`values[i]` counts `counts[i]`).
fn counters(
    out: &mut String,
    name: &str,
    help: &str,
    label: &str,
    values: &[&str],
    counts: &[AtomicU64],
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
    for (value, n) in values.iter().zip(counts) {
        let _ = writeln!(
            out,
            "{name}{{{label}=\"{value}\"}} {}",
            n.load(Ordering::Relaxed)
        );
    }
}

/// The process's metrics.
pub fn global() -> &'static Metrics {
    static M: OnceLock<Metrics> = OnceLock::new();
    M.get_or_init(Metrics::default)
}

/// What is read at scrape time rather than counted.
pub struct Gauges {
    pub live_interviews: usize,
    pub websocket_connections: usize,
}

impl Metrics {
    /// One interviewer reply's timings.
    pub fn observe_reply(&self, t: &TurnTimings) {
        let ms = [
            t.endpoint_ms,
            t.stt_ms,
            t.commit_ms,
            t.llm_first_token_ms,
            t.tts_first_audio_ms,
            t.response_ms,
            t.server_ms,
        ];
        for (h, ms) in self.stages.iter().zip(ms) {
            h.observe(Duration::from_millis(ms));
        }
    }

    /// An interview this node stopped driving because another owner took it.
    pub fn count_ownership_lost(&self) {
        self.ownership_lost.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_handoff(&self, h: Handoff) {
        self.handoffs[h as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_preemptive(&self, outcome: Preemptive) {
        self.preemptive[outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_voice_frames(&self, how: VoiceFrames, n: u64) {
        self.voice_frames[how as usize].fetch_add(n, Ordering::Relaxed);
    }

    /// One turn written to the durable store (or failed to be).
    pub fn observe_turn_write(&self, d: Duration) {
        self.turn_writes.observe(d);
    }

    /// One batch of events written to the durable store.
    pub fn observe_event_write(&self, d: Duration) {
        self.event_writes.observe(d);
    }

    /// A provider call that failed: `kind` is `circuit_open`, `fatal` (a refused request: bad
    /// key, bad input) or `transient` (retries spent).
    pub fn provider_error(&self, provider: &str, kind: &'static str) {
        self.provider_errors
            .entry((provider.to_owned(), kind))
            .or_default()
            .fetch_add(1, Ordering::Relaxed);
    }

    /// One HTTP response: `route` is the matched route template (bounded cardinality).
    pub fn http_request(&self, route: &str, status: u16) {
        if let Some(c) = self.http.get(&(route.to_owned(), status)) {
            c.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.http
            .entry((route.to_owned(), status))
            .or_default()
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Replies measured so far.
    pub fn replies(&self) -> u64 {
        self.stages[0].count()
    }

    /// The text exposition.
    pub fn render(&self, g: &Gauges) -> String {
        let mut out = String::with_capacity(8192);
        let gauge = |out: &mut String, name: &str, help: &str, v: usize| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        };
        gauge(
            &mut out,
            "viva_live_interviews",
            "Interviews with an actor on this node.",
            g.live_interviews,
        );
        gauge(
            &mut out,
            "viva_websocket_connections",
            "Open WebSocket connections (candidates and monitors).",
            g.websocket_connections,
        );
        let _ = writeln!(
            out,
            "# HELP viva_turns_total Interviewer replies measured on this node.\n# TYPE viva_turns_total counter\nviva_turns_total {}",
            self.replies()
        );
        let _ = writeln!(
            out,
            "# HELP viva_turn_stage_seconds Latency of each stage of an interviewer reply (server_ms: what the server added).\n# TYPE viva_turn_stage_seconds histogram"
        );
        for (stage, h) in STAGES.iter().zip(&self.stages) {
            h.render(
                &mut out,
                "viva_turn_stage_seconds",
                &format!("stage=\"{stage}\""),
            );
        }
        let _ = writeln!(
            out,
            "# HELP viva_store_write_seconds Durable store write latency.\n# TYPE viva_store_write_seconds histogram"
        );
        self.turn_writes
            .render(&mut out, "viva_store_write_seconds", "kind=\"turn\"");
        self.event_writes
            .render(&mut out, "viva_store_write_seconds", "kind=\"events\"");
        let _ = writeln!(
            out,
            "# HELP viva_ownership_lost_total Interviews this node stopped driving because another owner took them (lease lost, write fenced).\n# TYPE viva_ownership_lost_total counter\nviva_ownership_lost_total {}",
            self.ownership_lost.load(Ordering::Relaxed)
        );
        counters(
            &mut out,
            "viva_handoffs_total",
            "Interviews handed between nodes: given to another node, taken from one, requests refused.",
            "outcome",
            &["given", "taken", "refused"],
            &self.handoffs,
        );
        counters(
            &mut out,
            "viva_voice_frames_total",
            "The interviewer's 20 ms frames by how they were made: encoded here from PCM, a vendor's Opus passed through, re-encoded (it did not fit), or from the cache.",
            "how",
            &["encoded", "passed", "reencoded", "cached"],
            &self.voice_frames,
        );
        counters(
            &mut out,
            "viva_preemptive_replies_total",
            "Replies prepared during a candidate's pause: used (the turn ended on those words) or discarded (waste).",
            "outcome",
            &["used", "discarded"],
            &self.preemptive,
        );
        let _ = writeln!(
            out,
            "# HELP viva_provider_errors_total Failed provider calls by provider and kind.\n# TYPE viva_provider_errors_total counter"
        );
        let mut errors: Vec<_> = self
            .provider_errors
            .iter()
            .map(|e| (e.key().clone(), e.value().load(Ordering::Relaxed)))
            .collect();
        errors.sort();
        for ((provider, kind), n) in errors {
            let _ = writeln!(
                out,
                "viva_provider_errors_total{{provider=\"{}\",kind=\"{kind}\"}} {n}",
                escape(&provider)
            );
        }
        let _ = writeln!(
            out,
            "# HELP viva_http_requests_total HTTP responses by route and status.\n# TYPE viva_http_requests_total counter"
        );
        let mut http: Vec<_> = self
            .http
            .iter()
            .map(|e| (e.key().clone(), e.value().load(Ordering::Relaxed)))
            .collect();
        http.sort();
        for ((route, status), n) in http {
            let _ = writeln!(
                out,
                "viva_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                escape(&route)
            );
        }
        out
    }
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_the_text_names_every_series() {
        let m = Metrics::default();
        m.observe_reply(&TurnTimings {
            stt_ms: 120,
            server_ms: 8,
            ..Default::default()
        });
        m.observe_turn_write(Duration::from_millis(3));
        m.provider_error("openai", "transient");
        m.http_request("/v1/jobs", 200);
        m.http_request("/v1/jobs", 200);
        let text = m.render(&Gauges {
            live_interviews: 2,
            websocket_connections: 3,
        });
        assert!(text.contains("viva_live_interviews 2\n"));
        assert!(text.contains("viva_websocket_connections 3\n"));
        assert!(text.contains("viva_turns_total 1\n"));
        assert!(text.contains("viva_turn_stage_seconds_bucket{stage=\"stt\",le=\"0.1\"} 0\n"));
        assert!(text.contains("viva_turn_stage_seconds_bucket{stage=\"stt\",le=\"0.25\"} 1\n"));
        assert!(text.contains("viva_turn_stage_seconds_bucket{stage=\"server\",le=\"0.01\"} 1\n"));
        assert!(text.contains("viva_turn_stage_seconds_count{stage=\"stt\"} 1\n"));
        assert!(text.contains("viva_store_write_seconds_bucket{kind=\"turn\",le=\"0.005\"} 1\n"));
        assert!(
            text.contains("viva_provider_errors_total{provider=\"openai\",kind=\"transient\"} 1\n")
        );
        assert!(text.contains("viva_http_requests_total{route=\"/v1/jobs\",status=\"200\"} 2\n"));
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (_, v) = line.rsplit_once(' ').unwrap();
            assert!(v.parse::<f64>().is_ok(), "{line}");
        }
    }
}
