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
    Checkpoint, Claim, HotState, InterviewRecord, InterviewStatus, NewInterview, ProviderNames,
    Store, StoreError, StoreResult, StoredEvent, TurnRecord, Usage,
};

#[derive(Default)]
pub struct MemoryStore {
    interviews: DashMap<Uuid, InterviewRecord>,
    usage: DashMap<Uuid, Usage>,
    turns: DashMap<Uuid, BTreeMap<u32, TurnRecord>>,
    /// The highest fencing token a turn write carried, by interview.
    fences: DashMap<Uuid, u64>,
    events: DashMap<Uuid, BTreeMap<u64, String>>,
    client_signals: DashMap<Uuid, Vec<(u32, crate::integrity::ClientSignal)>>,
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
            if r.status == InterviewStatus::Cancelled {
                return Ok(());
            }
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

    async fn insert_turn(&self, turn: &TurnRecord, fence: u64) -> StoreResult<()> {
        if !self.claim_fence(turn.interview_id, fence).await? {
            return Err(StoreError::Fenced);
        }
        self.turns
            .entry(turn.interview_id)
            .or_default()
            .entry(turn.seq)
            .or_insert_with(|| turn.clone());
        Ok(())
    }

    async fn claim_fence(&self, id: Uuid, fence: u64) -> StoreResult<bool> {
        let mut seen = self.fences.entry(id).or_insert(0);
        if *seen > fence {
            return Ok(false);
        }
        *seen = fence;
        Ok(true)
    }

    async fn fence(&self, id: Uuid) -> StoreResult<u64> {
        Ok(self.fences.get(&id).map_or(0, |f| *f))
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

    async fn add_usage(
        &self,
        id: Uuid,
        usage: &Usage,
        _llm_model: Option<&str>,
        _prompt_version: Option<&str>,
    ) -> StoreResult<()> {
        self.usage.entry(id).or_default().add(usage);
        Ok(())
    }

    async fn usage(&self, id: Uuid) -> StoreResult<Usage> {
        Ok(self.usage.get(&id).map(|u| u.clone()).unwrap_or_default())
    }

    async fn add_client_signal(
        &self,
        id: Uuid,
        n: u32,
        signal: &crate::integrity::ClientSignal,
    ) -> StoreResult<()> {
        let mut all = self.client_signals.entry(id).or_default();
        all.push((n, signal.clone()));
        all.sort_by_key(|(n, s)| (s.at_ms, *n));
        Ok(())
    }

    async fn client_signals(&self, id: Uuid) -> StoreResult<Vec<crate::integrity::ClientSignal>> {
        Ok(self
            .client_signals
            .get(&id)
            .map(|s| s.iter().map(|(_, s)| s.clone()).collect())
            .unwrap_or_default())
    }

    async fn ping(&self) -> StoreResult<()> {
        Ok(())
    }
}

/// Tickets beyond this many trigger a sweep of expired ones.
const TICKET_SWEEP_AT: usize = 10_000;

#[derive(Default)]
pub struct MemoryHot {
    checkpoints: DashMap<Uuid, Checkpoint>,
    tickets: DashMap<String, (Uuid, Instant)>,
    /// Holder, expiry and generation.
    leases: DashMap<Uuid, (String, Instant, u64)>,
    /// The last generation handed out, by interview.
    generations: DashMap<Uuid, u64>,
    revoked: DashMap<String, Instant>,
    windows: DashMap<String, (u32, Instant)>,
    cache: DashMap<String, (String, Instant)>,
}

impl MemoryHot {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl HotState for MemoryHot {
    async fn save_checkpoint(&self, cp: &Checkpoint) -> StoreResult<()> {
        let mut stored = self
            .checkpoints
            .entry(cp.interview_id)
            .or_insert_with(|| cp.clone());
        if stored.fence > cp.fence {
            return Err(StoreError::Fenced);
        }
        *stored = cp.clone();
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

    async fn acquire_lease(
        &self,
        id: Uuid,
        node: &str,
        ttl: Duration,
        claim: Claim,
    ) -> StoreResult<Option<u64>> {
        let now = Instant::now();
        let mut entry = self
            .leases
            .entry(id)
            .or_insert_with(|| (String::new(), now, 0));
        let (holder, until, generation) = entry.value_mut();
        let held_by = (*until > now).then_some((holder.as_str(), *generation));
        let mut last = self.generations.entry(id).or_insert(0);
        let kept = match (claim, held_by) {
            (_, Some((h, _))) if h != node => return Ok(None),
            (Claim::Renew { held }, Some((_, g))) if g == held => held,
            (Claim::Renew { held }, None) if *last == held => held,
            (Claim::Renew { .. }, _) => return Ok(None),
            (Claim::Take { floor }, Some((_, g))) if g >= floor => g,
            (Claim::Take { floor }, _) => {
                *last = (*last + 1).max(floor + 1);
                *last
            }
        };
        (*holder, *until, *generation) = (node.to_owned(), now + ttl, kept);
        Ok(Some(kept))
    }

    async fn lease_holder(&self, id: Uuid) -> StoreResult<Option<String>> {
        let now = Instant::now();
        Ok(self
            .leases
            .get(&id)
            .filter(|l| l.1 > now)
            .map(|l| l.0.clone()))
    }

    async fn release_lease(&self, id: Uuid, node: &str) -> StoreResult<()> {
        self.leases
            .remove_if(&id, |_, (holder, _, _)| holder == node);
        Ok(())
    }

    /// One process: monitors reach the actor directly, so there is no shared stream.
    async fn publish_events(&self, _events: &[StoredEvent], _cap: usize) -> StoreResult<()> {
        Ok(())
    }

    async fn read_events(
        &self,
        _id: Uuid,
        _after: u64,
        _wait: Duration,
    ) -> StoreResult<Vec<StoredEvent>> {
        Ok(Vec::new())
    }

    async fn revoke_token(&self, jti: &str, ttl: Duration) -> StoreResult<()> {
        let now = Instant::now();
        if self.revoked.len() >= TICKET_SWEEP_AT {
            self.revoked.retain(|_, exp| *exp > now);
        }
        self.revoked.insert(jti.to_owned(), now + ttl);
        Ok(())
    }

    async fn put_cached(&self, key: &str, value: &str, ttl: Duration) -> StoreResult<()> {
        self.cache
            .insert(key.to_owned(), (value.to_owned(), Instant::now() + ttl));
        Ok(())
    }

    async fn cached(&self, key: &str) -> StoreResult<Option<String>> {
        Ok(self
            .cache
            .get(key)
            .filter(|v| v.1 > Instant::now())
            .map(|v| v.0.clone()))
    }

    async fn is_revoked(&self, jti: &str) -> StoreResult<bool> {
        Ok(self
            .revoked
            .get(jti)
            .is_some_and(|exp| *exp > Instant::now()))
    }

    async fn rate_limit(&self, key: &str, limit: u32, window: Duration) -> StoreResult<bool> {
        let now = Instant::now();
        if self.windows.len() >= TICKET_SWEEP_AT {
            self.windows.retain(|_, (_, end)| *end > now);
        }
        let mut w = self
            .windows
            .entry(key.to_owned())
            .or_insert((0, now + window));
        if w.1 <= now {
            *w = (0, now + window);
        }
        w.0 += 1;
        Ok(w.0 <= limit)
    }

    async fn forget(&self, id: Uuid) -> StoreResult<()> {
        self.checkpoints.remove(&id);
        Ok(())
    }

    async fn ping(&self) -> StoreResult<()> {
        Ok(())
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

    #[tokio::test(start_paused = true)]
    async fn leases_expire_unless_renewed_and_rate_windows_reset() {
        let hot = MemoryHot::new();
        let id = Uuid::now_v7();
        let ttl = Duration::from_secs(15);
        assert_eq!(
            hot.acquire_lease(id, "a", ttl, Claim::Take { floor: 0 })
                .await
                .unwrap(),
            Some(1)
        );
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(
            hot.acquire_lease(id, "a", ttl, Claim::Take { floor: 0 })
                .await
                .unwrap(),
            Some(1),
            "renewed: the same generation"
        );
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(
            hot.acquire_lease(id, "b", ttl, Claim::Take { floor: 0 })
                .await
                .unwrap(),
            None,
            "renewal counts"
        );
        tokio::time::advance(Duration::from_secs(6)).await;
        assert_eq!(
            hot.acquire_lease(id, "b", ttl, Claim::Take { floor: 0 })
                .await
                .unwrap(),
            Some(2),
            "expired: b takes it, with the next generation"
        );
        assert_eq!(
            hot.acquire_lease(id, "a", ttl, Claim::Take { floor: 0 })
                .await
                .unwrap(),
            None
        );
        hot.release_lease(id, "b").await.unwrap();
        assert_eq!(
            hot.acquire_lease(id, "a", ttl, Claim::Take { floor: 9 })
                .await
                .unwrap(),
            Some(10),
            "above the floor the store has seen"
        );

        let minute = Duration::from_secs(60);
        assert!(hot.rate_limit("k", 1, minute).await.unwrap());
        assert!(!hot.rate_limit("k", 1, minute).await.unwrap());
        tokio::time::advance(minute).await;
        assert!(
            hot.rate_limit("k", 1, minute).await.unwrap(),
            "a new window"
        );

        hot.revoke_token("j", minute).await.unwrap();
        assert!(hot.is_revoked("j").await.unwrap());
        tokio::time::advance(minute).await;
        assert!(
            !hot.is_revoked("j").await.unwrap(),
            "forgotten once the token expired"
        );
    }
}
