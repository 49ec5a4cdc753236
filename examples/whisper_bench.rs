//! `whisper-local` on this machine: model load time and RSS, the latency and real-time factor of a
//! ~5 s spoken answer (beam 5 final, greedy live caption), and how many concurrent interviews the
//! worker pool carries before answers wait more than 2 s in its queue.
//!
//! Each simulated interview loops: its answer's final transcript is queued the moment the answer
//! ends; then the interviewer speaks its next question and the candidate answers again, which takes
//! `--cycle` seconds of conversation (default 12: a ~6 s question and a ~5 s answer plus turn
//! gaps) before the next transcript is queued. Interviews start spread over one cycle.
//!
//! `cargo run --release --features whisper-local --example whisper_bench -- [--secs 60] [--cycle 12] [--sessions 1,2,4,6,8] [--latency-only]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use viva::audio::resample::Resampler;
use viva::providers::whisper::pool::Transcribe;
use viva::providers::whisper::{ct2::Ct2Whisper, WhisperLocal, WhisperSettings};
use viva::providers::SttProvider;

const ANSWER: &str =
    "I have five years of experience building web applications with React and TypeScript.";

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_owned())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let secs: u64 = arg("--secs", "60").parse()?;
    let only_latency = std::env::args().any(|a| a == "--latency-only");
    let cycle: f64 = arg("--cycle", "12").parse()?;
    let sessions: Vec<usize> = arg("--sessions", "1,2,4,6,8")
        .split(',')
        .map(|n| n.parse())
        .collect::<Result<_, _>>()?;
    let cores = std::thread::available_parallelism()?.get();
    let mut settings = WhisperSettings::sized_to(
        cores,
        std::env::var_os("VIVA_WHISPER_MODEL").map_or("models/whisper-base".into(), Into::into),
    );
    settings.partial_every_ms = 0;

    // The answer as the server hands it to STT: 16 kHz mono.
    let wav = viva::providers::espeak::speak_wav("en-us", 160, ANSWER).await?;
    let (rate, pcm) = viva::audio::wav::parse(&wav)?;
    let mut pcm16 = Vec::new();
    Resampler::new(rate, 16_000).process(&pcm, &mut pcm16);
    let samples: Vec<f32> = pcm16.iter().map(|&s| f32::from(s) / 32_768.0).collect();
    let audio_s = samples.len() as f64 / 16_000.0;

    println!(
        "machine: {cores} cores; workers {} x {} threads; beam {}",
        settings.workers, settings.threads, settings.beam
    );
    let rss_before = rss_mb();
    let t = Instant::now();
    let engine = Ct2Whisper::load(&settings).map_err(anyhow::Error::msg)?;
    println!(
        "model load: {:.2} s; RSS {:.0} MB -> {:.0} MB",
        t.elapsed().as_secs_f64(),
        rss_before,
        rss_mb()
    );

    for (label, partial) in [("final (beam 5)", false), ("live caption (greedy)", true)] {
        let mut runs = Vec::new();
        let mut text = String::new();
        for _ in 0..5 {
            let t = Instant::now();
            text = engine
                .transcribe(&samples, partial, None)
                .map_err(anyhow::Error::msg)?;
            runs.push(t.elapsed().as_secs_f64());
        }
        runs.sort_by(f64::total_cmp);
        println!(
            "{label}: {audio_s:.1} s answer -> p50 {:.2} s, max {:.2} s, real-time factor {:.2}; RSS {:.0} MB; {text:?}",
            percentile(&runs, 0.5),
            runs[runs.len() - 1],
            percentile(&runs, 0.5) / audio_s,
            rss_mb()
        );
    }
    drop(engine);

    // One interview speaking in real time (20 ms packets): the final transcript's latency with
    // live captions re-transcribing the growing answer, and without.
    for partial_ms in [0u64, 1000] {
        let mut s = settings.clone();
        s.partial_every_ms = partial_ms;
        let provider = WhisperLocal::load(&s).map_err(anyhow::Error::msg)?;
        let mut runs = Vec::new();
        let mut captions = 0;
        for _ in 0..3 {
            let (tx, mut rx) = tokio::sync::mpsc::channel(16);
            let mut session = provider.start(&Default::default(), tx);
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            for frame in pcm16.chunks(320) {
                tick.tick().await;
                session.push(frame);
            }
            let t = Instant::now();
            session.finish().await.map_err(anyhow::Error::msg)?;
            runs.push(t.elapsed().as_secs_f64());
            while rx.try_recv().is_ok() {
                captions += 1;
            }
        }
        runs.sort_by(f64::total_cmp);
        println!(
            "spoken in real time, live captions every {partial_ms} ms (0: off): final transcript p50 {:.2} s, max {:.2} s after the answer ends; {captions} captions over 3 answers",
            percentile(&runs, 0.5),
            runs[runs.len() - 1]
        );
    }

    if only_latency {
        return Ok(());
    }
    println!("\nconcurrent interviews, {secs} s each, one answer per {cycle} s of conversation:");
    println!("| interviews | answers | transcript latency p50 / p95 / max (s) | queue wait mean / max (s) | RSS (MB) |");
    println!("|---:|---:|---|---|---:|");
    for &n in &sessions {
        // A fresh pool per row, so its queue-wait figures are this row's alone.
        let provider = Arc::new(WhisperLocal::load(&settings).map_err(anyhow::Error::msg)?);
        let stop = Instant::now() + Duration::from_secs(secs);
        let mut tasks = Vec::new();
        for i in 0..n {
            let (provider, samples) = (provider.clone(), pcm16.clone());
            let offset = Duration::from_secs_f64(cycle * i as f64 / n as f64);
            tasks.push(tokio::spawn(async move {
                tokio::time::sleep(offset).await;
                let mut latencies = Vec::new();
                while Instant::now() < stop {
                    let (tx, _rx) = tokio::sync::mpsc::channel(1);
                    let mut s = provider.start(&Default::default(), tx);
                    s.push(&samples);
                    let t = Instant::now();
                    s.finish().await.expect("transcribed");
                    let took = t.elapsed();
                    latencies.push(took.as_secs_f64());
                    // The rest of the turn: the next question is spoken and answered.
                    tokio::time::sleep(Duration::from_secs_f64(cycle).saturating_sub(took)).await;
                }
                latencies
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await?);
        }
        all.sort_by(f64::total_cmp);
        let stats = provider.stats().unwrap_or_default();
        println!(
            "| {n} | {} | {:.2} / {:.2} / {:.2} | {:.2} / {:.2} | {:.0} |",
            all.len(),
            percentile(&all, 0.5),
            percentile(&all, 0.95),
            all.last().copied().unwrap_or(0.0),
            stats["queue_wait_ms_mean"].as_u64().unwrap_or(0) as f64 / 1000.0,
            stats["queue_wait_ms_max"].as_u64().unwrap_or(0) as f64 / 1000.0,
            rss_mb()
        );
    }
    Ok(())
}
