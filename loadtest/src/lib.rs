//! `viva-loadtest`: N virtual candidates (and M recruiter monitors each) against a Viva server,
//! over real WebSockets with real speech at real-time pace, measured with HDR histograms.
//!
//! - [`session`]: one candidate (microphone, answers, barge-in, playout check).
//! - [`realtime`]: the same candidate as an OpenAI Realtime app (`--protocol realtime`).
//! - [`monitor`]: one recruiter watching an interview live (event lag).
//! - [`stats`]: histograms, counters, timeline. [`sampler`]: server CPU/RSS from /proc.
//! - [`report`]: terminal table, JSON and self-contained HTML.
//! - [`audio`]: the answer's Opus packets (a WAV file, or espeak-ng).
//! - [`api`]: recruiter API traffic beside the interviews (`--api-rps`, `--login-rps`).

pub mod api;
pub mod audio;
pub mod monitor;
pub mod realtime;
pub mod report;
pub mod sampler;
pub mod session;
pub mod stats;

use std::net::{IpAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use uuid::Uuid;

use stats::Recorder;

/// An interview to run, as `viva interview create` prints it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Invite {
    pub interview_id: Uuid,
    pub candidate_token: String,
    #[serde(default)]
    pub monitor_token: Option<String>,
}

/// Which protocol the virtual candidates speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// Viva's own (`/v1/interviews/{id}/stream`, Opus; docs/protocol.md).
    #[default]
    Native,
    /// The OpenAI Realtime endpoint (`/v1/realtime`, PCM16 in base64 JSON; docs/realtime.md).
    Realtime,
}

#[derive(Debug, Clone, clap::Args, Serialize)]
pub struct Options {
    /// The candidates' protocol.
    #[arg(long, value_enum, default_value_t = Protocol::Native)]
    pub protocol: Protocol,
    /// Base URL of the server.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Virtual candidates.
    #[arg(long, default_value_t = 10)]
    pub sessions: usize,
    /// Seconds over which the sessions start (evenly).
    #[arg(long, default_value_t = 10.0)]
    pub ramp: f64,
    /// Hard limit in seconds after the ramp; unfinished sessions count as timeouts.
    #[arg(long, default_value_t = 300.0)]
    pub duration: f64,
    /// Answers each candidate gives (each gets the interviewer's reply).
    #[arg(long, default_value_t = 3)]
    pub turns: u32,
    /// Recruiter monitors watching each interview.
    #[arg(long, default_value_t = 0)]
    pub monitors_per_session: u32,
    /// The monitors listen in (`?listen=1`: both sides' audio as binary frames). Their tokens
    /// must allow it: interviews made with `viva interview create --monitor-role recruiter`
    /// (what `--viva-bin` does when this is set).
    #[arg(long)]
    pub listen: bool,
    /// Times each candidate reconnects after its connection is closed with 1012 (a node
    /// restarting or draining) or 1013, or drops, resuming with `resume_from` and its resume
    /// secret as the web client does; 0: any close is an error.
    #[arg(long, default_value_t = 0)]
    pub reconnects: u32,
    /// Share of answers that barge in on the question instead of waiting (0–1).
    #[arg(long, default_value_t = 0.0)]
    pub barge_in_rate: f64,
    /// WAV file (16-bit mono) to answer with; default: a sentence from espeak-ng.
    #[arg(long)]
    pub audio: Option<PathBuf>,
    /// Seed for the barge-in choices.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Allow a target that is not on this machine.
    #[arg(long)]
    pub allow_remote: bool,
    /// Recruiter API traffic beside the interviews: `GET /v1/interviews` requests per second
    /// (signed in as `--api-email`), for the whole run.
    #[arg(long, default_value_t = 0.0)]
    pub api_rps: f64,
    /// Sign-ins (`POST /v1/auth/login`, argon2id on the server) per second, for the whole run.
    #[arg(long, default_value_t = 0.0)]
    pub login_rps: f64,
}

/// Parses interviews as `viva interview create` prints them (one JSON object per line).
pub fn parse_invites(text: &str) -> anyhow::Result<Vec<Invite>> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).with_context(|| format!("bad interview line: {l}")))
        .collect()
}

/// Creates `count` interviews with `<viva> interview create --count N --data-dir DIR`; their
/// monitor tokens may listen in and steer when `recruiter_monitors` (`--monitor-role recruiter`).
pub fn create_invites(
    viva: &std::path::Path,
    data_dir: &std::path::Path,
    count: usize,
    recruiter_monitors: bool,
) -> anyhow::Result<Vec<Invite>> {
    let role = if recruiter_monitors {
        "recruiter"
    } else {
        "viewer"
    };
    let out = std::process::Command::new(viva)
        .args([
            "interview",
            "create",
            "--count",
            &count.to_string(),
            "--monitor-role",
            role,
            "--data-dir",
        ])
        .arg(data_dir)
        .output()
        .with_context(|| format!("running {}", viva.display()))?;
    if !out.status.success() {
        bail!(
            "viva interview create failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    parse_invites(&String::from_utf8(out.stdout)?)
}

/// Makes a staff account for the API traffic with `<viva> admin create --data-dir DIR` (the
/// server's): an admin of the built-in `default` organization, which owns the interviews
/// `viva interview create` makes — so its lists are the load's interviews, changing as they run.
/// Returns its email and (random) password.
pub fn create_staff(
    viva: &std::path::Path,
    data_dir: &std::path::Path,
) -> anyhow::Result<(String, String)> {
    use std::io::Write;
    let id = Uuid::new_v4().simple().to_string();
    let email = format!("loadtest-{}@viva.invalid", &id[..12]);
    let password = format!("Load-test {id}");
    let mut child = std::process::Command::new(viva)
        .args(["admin", "create", "--email", &email, "--org", "default"])
        .args(["--password-stdin", "--data-dir"])
        .arg(data_dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .with_context(|| format!("running {}", viva.display()))?;
    writeln!(child.stdin.take().expect("piped stdin"), "{password}")?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "viva admin create failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok((email, password))
}

/// Refuses non-loopback targets unless allowed: a load test is not aimed anywhere by accident.
pub fn check_target(url: &str, allow_remote: bool) -> anyhow::Result<()> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .context("--url must start with http:// or https://")?;
    let hostport = rest.split('/').next().unwrap_or(rest);
    let with_port = if hostport
        .rsplit(':')
        .next()
        .is_some_and(|p| p.parse::<u16>().is_ok())
        && !hostport.ends_with(']')
    {
        hostport.to_owned()
    } else {
        format!("{hostport}:80")
    };
    let addrs: Vec<IpAddr> = with_port
        .to_socket_addrs()
        .with_context(|| format!("resolving {hostport}"))?
        .map(|a| a.ip())
        .collect();
    if !allow_remote && !addrs.iter().all(|ip| ip.is_loopback()) {
        bail!("{hostport} is not a loopback address; pass --allow-remote to load another machine");
    }
    Ok(())
}

fn ws_base(url: &str) -> String {
    let url = url.trim_end_matches('/');
    match url.strip_prefix("https://") {
        Some(rest) => format!("wss://{rest}"),
        None => format!("ws://{}", url.trim_start_matches("http://")),
    }
}

/// Runs the load: starts the sessions over the ramp, samples the server every second, and
/// returns the report once every session has finished or the time limit is reached.
/// `account`: who the recruiter API traffic (`opts.api_rps`, `opts.login_rps`) signs in as;
/// without one, none is sent.
pub async fn run(
    opts: &Options,
    invites: Vec<Invite>,
    account: Option<api::Account>,
    server_pid: Option<u32>,
    progress: bool,
) -> anyhow::Result<report::Report> {
    if invites.len() < opts.sessions {
        bail!(
            "{} sessions need {} interviews, got {}",
            opts.sessions,
            opts.sessions,
            invites.len()
        );
    }
    if opts.monitors_per_session > 0 && invites.iter().any(|i| i.monitor_token.is_none()) {
        bail!("monitors need interviews created with monitor tokens (viva interview create)");
    }
    if opts.protocol == Protocol::Realtime && opts.reconnects > 0 {
        bail!(
            "--reconnects is the native protocol's (a Realtime client cannot resume with a secret)"
        );
    }
    let speech = Arc::new(audio::answer_packets(opts.audio.as_deref()).await?);
    let appends = match opts.protocol {
        Protocol::Realtime => Some(Arc::new(realtime::Appends::new(
            &audio::answer_pcm48(opts.audio.as_deref()).await?,
        ))),
        Protocol::Native => None,
    };
    let silence = audio::silence_packet();
    let rec = Recorder::default();
    let mut rng = rand::rngs::StdRng::seed_from_u64(opts.seed);
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(opts.ramp + opts.duration);
    let base = ws_base(&opts.url);

    let bar = progress.then(|| {
        let b = indicatif::ProgressBar::new(u64::from(opts.turns) * opts.sessions as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{elapsed_precise} [{bar:40}] {pos}/{len} turns {msg}",
            )
            .expect("template")
            .progress_chars("=> "),
        );
        b
    });

    let mut tasks = tokio::task::JoinSet::new();
    for (i, invite) in invites.into_iter().take(opts.sessions).enumerate() {
        let at =
            start + Duration::from_secs_f64(opts.ramp * i as f64 / opts.sessions.max(1) as f64);
        let plan = session::Plan {
            ws_url: match opts.protocol {
                Protocol::Native => format!("{base}/v1/interviews/{}/stream", invite.interview_id),
                Protocol::Realtime => format!("{base}/v1/realtime"),
            },
            monitor_url: format!(
                "{base}/v1/interviews/{}/monitor{}",
                invite.interview_id,
                if opts.listen { "?listen=1" } else { "" }
            ),
            invite,
            turns: opts.turns,
            reconnects: opts.reconnects,
            barge_in: (0..opts.turns)
                .map(|_| rng.gen_bool(opts.barge_in_rate.clamp(0.0, 1.0)))
                .collect(),
        };
        let (speech, silence, rec) = (speech.clone(), silence.clone(), rec.clone());
        let appends = appends.clone();
        let monitors = opts.monitors_per_session;
        tasks.spawn(async move {
            tokio::time::sleep_until(at).await;
            rec.started();
            let watchers: Vec<_> = (0..monitors)
                .map(|_| tokio::spawn(monitor::run(plan.clone(), rec.clone(), deadline)))
                .collect();
            match appends {
                Some(appends) => realtime::run(plan, appends, rec, deadline).await,
                None => session::run(plan, speech, silence, rec, deadline).await,
            }
            for w in watchers {
                w.abort();
            }
        });
    }

    let base_url = opts.url.trim_end_matches('/').to_owned();
    let rates = (opts.api_rps, opts.login_rps);
    let mut api_traffic = account
        .filter(|_| rates.0 > 0.0 || rates.1 > 0.0)
        .map(|a| tokio::spawn(api::run(base_url.clone(), rates, a, rec.clone())));

    let mut sampler = server_pid.map(sampler::Sampler::new);
    let mut timeline = Vec::new();
    let mut every = tokio::time::interval(Duration::from_secs(1));
    every.tick().await;
    loop {
        tokio::select! {
            done = tasks.join_next() => if done.is_none() { break },
            _ = every.tick() => {
                let (cpu, rss) = sampler.as_mut().map_or((None, None), |s| s.sample());
                let p = rec.tick(start.elapsed().as_secs_f64().round(), cpu, rss);
                if let Some(b) = &bar {
                    b.set_position(p.turns);
                    b.set_message(format!("{} live, cpu {}%", p.sessions, cpu.unwrap_or(0.0)));
                }
                timeline.push(p);
            }
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if let Some(task) = api_traffic.take() {
        if task.is_finished() {
            // It only ends by failing (its first sign-in).
            task.await??;
        } else {
            task.abort();
        }
    }
    let (cpu, rss) = sampler.as_mut().map_or((None, None), |s| s.sample());
    timeline.push(rec.tick(start.elapsed().as_secs_f64(), cpu, rss));
    Ok(report::Report::new(
        opts,
        rec.summary(),
        timeline,
        start.elapsed(),
    ))
}
