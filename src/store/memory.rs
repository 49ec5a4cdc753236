//! In-process hot state for the embedded default: checkpoints and tickets in `DashMap`s.
//! Lost on restart by design: everything here can be rebuilt from the durable store.

use std::time::Duration;

use async_trait::async_trait;
use dashmap::DashMap;
use tokio::time::Instant;
use uuid::Uuid;

use super::{Checkpoint, HotState, StoreResult};

/// Tickets beyond this many trigger a sweep of expired ones.
const TICKET_SWEEP_AT: usize = 10_000;

#[derive(Default)]
pub struct MemoryHot {
    checkpoints: DashMap<Uuid, Checkpoint>,
    tickets: DashMap<String, (Uuid, Instant)>,
}

impl MemoryHot {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl HotState for MemoryHot {
    async fn save_checkpoint(&self, cp: &Checkpoint) -> StoreResult<()> {
        self.checkpoints.insert(cp.interview_id, cp.clone());
        Ok(())
    }

    async fn load_checkpoint(&self, id: Uuid) -> StoreResult<Option<Checkpoint>> {
        Ok(self.checkpoints.get(&id).map(|c| c.clone()))
    }

    async fn put_ticket(&self, ticket: &str, interview_id: Uuid, ttl: Duration) -> StoreResult<()> {
        let now = Instant::now();
        if self.tickets.len() >= TICKET_SWEEP_AT {
            self.tickets.retain(|_, (_, exp)| *exp > now);
        }
        self.tickets
            .insert(ticket.to_owned(), (interview_id, now + ttl));
        Ok(())
    }

    async fn take_ticket(&self, ticket: &str) -> StoreResult<Option<Uuid>> {
        Ok(self
            .tickets
            .remove(ticket)
            .filter(|(_, (_, exp))| *exp > Instant::now())
            .map(|(_, (id, _))| id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn tickets_are_single_use_and_expire() {
        let hot = MemoryHot::new();
        let id = Uuid::now_v7();
        hot.put_ticket("a", id, Duration::from_secs(60))
            .await
            .unwrap();
        hot.put_ticket("b", id, Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(hot.take_ticket("a").await.unwrap(), Some(id));
        assert_eq!(hot.take_ticket("a").await.unwrap(), None);
        tokio::time::advance(Duration::from_secs(61)).await;
        assert_eq!(hot.take_ticket("b").await.unwrap(), None);
    }
}
