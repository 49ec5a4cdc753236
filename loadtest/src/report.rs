//! The run's report: a terminal table, JSON, and a self-contained HTML page with SVG plots.

use std::fmt::Write;
use std::time::Duration;

use serde::Serialize;

use crate::stats::{Percentiles, Point, Summary};
use crate::Options;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub sessions: usize,
    #[serde(flatten)]
    pub summary: Summary,
    /// Mean server CPU while every session was live (100 = one core); null without --server-pid.
    pub server_cpu_pct: Option<f64>,
    pub server_cpu_pct_max: Option<f64>,
    /// Peak server resident memory.
    pub server_rss_mb: Option<f64>,
    /// Server memory added per live session, from the first sample to the peak.
    pub server_rss_kb_per_session: Option<f64>,
    pub elapsed_secs: f64,
    pub options: Options,
    pub timeline: Vec<Point>,
}

impl Report {
    pub fn new(opts: &Options, summary: Summary, timeline: Vec<Point>, elapsed: Duration) -> Self {
        let peak_sessions = timeline.iter().map(|p| p.sessions).max().unwrap_or(0);
        let steady: Vec<f64> = timeline
            .iter()
            .filter(|p| peak_sessions > 0 && p.sessions == peak_sessions)
            .filter_map(|p| p.cpu_pct)
            .collect();
        let round1 = |v: f64| (v * 10.0).round() / 10.0;
        let rss: Vec<f64> = timeline.iter().filter_map(|p| p.rss_mb).collect();
        let rss_max = rss.iter().copied().reduce(f64::max);
        Self {
            sessions: opts.sessions,
            summary,
            server_cpu_pct: (!steady.is_empty())
                .then(|| round1(steady.iter().sum::<f64>() / steady.len() as f64)),
            server_cpu_pct_max: timeline.iter().filter_map(|p| p.cpu_pct).reduce(f64::max),
            server_rss_mb: rss_max,
            server_rss_kb_per_session: match (rss.first(), rss_max) {
                (Some(a), Some(b)) if peak_sessions > 0 => {
                    Some(round1((b - a) * 1024.0 / peak_sessions as f64))
                }
                _ => None,
            },
            elapsed_secs: round1(elapsed.as_secs_f64()),
            options: opts.clone(),
            timeline,
        }
    }

    /// The latency rows of the table and the page.
    fn rows(&self) -> [(&'static str, &Percentiles); 9] {
        let s = &self.summary;
        [
            ("connect", &s.connect_ms),
            ("time to first question audio", &s.first_audio_ms),
            ("turn latency", &s.turn_latency_ms),
            ("server-added latency", &s.server_added_latency_ms),
            ("  of which answer commit", &s.commit_ms),
            ("monitor event lag", &s.monitor_lag_ms),
            ("API GET /v1/interviews", &s.api_list_ms),
            ("API sign-in", &s.api_login_ms),
            ("resume after a reconnect", &s.resume_ms),
        ]
    }

    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).expect("report serialises")
    }

    /// The terminal table.
    pub fn table(&self) -> String {
        let s = &self.summary;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:?} sessions {} (completed {}), turns {}, errors {}, underruns {}, {:.0} s",
            self.options.protocol,
            self.sessions,
            s.sessions_completed,
            s.turns_completed,
            s.errors,
            s.underruns,
            self.elapsed_secs
        );
        let _ = writeln!(
            out,
            "{:<28} {:>7} {:>9} {:>9} {:>9} {:>9}",
            "ms", "count", "p50", "p90", "p99", "max"
        );
        for (name, p) in self.rows() {
            let _ = writeln!(
                out,
                "{name:<28} {:>7} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
                p.count, p.p50, p.p90, p.p99, p.max
            );
        }
        let f = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.1}"));
        let _ = writeln!(
            out,
            "server cpu % mean {} (max {}), rss MiB peak {}, KiB per session {}",
            f(self.server_cpu_pct),
            f(self.server_cpu_pct_max),
            f(self.server_rss_mb),
            f(self.server_rss_kb_per_session)
        );
        if s.reconnects > 0 || self.options.reconnects > 0 {
            let _ = writeln!(
                out,
                "reconnects {}, answers committed {}",
                s.reconnects, s.committed_answers
            );
        }
        if s.listen_frames > 0 {
            let _ = writeln!(out, "listen-in frames received {}", s.listen_frames);
        }
        for (k, v) in &s.errors_by_kind {
            let _ = writeln!(out, "error {k}: {v}");
        }
        for (k, v) in &s.api_errors_by_kind {
            let _ = writeln!(out, "api error {k}: {v}");
        }
        out
    }

    /// A self-contained HTML page (no scripts, no external files).
    pub fn html(&self) -> String {
        let t: Vec<f64> = self.timeline.iter().map(|p| p.t).collect();
        let series = |f: &dyn Fn(&Point) -> Option<f64>| -> Vec<(f64, f64)> {
            self.timeline
                .iter()
                .zip(&t)
                .filter_map(|(p, t)| f(p).map(|v| (*t, v)))
                .collect()
        };
        let latency = svg_chart(
            "Turn latency per second (ms)",
            &[
                (
                    "p50",
                    "#1f77b4",
                    series(&|p| (p.turn_p50_ms > 0.0).then_some(p.turn_p50_ms)),
                ),
                (
                    "p99",
                    "#d62728",
                    series(&|p| (p.turn_p99_ms > 0.0).then_some(p.turn_p99_ms)),
                ),
            ],
        );
        let sessions = svg_chart(
            "Live sessions",
            &[("sessions", "#2ca02c", series(&|p| Some(p.sessions as f64)))],
        );
        let cpu = svg_chart(
            "Server CPU (%; 100 = one core)",
            &[("cpu", "#9467bd", series(&|p| p.cpu_pct))],
        );
        let rss = svg_chart(
            "Server RSS (MiB)",
            &[("rss", "#8c564b", series(&|p| p.rss_mb))],
        );
        let mut rows = String::new();
        for (name, p) in self.rows() {
            let _ = write!(
                rows,
                "<tr><td>{}</td><td>{}</td><td>{:.1}</td><td>{:.1}</td><td>{:.1}</td><td>{:.1}</td></tr>",
                name.trim(),
                p.count,
                p.p50,
                p.p90,
                p.p99,
                p.max
            );
        }
        format!(
            r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Viva load test</title>
<style>body{{font:15px/1.4 system-ui,sans-serif;margin:2rem;color:#111}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.2rem .6rem;text-align:right}}td:first-child{{text-align:left}}
svg{{display:block;margin:1rem 0}}pre{{background:#f4f4f4;padding:1rem}}</style></head><body>
<h1>Viva load test</h1>
<p>{sessions} {protocol:?} sessions × {turns} turns against {url}: {completed} completed, {turns_done} turns, {errors} errors,
{underruns} underruns, {elapsed:.0} s.</p>
<table><tr><th>ms</th><th>count</th><th>p50</th><th>p90</th><th>p99</th><th>max</th></tr>{rows}</table>
{latency}{sessions_svg}{cpu}{rss}
<h2>Summary (JSON)</h2><pre>{json}</pre></body></html>"#,
            sessions = self.sessions,
            protocol = self.options.protocol,
            turns = self.options.turns,
            url = html_escape(&self.options.url),
            completed = self.summary.sessions_completed,
            turns_done = self.summary.turns_completed,
            errors = self.summary.errors,
            underruns = self.summary.underruns,
            elapsed = self.elapsed_secs,
            sessions_svg = sessions,
            json = html_escape(&self.json()),
        )
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// One line of a chart: name, colour, (x, y) points.
type Series<'a> = (&'a str, &'a str, Vec<(f64, f64)>);

/// A line chart as inline SVG.
fn svg_chart(title: &str, lines: &[Series<'_>]) -> String {
    let (w, h, pad) = (720.0, 220.0, 40.0);
    let all: Vec<&(f64, f64)> = lines.iter().flat_map(|l| l.2.iter()).collect();
    let x_max = all.iter().map(|p| p.0).fold(1.0, f64::max);
    let y_max = all.iter().map(|p| p.1).fold(1.0, f64::max) * 1.1;
    let x = |v: f64| pad + v / x_max * (w - 2.0 * pad);
    let y = |v: f64| h - pad - v / y_max * (h - 2.0 * pad);
    let mut svg = format!(
        r##"<svg width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="{title}"><text x="{pad}" y="20" font-size="14">{title}</text><line x1="{pad}" y1="{b}" x2="{r}" y2="{b}" stroke="#888"/><line x1="{pad}" y1="{pad}" x2="{pad}" y2="{b}" stroke="#888"/><text x="4" y="{top}" font-size="11">{y_max:.0}</text><text x="{r}" y="{lb}" font-size="11" text-anchor="end">{x_max:.0} s</text>"##,
        b = h - pad,
        r = w - pad,
        top = pad + 4.0,
        lb = h - pad + 16.0,
    );
    for (i, (name, color, pts)) in lines.iter().enumerate() {
        let path: Vec<String> = pts
            .iter()
            .map(|(a, b)| format!("{:.1},{:.1}", x(*a), y(*b)))
            .collect();
        let _ = write!(
            svg,
            r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/><text x="{lx}" y="20" font-size="12" fill="{color}">{name}</text>"#,
            path.join(" "),
            lx = w - pad - 60.0 * (lines.len() - i) as f64,
        );
    }
    svg.push_str("</svg>");
    svg
}
