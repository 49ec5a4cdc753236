//! Per-frame cost of the listening path (Opus decode → VAD → endpointing → STT push) on real
//! speech, and of the primitives it is built from.
//!
//! `cargo bench --bench audio_path`

use std::hint::black_box;

use base64::Engine as _;
use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tokio::sync::mpsc;
use viva::audio::codec::{Decoder16k, FrameEncoder, LISTEN_FRAME};
use viva::audio::endpoint::EndpointConfig;
use viva::audio::pcm_in::PcmIn;
use viva::audio::resample::Resampler;
use viva::audio::vad::Vad;
use viva::interview::listen::{Ear, Heard, Hearing};
use viva::protocol::realtime::InputFormat;
use viva::providers::untranscribed::UntranscribedStt;
use viva::providers::SttProvider;

const TEXT: &str = "I have five years of experience building web applications with React and \
                    TypeScript. Before that I worked on payment systems in Go.";

/// Real speech from espeak-ng at 48 kHz, with a second of silence after it.
fn speech_48k() -> Vec<i16> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let wav_bytes = rt
        .block_on(viva::providers::espeak::speak_wav("en-us", 160, TEXT))
        .expect("espeak-ng is installed");
    let mut out = viva::audio::client::wav_to_48k(&wav_bytes).unwrap();
    out.extend(std::iter::repeat_n(0, 48_000));
    out
}

fn packets(pcm: &[i16], complexity: i32) -> Vec<Bytes> {
    let mut enc = FrameEncoder::new(48_000, complexity, 32_000).unwrap();
    let mut p = Vec::new();
    enc.push(pcm, &mut p).unwrap();
    p
}

fn bench(c: &mut Criterion) {
    let pcm = speech_48k();
    let packets = packets(&pcm, 5);
    let stt = UntranscribedStt;
    let (tx, _rx) = mpsc::channel(8);

    let mut g = c.benchmark_group("listen");
    g.throughput(Throughput::Elements(1));
    // Then with the intonation cue followed (the embedded default's turn-taking, #19): a pitch
    // estimate on one voiced frame in three.
    for (name, intonation) in [
        ("decode+vad+endpoint per 20 ms frame", false),
        ("decode+vad+endpoint+intonation per 20 ms frame", true),
    ] {
        g.bench_function(name, |b| {
            let mut ear = Ear::new(2, EndpointConfig::default()).unwrap();
            if intonation {
                ear.listen_for_intonation();
            }
            let mut i = 0;
            b.iter(|| {
                let h = ear.hear(Heard::Opus(&packets[i % packets.len()]), 700, || {
                    stt.start(&Default::default(), tx.clone())
                });
                i += 1;
                black_box(matches!(h, Hearing::End { .. }))
            })
        });
    }
    let mut pcm16 = Vec::new();
    Resampler::new(48_000, 16_000).process(&pcm, &mut pcm16);
    g.bench_function("pitch of a 40 ms window (16 kHz speech)", |b| {
        // Voiced windows only: an unvoiced or quiet one returns early.
        let windows: Vec<&[i16]> = pcm16
            .chunks_exact(viva::audio::pitch::WINDOW)
            .filter(|w| viva::audio::pitch::f0(w).is_some())
            .collect();
        let mut i = 0;
        b.iter(|| {
            i += 1;
            black_box(viva::audio::pitch::f0(windows[i % windows.len()]))
        })
    });
    g.bench_function("intonation verdict at a pause", |b| {
        let mut voice = viva::turns::intonation::Intonation::default();
        let mut vad = Vad::new(2);
        for frame in pcm16.chunks_exact(LISTEN_FRAME) {
            voice.hear(frame, vad.is_speech(frame));
        }
        b.iter(|| black_box(voice.verdict()))
    });
    // The Realtime adapter's input (issue #18): a 20 ms append of base64 PCM16 at 24 kHz,
    // decoded and resampled to 16 kHz, then heard as PCM (no Opus round trip).
    g.bench_function(
        "realtime: pcm16 24 kHz append to 16 kHz + vad + endpoint per 20 ms",
        |b| {
            let mut pcm24 = Vec::new();
            Resampler::new(48_000, 24_000).process(&pcm, &mut pcm24);
            let appends: Vec<String> = pcm24
                .chunks_exact(480)
                .map(|c| {
                    let bytes: Vec<u8> = c.iter().flat_map(|s| s.to_le_bytes()).collect();
                    base64::engine::general_purpose::STANDARD.encode(bytes)
                })
                .collect();
            let mut input = PcmIn::new(InputFormat::Pcm16);
            let mut ear = Ear::new(2, EndpointConfig::default()).unwrap();
            let mut pending: Vec<i16> = Vec::with_capacity(2 * LISTEN_FRAME);
            let mut i = 0;
            b.iter(|| {
                input
                    .push(&appends[i % appends.len()], &mut pending)
                    .unwrap();
                i += 1;
                let mut ended = false;
                while pending.len() >= LISTEN_FRAME {
                    let h = ear.hear(Heard::Pcm(&pending[..LISTEN_FRAME]), 700, || {
                        stt.start(&Default::default(), tx.clone())
                    });
                    ended |= matches!(h, Hearing::End { .. });
                    pending.drain(..LISTEN_FRAME);
                }
                black_box(ended)
            })
        },
    );
    g.bench_function("opus decode 48k packet to 16 kHz", |b| {
        let mut dec = Decoder16k::new().unwrap();
        let mut i = 0;
        b.iter(|| {
            let n = dec.decode(&packets[i % packets.len()]).unwrap().len();
            i += 1;
            black_box(n)
        })
    });
    g.bench_function("webrtc vad 20 ms at 16 kHz", |b| {
        let mut dec = Decoder16k::new().unwrap();
        let frames: Vec<Vec<i16>> = packets
            .iter()
            .map(|p| dec.decode(p).unwrap().to_vec())
            .collect();
        let mut vad = Vad::new(2);
        let mut i = 0;
        b.iter(|| {
            let s = vad.is_speech(&frames[i % frames.len()]);
            i += 1;
            black_box(s)
        })
    });
    g.finish();

    let mut g = c.benchmark_group("speak");
    g.throughput(Throughput::Elements(1));
    for complexity in [0, 3, 5] {
        g.bench_function(
            format!("opus encode 20 ms at 48 kHz, complexity {complexity}"),
            |b| {
                let mut enc = FrameEncoder::new(48_000, complexity, 24_000).unwrap();
                let mut out = Vec::with_capacity(1);
                let mut i = 0;
                b.iter(|| {
                    let start = (i % (pcm.len() / 960)) * 960;
                    out.clear();
                    enc.push(&pcm[start..start + 960], &mut out).unwrap();
                    i += 1;
                    black_box(out.len())
                })
            },
        );
    }
    g.bench_function(
        "opus encode 20 ms at 24 kHz (TTS rate), complexity 3",
        |b| {
            let mut pcm24 = Vec::new();
            Resampler::new(48_000, 24_000).process(&pcm, &mut pcm24);
            let mut enc = FrameEncoder::new(24_000, 3, 24_000).unwrap();
            let mut out = Vec::with_capacity(1);
            let mut i = 0;
            b.iter(|| {
                let start = (i % (pcm24.len() / 480)) * 480;
                out.clear();
                enc.push(&pcm24[start..start + 480], &mut out).unwrap();
                i += 1;
                black_box(out.len())
            })
        },
    );
    // The Realtime adapter's output: the interviewer's 20 ms Opus packet as the base64 PCM16
    // at 24 kHz a Realtime client plays.
    g.bench_function("realtime: opus 20 ms to 24 kHz pcm16 base64", |b| {
        let mut dec = opus::Decoder::new(24_000, opus::Channels::Mono).unwrap();
        let mut out = vec![0i16; 2880];
        let mut i = 0;
        b.iter(|| {
            let n = dec
                .decode(&packets[i % packets.len()], &mut out, false)
                .unwrap();
            i += 1;
            let bytes: Vec<u8> = out[..n].iter().flat_map(|s| s.to_le_bytes()).collect();
            black_box(base64::engine::general_purpose::STANDARD.encode(bytes))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
