//! Batches event-log writes from every interview into few transactions, off the actors' path.
//!
//! Actors hand events over with `try_send` and never wait. The replay log in memory is what live
//! resumes use; this durable copy serves resumes after a restart. If the writer falls behind by
//! more than its queue, events are dropped from the durable copy (counted and logged), and a
//! client resuming past what was stored gets a `resync` snapshot built from the turns instead.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{Store, StoredEvent};

const QUEUE: usize = 16_384;
const BATCH: usize = 512;

enum Msg {
    Event(StoredEvent),
    Flush(oneshot::Sender<()>),
}

#[derive(Clone)]
pub struct EventWriter {
    tx: mpsc::Sender<Msg>,
    dropped: Arc<AtomicU64>,
}

impl EventWriter {
    /// Starts the writer task; it drains its queue and stops when `cancel` fires.
    pub fn spawn(store: Arc<dyn Store>, tracker: &TaskTracker, cancel: CancellationToken) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tracker.spawn(run(store, rx, cancel));
        Self {
            tx,
            dropped: Arc::default(),
        }
    }

    pub fn append(&self, event: StoredEvent) {
        if self.tx.try_send(Msg::Event(event)).is_err() {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(
                    dropped = n,
                    "event log writer behind; durable copy incomplete"
                );
            }
        }
    }

    /// Waits until everything appended so far has been written (or the writer has stopped).
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Flush(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

async fn run(store: Arc<dyn Store>, mut rx: mpsc::Receiver<Msg>, cancel: CancellationToken) {
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
        write(&*store, &mut batch).await;
        for w in waiters.drain(..) {
            let _ = w.send(());
        }
    }
    write(&*store, &mut batch).await;
}

async fn write(store: &dyn Store, batch: &mut Vec<StoredEvent>) {
    if batch.is_empty() {
        return;
    }
    for attempt in 0..3u32 {
        match store.append_events(batch).await {
            Ok(()) => break,
            Err(e) => {
                tracing::warn!(error = %e, attempt, events = batch.len(), "event log write failed");
                tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
            }
        }
    }
    batch.clear();
}
