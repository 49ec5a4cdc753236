//! Preemptive replies (issue #19): at a pause whose answer reads as finished the reply is
//! prepared before the turn ends, and used only if the turn ends on the same words; the
//! candidate going on discards it; at most two per answer. What must hold either way: nothing
//! of the interviewer is sent while the candidate speaks, and the answer's final transcript
//! (sent once it is stored) comes before any of the reply.
//!
//! One test (the counters of `/metrics` are the process's): real espeak-ng speech at real
//! time, the scripted recogniser (whose sessions can be transcribed mid-answer) and the
//! Deepgram fake (live partials only).

mod common;

use common::fakes::FakeVendor;
use common::*;
use viva::protocol::{Event, TurnTimings};

async fn preemptive(server: &TestServer, outcome: &str) -> u64 {
    let series = format!("viva_preemptive_replies_total{{outcome=\"{outcome}\"}}");
    metric(&format!("http://{}", server.addr), &series).await
}

/// Preemptive replies used and discarded so far (the process's counters).
async fn count(server: &TestServer) -> (u64, u64) {
    (
        preemptive(server, "used").await,
        preemptive(server, "discarded").await,
    )
}

/// Says `parts` with `pause_frames` of silence between them, then waits for the interviewer's
/// reply to start. Returns that reply's timings, after checking the order of what came: no
/// interviewer audio or text while the answer was under way, and the answer's final transcript
/// (one) before the reply's first word or frame.
async fn answer(c: &mut Candidate, parts: &[&str], pause_frames: usize) -> TurnTimings {
    let mut packets = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            packets.extend((0..pause_frames).map(|_| silence_packet()));
        }
        packets.extend(speech(part).await);
    }
    let from = c.received.len();
    c.say(packets).await;
    let start = c
        .until("the reply's audio", |e| {
            matches!(e, Event::AudioStart { .. })
        })
        .await;
    let Event::AudioStart { turn: reply } = start.event else {
        unreachable!()
    };
    let mut transcript_at = None;
    for (i, r) in c.received[from..].iter().enumerate() {
        match r {
            Received::Event(e) => match &e.event {
                Event::Transcript { is_final: true, .. } => {
                    assert!(transcript_at.is_none(), "one answer, one final transcript");
                    transcript_at = Some(i);
                }
                Event::AgentText { turn, .. } => {
                    assert_eq!(*turn, reply, "only the reply speaks");
                    assert!(transcript_at.is_some(), "reply text before the transcript");
                }
                _ => {}
            },
            Received::Audio(_) => panic!("interviewer audio before the reply started"),
            _ => {}
        }
    }
    assert!(transcript_at.is_some(), "the answer's final transcript");
    let metrics = c
        .until(
            "the reply's timings",
            |e| matches!(e, Event::TurnMetrics { turn, .. } if *turn == reply),
        )
        .await;
    hear_question(c).await;
    match metrics.event {
        Event::TurnMetrics { timings, .. } => timings,
        _ => unreachable!(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_prepared_in_the_pause_is_used_on_the_same_words_and_discarded_when_the_candidate_goes_on(
) {
    let server = TestServer::start_with(|c| c.scripted_questions = 5).await;
    let (id, token) = server.create_interview().await;
    let mut c = Candidate::join(&server, id, &token, None).await;
    hear_question(&mut c).await;

    // A complete answer: prepared during the final pause from a transcript of the audio so far,
    // and used — the recogniser is not asked again at the end of the turn.
    let (used, discarded) = count(&server).await;
    let t = answer(
        &mut c,
        &["I would start by measuring where the time actually goes."],
        0,
    )
    .await;
    assert!(t.preemptive, "{t:?}");
    assert_eq!(t.stt_ms, 0, "the transcript was the preemption's: {t:?}");
    assert_eq!(count(&server).await, (used + 1, discarded));

    // A pause that sounds finished (the scripted partials end on a full stop), then more: the
    // reply prepared in that pause is thrown away; the one prepared at the real end is used.
    let t = answer(
        &mut c,
        &[
            "So the first thing I would look at is the database.",
            "Then I would read the slow query log for the worst offenders.",
        ],
        30,
    )
    .await;
    assert!(t.preemptive, "{t:?}");
    assert_eq!(count(&server).await, (used + 2, discarded + 1));

    // Three such pauses: two preemptions are the most one answer gets; the reply is made the
    // usual way at the end.
    let t = answer(
        &mut c,
        &[
            "First I would look at the database and its slow queries.",
            "Then I would look at the caches in front of it as well.",
            "Then the network between the services, hop by hop.",
            "And last the code itself, with a profiler attached.",
        ],
        30,
    )
    .await;
    assert!(!t.preemptive, "{t:?}");
    assert_eq!(count(&server).await, (used + 2, discarded + 3));

    // One answer per spoken answer, the paused ones whole.
    let turns = server.turns(id).await;
    let answers: Vec<u32> = turns
        .iter()
        .filter(|t| t.speaker == viva::protocol::Speaker::Candidate)
        .map(|t| t.audio_ms)
        .collect();
    assert_eq!(answers.len(), 3, "{answers:?}");
    assert!(answers[1] > 6_000 && answers[2] > 12_000, "{answers:?}");

    // A recogniser that only streams partials (Deepgram): the partial's words are the guess,
    // and the final transcript confirms them. (The fake's partials say a word per half second
    // of audio: its four words are all out a little before this answer's end.)
    let fake = FakeVendor::start().await;
    *fake.state.transcript.lock().unwrap() = "I would use queues.".into();
    let streaming = TestServer::start_with(|c| {
        c.scripted_questions = 5;
        c.stt = vec!["deepgram".into()];
        c.deepgram_base_url = fake.deepgram_url();
        c.deepgram_api_key = Some(viva::config::Secret::new("dg-test-key"));
    })
    .await;
    let (id, token) = streaming.create_interview().await;
    let mut c = Candidate::join(&streaming, id, &token, None).await;
    hear_question(&mut c).await;
    let (used, discarded) = count(&streaming).await;
    let t = answer(
        &mut c,
        &["I would put all of the incoming work on a queue."],
        0,
    )
    .await;
    assert!(t.preemptive, "{t:?}");
    assert_eq!(count(&streaming).await, (used + 1, discarded));
    let turns = streaming.turns(id).await;
    assert_eq!(
        turns
            .iter()
            .rfind(|t| t.speaker == viva::protocol::Speaker::Candidate)
            .map(|t| t.text.as_str()),
        Some("I would use queues.")
    );
    streaming.shutdown().await;
    server.shutdown().await;
}
