//! One interview actor driven directly through its handle on paused tokio time: the grace
//! period, the gentle prompt after a long silence, resync past the replay window. The store is the in-memory
//! implementation of the same trait (SQLite's pool timeouts cannot run on paused time).

mod common;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use uuid::Uuid;
use viva::interview::{Connection, Outbound, Registry};
use viva::protocol::{Event, EventEnvelope, InterviewState};
use viva::providers::TurnKind;
use viva::store::memory::MemoryStore;
use viva::store::{NewInterview, Store};

struct Rig {
    registry: Registry,
    store: Arc<MemoryStore>,
    id: Uuid,
    _dir: tempfile::TempDir,
}

async fn rig(adjust: impl FnOnce(&mut viva::config::Config)) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = common::scripted_config(dir.path());
    adjust(&mut cfg);
    // In memory: a database pool's timeouts would fire at once on paused time.
    let (registry, store) = viva::server::in_memory_registry(&cfg).unwrap();
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

/// Attaches connection 1 and waits until the first question has been played.
async fn attach_and_listen(
    rig: &Rig,
) -> (viva::interview::InterviewHandle, mpsc::Receiver<Outbound>) {
    let h = rig.registry.get_or_spawn(rig.id);
    let (tx, mut rx) = mpsc::channel(1024);
    h.attach(Connection { id: 1, tx }, None).await.unwrap();
    until(&mut rx, |e| {
        *e == Event::State {
            state: InterviewState::Listening,
        }
    })
    .await;
    (h, rx)
}

#[tokio::test(start_paused = true)]
async fn the_actor_outlives_a_disconnect_for_the_grace_period_then_unloads() {
    let rig = rig(|c| c.grace_secs = 600).await;
    let (h, _rx) = attach_and_listen(&rig).await;
    h.detach(1).await;

    tokio::time::sleep(Duration::from_secs(599)).await;
    assert!(
        rig.registry.get(rig.id).is_some(),
        "still loaded within the grace period"
    );
    let (tx2, mut rx2) = mpsc::channel(1024);
    // Reattaching within the grace period keeps the same actor and resets the clock.
    h.attach(Connection { id: 2, tx: tx2 }, None).await.unwrap();
    assert!(matches!(rx2.recv().await, Some(Outbound::Batch(_))));
    h.detach(2).await;
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
    h2.attach(Connection { id: 3, tx: tx3 }, None)
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
        let _ = h.audio(1, silence.clone());
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
    let (h, mut rx) = attach_and_listen(&rig).await;
    h.answer_text(1, "A typed answer.".into()).await;
    until(&mut rx, |e| matches!(e, Event::AudioEnd { .. })).await;
    until(&mut rx, |e| {
        *e == Event::State {
            state: InterviewState::Listening,
        }
    })
    .await;

    let (tx2, mut rx2) = mpsc::channel(1024);
    h.attach(Connection { id: 2, tx: tx2 }, Some(0))
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
    h.attach(Connection { id: 3, tx: tx3 }, Some(snap.last_seq - 2))
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
