//! Property-based fuzzing of what a client controls before anything else looks at it: the
//! protocol parser (text messages) and the Opus packet checks followed by the decoder (binary
//! messages). Nothing may panic; a packet the checks accept must decode.
//!
//! The test command runs a short, fixed-seed pass. A long run, with fresh seeds, for as long as
//! you like: `VIVA_FUZZ_SECS=600 cargo test --release --test fuzz_protocol -- --nocapture`.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use viva::audio::codec::Decoder16k;
use viva::audio::packet;
use viva::protocol::ClientMessage;

/// Real Opus packets of speech-like audio (a vowel-ish tone with harmonics), from the encoder the
/// server uses: the seeds that mutations start from.
fn real_packets() -> Vec<Vec<u8>> {
    let mut enc = viva::audio::codec::FrameEncoder::new(48_000, 5, 24_000).unwrap();
    let pcm: Vec<i16> = (0..48_000)
        .map(|i| {
            let t = i as f32 / 48_000.0;
            let s = (t * 220.0 * std::f32::consts::TAU).sin() * 0.5
                + (t * 440.0 * std::f32::consts::TAU).sin() * 0.25;
            (s * 12_000.0) as i16
        })
        .collect();
    let mut out = Vec::new();
    enc.push(&pcm, &mut out).unwrap();
    out.into_iter().map(|b| b.to_vec()).collect()
}

/// A packet: random bytes, or a real one with bytes flipped, cut, or appended.
fn packets() -> impl Strategy<Value = Vec<u8>> {
    let seeds = real_packets();
    let mutated = (
        0..seeds.len(),
        prop::collection::vec((any::<usize>(), any::<u8>()), 0..8),
        any::<Option<usize>>(),
        prop::collection::vec(any::<u8>(), 0..4),
    )
        .prop_map(move |(i, flips, cut, tail)| {
            let mut p = seeds[i].clone();
            for (at, b) in flips {
                let n = p.len();
                p[at % n] ^= b;
            }
            if let Some(c) = cut {
                p.truncate(c % (p.len() + 1));
            }
            p.extend(tail);
            p
        });
    prop_oneof![prop::collection::vec(any::<u8>(), 0..1600), mutated]
}

/// A text message: arbitrary strings, and JSON shaped like the protocol's with odd values.
fn texts() -> impl Strategy<Value = String> {
    let json = (
        prop_oneof![
            Just("hello".to_owned()),
            Just("answer_text".to_owned()),
            Just("control".to_owned()),
            Just("shout".to_owned()),
            ".*",
        ],
        prop::collection::vec((".{0,12}", any::<i64>()), 0..4),
        any::<Option<u64>>(),
        ".{0,40}",
    )
        .prop_map(|(t, fields, seq, text)| {
            let mut v = serde_json::json!({"type": t, "text": text, "resume_from": seq,
                "protocol": 1, "action": text,
                "audio": {"codec": "opus", "sample_rate": 48000, "channels": 1, "frame_ms": 20}});
            for (k, n) in fields {
                v[k] = serde_json::json!(n);
            }
            v.to_string()
        });
    prop_oneof![".*", json]
}

fn run(runner: &mut TestRunner) {
    runner
        .run(&texts(), |t| {
            let _ = serde_json::from_str::<ClientMessage>(&t);
            Ok(())
        })
        .unwrap();
    let dec = std::cell::RefCell::new(Decoder16k::new().unwrap());
    runner
        .run(&packets(), |p| {
            if packet::check_20ms(&p).is_ok() {
                prop_assert!(
                    dec.borrow_mut().decode(&p).is_ok(),
                    "a packet the checks accept must decode: {p:?}"
                );
            } else {
                // What the checks refuse is never decoded; inspecting it must not panic either.
                let _ = packet::inspect(&p);
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn the_parser_and_the_packet_checks_never_panic() {
    let secs: u64 = std::env::var("VIVA_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let config = Config {
        cases: 2_000,
        failure_persistence: None,
        ..Config::default()
    };
    // The short pass: a fixed seed, the same cases every run.
    let mut runner = TestRunner::new_with_rng(
        config.clone(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    run(&mut runner);
    // The long pass: fresh seeds until the time is up.
    let until = Instant::now() + Duration::from_secs(secs);
    let mut rounds = 1u64;
    while Instant::now() < until {
        let mut runner = TestRunner::new(config.clone());
        run(&mut runner);
        rounds += 1;
    }
    if secs > 0 {
        println!(
            "fuzz: {rounds} rounds of {} texts and {} packets in {secs} s, 0 panics",
            config.cases, config.cases
        );
    }
}
