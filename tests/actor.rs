//! One interview actor driven directly through its handle on paused tokio time: the grace
//! period, the gentle prompt after a long silence, resync past the replay window. The store is the in-memory
//! implementation of the same trait (SQLite's pool timeouts cannot run on paused time).

mod common;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use uuid::Uuid;
use viva::interview::{Connection, Outbound, Registry};
use viva::protocol::TurnKind;
use viva::protocol::{Event, EventEnvelope, InterviewState};
use viva::store::memory::{MemoryHot, MemoryStore};
use viva::store::{Checkpoint, HotState, NewInterview, Store, StoreResult, StoredEvent};

struct Rig {
    registry: Registry,
    store: Arc<MemoryStore>,
    id: Uuid,
    _dir: tempfile::TempDir,
}

async fn rig(adjust: impl FnOnce(&mut viva::config::Config)) -> Rig {
    rig_with_hot(adjust, Arc::new(MemoryHot::new())).await
}

async fn rig_with_hot(
    adjust: impl FnOnce(&mut viva::config::Config),
    hot: Arc<dyn HotState>,
) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = common::scripted_config(dir.path());
    adjust(&mut cfg);
    // In memory: a database pool's timeouts would fire at once on paused time.
    let (registry, store) = viva::server::in_memory_registry_with(&cfg, hot).unwrap();
    let id = store
        .create_interview(&NewInterview::default())
        .await
        .unwrap()
        .id;
    Rig {
        registry,
        store,
        id,
        _dir: dir,
    }
}

fn event(m: &Outbound) -> Option<EventEnvelope> {
    match m {
        Outbound::Text(t) => serde_json::from_str(t).ok(),
        _ => None,
    }
}

/// Reads outbound messages until an event matches.
async fn until(rx: &mut mpsc::Receiver<Outbound>, pred: impl Fn(&Event) -> bool) -> Event {
    loop {
        let m = rx.recv().await.expect("actor hung up");
        if let Some(e) = event(&m).filter(|e| pred(&e.event)) {
            return e.event;
        }
    }
}

/// The resume secret in an attach batch's `ready`.
fn secret_of(m: &Outbound) -> String {
    let Outbound::Batch(batch) = m else {
        panic!("expected the attach batch, got {m:?}")
    };
    let ready: serde_json::Value = serde_json::from_str(&batch[0]).unwrap();
    assert_eq!(ready["type"], "ready");
    ready["resume_secret"].as_str().unwrap().to_owned()
}

/// Attaches connection 1 and waits until the first question has been played.
async fn attach_and_listen(
    rig: &Rig,
) -> (viva::interview::InterviewHandle, mpsc::Receiver<Outbound>) {
    attach_holding(rig).await.0
}

/// Like [`attach_and_listen`], with the candidate's resume secret.
async fn attach_holding(
    rig: &Rig,
) -> (
    (viva::interview::InterviewHandle, mpsc::Receiver<Outbound>),
    String,
) {
    let h = rig.registry.get_or_spawn(rig.id);
    let (tx, mut rx) = mpsc::channel(1024);
    h.attach(Connection::native(1, tx), None, None)
        .await
        .unwrap();
    let secret = secret_of(&rx.recv().await.unwrap());
    until(&mut rx, |e| {
        *e == Event::State {
            state: InterviewState::Listening,
        }
    })
    .await;
    ((h, rx), secret)
}

#[tokio::test(start_paused = true)]
async fn the_actor_outlives_a_disconnect_for_the_grace_period_then_unloads() {
    let rig = rig(|c| c.grace_secs = 600).await;
    let (h, _rx) = attach_and_listen(&rig).await;
    h.detach(1, "connection closed").await;

    tokio::time::sleep(Duration::from_secs(599)).await;
    assert!(
        rig.registry.get(rig.id).is_some(),
        "still loaded within the grace period"
    );
    let (tx2, mut rx2) = mpsc::channel(1024);
    // Reattaching within the grace period keeps the same actor and resets the clock.
    h.attach(Connection::native(2, tx2), None, None)
        .await
        .unwrap();
    assert!(matches!(rx2.recv().await, Some(Outbound::Batch(_))));
    h.detach(2, "connection closed").await;
    tokio::time::sleep(Duration::from_secs(599)).await;
    assert!(rig.registry.get(rig.id).is_some());
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        rig.registry.get(rig.id).is_none(),
        "unloaded after the grace period"
    );
    assert!(h.is_closed());
    // Nothing was lost: the question is stored and a new actor resumes from it.
    assert_eq!(rig.store.turns(rig.id).await.unwrap().len(), 1);
    let h2 = rig.registry.get_or_spawn(rig.id);
    assert_ne!(h2.instance, h.instance);
    let (tx3, mut rx3) = mpsc::channel(1024);
    h2.attach(Connection::native(3, tx3), None, None)
        .await
        .unwrap();
    let notice = until(&mut rx3, |e| {
        matches!(e, Event::AgentText { is_final: true, .. })
    })
    .await;
    let Event::AgentText { text, .. } = notice else {
        unreachable!()
    };
    assert!(text.starts_with("Sorry, we were disconnected"), "{text}");
    assert!(text.contains("Scripted question 1 of 2"), "{text}");
}

#[tokio::test(start_paused = true)]
async fn a_long_silence_gets_a_gentle_prompt_not_the_next_question() {
    let rig = rig(|c| c.silence_prompt_ms = 10_000).await;
    let (h, mut rx) = attach_and_listen(&rig).await;

    // The microphone streams silence, one packet per 20 ms, for up to a minute.
    let silence = common::silence_packet();
    let mut prompt = None;
    for _ in 0..3000 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let _ = h.audio(1, silence.clone(), 0);
        while let Ok(m) = rx.try_recv() {
            if let Some(Event::AgentText {
                text,
                is_final: true,
                ..
            }) = event(&m).map(|e| e.event)
            {
                prompt = Some(text);
            }
        }
        if prompt.is_some() {
            break;
        }
    }
    let prompt = prompt.expect("a prompt after the silence");
    assert!(prompt.starts_with("Take your time"), "{prompt}");
    until(&mut rx, |e| {
        *e == Event::State {
            state: InterviewState::Listening,
        }
    })
    .await;
    let turns = rig.store.turns(rig.id).await.unwrap();
    let kinds: Vec<_> = turns.iter().map(|t| t.kind).collect();
    assert_eq!(
        kinds,
        vec![TurnKind::Question, TurnKind::Prompt],
        "no new question"
    );
}

#[tokio::test(start_paused = true)]
async fn resuming_from_before_the_replay_window_gets_a_snapshot() {
    let rig = rig(|c| c.replay_window = 16).await;
    let ((h, mut rx), secret) = attach_holding(&rig).await;
    h.answer_text(1, "A typed answer.".into()).await;
    until(&mut rx, |e| matches!(e, Event::AudioEnd { .. })).await;
    until(&mut rx, |e| {
        *e == Event::State {
            state: InterviewState::Listening,
        }
    })
    .await;

    let (tx2, mut rx2) = mpsc::channel(1024);
    h.attach(Connection::native(2, tx2), Some(0), Some(secret.clone()))
        .await
        .unwrap();
    let Some(Outbound::Batch(batch)) = rx2.recv().await else {
        panic!("expected the attach batch")
    };
    assert_eq!(batch.len(), 2, "ready, then resync");
    let v: serde_json::Value = serde_json::from_str(&batch[1]).unwrap();
    assert_eq!(v["type"], "resync");
    let snap: viva::protocol::Snapshot = serde_json::from_value(v["snapshot"].clone()).unwrap();
    assert_eq!(snap.state, InterviewState::Listening);
    assert!(snap.last_seq > 16);
    let texts: Vec<_> = snap.transcript.iter().map(|t| t.text.as_str()).collect();
    assert_eq!(texts.len(), 3);
    assert_eq!(texts[1], "A typed answer.");
    assert_eq!(snap.questions.len(), 2);

    // Within the window, events are replayed instead.
    let (tx3, mut rx3) = mpsc::channel(1024);
    h.attach(
        Connection::native(3, tx3),
        Some(snap.last_seq - 2),
        Some(secret),
    )
    .await
    .unwrap();
    let Some(Outbound::Batch(batch)) = rx3.recv().await else {
        panic!("expected the attach batch")
    };
    let seqs: Vec<u64> = batch[1..]
        .iter()
        .map(|j| serde_json::from_str::<EventEnvelope>(j).unwrap().seq)
        .collect();
    assert_eq!(seqs, vec![snap.last_seq - 1, snap.last_seq]);
}

/// Attaches connection `id` with an optional resume secret.
async fn attach_as(
    h: &viva::interview::InterviewHandle,
    id: u64,
    secret: Option<String>,
) -> (
    Result<(), viva::interview::AttachError>,
    mpsc::Receiver<Outbound>,
) {
    let (tx, rx) = mpsc::channel(1024);
    let r = h.attach(Connection::native(id, tx), Some(0), secret).await;
    (r, rx)
}

#[tokio::test(start_paused = true)]
async fn only_the_resume_secret_takes_over_a_live_session_until_the_hold_runs_out() {
    use viva::interview::AttachError;
    let rig = rig(|c| c.takeover_hold_secs = 20).await;
    let ((h, mut rx1), secret) = attach_holding(&rig).await;

    // Someone else with the link, while the candidate is connected: refused.
    let (r, _) = attach_as(&h, 2, None).await;
    assert_eq!(r, Err(AttachError::Busy));
    let (r, _) = attach_as(&h, 2, Some("a-guess".into())).await;
    assert_eq!(r, Err(AttachError::Busy));

    // The candidate's own reconnect (a second tab it opened, a reload) takes over: 4009 to the old.
    let (r, mut rx3) = attach_as(&h, 3, Some(secret.clone())).await;
    assert_eq!(r, Ok(()));
    assert_eq!(secret_of(&rx3.recv().await.unwrap()), secret, "same secret");
    let closed = loop {
        match rx1.recv().await {
            Some(Outbound::Close(code, _)) => break code,
            Some(_) => {}
            None => panic!("old connection not closed"),
        }
    };
    assert_eq!(closed, 4009);

    // The holder drops: for the hold period only its secret reattaches.
    h.detach(3, "connection closed").await;
    tokio::time::sleep(Duration::from_secs(19)).await;
    let (r, _) = attach_as(&h, 4, None).await;
    assert_eq!(r, Err(AttachError::Busy), "within the hold");
    tokio::time::sleep(Duration::from_secs(2)).await;
    // After it (a crashed tab, a new device) anyone with the link may, and gets a new secret.
    let (r, mut rx5) = attach_as(&h, 5, None).await;
    assert_eq!(r, Ok(()));
    let fresh = secret_of(&rx5.recv().await.unwrap());
    assert_ne!(fresh, secret);
    let (r, _) = attach_as(&h, 6, Some(secret)).await;
    assert_eq!(r, Err(AttachError::Busy), "the old secret no longer works");
}

#[tokio::test(start_paused = true)]
async fn a_spent_reply_budget_closes_the_interview_politely() {
    let rig = rig(|c| {
        c.max_replies = 2;
        c.scripted_questions = 10;
    })
    .await;
    let (h, mut rx) = attach_and_listen(&rig).await;
    // Reply 1 was the first question; reply 2 answers this; the third would be over budget.
    h.answer_text(1, "First answer.".into()).await;
    until(&mut rx, |e| matches!(e, Event::AudioEnd { .. })).await;
    h.answer_text(1, "Second answer.".into()).await;
    let ended = until(&mut rx, |e| matches!(e, Event::Ended { .. })).await;
    assert_eq!(
        ended,
        Event::Ended {
            reason: "budget".into()
        }
    );
    let turns = rig.store.turns(rig.id).await.unwrap();
    let texts: Vec<_> = turns.iter().map(|t| t.text.as_str()).collect();
    assert_eq!(texts.len(), 5, "{texts:?}");
    assert_eq!(texts[3], "Second answer.");
    assert!(
        texts[4].starts_with("We have reached the time available"),
        "the closing is spoken and stored: {texts:?}"
    );
    let i = rig.store.get_interview(rig.id).await.unwrap().unwrap();
    assert_eq!(i.status, viva::store::InterviewStatus::Completed);
}

#[tokio::test(start_paused = true)]
async fn frames_lost_before_the_actor_count_as_time_heard() {
    // The gentle prompt comes after 1 s of silence heard, counted in frames.
    let rig = rig(|c| c.silence_prompt_ms = 1000).await;
    let (h, mut rx) = attach_and_listen(&rig).await;
    // One packet arrives, saying the 49 before it were dropped (a full mailbox): they are
    // concealed, so 50 frames (1 s) were heard and the prompt is due now.
    h.audio(1, common::silence_packet(), 49).unwrap();
    let prompt = until(&mut rx, |e| {
        matches!(e, Event::AgentText { is_final: true, .. })
    })
    .await;
    let Event::AgentText { kind, text, .. } = prompt else {
        unreachable!()
    };
    assert_eq!(kind, TurnKind::Prompt);
    assert!(text.starts_with("Take your time"), "{text}");
}

#[tokio::test(start_paused = true)]
async fn a_spent_transcript_budget_closes_the_interview_politely() {
    let rig = rig(|c| {
        c.max_transcript_bytes = 1024;
        c.scripted_questions = 10;
    })
    .await;
    let (h, mut rx) = attach_and_listen(&rig).await;
    // Well under the budget: the interview goes on.
    h.answer_text(1, "a".repeat(600)).await;
    until(&mut rx, |e| matches!(e, Event::AudioEnd { .. })).await;
    // Over it: the interviewer closes instead of asking more.
    h.answer_text(1, "b".repeat(600)).await;
    let ended = until(&mut rx, |e| matches!(e, Event::Ended { .. })).await;
    assert_eq!(
        ended,
        Event::Ended {
            reason: "budget".into()
        }
    );
    let turns = rig.store.turns(rig.id).await.unwrap();
    assert_eq!(
        turns.len(),
        5,
        "question, answer, question, answer, closing"
    );
    assert!(turns[4]
        .text
        .starts_with("We have reached the time available"));
}

/// Hot state (Redis) that answers every call only after `delay`.
struct SlowHot {
    inner: MemoryHot,
    delay: Duration,
    checkpoints: std::sync::atomic::AtomicUsize,
    renewals: std::sync::atomic::AtomicUsize,
}

impl SlowHot {
    async fn wait(&self) {
        tokio::time::sleep(self.delay).await;
    }
}

#[async_trait::async_trait]
impl HotState for SlowHot {
    async fn save_checkpoint(&self, cp: &Checkpoint) -> StoreResult<()> {
        self.wait().await;
        self.checkpoints
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.save_checkpoint(cp).await
    }
    async fn load_checkpoint(&self, id: Uuid) -> StoreResult<Option<Checkpoint>> {
        self.wait().await;
        self.inner.load_checkpoint(id).await
    }
    async fn put_ticket(&self, ticket: &str, id: Uuid, ttl: Duration) -> StoreResult<()> {
        self.wait().await;
        self.inner.put_ticket(ticket, id, ttl).await
    }
    async fn take_ticket(&self, ticket: &str) -> StoreResult<Option<Uuid>> {
        self.wait().await;
        self.inner.take_ticket(ticket).await
    }
    async fn acquire_lease(
        &self,
        id: Uuid,
        node: &str,
        ttl: Duration,
        claim: viva::store::Claim,
    ) -> StoreResult<Option<u64>> {
        self.wait().await;
        self.renewals
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.acquire_lease(id, node, ttl, claim).await
    }
    async fn lease_holder(&self, id: Uuid) -> StoreResult<Option<String>> {
        self.wait().await;
        self.inner.lease_holder(id).await
    }
    async fn release_lease(&self, id: Uuid, node: &str) -> StoreResult<()> {
        self.wait().await;
        self.inner.release_lease(id, node).await
    }
    async fn publish_events(&self, events: &[StoredEvent], cap: usize) -> StoreResult<()> {
        self.wait().await;
        self.inner.publish_events(events, cap).await
    }
    async fn read_events(
        &self,
        id: Uuid,
        after: u64,
        wait: Duration,
    ) -> StoreResult<Vec<StoredEvent>> {
        self.wait().await;
        self.inner.read_events(id, after, wait).await
    }
    async fn revoke_token(&self, jti: &str, ttl: Duration) -> StoreResult<()> {
        self.wait().await;
        self.inner.revoke_token(jti, ttl).await
    }
    async fn is_revoked(&self, jti: &str) -> StoreResult<bool> {
        self.wait().await;
        self.inner.is_revoked(jti).await
    }
    async fn forget(&self, id: Uuid) -> StoreResult<()> {
        self.wait().await;
        self.inner.forget(id).await
    }
    async fn rate_limit(&self, key: &str, limit: u32, window: Duration) -> StoreResult<bool> {
        self.wait().await;
        self.inner.rate_limit(key, limit, window).await
    }
    async fn ping(&self) -> StoreResult<()> {
        self.wait().await;
        self.inner.ping().await
    }
}

/// Audio frames as they went out, with when, until the interviewer's turn has played.
async fn frames_until_audio_end(rx: &mut mpsc::Receiver<Outbound>) -> Vec<tokio::time::Instant> {
    let mut sent = Vec::new();
    loop {
        let m = rx.recv().await.expect("actor hung up");
        match &m {
            Outbound::Audio(_) => sent.push(tokio::time::Instant::now()),
            _ if event(&m).is_some_and(|e| matches!(e.event, Event::AudioEnd { .. })) => {
                return sent
            }
            _ => {}
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_slow_hot_state_does_not_move_playback() {
    // Every hot-state call takes 1.5 s; the lease is renewed every second and a checkpoint is
    // due on every turn and every 5 s of speech: all of it happens while the interviewer speaks.
    let hot = Arc::new(SlowHot {
        inner: MemoryHot::new(),
        delay: Duration::from_millis(1500),
        checkpoints: Default::default(),
        renewals: Default::default(),
    });
    let rig = rig_with_hot(|c| c.lease_secs = 3, hot.clone()).await;
    let h = rig.registry.get_or_spawn(rig.id);
    let (tx, mut rx) = mpsc::channel(4096);
    h.attach(Connection::native(1, tx), None, None)
        .await
        .unwrap();
    let mut turns = vec![frames_until_audio_end(&mut rx).await];
    h.answer_text(1, "I keep numbers honest.".into()).await;
    turns.push(frames_until_audio_end(&mut rx).await);
    for sent in &turns {
        assert!(
            sent.len() > 100,
            "a turn of several seconds: {} frames",
            sent.len()
        );
        let longest = sent.windows(2).map(|w| w[1] - w[0]).max().unwrap();
        // Frames go out as they fall due (every 20 ms, a little ahead): a stall on hot state
        // would show as a gap of 1.5 s.
        assert!(
            longest <= Duration::from_millis(40),
            "playback stalled for {longest:?}"
        );
    }
    // The upkeep happened all the same, off the loop.
    let (cps, renewals) = (
        hot.checkpoints.load(std::sync::atomic::Ordering::Relaxed),
        hot.renewals.load(std::sync::atomic::Ordering::Relaxed),
    );
    assert!(cps >= 2, "checkpoints written: {cps}");
    assert!(renewals >= 3, "lease taken and renewed: {renewals}");
    let cp = hot.inner.load_checkpoint(rig.id).await.unwrap().unwrap();
    assert!(
        cp.next_seq > 1,
        "the checkpoint has the conversation's position"
    );
}

#[tokio::test(start_paused = true)]
async fn a_watcher_that_never_reads_is_let_go_and_the_interview_goes_on() {
    use viva::interview::handle::Joining;
    use viva::protocol::monitor::WatcherView;
    let rig = rig(|_| {}).await;
    let (h, mut rx) = attach_and_listen(&rig).await;
    // A recruiter listening in whose queue is never read: room for 8 messages.
    let (wtx, mut wrx) = mpsc::channel(8);
    h.monitor(Joining {
        tx: wtx,
        after: None,
        who: WatcherView {
            name: "stalled".into(),
            role: viva::accounts::Role::Recruiter,
            listening: true,
        },
        notes: Vec::new(),
    })
    .await
    .unwrap();
    // The candidate answers; the interviewer asks its next question and listens again, the
    // watcher's full queue never holding anything up.
    assert!(h.answer_text(1, "I build data pipelines.".into()).await);
    until(&mut rx, |e| {
        matches!(
            e,
            Event::AgentText {
                kind: TurnKind::Question,
                is_final: true,
                ..
            }
        )
    })
    .await;
    until(&mut rx, |e| {
        *e == Event::State {
            state: InterviewState::Listening,
        }
    })
    .await;
    // The watcher got what fitted, then was let go: its queue ends.
    let mut got = 0;
    while wrx.recv().await.is_some() {
        got += 1;
    }
    assert!((1..=8).contains(&got), "{got}");
}
