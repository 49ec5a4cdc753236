//! In-process state. [`MemoryHot`] is the embedded default's hot state (checkpoints, tickets),
//! lost on restart by design: everything in it can be rebuilt from the durable store.
//! [`MemoryStore`] keeps the durable trait's data in memory: for tests on paused time (where a
//! database pool's timeouts would fire at once) and throwaway runs; it survives nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use dashmap::DashMap;
use tokio::time::Instant;
use uuid::Uuid;

use super::{
    Checkpoint, HotState, InterviewRecord, InterviewStatus, NewInterview, ProviderNames, Store,
    StoreResult, StoredEvent, TurnRecord,
};

#[derive(Default)]
pub struct MemoryStore {
    interviews: DashMap<Uuid, InterviewRecord>,
    turns: DashMap<Uuid, BTreeMap<u32, TurnRecord>>,
    events: DashMap<Uuid, BTreeMap<u64, String>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn create_interview(&self, new: &NewInterview) -> StoreResult<InterviewRecord> {
        let rec = InterviewRecord::scheduled(new);
        self.interviews.insert(rec.id, rec.clone());
        Ok(rec)
    }

    async fn get_interview(&self, id: Uuid) -> StoreResult<Option<InterviewRecord>> {
        Ok(self.interviews.get(&id).map(|r| r.clone()))
    }

    async fn set_status(
        &self,
        id: Uuid,
        status: InterviewStatus,
        _providers: Option<&ProviderNames>,
    ) -> StoreResult<()> {
        if let Some(mut r) = self.interviews.get_mut(&id) {
            r.status = status;
            let now = Utc::now();
            if status == InterviewStatus::InProgress {
                r.started_at.get_or_insert(now);
            }
            if status.is_finished() {
                r.completed_at.get_or_insert(now);
            }
        }
        Ok(())
    }

    async fn insert_turn(&self, turn: &TurnRecord) -> StoreResult<()> {
        self.turns
            .entry(turn.interview_id)
            .or_default()
            .entry(turn.seq)
            .or_insert_with(|| turn.clone());
        Ok(())
    }

    async fn turns(&self, id: Uuid) -> StoreResult<Vec<TurnRecord>> {
        Ok(self
            .turns
            .get(&id)
            .map(|t| t.values().cloned().collect())
            .unwrap_or_default())
    }

    async fn append_events(&self, events: &[StoredEvent]) -> StoreResult<()> {
        for e in events {
            self.events
                .entry(e.interview_id)
                .or_default()
                .entry(e.seq)
                .or_insert_with(|| e.body.clone());
        }
        Ok(())
    }

    async fn events_after(
        &self,
        id: Uuid,
        after: u64,
        limit: u32,
    ) -> StoreResult<Vec<StoredEvent>> {
        let Some(log) = self.events.get(&id) else {
            return Ok(Vec::new());
        };
        let mut tail: Vec<StoredEvent> = log
            .range(after + 1..)
            .rev()
            .take(limit as usize)
            .map(|(seq, body)| StoredEvent {
                interview_id: id,
                seq: *seq,
                body: body.clone(),
            })
            .collect();
        tail.reverse();
        Ok(tail)
    }

    async fn max_event_seq(&self, id: Uuid) -> StoreResult<u64> {
        Ok(self
            .events
            .get(&id)
            .and_then(|l| l.keys().next_back().copied())
            .unwrap_or(0))
    }
}

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
