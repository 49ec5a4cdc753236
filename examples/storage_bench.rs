//! Turn-write, event-batch and checkpoint latency (p50/p99) and throughput against real
//! backends. `scripts/storage-bench.sh` starts a private Postgres and Redis and runs this;
//! figures go to `docs/benchmarks.md`.
//!
//! `cargo run --release --example storage_bench -- <postgres-url> <redis-url> [sqlite-dir]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use uuid::Uuid;
use viva::protocol::TurnKind;
use viva::protocol::{InterviewState, Speaker};
use viva::store::postgres::{PgSettings, PgStore};
use viva::store::redis::RedisHot;
use viva::store::sqlite::SqliteStore;
use viva::store::{
    Checkpoint, HotState, NewInterview, Store, StoredEvent, TurnRecord, CHECKPOINT_VERSION,
};

const SEQUENTIAL: usize = 2_000;
const WRITERS: usize = 64;
const PER_WRITER: usize = 50;

fn turn(id: Uuid, seq: u32) -> TurnRecord {
    TurnRecord {
        suggested: false,
        decision: None,
        interview_id: id,
        seq,
        speaker: if seq.is_multiple_of(2) {
            Speaker::Interviewer
        } else {
            Speaker::Candidate
        },
        kind: if seq.is_multiple_of(2) {
            TurnKind::Question
        } else {
            TurnKind::Answer
        },
        text: "I led the migration of our payment service to Rust, which cut p99 latency by \
               half and let us retire three services."
            .into(),
        transcribed: true,
        interrupted: false,
        audio_ms: 6_200,
        started_at: Utc::now(),
        ended_at: Utc::now(),
        timings: None,
    }
}

fn report(what: &str, mut samples: Vec<Duration>, wall: Duration) {
    samples.sort();
    let pct = |p: f64| {
        let i = ((samples.len() as f64 * p).ceil() as usize).clamp(1, samples.len()) - 1;
        samples[i].as_secs_f64() * 1e3
    };
    println!(
        "| {what} | {} | {:.2} | {:.2} | {:.2} | {:.0} |",
        samples.len(),
        pct(0.50),
        pct(0.99),
        pct(1.0),
        samples.len() as f64 / wall.as_secs_f64()
    );
}

async fn interviews(store: &Arc<dyn Store>, n: usize) -> Vec<Uuid> {
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        let rec = store
            .create_interview(&NewInterview {
                role: "Bench".into(),
                ..NewInterview::default()
            })
            .await
            .unwrap();
        ids.push(rec.id);
    }
    ids
}

async fn bench_store(name: &str, store: Arc<dyn Store>) {
    // One writer: the latency an answer's commit adds to a turn.
    let id = interviews(&store, 1).await[0];
    let mut samples = Vec::with_capacity(SEQUENTIAL);
    let t0 = Instant::now();
    for seq in 0..SEQUENTIAL as u32 {
        let t = Instant::now();
        store.insert_turn(&turn(id, seq), 1).await.unwrap();
        samples.push(t.elapsed());
    }
    report(
        &format!("{name}: turn write, 1 writer"),
        samples,
        t0.elapsed(),
    );

    // Many interviews committing at once (a busy node).
    let ids = interviews(&store, WRITERS).await;
    let t0 = Instant::now();
    let tasks: Vec<_> = ids
        .into_iter()
        .map(|id| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut s = Vec::with_capacity(PER_WRITER);
                for seq in 0..PER_WRITER as u32 {
                    let t = Instant::now();
                    store.insert_turn(&turn(id, seq), 1).await.unwrap();
                    s.push(t.elapsed());
                }
                s
            })
        })
        .collect();
    let mut samples = Vec::new();
    for t in tasks {
        samples.extend(t.await.unwrap());
    }
    report(
        &format!("{name}: turn write, {WRITERS} writers"),
        samples,
        t0.elapsed(),
    );

    // Event-log batches as the event writer sends them (512 events from many interviews).
    let ids = interviews(&store, 32).await;
    let mut samples = Vec::new();
    let t0 = Instant::now();
    for round in 0..50u64 {
        let batch: Vec<StoredEvent> = (0..512u64)
            .map(|i| StoredEvent {
                interview_id: ids[(i % 32) as usize],
                seq: round * 16 + i / 32 + 1,
                body: format!(
                    r#"{{"seq":{},"ts":"2026-11-24T00:00:00Z","type":"state","state":"listening"}}"#,
                    round * 16 + i / 32 + 1
                ),
            })
            .collect();
        let t = Instant::now();
        store.append_events(&batch).await.unwrap();
        samples.push(t.elapsed());
    }
    report(
        &format!("{name}: event batch (512 events)"),
        samples,
        t0.elapsed(),
    );
}

async fn bench_hot(hot: Arc<dyn HotState>) {
    let id = Uuid::now_v7();
    let cp = |i: u64| Checkpoint {
        v: CHECKPOINT_VERSION,
        interview_id: id,
        next_seq: i,
        next_turn: 7,
        state: InterviewState::Listening,
        updated_at: Utc::now(),
        unsaved: Vec::new(),
        clean: false,
        resume_secret: None,
        holder_connected: false,
        fence: 1,
    };
    let mut samples = Vec::with_capacity(SEQUENTIAL);
    let t0 = Instant::now();
    for i in 0..SEQUENTIAL as u64 {
        let t = Instant::now();
        hot.save_checkpoint(&cp(i)).await.unwrap();
        samples.push(t.elapsed());
    }
    report("redis: checkpoint, 1 writer", samples, t0.elapsed());

    let t0 = Instant::now();
    let tasks: Vec<_> = (0..WRITERS)
        .map(|_| {
            let hot = hot.clone();
            tokio::spawn(async move {
                let id = Uuid::now_v7();
                let mut s = Vec::with_capacity(PER_WRITER * 4);
                for i in 0..(PER_WRITER * 4) as u64 {
                    let c = Checkpoint {
                        v: CHECKPOINT_VERSION,
                        interview_id: id,
                        next_seq: i,
                        next_turn: 7,
                        state: InterviewState::Speaking,
                        updated_at: Utc::now(),
                        unsaved: Vec::new(),
                        clean: false,
                        resume_secret: None,
                        holder_connected: false,
                        fence: 1,
                    };
                    let t = Instant::now();
                    hot.save_checkpoint(&c).await.unwrap();
                    s.push(t.elapsed());
                }
                s
            })
        })
        .collect();
    let mut samples = Vec::new();
    for t in tasks {
        samples.extend(t.await.unwrap());
    }
    report(
        &format!("redis: checkpoint, {WRITERS} writers"),
        samples,
        t0.elapsed(),
    );

    let events: Vec<StoredEvent> = (1..=16u64)
        .map(|seq| StoredEvent {
            interview_id: id,
            seq,
            body: r#"{"type":"state","state":"listening"}"#.into(),
        })
        .collect();
    let mut samples = Vec::new();
    let t0 = Instant::now();
    for round in 0..200u64 {
        let batch: Vec<StoredEvent> = events
            .iter()
            .map(|e| StoredEvent {
                seq: e.seq + round * 16,
                ..e.clone()
            })
            .collect();
        let t = Instant::now();
        hot.publish_events(&batch, 1024).await.unwrap();
        samples.push(t.elapsed());
    }
    report(
        "redis: live stream batch (16 events)",
        samples,
        t0.elapsed(),
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(pg), Some(redis)) = (args.first(), args.get(1)) else {
        anyhow::bail!("usage: storage_bench <postgres-url> <redis-url> [sqlite-dir]");
    };
    println!("| operation | samples | p50 ms | p99 ms | max ms | ops/s |");
    println!("|---|---|---|---|---|---|");
    let store: Arc<dyn Store> = Arc::new(PgStore::connect(pg, PgSettings::default()).await?);
    bench_store("postgres", store).await;
    bench_hot(Arc::new(RedisHot::connect(redis).await?)).await;
    if let Some(dir) = args.get(2) {
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(&std::path::Path::new(dir).join("bench.db")).await?);
        bench_store("sqlite", store).await;
    }
    Ok(())
}
