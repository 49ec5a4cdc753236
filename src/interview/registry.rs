//! Live interviews by id. Spawns an actor on first use; actors remove themselves when they stop.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use dashmap::mapref::entry::Entry;
use dashmap::DashMap;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use super::{actor, Deps, InterviewHandle};

#[derive(Clone)]
pub struct Registry {
    inner: Arc<Inner>,
}

struct Inner {
    map: DashMap<Uuid, InterviewHandle>,
    next_instance: AtomicU64,
    deps: Arc<Deps>,
    tracker: TaskTracker,
    cancel: CancellationToken,
}

impl Registry {
    /// `cancel` is the server's root token: each actor gets a child of it.
    pub fn new(deps: Arc<Deps>, tracker: TaskTracker, cancel: CancellationToken) -> Self {
        Self {
            inner: Arc::new(Inner {
                map: DashMap::new(),
                next_instance: AtomicU64::new(1),
                deps,
                tracker,
                cancel,
            }),
        }
    }

    /// Fires when the server shuts down.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.inner.cancel.clone()
    }

    pub fn deps(&self) -> &Arc<Deps> {
        &self.inner.deps
    }

    /// The live actor of an interview, spawning one (which loads the interview) if needed.
    pub fn get_or_spawn(&self, id: Uuid) -> InterviewHandle {
        match self.inner.map.entry(id) {
            Entry::Occupied(e) if !e.get().is_closed() => e.get().clone(),
            Entry::Occupied(mut e) => {
                let h = self.spawn(id);
                e.insert(h.clone());
                h
            }
            Entry::Vacant(v) => {
                let h = self.spawn(id);
                v.insert(h.clone());
                h
            }
        }
    }

    pub fn get(&self, id: Uuid) -> Option<InterviewHandle> {
        self.inner
            .map
            .get(&id)
            .map(|h| h.clone())
            .filter(|h| !h.is_closed())
    }

    pub fn len(&self) -> usize {
        self.inner.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.inner.map.is_empty()
    }

    fn spawn(&self, id: Uuid) -> InterviewHandle {
        let instance = self.inner.next_instance.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(self.inner.deps.cfg.mailbox);
        let handle = InterviewHandle::new(id, instance, tx);
        let registry = self.clone();
        let cancel = self.inner.cancel.child_token();
        self.inner
            .tracker
            .spawn(actor::run(id, instance, rx, registry, cancel));
        handle
    }

    pub(crate) fn remove(&self, id: Uuid, instance: u64) {
        self.inner.map.remove_if(&id, |_, h| h.instance == instance);
    }
}
