//! Cluster mode on real parts: three `viva serve` processes behind Debian's nginx running
//! `deploy/nginx.conf` (only its upstream addresses and port rewritten for loopback), sharing
//! a real Postgres and Redis, with short leases (`VIVA_LEASE_SECS=3`).
//!
//! - The owner of a live interview is killed (`kill -9`) with the candidate mid-answer, again
//!   and again (`VIVA_CLUSTER_KILLS`, 3 here; `scripts/cluster-kill.sh` runs 20 and reports the
//!   figures): the candidate reconnects through nginx with `resume_from` and goes on at the
//!   right question; no committed answer is lost or stored twice, no `seq` is reused, and a
//!   monitor watching through another node sees the whole interview in order.
//! - A stale owner (SIGSTOP past its lease, then SIGCONT) cannot write after the new owner
//!   took over, and stops its actor.
//! - A rolling restart (SIGTERM each node in turn, then start it again) while the load tester
//!   runs interviews through nginx: nothing fails beyond reconnects, no answer is lost
//!   (`scripts/cluster-roll.sh` runs 100 interviews on release builds).
//!
//! Waiting on other processes (a restarted node listening, a node's metrics) polls an
//! observable condition under the hang guard.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use common::services::{free_port, Nginx, Postgres, Redis};
use common::*;
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;
use viva::protocol::{close, Event, EventEnvelope, Speaker, TurnKind};
use viva::store::postgres::{PgSettings, PgStore};
use viva::store::{Store, TurnRecord};

const NODES: usize = 3;

struct Cluster {
    pg: Postgres,
    redis: Redis,
    dir: tempfile::TempDir,
    ports: [u16; NODES],
    nodes: Vec<Option<Served>>,
    nginx: Nginx,
    /// Node processes started so far (each writes its own log in `dir`).
    starts: usize,
}

/// `deploy/nginx.conf` with the nodes on loopback and a `{port}` to listen on.
fn nginx_conf(ports: &[u16; NODES]) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("deploy/nginx.conf");
    let mut conf = std::fs::read_to_string(path).unwrap();
    let mut swap = |from: &str, to: &str| {
        assert_eq!(conf.matches(from).count(), 1, "deploy/nginx.conf: {from}");
        conf = conf.replace(from, to);
    };
    swap("listen 8080;", "listen 127.0.0.1:{port};");
    for (i, port) in ports.iter().enumerate() {
        swap(
            &format!("server viva-{}:8080 ", i + 1),
            &format!("server 127.0.0.1:{port} "),
        );
    }
    conf
}

impl Cluster {
    fn start() -> Self {
        let ports = [free_port(), free_port(), free_port()];
        let mut c = Self {
            pg: Postgres::start(),
            redis: Redis::start(),
            dir: tempfile::tempdir().unwrap(),
            ports,
            nodes: (0..NODES).map(|_| None).collect(),
            nginx: Nginx::start(&nginx_conf(&ports)),
            starts: 0,
        };
        for i in 0..NODES {
            c.start_node(i);
        }
        c
    }

    fn viva(&self, i: usize) -> Command {
        let data = self.dir.path().join(format!("node-{i}"));
        std::fs::create_dir_all(&data).unwrap();
        let mut c = Command::new(env!("CARGO_BIN_EXE_viva"));
        c.env("DATABASE_URL", self.pg.url())
            .env("REDIS_URL", self.redis.url())
            .env("VIVA_DATA_DIR", &data)
            .env("VIVA_NODE_ID", format!("node-{i}"))
            .env(
                "VIVA_JWT_SECRET",
                "one-signing-key-for-every-node-0123456789",
            )
            .env("VIVA_LEASE_SECS", "3")
            .env("VIVA_TRUSTED_PROXIES", "127.0.0.1/32")
            .env("VIVA_STT", "scripted")
            .env("VIVA_LLM", "scripted")
            .env("VIVA_TTS", "scripted")
            .env("VIVA_SCRIPTED_QUESTIONS", "100");
        c
    }

    fn start_node(&mut self, i: usize) {
        let mut cmd = self.viva(i);
        cmd.args(["serve", "--bind", &format!("127.0.0.1:{}", self.ports[i])]);
        self.starts += 1;
        let log = self
            .dir
            .path()
            .join(format!("log-{:02}-node-{i}.txt", self.starts));
        let (child, _) = spawn_serve_logging_to(cmd, &log);
        self.nodes[i] = Some(child);
    }

    /// What every node process logged about interview `id`, in the order they were started
    /// (for a failing assertion to show).
    fn logs_about(&self, id: Uuid) -> String {
        let mut files: Vec<_> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("log-"))
            })
            .collect();
        files.sort();
        let id = id.to_string();
        files
            .iter()
            .map(|f| {
                let text = std::fs::read_to_string(f).unwrap_or_default();
                let lines: Vec<&str> = text.lines().filter(|l| l.contains(&id)).collect();
                format!(
                    "--- {}\n{}",
                    f.file_name().unwrap().to_string_lossy(),
                    lines[lines.len().saturating_sub(80)..].join("\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn kill(&mut self, i: usize) {
        let mut node = self.nodes[i].take().expect("node running");
        node.kill().unwrap();
        node.wait().unwrap();
    }

    /// SIGTERM (a deploy): returns once the node has drained and exited.
    async fn stop(&mut self, i: usize) {
        let mut node = self.nodes[i].take().expect("node running");
        assert_eq!(unsafe { libc::kill(node.id() as i32, libc::SIGTERM) }, 0);
        let status = tokio::task::spawn_blocking(move || node.wait().unwrap())
            .await
            .unwrap();
        assert!(status.success(), "node {i} exited with {status}");
    }

    fn signal(&self, i: usize, sig: i32) {
        let pid = self.nodes[i].as_ref().expect("node running").id() as i32;
        assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
    }

    fn create_interview(&self) -> serde_json::Value {
        interview_create(self.viva(0), "Site Reliability Engineer")
    }

    /// The candidate's stream through nginx.
    fn stream_url(&self, id: Uuid) -> String {
        format!(
            "ws://127.0.0.1:{}/v1/interviews/{id}/stream",
            self.nginx.port
        )
    }

    fn node_url(&self, i: usize, id: Uuid, what: &str) -> String {
        format!("ws://127.0.0.1:{}/v1/interviews/{id}/{what}", self.ports[i])
    }

    /// The node holding the interview's lease now.
    fn owner(&self, id: Uuid) -> Option<usize> {
        let out = Command::new("redis-cli")
            .args(["-p", &self.redis.port.to_string(), "GET"])
            .arg(format!("viva:lease:{id}"))
            .output()
            .unwrap();
        let lease = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let node = lease.rsplit('|').next()?.strip_prefix("node-")?;
        node.parse().ok()
    }

    async fn owner_eventually(&self, id: Uuid) -> usize {
        eventually("an owner", || async { self.owner(id) }).await
    }

    async fn metric(&self, i: usize, name: &str) -> Option<f64> {
        let text = reqwest::get(format!("http://127.0.0.1:{}/metrics", self.ports[i]))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
    }

    /// Interviews node `i` drives now (0 if it does not answer).
    async fn live(&self, i: usize) -> u64 {
        let n = self.metric(i, "viva_live_interviews").await;
        n.unwrap_or(0.0) as u64
    }

    async fn pg_turns(&self, id: Uuid) -> Vec<TurnRecord> {
        self.pg_store().await.turns(id).await.unwrap()
    }

    async fn pg_store(&self) -> PgStore {
        PgStore::connect(
            &self.pg.url(),
            PgSettings {
                migrate: false,
                ..PgSettings::default()
            },
        )
        .await
        .unwrap()
    }
}

/// A monitor's view: once it has its `ready` and `resync`, every event it is sent (with
/// `seq`), in order, until it closes.
async fn watch(mut ws: Ws) -> mpsc::UnboundedReceiver<EventEnvelope> {
    for expected in ["ready", "resync"] {
        let Some(Ok(Message::Text(t))) = ws.next().await else {
            panic!("expected {expected}")
        };
        let v: serde_json::Value = serde_json::from_str(&t).unwrap();
        assert_eq!(v["type"], expected);
    }
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(Ok(m)) = ws.next().await {
            if let Message::Close(f) = &m {
                eprintln!("monitor closed: {f:?}");
            }
            if let Message::Text(t) = m {
                if let Ok(e) = serde_json::from_str::<EventEnvelope>(&t) {
                    if tx.send(e).is_err() {
                        return;
                    }
                }
            }
        }
    });
    rx
}

/// Reads until the next interviewer audio frame.
async fn first_audio(c: &mut Candidate) {
    loop {
        match c.next().await {
            Received::Audio(_) => return,
            Received::Closed(close) => panic!("closed before any audio: {close:?}"),
            _ => {}
        }
    }
}

/// The question number of a scripted question ("Scripted question 3 of 100. …").
fn question_number(text: &str) -> u32 {
    text.strip_prefix("Scripted question ")
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a scripted question: {text}"))
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_owner_behind_nginx_loses_no_answer_and_the_interview_goes_on() {
    let kills: usize = std::env::var("VIVA_CLUSTER_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let mut cluster = Cluster::start();
    let created = cluster.create_interview();
    let id: Uuid = created["interview_id"].as_str().unwrap().parse().unwrap();
    let token = created["candidate_token"].as_str().unwrap().to_owned();
    let monitor_token = created["monitor_token"].as_str().unwrap().to_owned();

    let mut c = Candidate::join_url(&cluster.stream_url(id), &token, Resume::default()).await;
    hear_question(&mut c).await;
    let first_owner = cluster.owner_eventually(id).await;
    // The monitor watches through a node that is not the owner, and is never killed.
    let watcher = (first_owner + 1) % NODES;
    let mut seen =
        watch(connect_url(&cluster.node_url(watcher, id, "monitor"), &monitor_token).await).await;

    let mut committed: Vec<String> = Vec::new();
    let mut candidate_seqs: Vec<u64> = Vec::new();
    let mut resume_ms: Vec<u64> = Vec::new();
    for k in 0..kills {
        // A committed answer, then the next question, then the candidate mid-answer (speech
        // under way, partial transcripts coming).
        let answer = format!("Committed answer number {k}.");
        c.answer(&answer).await;
        c.final_transcript().await;
        committed.push(answer);
        hear_question(&mut c).await;
        c.say(speech("I was about to explain how we shard the ledger").await)
            .await;
        c.until("a partial transcript", |e| {
            matches!(
                e,
                Event::Transcript {
                    is_final: false,
                    ..
                }
            )
        })
        .await;

        let mut owner = cluster.owner_eventually(id).await;
        if owner == watcher {
            // Keep the watcher's node alive: the candidate moves the interview (a handoff)
            // to another node first, which is then the owner killed.
            let other = (watcher + 1) % NODES;
            candidate_seqs.extend(c.events().iter().map(|e| e.seq));
            let resume = c.resume_point();
            let moved =
                Candidate::join_url(&cluster.node_url(other, id, "stream"), &token, resume).await;
            assert_eq!(c.until_closed().await.unwrap().0, close::REPLACED);
            c = moved;
            owner = eventually("the handoff", || async {
                cluster.owner(id).filter(|o| *o == other)
            })
            .await;
        }

        let killed = Instant::now();
        cluster.kill(owner);
        assert_eq!(c.until_closed().await, None, "the connection just died");
        candidate_seqs.extend(c.events().iter().map(|e| e.seq));
        let resume = c.resume_point();
        c = Candidate::join_url(&cluster.stream_url(id), &token, resume).await;
        first_audio(&mut c).await;
        resume_ms.push(killed.elapsed().as_millis() as u64);
        // The killed node comes back (as a restarted process would) for the next round.
        cluster.start_node(owner);
        hear_question(&mut c).await;
    }
    let last = format!("Committed answer number {kills}.");
    c.answer(&last).await;
    let last_transcript = c.final_transcript().await;
    committed.push(last);
    candidate_seqs.extend(c.events().iter().map(|e| e.seq));

    // No seq reused: everything the candidate got, across every connection, only goes up.
    assert!(
        candidate_seqs.windows(2).all(|w| w[0] < w[1]),
        "seq reused or out of order: {candidate_seqs:?}\nthe nodes' logs:\n{}",
        cluster.logs_about(id)
    );
    // Every committed answer stored once, in order; questions asked in order, none skipped or
    // asked twice (the interview went on at the right question each time).
    let stored = cluster.pg_turns(id).await;
    assert_in_order_once(&stored);
    assert_eq!(
        answers(&stored),
        committed,
        "0 committed answers lost, none stored twice"
    );
    let questions: Vec<u32> = stored
        .iter()
        .filter(|t| t.kind == TurnKind::Question)
        .map(|t| question_number(&t.text))
        .collect();
    assert_eq!(
        questions,
        (1..=questions.len() as u32).collect::<Vec<_>>(),
        "questions in order, each once"
    );
    // The monitor, relayed through its node from whichever node drove the interview, saw it
    // all in order, up to the last answer.
    let mut watched: Vec<EventEnvelope> = Vec::new();
    while watched.last().is_none_or(|e| e.seq < last_transcript.seq) {
        watched.push(
            tokio::time::timeout(HANG_GUARD, seen.recv())
                .await
                .expect("monitor stalled")
                .expect("monitor closed"),
        );
    }
    assert!(watched.windows(2).all(|w| w[0].seq < w[1].seq));
    let finals: Vec<&str> = watched
        .iter()
        .filter_map(|e| match &e.event {
            Event::Transcript {
                text,
                is_final: true,
                ..
            } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(finals, committed, "the monitor saw every answer, in order");

    resume_ms.sort_unstable();
    println!(
        "cluster: {kills} kills; resume (kill -9 → next interviewer audio) p50 {} ms, p99 {} ms, max {} ms; all: {resume_ms:?}",
        percentile(&resume_ms, 0.5),
        percentile(&resume_ms, 0.99),
        resume_ms.last().unwrap()
    );
    drop(cluster);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_owner_paused_past_its_lease_cannot_write_and_stops() {
    let cluster = Cluster::start();
    let created = cluster.create_interview();
    let id: Uuid = created["interview_id"].as_str().unwrap().parse().unwrap();
    let token = created["candidate_token"].as_str().unwrap().to_owned();
    let mut c = Candidate::join_url(&cluster.stream_url(id), &token, Resume::default()).await;
    hear_question(&mut c).await;
    c.answer("Stored by the first owner.").await;
    c.final_transcript().await;
    hear_question(&mut c).await;
    let stale = cluster.owner_eventually(id).await;

    // Paused (a long GC pause, a frozen VM) with an answer on its way to it.
    cluster.signal(stale, libc::SIGSTOP);
    c.answer("Sent to the paused owner.").await;
    let resume = c.resume_point();
    // The candidate gives up on it and reaches another node, which takes the interview once the
    // paused owner's lease has expired.
    let other = (stale + 1) % NODES;
    let mut fresh =
        Candidate::join_url(&cluster.node_url(other, id, "stream"), &token, resume).await;
    fresh.answer("Stored by the new owner.").await;
    fresh.final_transcript().await;
    assert_eq!(cluster.owner(id), Some(other));

    // Resumed: whatever it tries (the answer it was sent, a lease renewal) it cannot write
    // any more; it notices and stops driving the interview.
    cluster.signal(stale, libc::SIGCONT);
    let (code, reason) = c.until_closed().await.expect("a close frame");
    assert_eq!(
        (code, reason.as_str()),
        (close::TRY_AGAIN, "interview moved; reconnect")
    );
    let lost = cluster.metric(stale, "viva_ownership_lost_total").await;
    assert_eq!(
        lost,
        Some(1.0),
        "the stale owner counted the interview lost"
    );
    eventually("the stale owner to stop its actor", || async {
        let live = cluster.metric(stale, "viva_live_interviews").await;
        (live == Some(0.0)).then_some(())
    })
    .await;

    let stored = cluster.pg_turns(id).await;
    assert_in_order_once(&stored);
    assert_eq!(
        answers(&stored),
        vec!["Stored by the first owner.", "Stored by the new owner."],
        "nothing from the stale owner after the takeover"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_under_load_costs_reconnects_only() {
    const SESSIONS: usize = 9;
    let mut cluster = Cluster::start();
    let out = cluster
        .viva(0)
        .args(["interview", "create", "--role", "Analyst"])
        .args(["--count", &SESSIONS.to_string()])
        .output()
        .unwrap();
    assert!(out.status.success());
    let invites = viva_loadtest::parse_invites(&String::from_utf8(out.stdout).unwrap()).unwrap();
    let opts = viva_loadtest::Options {
        protocol: viva_loadtest::Protocol::Native,
        url: format!("http://127.0.0.1:{}", cluster.nginx.port),
        sessions: SESSIONS,
        ramp: 1.0,
        duration: 240.0,
        turns: 8,
        monitors_per_session: 0,
        listen: false,
        barge_in_rate: 0.0,
        audio: None,
        seed: 1,
        allow_remote: false,
        api_rps: 0.0,
        login_rps: 0.0,
        reconnects: 20,
    };
    let load =
        tokio::spawn(async move { viva_loadtest::run(&opts, invites, None, None, false).await });

    // Once interviews are under way, each node in turn — the busiest of those left first —
    // gets SIGTERM (it drains: its candidates reconnect through nginx and resume on the
    // others) and is started again. (The hash may give a node none of a few interviews.)
    eventually("interviews under way", || async {
        let mut total = 0;
        for i in 0..NODES {
            total += cluster.live(i).await;
        }
        (total > 0).then_some(())
    })
    .await;
    let mut left: Vec<usize> = (0..NODES).collect();
    while !left.is_empty() {
        let mut busiest = (0, left[0]);
        for &i in &left {
            busiest = busiest.max((cluster.live(i).await, i));
        }
        let i = busiest.1;
        left.retain(|n| *n != i);
        cluster.stop(i).await;
        cluster.start_node(i);
    }
    let report = load.await.unwrap().unwrap();
    let s = &report.summary;
    assert_eq!(
        s.errors, 0,
        "nothing fails beyond reconnects: {:?}",
        s.errors_by_kind
    );
    assert_eq!(s.sessions_completed, SESSIONS as u64);
    assert!(s.reconnects >= 1, "the restarts moved live interviews");
    // 0 lost answers: every answer a candidate saw committed is in Postgres.
    let store = cluster.pg_store().await;
    for (id, committed) in &s.committed_by_interview {
        let stored = store
            .turns(*id)
            .await
            .unwrap()
            .iter()
            .filter(|t| t.speaker == Speaker::Candidate)
            .count();
        assert!(
            stored >= *committed as usize,
            "{id}: {stored} stored, {committed} committed"
        );
    }
    println!(
        "cluster roll: {SESSIONS} interviews, {} reconnects, resume p50 {} ms p99 {} ms, turn latency p50 {} ms p99 {} ms",
        s.reconnects, s.resume_ms.p50, s.resume_ms.p99, s.turn_latency_ms.p50, s.turn_latency_ms.p99
    );
}
