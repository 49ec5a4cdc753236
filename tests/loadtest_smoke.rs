//! CI smoke run of the load tester: 20 virtual candidates × 3 turns (with barge-ins and one
//! monitor each), with recruiter API traffic beside them (interview lists and sign-ins), against
//! the real `viva serve` binary on the scripted providers. Asserts on the reports' contents,
//! never on timings.

mod common;

use std::process::Command;

use viva_loadtest::api::Account;
use viva_loadtest::{create_invites, create_staff, run, Options, Protocol};

struct Server {
    child: common::Served,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `viva serve` on port 0, with `env` besides the scripted providers.
fn serve(data_dir: &std::path::Path, env: &[(&str, &str)]) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_viva"));
    cmd.args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env("VIVA_STT", "scripted")
        .env("VIVA_LLM", "scripted")
        .env("VIVA_TTS", "scripted")
        // The API traffic signs in from one address more often than a person would.
        .env("VIVA_AUTH_PER_MINUTE", "1000")
        .envs(env.iter().copied());
    let (child, addr) = common::spawn_serve(cmd);
    Server {
        child,
        url: format!("http://{addr}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_sessions_three_turns_no_errors_and_both_reports() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path(), &[]);
    let invites =
        create_invites(env!("CARGO_BIN_EXE_viva").as_ref(), dir.path(), 20, true).unwrap();
    let opts = Options {
        protocol: Protocol::Native,
        url: server.url.clone(),
        sessions: 20,
        ramp: 2.0,
        duration: 240.0,
        turns: 3,
        monitors_per_session: 1,
        listen: true,
        barge_in_rate: 0.3,
        audio: None,
        seed: 7,
        allow_remote: false,
        api_rps: 10.0,
        login_rps: 0.5,
        reconnects: 0,
    };
    viva_loadtest::check_target(&opts.url, false).unwrap();
    let (email, password) = create_staff(env!("CARGO_BIN_EXE_viva").as_ref(), dir.path()).unwrap();
    let account = Account { email, password };
    let report = run(
        &opts,
        invites,
        Some(account),
        Some(server.child.id()),
        false,
    )
    .await
    .unwrap();

    let s = &report.summary;
    assert_eq!(s.errors, 0, "{:?}", s.errors_by_kind);
    assert_eq!(s.sessions_completed, 20);
    assert_eq!(s.turns_completed, 60);
    assert_eq!(s.turn_latency_ms.count, 60);
    assert_eq!(s.server_added_latency_ms.count, 60);
    assert!(s.monitor_lag_ms.count > 0);
    // The monitors listened in (their tokens made with `--monitor-role recruiter`).
    assert!(s.listen_frames > 0);
    // The API traffic ran beside them, every request answered.
    assert_eq!(s.api_errors, 0, "{:?}", s.api_errors_by_kind);
    assert!(s.api_list_ms.count > 0 && s.api_login_ms.count > 0);
    assert!(report.server_cpu_pct_max.is_some() && report.server_rss_mb.is_some());

    let json: serde_json::Value = serde_json::from_str(&report.json()).unwrap();
    for key in ["turn_latency_ms", "server_added_latency_ms"] {
        for p in ["p50", "p90", "p99", "max"] {
            assert!(json[key][p].is_number(), "{key}.{p} missing");
        }
    }
    for key in [
        "sessions",
        "turns_completed",
        "errors",
        "underruns",
        "server_cpu_pct",
        "server_rss_mb",
    ] {
        assert!(json.get(key).is_some(), "{key} missing");
    }
    assert_eq!(json["sessions"], 20);
    let html = report.html();
    assert!(html.starts_with("<!doctype html>"));
    assert_eq!(
        html.matches("<svg").count(),
        4,
        "latency, sessions, CPU and RSS plots"
    );
    assert!(!html.contains("<script"), "self-contained, no scripts");
}

/// The same load as an OpenAI Realtime app (`--protocol realtime`, issue #18): PCM16 appends in,
/// audio deltas out, barge-ins, a monitor each. The voice here is a vendor's Opus passed
/// through (`VIVA_SCRIPTED_TTS_FORMAT=opus`, issue #19), every reply spoken afresh (no cache).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_realtime_sessions_two_turns_no_errors() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(
        dir.path(),
        &[
            ("VIVA_SCRIPTED_TTS_FORMAT", "opus"),
            ("VIVA_TTS_CACHE_ENTRIES", "0"),
        ],
    );
    let invites =
        create_invites(env!("CARGO_BIN_EXE_viva").as_ref(), dir.path(), 10, false).unwrap();
    let opts = Options {
        protocol: Protocol::Realtime,
        url: server.url.clone(),
        sessions: 10,
        ramp: 1.0,
        duration: 240.0,
        turns: 2,
        monitors_per_session: 1,
        listen: false,
        barge_in_rate: 0.3,
        audio: None,
        seed: 11,
        allow_remote: false,
        api_rps: 0.0,
        login_rps: 0.0,
        reconnects: 0,
    };
    let report = run(&opts, invites, None, Some(server.child.id()), false)
        .await
        .unwrap();
    let s = &report.summary;
    assert_eq!(s.errors, 0, "{:?}", s.errors_by_kind);
    assert_eq!(s.sessions_completed, 10);
    assert_eq!(s.turns_completed, 20);
    assert_eq!(s.turn_latency_ms.count, 20);
    // Viva's timings ride on `response.done` (its `viva` field): one per answer's reply.
    assert_eq!(s.server_added_latency_ms.count, 20);
    assert!(s.monitor_lag_ms.count > 0);
    assert!(report.table().starts_with("Realtime sessions 10"));
    // Every interviewer frame was the vendor's own packet: nothing encoded, nothing cached.
    let mut frames = std::collections::HashMap::new();
    for how in ["passed", "encoded", "reencoded", "cached"] {
        let series = format!("viva_voice_frames_total{{how=\"{how}\"}}");
        frames.insert(how, common::metric(&server.url, &series).await);
    }
    assert!(frames["passed"] > 100, "{frames:?}");
    assert_eq!(
        frames["encoded"] + frames["reencoded"] + frames["cached"],
        0,
        "{frames:?}"
    );
}

#[test]
fn only_loopback_targets_unless_allowed() {
    assert!(viva_loadtest::check_target("http://127.0.0.1:8080", false).is_ok());
    assert!(viva_loadtest::check_target("http://localhost:8080", false).is_ok());
    assert!(viva_loadtest::check_target("http://[::1]:8080", false).is_ok());
    assert!(viva_loadtest::check_target("http://10.1.2.3:8080", false).is_err());
    assert!(viva_loadtest::check_target("http://10.1.2.3:8080", true).is_ok());
    assert!(viva_loadtest::check_target("ftp://127.0.0.1", false).is_err());
}
