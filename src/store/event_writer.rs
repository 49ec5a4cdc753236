//! Batches event-log writes from every interview into few transactions, off the actors' path,
//! and (with Redis) publishes them to each interview's capped live stream for other nodes.
//!
//! Actors hand events over with `try_send` and never wait. The replay log in memory is what live
//! resumes use; the durable copy serves resumes after a restart, the stream live monitors and
//! resumes on another node. A failed write is retried with backoff until it succeeds or the
//! server stops; if a writer falls behind by more than its queue, events are dropped from that
//! copy (counted and logged), and a client resuming past what was kept gets a `resync`
//! snapshot built from the turns instead.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{HotState, StorageCounters, Store, StoreResult, StoredEvent};

const QUEUE: usize = 16_384;
const BATCH: usize = 512;
const MAX_BACKOFF: Duration = Duration::from_secs(5);

enum Msg {
    Event(StoredEvent),
    Flush(oneshot::Sender<()>),
}

/// Where a writer task puts its batches.
enum Sink {
    Store(Arc<dyn Store>),
    /// The live stream, capped at about this many events per interview.
    Stream(Arc<dyn HotState>, usize),
}

impl Sink {
    async fn write(&self, batch: &[StoredEvent]) -> StoreResult<()> {
        match self {
            Sink::Store(s) => {
                let started = std::time::Instant::now();
                let written = s.append_events(batch).await;
                crate::metrics::global().observe_event_write(started.elapsed());
                written
            }
            Sink::Stream(h, cap) => h.publish_events(batch, *cap).await,
        }
    }

    fn failures<'a>(&self, c: &'a StorageCounters) -> &'a std::sync::atomic::AtomicU64 {
        match self {
            Sink::Store(_) => &c.event_write_failures,
            Sink::Stream(..) => &c.stream_write_failures,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Sink::Store(_) => "event log",
            Sink::Stream(..) => "live stream",
        }
    }
}

#[derive(Clone)]
pub struct EventWriter {
    queues: Vec<mpsc::Sender<Msg>>,
    counters: Arc<StorageCounters>,
}

impl EventWriter {
    /// Starts the writer tasks (the store's, and the live stream's when `stream` is given);
    /// they drain their queues and stop when `cancel` fires.
    pub fn spawn(
        store: Arc<dyn Store>,
        stream: Option<(Arc<dyn HotState>, usize)>,
        tracker: &TaskTracker,
        cancel: CancellationToken,
    ) -> Self {
        let counters = Arc::<StorageCounters>::default();
        let sinks = std::iter::once(Sink::Store(store))
            .chain(stream.map(|(hot, cap)| Sink::Stream(hot, cap)));
        let queues = sinks
            .map(|sink| {
                let (tx, rx) = mpsc::channel(QUEUE);
                tracker.spawn(run(sink, rx, cancel.clone(), counters.clone()));
                tx
            })
            .collect();
        Self { queues, counters }
    }

    pub fn append(&self, event: StoredEvent) {
        let (last, rest) = self.queues.split_last().expect("at least the store");
        for q in rest {
            self.offer(q, event.clone());
        }
        self.offer(last, event);
    }

    fn offer(&self, q: &mpsc::Sender<Msg>, event: StoredEvent) {
        if q.try_send(Msg::Event(event)).is_err() {
            let n = self
                .counters
                .events_dropped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                + 1;
            if n.is_power_of_two() {
                tracing::warn!(
                    dropped = n,
                    "event writer behind; a copy of the log is incomplete"
                );
            }
        }
    }

    /// Waits until everything appended so far has been written (or the writers have stopped).
    pub async fn flush(&self) {
        for q in &self.queues {
            let (tx, rx) = oneshot::channel();
            if q.send(Msg::Flush(tx)).await.is_ok() {
                let _ = rx.await;
            }
        }
    }

    /// The server's storage failure counters (shared with the actors).
    pub fn counters(&self) -> &Arc<StorageCounters> {
        &self.counters
    }
}

async fn run(
    sink: Sink,
    mut rx: mpsc::Receiver<Msg>,
    cancel: CancellationToken,
    counters: Arc<StorageCounters>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut waiters = Vec::new();
    loop {
        let first = tokio::select! {
            m = rx.recv() => m,
            _ = cancel.cancelled() => { rx.close(); rx.recv().await }
        };
        let Some(first) = first else { break };
        let mut next = Some(first);
        while let Some(m) = next.take() {
            match m {
                Msg::Event(e) => batch.push(e),
                Msg::Flush(w) => waiters.push(w),
            }
            if batch.len() < BATCH {
                next = rx.try_recv().ok();
            }
        }
        write(&sink, &mut batch, &cancel, &counters).await;
        for w in waiters.drain(..) {
            let _ = w.send(());
        }
    }
    write(&sink, &mut batch, &cancel, &counters).await;
}

/// Writes a batch, retrying with backoff until it is written; once the server is stopping,
/// one last try.
async fn write(
    sink: &Sink,
    batch: &mut Vec<StoredEvent>,
    cancel: &CancellationToken,
    counters: &StorageCounters,
) {
    if batch.is_empty() {
        return;
    }
    let mut backoff = Duration::from_millis(100);
    for attempt in 0u32.. {
        match sink.write(batch).await {
            Ok(()) => {
                if attempt > 0 {
                    tracing::info!(sink = sink.name(), attempt, "events written after retries");
                }
                break;
            }
            Err(e) if cancel.is_cancelled() => {
                StorageCounters::count(sink.failures(counters));
                tracing::error!(sink = sink.name(), error = %e, events = batch.len(), "events not written at shutdown");
                break;
            }
            Err(e) => {
                StorageCounters::count(sink.failures(counters));
                if attempt == 0 {
                    tracing::warn!(sink = sink.name(), error = %e, events = batch.len(), "event write failed; retrying");
                }
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = cancel.cancelled() => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
    batch.clear();
}
