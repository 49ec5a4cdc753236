//! The real vendor clients against local fakes that speak the vendors' wire formats (see
//! `common::fakes`): streaming split at awkward bytes, 429 with `Retry-After`, 500s, a slow
//! first byte, truncated streams, malformed JSON, a wrong content type; retries counted, the
//! breaker opening, fallbacks with degradation events; and a whole interview through them.

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::fakes::{reply_for, FakeVendor, Misbehave};
use common::*;
use futures_util::StreamExt;
use viva::audio::codec::Decoder16k;
use viva::audio::ogg::OggOpus;
use viva::audio::voice::{OpusCarried, OpusVoice, VoiceSettings};
use viva::config::Secret;
use viva::protocol::{Event, Speaker, TurnKind};
use viva::providers::deepgram::DeepgramStt;
use viva::providers::gemini::GeminiLlm;
use viva::providers::openai::{OpenAiLlm, OpenAiStt, OpenAiTts, TTS_PCM_RATE};
use viva::providers::remote::{Endpoint, Remote, RemoteSettings, Timeouts};
use viva::providers::resilience::{BreakerPolicy, Counters, RetryPolicy};
use viva::providers::{
    ContextTurn, InterviewContext, LlmEvent, LlmProvider, Providers, SttProvider, TtsAudio,
    TtsFormat, TtsProvider, Vocabulary,
};

const KEY: &str = "sk-test-not-a-real-key-123456";

fn settings(fake: &FakeVendor) -> RemoteSettings {
    RemoteSettings {
        openai: Endpoint {
            base_url: fake.openai_url(),
            api_key: Some(Secret::new(KEY)),
        },
        gemini: Endpoint {
            base_url: fake.gemini_url(),
            api_key: Some(Secret::new("gm-test-key")),
        },
        deepgram: Endpoint {
            base_url: fake.deepgram_url(),
            api_key: Some(Secret::new("dg-test-key")),
        },
        timeouts: Timeouts {
            first_byte: Duration::from_millis(300),
            llm_first_token: Duration::from_millis(300),
            ..Timeouts::default()
        },
        // Real waits, short: the fakes run on real sockets.
        retry: RetryPolicy {
            tries: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_secs(2),
        },
        breaker: BreakerPolicy::default(),
        max_questions: 3,
        ..RemoteSettings::default()
    }
}

fn ctx(turns: Vec<(Speaker, &str)>) -> Arc<InterviewContext> {
    Arc::new(InterviewContext {
        role: "Backend Engineer".into(),
        job_description: Some("Rust services, Postgres.".into()),
        resume: Some("Five years of Rust.".into()),
        settings: Default::default(),
        plan: None,
        prompts: None,
        turns: turns
            .into_iter()
            .map(|(speaker, text)| ContextTurn {
                speaker,
                kind: if speaker == Speaker::Candidate {
                    TurnKind::Answer
                } else {
                    TurnKind::Question
                },
                text: text.into(),
                transcribed: true,
                audio_ms: 3000,
                suggested: false,
            })
            .collect(),
    })
}

/// Reads a whole reply: (text, end_interview, usage seen, degradation codes).
async fn read_reply(
    llm: &dyn LlmProvider,
    c: Arc<InterviewContext>,
) -> (String, bool, bool, Vec<String>) {
    let mut s = llm.stream(c).await.expect("a stream");
    let (mut text, mut end, mut usage, mut degraded) = (String::new(), false, false, Vec::new());
    while let Some(ev) = s.next().await {
        match ev.expect("no error mid-stream") {
            LlmEvent::Token(t) => text.push_str(&t),
            LlmEvent::Usage { .. } => usage = true,
            LlmEvent::Degraded { code, .. } => degraded.push(code.to_owned()),
            LlmEvent::Done { end_interview } => end = end_interview,
            LlmEvent::Decision(_) => {}
        }
    }
    (text, end, usage, degraded)
}

#[tokio::test]
async fn openai_chat_streams_tokens_split_anywhere_and_never_speaks_the_end_marker() {
    let fake = FakeVendor::start().await;
    let llm = OpenAiLlm::new(Remote::new(settings(&fake)));
    let (text, end, usage, _) = read_reply(&llm, ctx(vec![])).await;
    assert_eq!(text, reply_for(0, 3));
    assert!(!end && usage);

    // The request: streamed, the system prompt built from the job and the résumé, the key as a
    // bearer token.
    let body = fake.state.chat.bodies.lock().unwrap()[0].clone();
    assert_eq!(body["stream"], true);
    let system = body["messages"][0]["content"].as_str().unwrap();
    assert!(system.contains("Backend Engineer") && system.contains("Five years of Rust."));
    assert_eq!(
        fake.state.chat.keys.lock().unwrap()[0],
        format!("Bearer {KEY}")
    );

    // After enough questions it closes, and the marker ends the interview instead of being said.
    let q = reply_for(0, 3);
    let done = ctx(vec![
        (Speaker::Interviewer, q.as_str()),
        (Speaker::Candidate, "An answer."),
        (Speaker::Interviewer, "Question two?"),
        (Speaker::Candidate, "Another."),
        (Speaker::Interviewer, "Question three?"),
        (Speaker::Candidate, "A third."),
    ]);
    let (text, end, _, _) = read_reply(&llm, done).await;
    assert!(end, "closing statement ends the interview");
    assert!(!text.contains("[[") && text.contains("Thank you"), "{text}");
}

#[tokio::test]
async fn retries_429_with_retry_after_500_slow_first_byte_and_truncation_then_succeeds() {
    let fake = FakeVendor::start().await;
    let llm = OpenAiLlm::new(Remote::new(settings(&fake)));
    fake.state.chat.script([
        Misbehave::Status(429, Some(0)),
        Misbehave::Status(500, None),
    ]);
    let (text, ..) = read_reply(&llm, ctx(vec![])).await;
    assert_eq!(text, reply_for(0, 3));
    assert_eq!(fake.state.chat.hits(), 3);
    assert_eq!(Counters::get(&llm.vendor.res.counters.retries), 2);

    fake.state.chat.script([
        Misbehave::SlowFirstByte(Duration::from_secs(3)),
        Misbehave::Truncated,
    ]);
    let (text, ..) = read_reply(&llm, ctx(vec![])).await;
    assert_eq!(text, reply_for(0, 3));
    assert_eq!(fake.state.chat.hits(), 6);
    assert_eq!(Counters::get(&llm.vendor.res.counters.retries), 4);
}

#[tokio::test]
async fn bad_keys_bad_content_and_malformed_streams_fail_clearly_without_leaking_the_key() {
    let fake = FakeVendor::start().await;
    let llm = OpenAiLlm::new(Remote::new(settings(&fake)));
    // 401: never retried.
    fake.state.chat.script([Misbehave::Status(401, None)]);
    let e = llm.stream(ctx(vec![])).await.err().unwrap();
    assert_eq!(fake.state.chat.hits(), 1);
    assert!(e.message.contains("401"), "{e}");
    assert!(!e.to_string().contains(KEY));
    // An HTML page instead of a stream: not retried either.
    fake.state.chat.script([Misbehave::WrongContentType]);
    let e = llm.stream(ctx(vec![])).await.err().unwrap();
    assert!(e.message.contains("content type"), "{e}");
    assert_eq!(fake.state.chat.hits(), 2);
    // Malformed JSON before any token: retried, and given up on after three tries.
    fake.state.chat.script([Misbehave::Malformed; 3]);
    let e = llm.stream(ctx(vec![])).await.err().unwrap();
    assert!(
        e.message.contains("malformed") && e.message.contains("3 tries"),
        "{e}"
    );
    assert_eq!(fake.state.chat.hits(), 5);
}

#[tokio::test]
async fn the_breaker_opens_after_five_failed_calls_and_stops_calling() {
    let fake = FakeVendor::start().await;
    let mut s = settings(&fake);
    s.retry.tries = 1;
    let llm = OpenAiLlm::new(Remote::new(s));
    fake.state.chat.always(Some(Misbehave::Status(503, None)));
    for _ in 0..5 {
        assert!(llm.stream(ctx(vec![])).await.is_err());
    }
    assert_eq!(fake.state.chat.hits(), 5);
    assert!(llm.vendor.res.is_open());
    let e = llm.stream(ctx(vec![])).await.err().unwrap();
    assert_eq!(e.message, "circuit open");
    assert_eq!(fake.state.chat.hits(), 5, "no request while open");
    assert_eq!(Counters::get(&llm.vendor.res.counters.opened), 1);
}

#[tokio::test]
async fn an_open_breaker_lets_a_trial_through_after_its_pause_and_closes_on_success() {
    let fake = FakeVendor::start().await;
    let mut s = settings(&fake);
    s.retry.tries = 1;
    // No pause, so the trial is due at once (the 60 s pause itself is tested on paused time).
    s.breaker.open_for = Duration::ZERO;
    let llm = OpenAiLlm::new(Remote::new(s));
    fake.state.chat.always(Some(Misbehave::Status(500, None)));
    for _ in 0..5 {
        assert!(llm.stream(ctx(vec![])).await.is_err());
    }
    assert_eq!(Counters::get(&llm.vendor.res.counters.opened), 1);
    fake.state.chat.always(None);
    let (text, ..) = read_reply(&llm, ctx(vec![])).await;
    assert_eq!(text, reply_for(0, 3), "the half-open trial went through");
    assert!(!llm.vendor.res.is_open(), "and closed the breaker");
    // Closed means counting from zero again: four failures do not reopen it.
    fake.state.chat.always(Some(Misbehave::Status(500, None)));
    for _ in 0..4 {
        assert!(llm.stream(ctx(vec![])).await.is_err());
    }
    assert_eq!(Counters::get(&llm.vendor.res.counters.opened), 1);
}

#[tokio::test]
async fn the_chain_falls_back_to_gemini_then_to_the_offline_interviewer_and_says_so() {
    let fake = FakeVendor::start().await;
    let mut cfg = viva::config::Config::embedded("/tmp/unused");
    cfg.llm = vec!["openai".into(), "gemini".into()];
    let mut p = cfg.providers();
    p.remote = settings(&fake);
    let providers = Providers::from_settings(&p).unwrap();
    assert_eq!(
        providers.llm.name(),
        "openai:gpt-4o-mini,gemini:gemini-2.0-flash,offline-interviewer"
    );

    fake.state.chat.always(Some(Misbehave::Status(500, None)));
    let (text, _, usage, degraded) = read_reply(&*providers.llm, ctx(vec![])).await;
    assert_eq!(text, reply_for(0, 3), "Gemini answered");
    assert!(usage);
    assert_eq!(degraded, vec!["llm_fallback"]);
    assert_eq!(
        fake.state.gemini.keys.lock().unwrap()[0],
        "gm-test-key",
        "the key goes in a header, never the URL"
    );

    // Gemini's own shape: a system instruction, a conversation that opens with the user and
    // alternates.
    let gemini = GeminiLlm::new(Remote::new(settings(&fake)));
    let q = reply_for(0, 3);
    let (text, ..) = read_reply(
        &gemini,
        ctx(vec![
            (Speaker::Interviewer, q.as_str()),
            (Speaker::Candidate, "Yes."),
        ]),
    )
    .await;
    assert_eq!(text, reply_for(1, 3));
    let body = fake
        .state
        .gemini
        .bodies
        .lock()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert!(body["systemInstruction"]["parts"][0]["text"]
        .as_str()
        .unwrap()
        .contains("Backend Engineer"));
    let roles: Vec<&str> = body["contents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "model", "user"]);

    fake.state.gemini.always(Some(Misbehave::Status(500, None)));
    let (text, _, _, degraded) = read_reply(&*providers.llm, ctx(vec![])).await;
    // The offline interviewer took over: it opens by saying what it is.
    assert!(text.contains("scripted interviewer"), "{text}");
    assert_eq!(degraded, vec!["llm_fallback"]);
}

#[tokio::test]
async fn openai_speech_to_text_and_text_to_speech() {
    let fake = FakeVendor::start().await;
    let remote = Remote::new(settings(&fake));
    // STT: the utterance goes up as a 16 kHz WAV; a 500 is retried.
    fake.state.stt.script([Misbehave::Status(500, None)]);
    let stt = OpenAiStt::new(remote.clone());
    let (tx, _rx) = tokio::sync::mpsc::channel(4);
    let mut session = stt.start(&Vocabulary::new(["Rust", "Tokio"]), tx);
    session.push(&vec![0i16; 16_000]);
    let r = session.finish().await.unwrap();
    assert_eq!(r.text, "I have five years of experience with Rust.");
    assert!(r.transcribed);
    assert_eq!(*fake.state.wav_rates.lock().unwrap(), vec![16_000, 16_000]);
    // The interview's terms went as the transcription prompt, on the retry too.
    for fields in fake.state.stt.bodies.lock().unwrap().iter() {
        assert_eq!(fields["prompt"], "Glossary: Rust, Tokio.", "{fields}");
        assert_eq!(fields["language"], "en", "{fields}");
    }

    // TTS: raw 24 kHz PCM in odd-sized pieces comes out as whole samples.
    let tts = OpenAiTts::new(remote);
    let audio = tts.synthesize("Hello there.").await.unwrap();
    assert_eq!(audio.sample_rate(), Some(TTS_PCM_RATE));
    let TtsAudio::Pcm { chunks, .. } = audio else {
        unreachable!()
    };
    let samples: Vec<i16> = chunks.map(|c| c.unwrap()).concat().await;
    assert_eq!(samples.len(), 24_000 * 40 * 12 / 1000);
    assert!(
        samples.iter().any(|s| s.abs() > 4_000),
        "the tone survives reassembly"
    );
    // A JSON body where audio was expected is refused at once.
    fake.state.tts.script([Misbehave::WrongContentType]);
    assert!(tts.synthesize("Hi.").await.is_err());
}

/// The packets of a synthesised sentence, as the interviewer's voice would carry them.
async fn voice_of(tts: &OpenAiTts, text: &str) -> (Vec<Bytes>, OpusCarried) {
    let TtsAudio::Opus { mut packets } = tts.synthesize(text).await.unwrap() else {
        panic!("Opus was asked for");
    };
    let mut voice = OpusVoice::new(VoiceSettings {
        complexity: 3,
        bitrate_bps: 24_000,
    });
    let mut frames = Vec::new();
    while let Some(p) = packets.next().await {
        voice.push(p.unwrap(), &mut frames).unwrap();
    }
    voice.finish(&mut frames).unwrap();
    (frames, voice.carried)
}

#[tokio::test]
async fn openai_ogg_opus_speech_passes_through_and_what_does_not_fit_is_reencoded() {
    let fake = FakeVendor::start().await;
    let remote = Remote::new(RemoteSettings {
        openai_tts_format: TtsFormat::Opus,
        ..settings(&fake)
    });
    let tts = OpenAiTts::new(remote);
    let text = "Tell me about a system you designed.";

    // opusenc's 20 ms mono packets reach the voice untouched, in order.
    let (frames, carried) = voice_of(&tts, text).await;
    assert_eq!(
        fake.state.tts.bodies.lock().unwrap()[0]["response_format"],
        "opus"
    );
    let served = fake.state.ogg_served.lock().unwrap()[0].clone();
    let mut demuxed = Vec::new();
    let mut ogg = OggOpus::new();
    ogg.push(&served, &mut demuxed).unwrap();
    ogg.finish().unwrap();
    assert_eq!(frames, demuxed);
    assert_eq!(carried.reencoded, 0);
    assert_eq!(carried.passed as usize, frames.len());
    // About as long as the speech (espeak-ng at 170 wpm: a couple of seconds).
    assert!((50..200).contains(&frames.len()), "{} frames", frames.len());
    assert!(loudness(&frames) > 500.0, "speech, not silence");

    // 60 ms packets do not fit the 20 ms stream: decoded and encoded again, same length.
    fake.state.opus_framesize.store(60, Ordering::SeqCst);
    let (reencoded, carried) = voice_of(&tts, text).await;
    assert_eq!(carried.passed, 0);
    assert_eq!(carried.reencoded as usize, reencoded.len());
    let diff = reencoded.len().abs_diff(frames.len());
    assert!(diff <= 3, "{} vs {} frames", reencoded.len(), frames.len());
    assert!(loudness(&reencoded) > 500.0, "speech, not silence");

    // A vendor that answers PCM when Opus was asked for: a clear error, not noise.
    fake.state.opus_framesize.store(u32::MAX, Ordering::SeqCst);
    let TtsAudio::Opus { mut packets } = tts.synthesize(text).await.unwrap() else {
        unreachable!()
    };
    let err = packets.next().await.unwrap().unwrap_err();
    assert!(err.message.contains("not an Ogg page"), "{err}");
}

/// Root-mean-square level of decoded 20 ms packets.
fn loudness(frames: &[Bytes]) -> f64 {
    let mut dec = Decoder16k::new().unwrap();
    let mut sum = 0f64;
    let mut n = 0usize;
    for f in frames {
        let pcm = dec.decode(f).unwrap();
        sum += pcm.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>();
        n += pcm.len();
    }
    (sum / n as f64).sqrt()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interview_with_openai_opus_speech_sends_the_vendors_packets_untouched() {
    let fake = FakeVendor::start().await;
    fake.state.questions.store(1, Ordering::SeqCst);
    let server = TestServer::start_with(|c| {
        c.llm = vec!["openai".into()];
        c.tts = vec!["openai".into()];
        c.openai_tts_format = "opus".into();
        c.openai_base_url = fake.openai_url();
        c.openai_api_key = Some(Secret::new(KEY));
    })
    .await;
    let (id, token) = server.create_interview().await;
    let mut c = Candidate::join(&server, id, &token, None).await;
    hear_question(&mut c).await;
    let heard: Vec<Bytes> = c
        .received
        .iter()
        .filter_map(|r| match r {
            Received::Audio(b) => Some(b.clone()),
            _ => None,
        })
        .collect();
    // Every frame the candidate heard is one of the vendor's own packets.
    let mut vendor = std::collections::HashSet::new();
    for ogg in fake.state.ogg_served.lock().unwrap().iter() {
        let mut packets = Vec::new();
        OggOpus::new().push(ogg, &mut packets).unwrap();
        vendor.extend(packets);
    }
    assert!(heard.len() > 50, "{} frames heard", heard.len());
    assert!(
        heard.iter().all(|f| vendor.contains(f)),
        "a frame was re-encoded"
    );
    let base = format!("http://{}", server.addr);
    let passed = metric(&base, "viva_voice_frames_total{how=\"passed\"}").await;
    assert!(passed >= heard.len() as u64, "{passed} passed");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_interview_through_the_openai_compatible_providers() {
    let fake = FakeVendor::start().await;
    fake.state.questions.store(2, Ordering::SeqCst);
    let server = TestServer::start_with(|c| {
        c.stt = vec!["openai".into()];
        c.llm = vec!["openai".into()];
        c.tts = vec!["openai".into()];
        c.openai_base_url = fake.openai_url();
        c.openai_api_key = Some(Secret::new(KEY));
        c.provider_retry_base_ms = 10;
    })
    .await;
    let (id, token) = server.create_interview().await;
    let mut c = Candidate::join(&server, id, &token, None).await;
    let text = spoken_answer(&mut c, "I have spent five years building services in Rust.").await;
    assert_eq!(text, "I have five years of experience with Rust.");
    hear_question(&mut c).await;

    // The questions came from the fake model, spoken by the fake voice.
    let agent: Vec<String> = final_agent_texts(&c.events())
        .into_iter()
        .map(|(_, t)| t)
        .collect();
    assert_eq!(agent[..2], [reply_for(0, 2), reply_for(1, 2)]);
    assert!(c.received.iter().any(|r| matches!(r, Received::Audio(_))));

    // TTS goes down: the next question still arrives, as text, and the degradation is an event.
    fake.state.tts.always(Some(Misbehave::Status(500, None)));
    c.answer("Typed, to keep it short.").await;
    c.until("the end", |e| matches!(e, Event::Ended { .. }))
        .await;
    let events = c.events();
    assert!(events.iter().any(|e| {
        matches!(&e.event, Event::Error { code, fatal: false, .. } if code == "tts_unavailable")
    }));
    assert!(events.iter().any(|e| {
        matches!(&e.event, Event::AgentText { is_final: true, text, .. } if text.starts_with("Thank you"))
    }));

    // Accounted with the interview.
    let store = server.store().await;
    let usage = store.usage(id).await.unwrap();
    assert!(
        usage.prompt_tokens >= 240 && usage.completion_tokens >= 36,
        "{usage:?}"
    );
    assert!(usage.stt_seconds > 1.0, "{usage:?}");
    assert!(usage.tts_characters > 50, "{usage:?}");
    assert!(usage.cost_usd > 0.0, "{usage:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn deepgram_streams_partials_while_speaking_and_finals_at_the_end() {
    let fake = FakeVendor::start().await;
    let stt = DeepgramStt::new(Remote::new(settings(&fake)));
    // A refused handshake (503) is retried; the audio pushed meanwhile is not lost.
    fake.state.deepgram.script([Misbehave::Status(503, None)]);
    let (tx, mut partials) = tokio::sync::mpsc::channel(64);
    let vocabulary = Vocabulary::new(["React", "useEffect", "Node.js & co"]);
    let mut session = stt.start(&vocabulary, tx);
    for _ in 0..100 {
        session.push(&[100i16; 320]); // 2 s in 20 ms frames
    }
    let r = session.finish().await.unwrap();
    assert_eq!(r.text, "I have five years of experience with Rust.");
    let mut seen = Vec::new();
    while let Ok(p) = partials.try_recv() {
        seen.push(p);
    }
    assert!(seen.len() >= 3, "{seen:?}");
    assert!(
        seen.windows(2).any(|w| w[0] != w[1]),
        "partials grow: {seen:?}"
    );
    assert_eq!(fake.state.deepgram.hits(), 2);
    assert_eq!(
        fake.state.deepgram.keys.lock().unwrap()[1],
        "Token dg-test-key"
    );
    let q = fake.state.deepgram_queries.lock().unwrap()[0].clone();
    assert!(
        q.contains("encoding=linear16") && q.contains("sample_rate=16000"),
        "{q}"
    );
    // The interview's terms are Nova-3 key terms, each encoded.
    assert!(
        q.ends_with("&keyterm=React&keyterm=useEffect&keyterm=Node.js+%26+co"),
        "{q}"
    );

    // A bad key is not retried.
    fake.state.deepgram.script([Misbehave::Status(401, None)]);
    let (tx, _p) = tokio::sync::mpsc::channel(4);
    let mut session = stt.start(&Vocabulary::default(), tx);
    session.push(&[0i16; 320]);
    let e = session.finish().await.unwrap_err();
    assert!(e.message.contains("401"), "{e}");
    assert_eq!(fake.state.deepgram.hits(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_captions_from_deepgram_reach_the_candidate_as_partial_transcripts() {
    let fake = FakeVendor::start().await;
    let server = TestServer::start_with(|c| {
        c.stt = vec!["deepgram".into()];
        c.deepgram_base_url = fake.deepgram_url();
        c.deepgram_api_key = Some(Secret::new("dg-test-key"));
    })
    .await;
    let (id, token) = server.create_interview().await;
    let mut c = Candidate::join(&server, id, &token, None).await;
    hear_question(&mut c).await;
    c.say(speech("I have spent five years building services in Rust, mostly for payments.").await)
        .await;
    let t = c.final_transcript().await;
    let Event::Transcript { turn, text, .. } = &t.event else {
        unreachable!()
    };
    assert_eq!(text, "I have five years of experience with Rust.");
    let partials: Vec<&str> = c
        .events()
        .into_iter()
        .filter_map(|e| match &e.event {
            Event::Transcript {
                turn: t,
                text,
                is_final: false,
            } if t == turn => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert!(!partials.is_empty(), "captions while speaking");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_recogniser_degrades_the_answer_to_the_next_in_its_chain_and_says_so() {
    let fake = FakeVendor::start().await;
    fake.state.stt.always(Some(Misbehave::Status(401, None)));
    let server = TestServer::start_with(|c| {
        c.stt = vec!["openai".into(), "untranscribed".into()];
        c.openai_base_url = fake.openai_url();
        c.openai_api_key = Some(Secret::new(KEY));
    })
    .await;
    let created = viva::cli::create_interview(&server.config, "Engineer".into(), None, None)
        .await
        .unwrap();
    let (id, token) = (created.interview_id, created.candidate_token);
    // A recruiter watching is told what degraded (the candidate only that it did).
    let mut watcher = connect_url(&server.monitor_url(id), &created.monitor_token).await;
    let mut c = Candidate::join(&server, id, &token, None).await;
    let text = spoken_answer(&mut c, "I have spent five years building services in Rust.").await;
    let seen = loop {
        use futures_util::StreamExt;
        match watcher.next().await {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t))) => {
                let v: serde_json::Value = serde_json::from_str(&t).unwrap();
                if v["type"] == "degraded" {
                    break v;
                }
            }
            Some(Ok(_)) => {}
            other => panic!("monitor ended: {other:?}"),
        }
    };
    assert_eq!(seen["stage"], "stt", "{seen}");
    assert!(seen.get("seq").is_none());
    assert!(!seen["detail"].as_str().unwrap().contains(KEY), "{seen}");
    // The answer is kept (as its length), and the interview goes on to the next question.
    assert!(
        text.starts_with("[speech ") && text.ends_with("not transcribed]"),
        "{text}"
    );
    let degraded: Vec<_> = c
        .events()
        .into_iter()
        .filter_map(|e| match &e.event {
            Event::Error {
                code,
                message,
                fatal: false,
            } if code == "stt_degraded" => Some(message.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(degraded.len(), 1, "{degraded:?}");
    assert!(!degraded[0].contains("401") && !degraded[0].contains(KEY));
    hear_question(&mut c).await;
    let stored = server.turns(id).await;
    assert!(stored.iter().any(|t| t.text == text && !t.transcribed));
}
