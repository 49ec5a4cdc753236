//! End-to-end interviews over real WebSockets with real speech.

mod common;

use common::*;
use viva::audio::codec::Decoder16k;
use viva::protocol::TurnKind;
use viva::protocol::{ConnectionMessage, Event, InterviewState, Speaker};
use viva::providers::scripted::scripted_reply;

const ANSWER: &str =
    "I have five years of experience building web applications with React and TypeScript.";

fn states(c: &Candidate) -> Vec<InterviewState> {
    c.events()
        .iter()
        .filter_map(|e| match e.event {
            Event::State { state } => Some(state),
            _ => None,
        })
        .collect()
}

/// Audio frames received between `audio_start` and `audio_end` of `turn`.
fn frames_of(c: &Candidate, turn: u32) -> Vec<bytes::Bytes> {
    let mut inside = false;
    let mut out = Vec::new();
    for r in &c.received {
        match r {
            Received::Event(e) if e.event == Event::AudioStart { turn } => inside = true,
            Received::Event(e) if e.event == Event::AudioEnd { turn } => inside = false,
            Received::Audio(b) if inside => out.push(b.clone()),
            _ => {}
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_exchange_over_a_real_websocket() {
    let server = TestServer::start().await;
    let (id, token) = server.create_interview().await;
    let answer = speech(ANSWER).await;
    let mut c = Candidate::join(&server, id, &token, None).await;

    match c.next().await {
        Received::Conn(ConnectionMessage::Ready {
            interview_id,
            resumed,
            last_seq,
            ..
        }) => {
            assert_eq!(interview_id, id);
            assert!(!resumed);
            assert_eq!(last_seq, 0);
        }
        other => panic!("first message must be ready, got {other:?}"),
    }
    let q1 = hear_question(&mut c).await;
    let q1_text = scripted_reply(0, 2).0;
    assert_eq!(
        frames_of(&c, q1).len(),
        scripted_frames(&q1_text),
        "whole question, 20 ms packets"
    );

    c.say(answer.clone()).await;
    let t = c.final_transcript().await;
    // Durable before its final transcript was sent.
    let stored = server.turns(id).await;
    let answer_turn = stored
        .iter()
        .find(|t| t.speaker == Speaker::Candidate)
        .expect("answer stored");
    let Event::Transcript { turn, text, .. } = &t.event else {
        unreachable!()
    };
    assert_eq!(*turn, answer_turn.seq);
    assert_eq!(text, &answer_turn.text);
    // The scripted STT reports how much speech reached it: the espeak answer, give or take
    // the 200 ms pre-roll and the trailing silence that is held back.
    let secs: f64 = text
        .trim_start_matches("Scripted answer of ")
        .trim_end_matches(" seconds.")
        .parse()
        .unwrap();
    let spoken = answer.len() as f64 * 0.02;
    assert!((secs - spoken).abs() < 0.6, "heard {secs} s of {spoken} s");

    let q2 = hear_question(&mut c).await;
    c.until_listening().await;
    assert!(q1 < answer_turn.seq && answer_turn.seq < q2);
    // Conversation order: the answer's final transcript comes before any text of the reply.
    let first_reply_text = c
        .events()
        .iter()
        .find(|e| matches!(e.event, Event::AgentText { turn, .. } if turn == q2))
        .map(|e| e.seq)
        .unwrap();
    assert!(
        t.seq < first_reply_text,
        "transcript {} after reply text {first_reply_text}",
        t.seq
    );
    assert_eq!(
        final_agent_texts(&c.events()),
        vec![(q1, q1_text), (q2, scripted_reply(1, 2).0)]
    );
    assert_strictly_increasing(&c.events());
    use InterviewState::*;
    assert_eq!(
        states(&c),
        vec![Speaking, Listening, Thinking, Speaking, Listening]
    );

    // Per-stage latency was reported for the reply; the question was open ("describe"), so the
    // candidate's turn ended after the longer silence (1200 ms), a quarter shorter because the
    // words so far read as a finished answer (the scripted recogniser's partial ends on a full
    // stop: docs/protocol.md, "Turn-taking").
    let metrics = c
        .events()
        .iter()
        .find_map(|e| match &e.event {
            Event::TurnMetrics { turn, timings } if *turn == q2 => Some(timings.clone()),
            _ => None,
        })
        .expect("turn_metrics for the reply");
    assert_eq!(metrics.endpoint_ms, 900);
    if metrics.preemptive {
        // Prepared during that pause (docs/protocol.md, "Turn-taking"): the recogniser was not
        // asked again, and only the commit stood between the end of the turn and the audio.
        assert_eq!(metrics.stt_ms, 0);
        assert!(metrics.response_ms >= metrics.commit_ms);
    } else {
        assert!(metrics.response_ms >= metrics.stt_ms + metrics.llm_first_token_ms);
    }

    let turns = server.turns(id).await;
    let kinds: Vec<_> = turns.iter().map(|t| (t.speaker, t.kind)).collect();
    assert_eq!(
        kinds,
        vec![
            (Speaker::Interviewer, TurnKind::Question),
            (Speaker::Candidate, TurnKind::Answer),
            (Speaker::Interviewer, TurnKind::Question)
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_default_speaks_real_speech_and_never_invents_a_transcript() {
    let server = TestServer::start_with(|c| {
        c.stt = vec!["untranscribed".into()];
        c.llm = vec!["offline-interviewer".into()];
        c.tts = vec!["espeak-ng".into()];
    })
    .await;
    let (id, token) = server.create_interview().await;
    let answer = speech(ANSWER).await;
    let mut c = Candidate::join(&server, id, &token, None).await;
    let q1 = hear_question(&mut c).await;
    let opening = &final_agent_texts(&c.events())[0].1;
    assert!(opening.contains("scripted interviewer"), "{opening}");

    // The interviewer's audio is real speech: decode it and find voiced energy.
    let mut dec = Decoder16k::new().unwrap();
    let loud = frames_of(&c, q1)
        .iter()
        .filter(|p| {
            let pcm = dec.decode(p).unwrap();
            let rms =
                (pcm.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / pcm.len() as f64).sqrt();
            rms > 500.0
        })
        .count();
    assert!(loud > 100, "only {loud} voiced frames");

    c.say(answer.clone()).await;
    let t = c.final_transcript().await;
    let Event::Transcript { text, .. } = t.event else {
        unreachable!()
    };
    assert!(
        text.starts_with("[speech ") && text.ends_with(" s, not transcribed]"),
        "{text}"
    );
    let q2 = hear_question(&mut c).await;
    let texts = final_agent_texts(&c.events());
    assert_eq!(texts.len(), 2);
    assert!(q2 > q1 && texts[1].1 != texts[0].1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn barge_in_stops_the_interviewer_and_keeps_only_what_was_heard() {
    let server = TestServer::start().await;
    let (id, token) = server.create_interview().await;
    let answer = speech(ANSWER).await;
    let mut c = Candidate::join(&server, id, &token, None).await;
    c.until("audio_start", |e| matches!(e, Event::AudioStart { .. }))
        .await;
    let mut frames = 0;
    while frames < 50 {
        if let Received::Audio(_) = c.next().await {
            frames += 1;
        }
    }
    c.say(answer).await;
    let int = c
        .until("audio_interrupted", |e| {
            matches!(e, Event::AudioInterrupted { .. })
        })
        .await;
    let Event::AudioInterrupted { turn, played_ms } = int.event else {
        unreachable!()
    };
    // 50 frames received means at least 800 ms played (they are sent up to 200 ms ahead).
    let full_ms = scripted_frames(&scripted_reply(0, 2).0) as u64 * 20;
    assert!(
        played_ms >= 800 && played_ms < full_ms,
        "played {played_ms} of {full_ms} ms"
    );

    c.final_transcript().await;
    c.until("next audio_start", |e| {
        matches!(e, Event::AudioStart { .. })
    })
    .await;
    // Not one interviewer frame between the interruption and the next question.
    let after: Vec<_> = c
        .received
        .iter()
        .skip_while(|r| !matches!(r, Received::Event(e) if e.seq == int.seq))
        .take_while(
            |r| !matches!(r, Received::Event(e) if matches!(e.event, Event::AudioStart { .. })),
        )
        .filter(|r| matches!(r, Received::Audio(_)))
        .collect();
    assert!(
        after.is_empty(),
        "{} frames after audio_interrupted",
        after.len()
    );

    // Stored and shown: only the words that were played.
    let stored = server.turns(id).await;
    let q1 = stored
        .iter()
        .find(|t| t.seq == turn)
        .expect("interrupted turn stored");
    assert!(q1.interrupted);
    assert_eq!(q1.audio_ms as u64, played_ms);
    let full = scripted_reply(0, 2).0;
    let heard = q1.text.trim_end_matches('…');
    assert!(
        full.starts_with(heard) && heard.len() < full.len(),
        "{heard:?}"
    );
    assert!(final_agent_texts(&c.events()).contains(&(turn, q1.text.clone())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_after_a_dropped_connection_replays_exactly_and_repeats_nothing() {
    let server = TestServer::start().await;
    let (id, token) = server.create_interview().await;
    let answer = speech(ANSWER).await;
    let mut a = Candidate::join(&server, id, &token, None).await;
    hear_question(&mut a).await;
    a.until_listening().await;
    let seen: Vec<_> = a.events().into_iter().cloned().collect();
    let resume = Resume {
        from: Some(seen[1].seq),
        secret: a.resume_secret.clone(),
    };
    a.drop_connection();

    let mut b = Candidate::rejoin(&server, id, &token, resume).await;
    match b.next().await {
        Received::Conn(ConnectionMessage::Ready {
            resumed, last_seq, ..
        }) => {
            assert!(resumed);
            assert_eq!(last_seq, seen.last().unwrap().seq);
        }
        other => panic!("expected ready, got {other:?}"),
    }
    let mut replayed = Vec::new();
    while replayed.len() < seen.len() - 2 {
        if let Received::Event(e) = b.next().await {
            replayed.push(e);
        }
    }
    assert_eq!(
        replayed,
        seen[2..].to_vec(),
        "replay is exact: in order, no gaps, no duplicates"
    );

    b.say(answer).await;
    let q2 = hear_question(&mut b).await;
    let questions: Vec<_> = server
        .turns(id)
        .await
        .into_iter()
        .filter(|t| t.kind == TurnKind::Question)
        .map(|t| (t.seq, t.text))
        .collect();
    assert_eq!(questions.len(), 2, "no question asked twice: {questions:?}");
    assert_eq!(questions[1], (q2, scripted_reply(1, 2).0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_mid_question_hears_it_again_without_it_being_asked_twice() {
    let server = TestServer::start().await;
    let (id, token) = server.create_interview().await;
    let mut a = Candidate::join(&server, id, &token, None).await;
    let start = a
        .until("audio_start", |e| matches!(e, Event::AudioStart { .. }))
        .await;
    let Event::AudioStart { turn } = start.event else {
        unreachable!()
    };
    let resume = a.resume_point();
    a.drop_connection();

    let mut b = Candidate::rejoin(&server, id, &token, resume).await;
    let restarted = b
        .until("audio_start", |e| matches!(e, Event::AudioStart { .. }))
        .await;
    assert_eq!(
        restarted.event,
        Event::AudioStart { turn },
        "the same turn plays again"
    );
    assert_eq!(hear_question(&mut b).await, turn);
    let q = scripted_reply(0, 2).0;
    assert_eq!(frames_of(&b, turn).len(), scripted_frames(&q));
    let stored = server.turns(id).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].text, q);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_connection_replaces_the_first() {
    let server = TestServer::start().await;
    let (id, token) = server.create_interview().await;
    let mut a = Candidate::join(&server, id, &token, None).await;
    hear_question(&mut a).await;
    let mut b = Candidate::rejoin(&server, id, &token, a.resume_point()).await;
    let closed = a.until_closed().await;
    assert_eq!(closed.map(|c| c.0), Some(4009));
    match b.next().await {
        Received::Conn(ConnectionMessage::Ready { resumed, .. }) => assert!(resumed),
        other => panic!("expected ready, got {other:?}"),
    }
    b.send_text(serde_json::json!({"type": "answer_text", "text": "I prefer typing this one."}))
        .await;
    let t = b.final_transcript().await;
    assert!(
        matches!(t.event, Event::Transcript { ref text, .. } if text == "I prefer typing this one.")
    );
    hear_question(&mut b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_answers_and_ending_the_interview() {
    let server = TestServer::start().await;
    let (id, token) = server.create_interview().await;
    let mut c = Candidate::join(&server, id, &token, None).await;
    hear_question(&mut c).await;
    c.send_text(serde_json::json!({"type": "control", "action": "repeat"}))
        .await;
    let repeated = hear_question(&mut c).await;
    assert_eq!(
        server.turns(id).await.len(),
        1,
        "a repeat is not a new turn"
    );
    c.send_text(serde_json::json!({"type": "control", "action": "end"}))
        .await;
    let ended = c.until("ended", |e| matches!(e, Event::Ended { .. })).await;
    assert_eq!(
        ended.event,
        Event::Ended {
            reason: "candidate_ended".into()
        }
    );
    assert_eq!(c.until_closed().await.map(|c| c.0), Some(4010));
    assert_eq!(
        final_agent_texts(&c.events())
            .iter()
            .filter(|(t, _)| *t == repeated)
            .count(),
        2
    );

    let rec = server.store().await;
    let i = rec.get_interview(id).await.unwrap().unwrap();
    assert_eq!(i.status, viva::store::InterviewStatus::Completed);
    // Reconnecting to an ended interview is refused with 4010.
    let mut again = Candidate::start(connect(&server, id, &token).await, None, false).await;
    assert_eq!(again.until_closed().await.map(|c| c.0), Some(4010));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_server_resumes_at_the_next_question() {
    let server = TestServer::start().await;
    let (id, token) = server.create_interview().await;
    let answer = speech(ANSWER).await;
    let mut c = Candidate::join(&server, id, &token, None).await;
    hear_question(&mut c).await;
    c.say(answer).await;
    c.final_transcript().await;
    let resume = c.resume_point();
    let seen = c.last_seq();
    let (dir, config) = (server.dir.clone(), server.config.clone());
    server.shutdown().await;
    let close = c.until_closed().await;
    assert_eq!(
        close.map(|c| c.0),
        Some(1012),
        "drained with a resumable close"
    );

    let server = TestServer::start_in(dir, config).await;
    let mut c2 = Candidate::rejoin(&server, id, &token, resume).await;
    hear_question(&mut c2).await;
    let texts = final_agent_texts(&c2.events());
    assert!(
        texts.last().unwrap().1.contains("Scripted question 2 of 2"),
        "{texts:?}"
    );
    assert!(
        c2.events().iter().all(|e| e.seq > seen),
        "seq continues after a restart"
    );
    let questions: Vec<_> = server
        .turns(id)
        .await
        .into_iter()
        .filter(|t| t.speaker == viva::protocol::Speaker::Interviewer)
        .map(|t| t.text)
        .collect();
    assert_eq!(questions.len(), 2, "{questions:?}");
    assert!(questions[1].contains("Scripted question 2 of 2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_interviewer_never_interrupts_a_candidate_who_goes_on() {
    // The model takes 4 s to its first token: the candidate goes on long before that.
    let server = TestServer::start_with(|c| c.scripted_llm_first_token_ms = 4000).await;
    let (id, token) = server.create_interview().await;
    let part1 = speech("I worked on the payments team.").await;
    let part2 = speech("And before that, I built our mobile app.").await;
    let mut c = Candidate::join(&server, id, &token, None).await;
    hear_question(&mut c).await;
    c.say(part1).await;
    let first = c.final_transcript().await;
    c.say(part2).await;
    let second = c.final_transcript().await;
    let q2 = hear_question(&mut c).await;

    // No interviewer audio started between the two parts of the answer.
    let between = c
        .events()
        .into_iter()
        .filter(|e| e.seq > first.seq && e.seq < second.seq)
        .filter(|e| matches!(e.event, Event::AudioStart { .. }))
        .count();
    assert_eq!(between, 0);
    let kinds: Vec<_> = server
        .turns(id)
        .await
        .into_iter()
        .map(|t| (t.speaker, t.kind))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (Speaker::Interviewer, TurnKind::Question),
            (Speaker::Candidate, TurnKind::Answer),
            (Speaker::Candidate, TurnKind::Answer),
            (Speaker::Interviewer, TurnKind::Question),
        ]
    );
    assert_eq!(
        final_agent_texts(&c.events()).last().unwrap(),
        &(q2, scripted_reply(1, 2).0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_monitor_sees_the_interview_live_and_read_only() {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::Message;

    let server = TestServer::start().await;
    let created = viva::cli::create_interview(&server.config, "Designer".into(), None, None)
        .await
        .unwrap();
    let id = created.interview_id;
    let url = format!("ws://{}/v1/interviews/{id}/monitor", server.addr);
    let open = |token: String| {
        let mut req = url.clone().into_client_request().unwrap();
        req.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            format!("viva.v1, bearer.{token}").parse().unwrap(),
        );
        tokio_tungstenite::connect_async(req)
    };
    // Tokens do not cross audiences.
    let (mut wrong, _) = open(created.candidate_token.clone()).await.unwrap();
    assert!(
        matches!(wrong.next().await, Some(Ok(Message::Close(Some(f)))) if u16::from(f.code) == 4001)
    );
    let mut as_candidate = connect(&server, id, &created.monitor_token).await;
    assert!(
        matches!(as_candidate.next().await, Some(Ok(Message::Close(Some(f)))) if u16::from(f.code) == 4001)
    );

    // Watching before the candidate arrives: ready, a snapshot, then the live events.
    let (mut mon, _) = open(created.monitor_token.clone()).await.unwrap();
    let mut texts = Vec::new();
    for _ in 0..2 {
        let Some(Ok(Message::Text(t))) = mon.next().await else {
            panic!("expected ready and resync")
        };
        texts.push(serde_json::from_str::<serde_json::Value>(&t).unwrap()["type"].clone());
    }
    assert_eq!(texts, vec!["ready", "resync"]);
    let mut c = Candidate::join(&server, id, &created.candidate_token, None).await;
    hear_question(&mut c).await;
    let candidate_seqs: Vec<u64> = c.events().iter().map(|e| e.seq).collect();
    let mut seen = Vec::new();
    let mut monitor_only = std::collections::BTreeSet::new();
    while seen.len() < candidate_seqs.len() {
        match mon.next().await {
            Some(Ok(Message::Text(t))) => {
                // Monitor-only messages (levels, presence, connection events) carry no seq.
                let v: serde_json::Value = serde_json::from_str(&t).unwrap();
                if v.get("seq").is_none() {
                    monitor_only.insert(v["type"].as_str().unwrap().to_owned());
                    continue;
                }
                let e: viva::protocol::EventEnvelope = serde_json::from_value(v).unwrap();
                seen.push(e.seq);
            }
            Some(Ok(Message::Binary(_))) => panic!("monitors get no audio"),
            other => panic!("monitor stream ended: {other:?}"),
        }
    }
    assert_eq!(seen, candidate_seqs, "the same events, the same seq");
    assert!(
        monitor_only.contains("watchers") && monitor_only.contains("candidate_connection"),
        "{monitor_only:?}"
    );

    // A dashboard that reconnects with `?after_seq=` gets exactly what it missed: no gap, no
    // duplicate, no snapshot.
    let last_seen = *seen.last().unwrap();
    drop(mon);
    c.say(speech("I design the screens people use every day.").await)
        .await;
    c.final_transcript().await;
    hear_question(&mut c).await;
    let missed: Vec<u64> = c
        .events()
        .iter()
        .map(|e| e.seq)
        .filter(|s| *s > last_seen)
        .collect();
    assert!(!missed.is_empty());
    let open_at = |query: String| {
        let mut req = format!("{url}?{query}").into_client_request().unwrap();
        req.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            format!("viva.v1, bearer.{}", created.monitor_token)
                .parse()
                .unwrap(),
        );
        tokio_tungstenite::connect_async(req)
    };
    let (mut mon, _) = open_at(format!("after_seq={last_seen}")).await.unwrap();
    let Some(Ok(Message::Text(ready))) = mon.next().await else {
        panic!("expected ready")
    };
    assert!(ready.contains(r#""type":"ready""#), "{ready}");
    let mut replayed = Vec::new();
    while replayed.len() < missed.len() {
        match mon.next().await {
            Some(Ok(Message::Text(t))) => {
                let v: serde_json::Value = serde_json::from_str(&t).unwrap();
                assert_ne!(v["type"], "resync", "events, not a snapshot");
                if v.get("seq").is_none() {
                    continue;
                }
                let e: viva::protocol::EventEnvelope = serde_json::from_value(v).unwrap();
                replayed.push(e.seq);
            }
            other => panic!("monitor stream ended: {other:?}"),
        }
    }
    assert_eq!(replayed, missed, "exactly the events after after_seq");

    // Asking after a seq the interview never reached: a snapshot instead. A malformed one: 4002.
    let (mut ahead, _) = open_at(format!("after_seq={}", last_seen + 10_000))
        .await
        .unwrap();
    let mut kinds = Vec::new();
    for _ in 0..2 {
        let Some(Ok(Message::Text(t))) = ahead.next().await else {
            panic!("expected ready and resync")
        };
        kinds.push(serde_json::from_str::<serde_json::Value>(&t).unwrap()["type"].clone());
    }
    assert_eq!(kinds, vec!["ready", "resync"]);
    let (mut bad, _) = open_at("after_seq=soon".into()).await.unwrap();
    assert!(
        matches!(bad.next().await, Some(Ok(Message::Close(Some(f)))) if u16::from(f.code) == 4002)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recruiter_watching_listens_in_suggests_a_question_and_ends_the_interview() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::Message;
    use viva::cli::MonitorRole;

    const SUGGESTION: &str = "Which design of yours are you proudest of, and why?";
    let server = TestServer::start().await;
    let made =
        |role| viva::cli::create_interviews(&server.config, 1, "Designer".into(), None, None, role);
    let created = made(MonitorRole::Recruiter).await.unwrap().remove(0);
    let watched_only = made(MonitorRole::Viewer).await.unwrap().remove(0);
    let id = created.interview_id;
    let open_with = |id: uuid::Uuid, token: String, query: &str| {
        let url = format!("ws://{}/v1/interviews/{id}/monitor?{query}", server.addr);
        let mut req = url.into_client_request().unwrap();
        req.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            format!("viva.v1, bearer.{token}").parse().unwrap(),
        );
        tokio_tungstenite::connect_async(req)
    };
    let open = |id, token| open_with(id, token, "");
    type Socket = tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >;
    /// The next `steered` answer, skipping events.
    async fn steered(mon: &mut Socket) -> serde_json::Value {
        loop {
            match mon.next().await {
                Some(Ok(Message::Text(t))) => {
                    let v: serde_json::Value = serde_json::from_str(&t).unwrap();
                    if v["type"] == "steered" {
                        return v;
                    }
                }
                other => panic!("monitor stream ended: {other:?}"),
            }
        }
    }
    async fn closed_with(mon: &mut Socket) -> u16 {
        loop {
            match mon.next().await {
                Some(Ok(Message::Close(Some(f)))) => return u16::from(f.code),
                Some(Ok(_)) => {}
                other => panic!("no close frame: {other:?}"),
            }
        }
    }

    let mut c = Candidate::join(&server, id, &created.candidate_token, None).await;
    hear_question(&mut c).await;
    let (mut mon, _) = open(id, created.monitor_token.clone()).await.unwrap();
    // Listening in beside it: both sides' Opus packets, each after its channel byte.
    let (mut listener, _) = open_with(id, created.monitor_token.clone(), "listen=1")
        .await
        .unwrap();
    let listening = tokio::spawn(async move {
        let mut decoders = [Decoder16k::new().unwrap(), Decoder16k::new().unwrap()];
        let mut counts = [0usize; 2];
        while counts.iter().any(|c| *c < 25) {
            match listener.next().await {
                Some(Ok(Message::Binary(b))) => {
                    let channel = usize::from(b[0]);
                    assert!(channel < 2, "channel {channel}");
                    decoders[channel].decode(&b[1..]).expect("an Opus packet");
                    counts[channel] += 1;
                }
                Some(Ok(_)) => {}
                other => panic!("listen-in ended: {other:?}"),
            }
        }
        counts
    });

    // Too long a question is not taken; a good one is, and waits for the candidate's answer.
    let long = "x".repeat(viva::protocol::MAX_SUGGESTION_CHARS + 1);
    let msg = |v: serde_json::Value| Message::Text(v.to_string().into());
    mon.send(msg(
        serde_json::json!({"type": "suggest_question", "text": long}),
    ))
    .await
    .unwrap();
    let refused = steered(&mut mon).await;
    assert_eq!(
        (refused["action"].as_str(), refused["accepted"].as_bool()),
        (Some("suggest_question"), Some(false)),
        "{refused}"
    );
    mon.send(msg(
        serde_json::json!({"type": "suggest_question", "text": SUGGESTION}),
    ))
    .await
    .unwrap();
    assert_eq!(steered(&mut mon).await["accepted"], true);

    // The candidate answers; the interviewer's next question is the suggestion, as written.
    c.say(speech("I redesigned a hospital's appointment booking.").await)
        .await;
    c.final_transcript().await;
    let asked = c
        .until(
            "the suggested question",
            |e| matches!(e, Event::AgentText { text, is_final: true, .. } if text == SUGGESTION),
        )
        .await;
    let Event::AgentText { turn, .. } = asked.event else {
        unreachable!()
    };
    hear_question(&mut c).await;
    let counts = listening.await.unwrap();
    assert!(counts.iter().all(|c| *c >= 25), "{counts:?}");
    let stored = server.turns(id).await;
    let suggested: Vec<_> = stored.iter().filter(|t| t.suggested).collect();
    assert_eq!(suggested.len(), 1, "{stored:?}");
    assert_eq!(
        (
            suggested[0].seq,
            suggested[0].text.as_str(),
            suggested[0].kind
        ),
        (turn, SUGGESTION, TurnKind::Question)
    );
    assert!(stored
        .iter()
        .filter(|t| t.seq != turn)
        .all(|t| !t.suggested));

    // A viewer's token watches only (no listening in, no steering); a malformed message is a
    // protocol error.
    let other = watched_only.interview_id;
    let mut viewer = Candidate::join(&server, other, &watched_only.candidate_token, None).await;
    hear_question(&mut viewer).await;
    let (mut eavesdropper, _) = open_with(other, watched_only.monitor_token.clone(), "listen=1")
        .await
        .unwrap();
    assert_eq!(closed_with(&mut eavesdropper).await, 4003);
    let (mut watcher, _) = open(other, watched_only.monitor_token.clone())
        .await
        .unwrap();
    watcher
        .send(msg(
            serde_json::json!({"type": "suggest_question", "text": SUGGESTION}),
        ))
        .await
        .unwrap();
    assert_eq!(closed_with(&mut watcher).await, 4003);
    let (mut sloppy, _) = open(id, created.monitor_token.clone()).await.unwrap();
    sloppy
        .send(msg(serde_json::json!({"type": "take_over"})))
        .await
        .unwrap();
    assert_eq!(closed_with(&mut sloppy).await, 4002);

    // Ending it: the interviewer closes politely, the stream ends as cancelled, and both steering
    // actions are in the audit log.
    mon.send(msg(
        serde_json::json!({"type": "end", "reason": "We have what we need"}),
    ))
    .await
    .unwrap();
    assert_eq!(steered(&mut mon).await["accepted"], true);
    let ended = c.until("ended", |e| matches!(e, Event::Ended { .. })).await;
    assert!(matches!(ended.event, Event::Ended { reason } if reason == "cancelled"));
    let storage = viva::server::open_storage(&server.config).await.unwrap();
    let rec = storage.store.get_interview(id).await.unwrap().unwrap();
    assert_eq!(rec.status, viva::store::InterviewStatus::Cancelled);
    let log = storage
        .audit
        .entries_in(
            viva::accounts::Scope::operator(viva::accounts::DEFAULT_ORG),
            None,
            viva::hiring::PageRequest::new(None, None),
        )
        .await
        .unwrap();
    let actions: Vec<&str> = log.items.iter().map(|e| e.action.as_str()).collect();
    assert!(
        actions.contains(&"interview.question_suggested")
            && actions.contains(&"interview.cancelled"),
        "{actions:?}"
    );
}
