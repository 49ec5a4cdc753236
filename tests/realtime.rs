//! `GET /v1/realtime` (issue #18): stock OpenAI Realtime clients run a Viva interview. The
//! official `openai` Python SDK (from PyPI) drives a whole interview with espeak-ng speech; a
//! browser-style client authenticates with the subprotocols; bad input gets OpenAI-shaped
//! errors and loses nothing.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use viva::protocol::{Event, ServerMessage, Speaker};

const ANSWERS: [&str; 2] = [
    "I have five years of experience building web applications with React and TypeScript.",
    "I would start by measuring where the time goes, then fix the slowest query first.",
];

/// Speech from espeak-ng as a Realtime client sends it: raw PCM16 at 24 kHz, in a file.
async fn pcm24_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let wav = viva::providers::espeak::speak_wav("en-us", 160, text)
        .await
        .unwrap();
    let pcm48 = viva::audio::client::wav_to_48k(&wav).unwrap();
    let mut pcm24 = Vec::new();
    viva::audio::resample::Resampler::new(48_000, 24_000).process(&pcm48, &mut pcm24);
    let bytes: Vec<u8> = pcm24.iter().flat_map(|s| s.to_le_bytes()).collect();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/realtime_sdk_interview.py")
}

/// Runs the SDK client to the end of the interview; what it saw.
async fn sdk_interview(server: &TestServer, token: &str, beta: bool) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let mut answers = Vec::new();
    for (i, text) in ANSWERS.iter().enumerate() {
        answers.push(pcm24_file(dir.path(), &format!("a{i}.pcm"), text).await);
    }
    let spec = dir.path().join("spec.json");
    std::fs::write(&spec, json!({"answers": answers, "beta": beta}).to_string()).unwrap();
    let run = tokio::process::Command::new("python3")
        .arg(script())
        .arg(format!("ws://{}/v1", server.addr))
        .arg(token)
        .arg(&spec)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(HANG_GUARD * 3, run)
        .await
        .expect("the SDK client never finished")
        .unwrap();
    assert!(
        out.status.success(),
        "the SDK client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// A monitor's view of the interview: every event it received until the interview ended.
fn watch(url: String, token: String) -> tokio::task::JoinHandle<Vec<Event>> {
    tokio::spawn(async move {
        let mut ws = connect_url(&url, &token).await;
        let mut events = Vec::new();
        while let Ok(Some(Ok(m))) = tokio::time::timeout(HANG_GUARD * 3, ws.next()).await {
            if let Message::Text(t) = m {
                if let Ok(ServerMessage::Event(e)) = serde_json::from_str(&t) {
                    let ended = matches!(e.event, Event::Ended { .. });
                    events.push(e.event);
                    if ended {
                        break;
                    }
                }
            }
        }
        events
    })
}

fn strs(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_openai_sdk_runs_a_two_question_interview() {
    // The interviewer speaks with espeak-ng (the embedded voice): real speech both ways.
    let server = TestServer::start_with(|c| c.tts = vec!["espeak-ng".into()]).await;
    let (id, token) = server.create_interview().await;
    let monitor_token = viva::server::auth(&server.config)
        .unwrap()
        .issue_for(viva::auth::Audience::Monitor, id);
    let monitor = watch(server.monitor_url(id), monitor_token);

    let log = sdk_interview(&server, &token, false).await;
    assert_eq!(log["errors"], json!([]), "{log}");
    let types = strs(&log["types"]);
    assert_eq!(types[0], "session.created");
    // The app's instructions and voice never reached the interviewer: said so, not applied.
    let session = &log["session"];
    assert_eq!(session["instructions"], "");
    assert_eq!(
        strs(&session["viva"]["ignored"]),
        ["instructions", "voice"],
        "{session}"
    );
    assert_eq!(session["audio"]["input"]["format"]["rate"], 24000);

    // Every interviewer turn is a completed response whose audio decodes to the whole turn as
    // the interview stored it (24 samples a millisecond at 24 kHz), and is sound, not silence.
    let turns = server.turns(id).await;
    let responses = log["responses"].as_array().unwrap();
    assert!(responses.len() >= 3, "two questions and a closing: {log}");
    for r in responses {
        assert_eq!(r["status"], "completed", "{r}");
        let text = r["transcript"].as_str().unwrap();
        let samples = r["audio_samples"].as_u64().unwrap();
        let turn = turns
            .iter()
            .find(|t| t.speaker == Speaker::Interviewer && t.text == text)
            .unwrap_or_else(|| panic!("no stored turn says {text:?}"));
        assert!(turn.audio_ms > 1000, "{text}: {} ms", turn.audio_ms);
        assert_eq!(samples, u64::from(turn.audio_ms) * 24, "{text}");
        let rms = r["audio_rms"].as_f64().unwrap();
        assert!(rms > 300.0, "{text}: rms {rms}");
        // Usage: the audio played, at 1 token per 50 ms.
        let tokens = r["usage"]["output_token_details"]["audio_tokens"]
            .as_u64()
            .unwrap();
        assert_eq!(tokens, samples / 24 / 50, "{r}");
    }
    // Both answers were heard (speech started and stopped), committed and transcribed.
    assert_eq!(log["answers_sent"], 2);
    let speech = strs(&log["speech"]);
    assert!(
        speech.len() >= 4 && speech.chunks(2).all(|p| p[0].ends_with("started")),
        "{speech:?}"
    );
    for t in [
        "input_audio_buffer.committed",
        "conversation.item.input_audio_transcription.delta",
        "response.output_audio_transcript.delta",
        "response.output_item.done",
        "rate_limits.updated",
    ] {
        assert!(types.contains(&t), "{t} missing: {types:?}");
    }
    let transcripts: Vec<&str> = log["transcripts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["transcript"].as_str().unwrap())
        .collect();

    // The same answers are the interview's, durable, in order; the interview completed.
    assert_in_order_once(&turns);
    assert_eq!(answers(&turns), transcripts);
    assert_eq!(transcripts.len(), 2);
    let i = server
        .store()
        .await
        .get_interview(id)
        .await
        .unwrap()
        .unwrap();
    assert!(i.status.is_finished(), "{:?}", i.status);

    // A monitor saw the same answers as they were committed.
    let seen = monitor.await.unwrap();
    let finals: Vec<&str> = seen
        .iter()
        .filter_map(|e| match e {
            Event::Transcript {
                text,
                is_final: true,
                ..
            } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(finals, transcripts);
    // The interview is over: the token opens nothing more.
    expect_realtime_refusal(
        realtime_bearer(server.addr, &token).await,
        "interview_ended",
        4010,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_beta_client_gets_the_beta_names() {
    let server = TestServer::start().await;
    let (id, token) = server.create_interview().await;
    let log = sdk_interview(&server, &token, true).await;
    assert_eq!(log["errors"], json!([]), "{log}");
    let types = strs(&log["types"]);
    for t in [
        "response.audio.delta",
        "response.audio_transcript.done",
        "conversation.item.created",
    ] {
        assert!(types.contains(&t), "{t} missing: {types:?}");
    }
    assert!(!types.iter().any(|t| t.contains("output_audio")));
    assert_eq!(log["session"]["input_audio_format"], "pcm16");
    assert_eq!(answers(&server.turns(id).await).len(), 2);
}

/// Opens `/v1/realtime` as a browser does: the token and the beta switch in the subprotocols.
async fn browser_connect(server: &TestServer, protocols: &str) -> (Ws, Option<String>) {
    let mut req = format!("ws://{}/v1/realtime?model=gpt-realtime", server.addr)
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", protocols.parse().unwrap());
    let (ws, resp) = tokio_tungstenite::connect_async(req).await.unwrap();
    let picked = resp
        .headers()
        .get("sec-websocket-protocol")
        .map(|v| v.to_str().unwrap().to_owned());
    (ws, picked)
}

/// The next JSON event, skipping audio deltas.
async fn next_event(ws: &mut Ws) -> Option<Value> {
    loop {
        match tokio::time::timeout(HANG_GUARD, ws.next()).await.ok()?? {
            Ok(Message::Text(t)) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] != "response.output_audio.delta" {
                    return Some(v);
                }
            }
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

async fn until_type(ws: &mut Ws, ty: &str) -> Value {
    loop {
        let e = next_event(ws)
            .await
            .unwrap_or_else(|| panic!("closed before {ty}"));
        if e["type"] == ty {
            return e;
        }
    }
}

/// Connects as [`browser_connect`] until the interview takes the connection: while another
/// holds it (or its takeover hold runs) each try is told `try_again` and closed 1013, as the
/// SDKs' reconnects are.
async fn connect_when_free(server: &TestServer, protocols: &str) -> Ws {
    eventually("the connection let in", || async {
        let (mut ws, _) = browser_connect(server, protocols).await;
        let first = next_event(&mut ws).await?;
        if first["type"] == "error" {
            assert_eq!(first["error"]["code"], "try_again", "{first}");
            assert_eq!(close_code(&mut ws).await.0, 1013);
            return None;
        }
        assert_eq!(first["type"], "session.created");
        Some(ws)
    })
    .await
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::text(v.to_string())).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_client_authenticates_with_subprotocols_and_bad_input_gets_openai_errors() {
    let server = TestServer::start().await;
    let (id, token) = server.create_interview().await;

    // A wrong token: an OpenAI-shaped error, then the close.
    let (mut ws, _) = browser_connect(&server, "realtime, openai-insecure-api-key.nope").await;
    let e = next_event(&mut ws).await.unwrap();
    assert_eq!(e["type"], "error");
    assert_eq!(e["error"]["type"], "invalid_request_error");
    assert_eq!(e["error"]["code"], "invalid_api_key");
    assert_eq!(close_code(&mut ws).await.0, 4001);

    // The token: `realtime` is picked (never the key), the session is created.
    let protocols = format!("realtime, openai-insecure-api-key.{token}");
    let (mut ws, picked) = browser_connect(&server, &protocols).await;
    assert_eq!(picked.as_deref(), Some("realtime"));
    let created = next_event(&mut ws).await.unwrap();
    assert_eq!(created["type"], "session.created");
    assert_eq!(created["session"]["model"], "gpt-realtime");

    // An unsupported format: refused, nothing applied.
    send(
        &mut ws,
        json!({"type": "session.update", "event_id": "evt_fmt",
               "session": {"audio": {"input": {"format": {"type": "audio/pcm", "rate": 44100}}}}}),
    )
    .await;
    let e = until_type(&mut ws, "error").await;
    assert_eq!(e["error"]["code"], "unsupported_audio_format");
    assert_eq!(e["error"]["event_id"], "evt_fmt");
    // An oversized append and a malformed event: errors, and the session goes on.
    let big = "A".repeat(viva::audio::pcm_in::MAX_APPEND_CHARS + 4);
    send(
        &mut ws,
        json!({"type": "input_audio_buffer.append", "event_id": "evt_big", "audio": big}),
    )
    .await;
    let e = until_type(&mut ws, "error").await;
    assert_eq!(e["error"]["code"], "audio_too_large");
    assert_eq!(e["error"]["event_id"], "evt_big");
    ws.send(Message::text("{not json")).await.unwrap();
    let e = until_type(&mut ws, "error").await;
    assert_eq!(e["error"]["type"], "invalid_request_error");
    send(
        &mut ws,
        json!({"type": "conversation.item.delete", "item_id": "x"}),
    )
    .await;
    let e = until_type(&mut ws, "error").await;
    assert_eq!(e["error"]["code"], "unsupported_event");
    // A commit with nothing said: OpenAI's error for an empty buffer.
    send(&mut ws, json!({"type": "input_audio_buffer.commit"})).await;
    let e = until_type(&mut ws, "error").await;
    assert_eq!(e["error"]["code"], "input_audio_buffer_commit_empty");

    // Still going: a typed answer is an answer, stored.
    send(
        &mut ws,
        json!({"type": "conversation.item.create",
               "item": {"type": "message", "role": "user",
                        "content": [{"type": "input_text", "text": "I mostly write Rust."}]}}),
    )
    .await;
    let added = until_type(&mut ws, "conversation.item.added").await;
    let typed = loop {
        if added["item"]["role"] == "user" {
            break added;
        }
        let next = until_type(&mut ws, "conversation.item.added").await;
        if next["item"]["role"] == "user" {
            break next;
        }
    };
    assert_eq!(typed["item"]["content"][0]["text"], "I mostly write Rust.");
    let turns = eventually("the typed answer stored", || async {
        let turns = server.turns(id).await;
        (!answers(&turns).is_empty()).then_some(turns)
    })
    .await;
    assert_eq!(answers(&turns), ["I mostly write Rust."]);

    // A second connection while this one holds the interview: told to try again later (1013,
    // which the SDKs retry), and this one is undisturbed.
    let (mut second, _) = browser_connect(&server, &protocols).await;
    let e = next_event(&mut second).await.unwrap();
    assert_eq!(e["error"]["code"], "try_again");
    assert_eq!(close_code(&mut second).await.0, 1013);
    send(&mut ws, json!({"type": "response.cancel"})).await;
    send(
        &mut ws,
        json!({"type": "input_audio_buffer.clear", "event_id": "evt_clear"}),
    )
    .await;
    until_type(&mut ws, "input_audio_buffer.cleared").await;
}

/// Streams `pcm` (24 kHz PCM16) as 20 ms appends at real time, then `silence_ms` of silence,
/// from a task: the microphone of a Realtime app.
fn stream_pcm(
    mut sink: futures_util::stream::SplitSink<Ws, Message>,
    pcm: Vec<u8>,
    silence_ms: usize,
) -> tokio::task::JoinHandle<futures_util::stream::SplitSink<Ws, Message>> {
    use base64::Engine as _;
    tokio::spawn(async move {
        let mut all = pcm;
        all.extend(std::iter::repeat_n(0u8, silence_ms * 48));
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(20));
        for chunk in all.chunks(960) {
            tick.tick().await;
            let audio = base64::engine::general_purpose::STANDARD.encode(chunk);
            let append = json!({"type": "input_audio_buffer.append", "audio": audio});
            if sink.send(Message::text(append.to_string())).await.is_err() {
                break;
            }
        }
        sink
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_barge_in_cancels_the_response_and_truncates_it_to_what_was_heard() {
    let server = TestServer::start().await;
    let (id, token) = server.create_interview().await;
    let dir = tempfile::tempdir().unwrap();
    let answer = std::fs::read(pcm24_file(dir.path(), "a.pcm", ANSWERS[0]).await).unwrap();
    let protocols = format!("realtime, openai-insecure-api-key.{token}");
    let (ws, _) = browser_connect(&server, &protocols).await;
    let (sink, mut stream) = ws.split();
    // The interviewer speaks; the candidate talks over it once its first sentence has been
    // heard (its frames, and 300 ms more than the server's lead).
    let first_sentence = viva::providers::scripted::scripted_reply(0, 2)
        .0
        .split_inclusive(". ")
        .next()
        .unwrap()
        .trim()
        .to_owned();
    let mut deltas = 0;
    let first_audio = loop {
        let Some(Ok(Message::Text(t))) = stream.next().await else {
            panic!("closed before the interviewer spoke");
        };
        let v: Value = serde_json::from_str(&t).unwrap();
        if v["type"] == "response.output_audio.delta" {
            deltas += 1;
            if deltas == scripted_frames(&first_sentence) + 15 {
                break v;
            }
        }
    };
    let mic = stream_pcm(sink, answer, 1500);
    let mut seen = Vec::new();
    let done = loop {
        let Some(Ok(Message::Text(t))) = stream.next().await else {
            panic!("closed before the response was cancelled: {seen:?}");
        };
        let v: Value = serde_json::from_str(&t).unwrap();
        if v["type"] != "response.output_audio.delta" {
            seen.push(v["type"].as_str().unwrap().to_owned());
        }
        if v["type"] == "conversation.item.truncated" {
            assert_eq!(v["item_id"], first_audio["item_id"]);
            assert!(v["audio_end_ms"].as_u64().unwrap() > 0);
        }
        if v["type"] == "response.done" {
            break v;
        }
    };
    let at = |t: &str| seen.iter().position(|s| s == t).unwrap_or(usize::MAX);
    assert!(
        at("input_audio_buffer.speech_started") < at("conversation.item.truncated"),
        "{seen:?}"
    );
    assert_eq!(done["response"]["status"], "cancelled", "{done}");
    assert_eq!(
        done["response"]["status_details"]["reason"],
        "turn_detected"
    );
    // The stored question keeps what was heard, marked interrupted; the answer is stored.
    let text = done["response"]["output"][0]["content"][0]["transcript"]
        .as_str()
        .unwrap()
        .to_owned();
    let turns = eventually("the answer stored", || async {
        let turns = server.turns(id).await;
        (!answers(&turns).is_empty()).then_some(turns)
    })
    .await;
    let question = turns
        .iter()
        .find(|t| t.speaker == Speaker::Interviewer)
        .unwrap();
    assert!(question.interrupted);
    assert_eq!(question.text, text);
    assert_eq!(text, first_sentence, "what was heard: the first sentence");
    drop(mic.await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_with_the_same_token_continues_the_interview() {
    let server = TestServer::start_with(|c| c.takeover_hold_secs = 2).await;
    let (id, token) = server.create_interview().await;
    let protocols = format!("realtime, openai-insecure-api-key.{token}");
    let (mut ws, _) = browser_connect(&server, &protocols).await;
    until_type(&mut ws, "response.done").await;
    send(
        &mut ws,
        json!({"type": "conversation.item.create",
               "item": {"type": "message", "role": "user",
                        "content": [{"type": "input_text", "text": "Five years of Go."}]}}),
    )
    .await;
    // The next question begins; the connection drops mid-turn (no close frame).
    until_type(&mut ws, "response.created").await;
    drop(ws);
    // Reconnecting with the same token: within the takeover hold it is told to try again
    // (1013, which the SDKs retry); after it, the interview goes on where it was.
    let mut ws = connect_when_free(&server, &protocols).await;
    // The question in progress is played again from its start, then the next answer goes on.
    let done = until_type(&mut ws, "response.done").await;
    assert_eq!(done["response"]["status"], "completed");
    send(
        &mut ws,
        json!({"type": "conversation.item.create",
               "item": {"type": "message", "role": "user",
                        "content": [{"type": "input_text", "text": "Mostly payments."}]}}),
    )
    .await;
    let turns = eventually("both answers stored", || async {
        let turns = server.turns(id).await;
        (answers(&turns).len() == 2).then_some(turns)
    })
    .await;
    assert_in_order_once(&turns);
    assert_eq!(answers(&turns), ["Five years of Go.", "Mostly payments."]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_limits_are_told_then_closed_and_a_draining_node_says_restart() {
    // No takeover hold: each new connection may have the interview once the last one left.
    let mut server = TestServer::start_with(|c| c.takeover_hold_secs = 0).await;
    let (_, token) = server.create_interview().await;
    let (other, other_token) = server.create_interview().await;
    let protocols = format!("realtime, openai-insecure-api-key.{token}");

    // Another interview goes on beside everything below, undisturbed.
    let mut live = Candidate::join(&server, other, &other_token, None).await;
    hear_question(&mut live).await;

    // A message past the size limit: told (`policy_violation`), then closed 4008.
    let (mut ws, _) = browser_connect(&server, &protocols).await;
    until_type(&mut ws, "session.created").await;
    let huge = json!({"type": "input_audio_buffer.append", "audio": "A".repeat(300 * 1024)});
    let _ = ws.send(Message::text(huge.to_string())).await;
    let e = until_type(&mut ws, "error").await;
    assert_eq!(e["error"]["code"], "policy_violation");
    assert!(e["error"]["message"]
        .as_str()
        .unwrap()
        .contains("too large"));
    assert_eq!(close_code(&mut ws).await.0, 4008);

    // Audio far faster than real time (10 s at once): told, then closed 4008.
    let mut ws = connect_when_free(&server, &protocols).await;
    let second = "A".repeat(64 * 1000); // 1 s of 24 kHz PCM16, base64
    for _ in 0..10 {
        let append = json!({"type": "input_audio_buffer.append", "audio": second});
        if ws.send(Message::text(append.to_string())).await.is_err() {
            break;
        }
    }
    let e = until_type(&mut ws, "error").await;
    assert_eq!(e["error"]["code"], "policy_violation");
    assert!(e["error"]["message"]
        .as_str()
        .unwrap()
        .contains("faster than real time"));
    assert_eq!(close_code(&mut ws).await.0, 4008);

    // The other interview heard none of it.
    live.answer("Still here.").await;
    live.final_transcript().await;

    // A node that drains tells its Realtime clients to come back (1012, which the SDKs retry).
    let mut ws = connect_when_free(&server, &protocols).await;
    server.begin_shutdown();
    let e = until_type(&mut ws, "error").await;
    assert_eq!(e["error"]["code"], "service_restart");
    assert_eq!(close_code(&mut ws).await.0, 1012);
    drop(live);
    server.stopped().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recruiter_listening_in_hears_a_realtime_candidate_as_opus() {
    let server = TestServer::start().await;
    let (id, token) = server.create_interview().await;
    let recruiter = viva::server::auth(&server.config)
        .unwrap()
        .issue_monitor(id, viva::accounts::Role::Recruiter);
    let mut listener =
        connect_url(&format!("{}?listen=1", server.monitor_url(id)), &recruiter).await;
    let dir = tempfile::tempdir().unwrap();
    let answer = std::fs::read(pcm24_file(dir.path(), "a.pcm", ANSWERS[1]).await).unwrap();
    let protocols = format!("realtime, openai-insecure-api-key.{token}");
    let (ws, _) = browser_connect(&server, &protocols).await;
    let (sink, mut stream) = ws.split();
    // Answer once the opening question is over.
    while let Some(Ok(m)) = stream.next().await {
        if let Message::Text(t) = m {
            if serde_json::from_str::<Value>(&t).unwrap()["type"] == "response.done" {
                break;
            }
        }
    }
    let mic = stream_pcm(sink, answer, 1500);
    // The watcher gets the candidate's side (channel 0) as 20 ms Opus packets that decode.
    let mut decoder = viva::audio::codec::Decoder16k::new().unwrap();
    let mut heard = 0;
    while heard < 50 {
        let m = tokio::time::timeout(HANG_GUARD, listener.next())
            .await
            .expect("the watcher heard nothing")
            .unwrap()
            .unwrap();
        if let Message::Binary(b) = m {
            if b[0] == 0 {
                assert!(viva::audio::packet::check_20ms(&b[1..]).is_ok());
                assert_eq!(decoder.decode(&b[1..]).unwrap().len(), 320);
                heard += 1;
            }
        }
    }
    drop(mic.await.unwrap());
}
