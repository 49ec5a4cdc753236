//! CPU cost of one whole scripted turn through an interview actor: the opening question
//! (scripted LLM → chunker → scripted TTS → Opus → paced playback), the candidate's spoken
//! answer (real speech: decode → VAD → endpointing → scripted STT → commit) and the reply up
//! to its last frame. Provider latencies are zero and time is paused, so what is measured is
//! the server's own work, not waiting.
//!
//! `cargo bench --bench turn`

use std::time::Duration;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use tokio::sync::mpsc;
use viva::interview::{Connection, Outbound, Registry};
use viva::protocol::{Event, EventEnvelope};
use viva::store::memory::MemoryStore;
use viva::store::{NewInterview, Store};

/// A spoken answer followed by two seconds of silence, as the browser sends it.
fn answer_packets(rt: &tokio::runtime::Runtime) -> Vec<Bytes> {
    let text = "I led the migration of our billing service to Rust and cut latency by half.";
    let wav_bytes = rt
        .block_on(viva::providers::espeak::speak_wav("en-us", 160, text))
        .expect("espeak-ng is installed");
    let mut packets = viva::audio::client::wav_to_packets(&wav_bytes).unwrap();
    packets.extend(std::iter::repeat_n(
        viva::audio::client::silence_packet(),
        100,
    ));
    packets
}

fn is_audio_end(m: &Outbound) -> bool {
    matches!(m, Outbound::Text(t) if serde_json::from_str::<EventEnvelope>(t)
        .is_ok_and(|e| matches!(e.event, Event::AudioEnd { .. })))
}

async fn one_turn(registry: &Registry, store: &MemoryStore, answer: &[Bytes]) {
    let id = store
        .create_interview(&NewInterview::default())
        .await
        .unwrap()
        .id;
    let h = registry.get_or_spawn(id);
    let (tx, mut rx) = mpsc::channel(4096);
    h.attach(Connection::native(1, tx), None, None)
        .await
        .unwrap();
    // Opening question, played to the end.
    while !is_audio_end(&rx.recv().await.unwrap()) {}
    // The answer, one packet per 20 ms of (paused) time.
    for p in answer {
        tokio::time::sleep(Duration::from_millis(20)).await;
        h.audio(1, p.clone(), 0).unwrap();
        while rx.try_recv().is_ok() {}
    }
    // The reply, to its last frame.
    while !is_audio_end(&rx.recv().await.unwrap()) {}
    h.control(1, viva::protocol::ControlAction::End).await;
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    let answer = answer_packets(&rt);
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = viva::config::Config::embedded(dir.path());
    cfg.stt = vec!["scripted".into()];
    cfg.llm = vec!["scripted".into()];
    cfg.tts = vec!["scripted".into()];
    cfg.scripted_stt_ms = 0;
    cfg.scripted_llm_first_token_ms = 0;
    cfg.scripted_llm_tokens_per_sec = 1e9;
    cfg.scripted_tts_first_byte_ms = 0;
    cfg.tts_cache_entries = 0;
    let (registry, store) = rt
        .block_on(async { viva::server::in_memory_registry(&cfg) })
        .unwrap();
    let mut g = c.benchmark_group("turn");
    g.sample_size(20);
    g.bench_function(
        "question + spoken answer + reply (scripted, no cache)",
        |b| b.iter(|| rt.block_on(one_turn(&registry, &store, &answer))),
    );
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
