//! Transcription off the async runtime: a fixed set of worker threads (one per loaded model
//! replica) behind one bounded queue. A full queue is refused at once (the caller degrades the
//! turn); partial transcripts are only taken when a worker is idle and nothing waits, so they
//! never delay a final one by more than the partial already running.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::{json, Value};
use tokio::sync::oneshot;

/// A speech recogniser: 16 kHz mono samples in [-1, 1] to text. Blocking; called on a worker.
pub trait Transcribe: Send + Sync + 'static {
    /// `partial`: a live caption of an utterance still going on (may trade accuracy for speed).
    /// `prompt`: text the speech likely follows or uses (the interview's terms), if any.
    fn transcribe(
        &self,
        samples: &[f32],
        partial: bool,
        prompt: Option<&str>,
    ) -> Result<String, String>;
}

pub type Reply = oneshot::Receiver<Result<String, String>>;

struct Job {
    samples: Vec<f32>,
    prompt: Option<Arc<str>>,
    partial: bool,
    enqueued: Instant,
    reply: oneshot::Sender<Result<String, String>>,
}

/// Counters exported on `/health` (`stt`).
#[derive(Default)]
pub struct PoolStats {
    queued: AtomicUsize,
    busy: AtomicUsize,
    finals: AtomicU64,
    partials: AtomicU64,
    rejected: AtomicU64,
    abandoned: AtomicU64,
    wait_ms_total: AtomicU64,
    wait_ms_max: AtomicU64,
    run_ms_total: AtomicU64,
}

pub struct Pool {
    tx: SyncSender<Job>,
    workers: usize,
    capacity: usize,
    stats: Arc<PoolStats>,
}

/// The queue is full: the turn is degraded rather than left waiting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueFull {
    pub waiting: usize,
}

impl Pool {
    /// One worker thread per engine; at most `capacity` jobs wait.
    pub fn new(engines: Vec<Arc<dyn Transcribe>>, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let (tx, rx) = sync_channel::<Job>(capacity);
        let rx = Arc::new(Mutex::new(rx));
        let stats = Arc::new(PoolStats::default());
        let workers = engines.len();
        for (i, engine) in engines.into_iter().enumerate() {
            let (rx, stats) = (rx.clone(), stats.clone());
            std::thread::Builder::new()
                .name(format!("stt-worker-{i}"))
                .spawn(move || work(engine, rx, stats))
                .expect("spawn an STT worker");
        }
        Self {
            tx,
            workers,
            capacity,
            stats,
        }
    }

    /// Queues the final transcription of an utterance, or refuses at once when the queue is full.
    pub fn submit(&self, samples: Vec<f32>, prompt: Option<Arc<str>>) -> Result<Reply, QueueFull> {
        self.enqueue(samples, prompt, false).inspect_err(|_| {
            self.stats.rejected.fetch_add(1, Ordering::Relaxed);
        })
    }

    /// Queues a live caption only when a worker is free and nothing is waiting.
    pub fn try_partial(&self, samples: Vec<f32>, prompt: Option<Arc<str>>) -> Option<Reply> {
        if !self.idle() {
            return None;
        }
        self.enqueue(samples, prompt, true).ok()
    }

    /// A worker is free and nothing is waiting.
    fn idle(&self) -> bool {
        self.stats.busy.load(Ordering::Relaxed) < self.workers
            && self.stats.queued.load(Ordering::Relaxed) == 0
    }

    fn enqueue(
        &self,
        samples: Vec<f32>,
        prompt: Option<Arc<str>>,
        partial: bool,
    ) -> Result<Reply, QueueFull> {
        let (reply, rx) = oneshot::channel();
        self.stats.queued.fetch_add(1, Ordering::Relaxed);
        let job = Job {
            samples,
            prompt,
            partial,
            enqueued: Instant::now(),
            reply,
        };
        match self.tx.try_send(job) {
            Ok(()) => Ok(rx),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                let waiting = self.stats.queued.fetch_sub(1, Ordering::Relaxed) - 1;
                Err(QueueFull { waiting })
            }
        }
    }

    pub fn stats(&self) -> Value {
        let s = &self.stats;
        let finals = s.finals.load(Ordering::Relaxed);
        let partials = s.partials.load(Ordering::Relaxed);
        let runs = (finals + partials).max(1);
        json!({
            "workers": self.workers,
            "queue_capacity": self.capacity,
            "queue_depth": s.queued.load(Ordering::Relaxed),
            "busy_workers": s.busy.load(Ordering::Relaxed),
            "transcriptions": finals,
            "partials": partials,
            "rejected_queue_full": s.rejected.load(Ordering::Relaxed),
            "abandoned": s.abandoned.load(Ordering::Relaxed),
            "queue_wait_ms_mean": s.wait_ms_total.load(Ordering::Relaxed) / runs,
            "queue_wait_ms_max": s.wait_ms_max.load(Ordering::Relaxed),
            "run_ms_mean": s.run_ms_total.load(Ordering::Relaxed) / runs,
        })
    }
}

fn work(engine: Arc<dyn Transcribe>, rx: Arc<Mutex<Receiver<Job>>>, stats: Arc<PoolStats>) {
    loop {
        // Only one idle worker waits on the queue at a time; the others wait for the lock.
        let job = match rx.lock() {
            Ok(rx) => match rx.recv() {
                Ok(job) => job,
                Err(_) => return, // the pool is gone
            },
            Err(_) => return,
        };
        stats.queued.fetch_sub(1, Ordering::Relaxed);
        if job.reply.is_closed() {
            // The session ended (or a newer caption superseded this one): skip the work.
            stats.abandoned.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        stats.busy.fetch_add(1, Ordering::Relaxed);
        let wait_ms = job.enqueued.elapsed().as_millis() as u64;
        stats.wait_ms_total.fetch_add(wait_ms, Ordering::Relaxed);
        stats.wait_ms_max.fetch_max(wait_ms, Ordering::Relaxed);
        let started = Instant::now();
        // A panicking engine fails this job, not the worker.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            engine.transcribe(&job.samples, job.partial, job.prompt.as_deref())
        }))
        .unwrap_or_else(|_| Err("the recogniser crashed on this utterance".into()));
        stats
            .run_ms_total
            .fetch_add(started.elapsed().as_millis() as u64, Ordering::Relaxed);
        let done = if job.partial {
            &stats.partials
        } else {
            &stats.finals
        };
        done.fetch_add(1, Ordering::Relaxed);
        stats.busy.fetch_sub(1, Ordering::Relaxed);
        let _ = job.reply.send(result);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// An engine that transcribes only when the test lets it (one `()` per job), reporting each
    /// start, so queue states are set up exactly, without timing.
    struct Gated {
        go: Mutex<mpsc::Receiver<()>>,
        started: Mutex<mpsc::Sender<usize>>,
    }

    impl Transcribe for Gated {
        fn transcribe(
            &self,
            samples: &[f32],
            partial: bool,
            _: Option<&str>,
        ) -> Result<String, String> {
            self.started.lock().unwrap().send(samples.len()).unwrap();
            self.go.lock().unwrap().recv().unwrap();
            Ok(format!(
                "{} samples{}",
                samples.len(),
                if partial { "…" } else { "" }
            ))
        }
    }

    fn gated_pool(capacity: usize) -> (Pool, mpsc::Sender<()>, mpsc::Receiver<usize>) {
        let (go_tx, go_rx) = mpsc::channel();
        let (started_tx, started_rx) = mpsc::channel();
        let engine = Arc::new(Gated {
            go: Mutex::new(go_rx),
            started: Mutex::new(started_tx),
        });
        (Pool::new(vec![engine], capacity), go_tx, started_rx)
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once_and_counts_it() {
        let (pool, go, started) = gated_pool(2);
        let running = pool.submit(vec![0.0; 1], None).unwrap();
        assert_eq!(started.recv().unwrap(), 1); // the worker is busy with it
        let a = pool.submit(vec![0.0; 2], None).unwrap();
        let b = pool.submit(vec![0.0; 3], None).unwrap();
        assert_eq!(
            pool.submit(vec![0.0; 4], None).unwrap_err(),
            QueueFull { waiting: 2 }
        );
        let stats = pool.stats();
        assert_eq!(stats["queue_depth"], 2);
        assert_eq!(stats["busy_workers"], 1);
        assert_eq!(stats["rejected_queue_full"], 1);
        for _ in 0..3 {
            go.send(()).unwrap();
        }
        assert_eq!(running.await.unwrap().unwrap(), "1 samples");
        assert_eq!(a.await.unwrap().unwrap(), "2 samples");
        assert_eq!(b.await.unwrap().unwrap(), "3 samples");
        assert_eq!(pool.stats()["transcriptions"], 3);
    }

    #[tokio::test]
    async fn partials_only_run_on_an_idle_worker_with_nothing_waiting() {
        let (pool, go, started) = gated_pool(4);
        let partial = pool.try_partial(vec![0.0; 5], None).expect("idle: taken");
        assert_eq!(started.recv().unwrap(), 5);
        assert!(
            pool.try_partial(vec![0.0; 6], None).is_none(),
            "busy: skipped"
        );
        let fin = pool.submit(vec![0.0; 7], None).unwrap();
        go.send(()).unwrap();
        assert_eq!(partial.await.unwrap().unwrap(), "5 samples…");
        assert_eq!(started.recv().unwrap(), 7);
        go.send(()).unwrap();
        assert_eq!(fin.await.unwrap().unwrap(), "7 samples");
        assert_eq!(pool.stats()["partials"], 1);
    }

    #[tokio::test]
    async fn work_nobody_waits_for_any_more_is_skipped() {
        let (pool, go, started) = gated_pool(4);
        let running = pool.submit(vec![0.0; 1], None).unwrap();
        assert_eq!(started.recv().unwrap(), 1);
        drop(pool.submit(vec![0.0; 2], None).unwrap()); // its session ended while it waited
        let last = pool.submit(vec![0.0; 3], None).unwrap();
        go.send(()).unwrap();
        running.await.unwrap().unwrap();
        // The next job the worker starts is the third: the abandoned one was never run.
        assert_eq!(started.recv().unwrap(), 3);
        go.send(()).unwrap();
        last.await.unwrap().unwrap();
        assert_eq!(pool.stats()["abandoned"], 1);
    }

    struct Panics;

    impl Transcribe for Panics {
        fn transcribe(&self, samples: &[f32], _: bool, _: Option<&str>) -> Result<String, String> {
            assert!(samples.len() > 1, "bad utterance");
            Ok("fine".into())
        }
    }

    #[tokio::test]
    async fn a_panicking_engine_fails_the_utterance_and_the_worker_carries_on() {
        let pool = Pool::new(vec![Arc::new(Panics)], 4);
        let crashed = pool.submit(vec![0.0], None).unwrap().await.unwrap();
        assert_eq!(
            crashed.unwrap_err(),
            "the recogniser crashed on this utterance"
        );
        assert_eq!(
            pool.submit(vec![0.0; 2], None)
                .unwrap()
                .await
                .unwrap()
                .unwrap(),
            "fine"
        );
    }
}
