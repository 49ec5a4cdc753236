//! End-of-turn decisions on the labelled set (issue #19, `tests/fixtures/turn-taking-answers.txt`):
//! 32 answers with thinking pauses of 1.5–3 s after unfinished phrases and 32 complete ones,
//! spoken with espeak-ng, run through the ear's VAD and endpointing frame by frame, once with
//! today's fixed silences (700 and 1200 ms) and once with the adaptive policy
//! (`viva::turns`). The words the policy judges at a pause are the ones spoken so far, as
//! written in the set (an oracle transcript: what the recogniser would give at best; a
//! recogniser's own figures are in docs/benchmarks.md when measured).
//!
//! Prints the figures (`scripts/turn-taking-eval.sh` keeps them); asserts the targets: no false
//! cut-in, and complete answers answered sooner than today.

use viva::audio::codec::LISTEN_FRAME;
use viva::audio::endpoint::{Endpoint, EndpointConfig, Endpointer};
use viva::audio::resample::Resampler;
use viva::audio::vad::Vad;
use viva::turns::completeness::judge;
use viva::turns::intonation::Intonation;
use viva::turns::policy::TurnPolicy;

const FRAME_MS: u32 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Label {
    Thinking,
    Complete,
}

/// One answer of the set, spoken: 16 kHz audio, and where each segment's words end.
struct Spoken {
    label: Label,
    pcm: Vec<i16>,
    /// (sample where the segment's last word ends, the words spoken up to there).
    said: Vec<(usize, String)>,
}

async fn speak_16k(text: &str) -> Vec<i16> {
    let wav = viva::providers::espeak::speak_wav("en-us", 160, text)
        .await
        .unwrap();
    let pcm48 = viva::audio::client::wav_to_48k(&wav).unwrap();
    let mut out = Vec::new();
    Resampler::new(48_000, 16_000).process(&pcm48, &mut out);
    out
}

/// How espeak-ng voices the phrase before a thinking pause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Voicing {
    /// As written: espeak-ng ends every clause without punctuation with a statement's fall
    /// (its default), so the voice says "finished" whatever the words.
    Statement,
    /// Going on, as a speaker who stops mid-phrase says it: espeak-ng's continuation tone (the
    /// phrase is synthesised with a comma after it). The words judged stay as written.
    Continuation,
}

async fn labelled_set() -> Vec<Spoken> {
    labelled_set_voiced(Voicing::Statement).await
}

async fn labelled_set_voiced(voicing: Voicing) -> Vec<Spoken> {
    let text = include_str!("fixtures/turn-taking-answers.txt");
    let mut set = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let (label, rest) = line.split_once('\t').unwrap();
        let label = match label {
            "thinking" => Label::Thinking,
            "complete" => Label::Complete,
            other => panic!("unknown label {other}"),
        };
        let parts: Vec<&str> = rest.split('|').map(str::trim).collect();
        let mut pcm = vec![0i16; 16_000 / 2];
        let mut said = Vec::new();
        let mut words = String::new();
        for (i, part) in parts.iter().enumerate() {
            if i % 2 == 1 {
                let secs: f64 = part.parse().unwrap();
                pcm.extend(std::iter::repeat_n(0, (secs * 16_000.0) as usize));
                continue;
            }
            let goes_on = label == Label::Thinking && i + 1 < parts.len();
            let voice = if goes_on && voicing == Voicing::Continuation {
                speak_16k(&format!("{part},")).await
            } else {
                speak_16k(part).await
            };
            // The words are said once their last voiced sample is (espeak-ng's clip ends in
            // silence of its own).
            let voiced = voice
                .iter()
                .rposition(|s| s.unsigned_abs() > 300)
                .unwrap_or(0);
            let said_at = pcm.len() + voiced;
            pcm.extend(voice);
            if !words.is_empty() {
                words.push(' ');
            }
            words.push_str(part);
            said.push((said_at, words.clone()));
        }
        // Room for the longest wait after the answer.
        pcm.extend(std::iter::repeat_n(0, 16_000 * 6));
        set.push(Spoken { label, pcm, said });
    }
    set
}

#[derive(Debug, Clone, Copy)]
enum Mode {
    Fixed(u32),
    Adaptive(u32),
    /// The adaptive policy with no words: each pause judged by how the voice ended
    /// (`turns::intonation`), as on the embedded default.
    Intonation(u32),
}

/// What one answer got: the turn ended mid-answer (a cut-in), or after the last speech, this
/// long after it.
#[derive(Debug)]
enum Outcome {
    CutIn,
    Answered { wait_ms: u32 },
    Never,
}

fn run(answer: &Spoken, mode: Mode, policy: &TurnPolicy) -> Outcome {
    run_heard(answer, mode, policy, &mut speaker())
}

/// A candidate's voice as the ear knows it when an answer begins: after the interview's first
/// answer, by the same voice (the cue compares a phrase's end with the speaker's typical pitch).
fn speaker() -> Intonation {
    static HEARD: std::sync::OnceLock<Intonation> = std::sync::OnceLock::new();
    HEARD
        .get_or_init(|| {
            let text = "I have five years of experience building web applications with React.";
            let pcm = std::thread::spawn(move || {
                tokio::runtime::Runtime::new()
                    .unwrap()
                    .block_on(speak_16k(text))
            })
            .join()
            .unwrap();
            let mut vad = Vad::new(2);
            let mut voice = Intonation::default();
            voice.start();
            for frame in pcm.chunks_exact(LISTEN_FRAME) {
                voice.hear(frame, vad.is_speech(frame));
            }
            voice
        })
        .clone()
}

/// [`run`], the ear following the pitch in `voice` as it hears the answer.
fn run_heard(answer: &Spoken, mode: Mode, policy: &TurnPolicy, voice: &mut Intonation) -> Outcome {
    let mut vad = Vad::new(2);
    let mut ep = Endpointer::new(EndpointConfig::default());
    let frames: Vec<&[i16]> = answer.pcm.chunks_exact(LISTEN_FRAME).collect();
    let speech: Vec<bool> = frames.iter().map(|f| vad.is_speech(f)).collect();
    let last_speech = speech.iter().rposition(|s| *s).expect("speech");
    let mut rule = None;
    for (i, &is_speech) in speech.iter().enumerate() {
        let end_silence = match mode {
            Mode::Fixed(ms) => ms,
            Mode::Intonation(base) => {
                if is_speech {
                    rule = None;
                } else if ep.in_speech() && rule.is_none() && ep.silence_ms() >= policy.probe_ms {
                    let verdict = voice.verdict();
                    if std::env::var_os("TURN_TAKING_DEBUG").is_some() {
                        eprintln!(
                            "  pause at {} ms: {verdict:?} ({:?} st)",
                            i as u32 * FRAME_MS,
                            voice.end_semitones()
                        );
                    }
                    rule = Some(policy.rule(verdict, base, false));
                }
                rule.map_or(base, |r| r.end_silence_ms)
            }
            Mode::Adaptive(base) => {
                if is_speech {
                    rule = None;
                } else if ep.in_speech() && rule.is_none() && ep.silence_ms() >= policy.probe_ms {
                    let now = (i + 1) * LISTEN_FRAME;
                    let words = answer
                        .said
                        .iter()
                        .take_while(|(end, _)| *end <= now)
                        .last()
                        .map(|(_, w)| w.as_str())
                        .unwrap_or("");
                    rule = Some(policy.rule(judge(words), base, false));
                }
                rule.map_or(base, |r| r.end_silence_ms)
            }
        };
        let endpoint = ep.push(is_speech, end_silence);
        // As the ear does: an utterance's frames, from the one that starts it.
        match endpoint {
            Endpoint::Start => {
                voice.start();
                voice.hear(frames[i], is_speech);
            }
            Endpoint::None if ep.in_speech() => voice.hear(frames[i], is_speech),
            _ => {}
        }
        if let Endpoint::End { .. } = endpoint {
            if i < last_speech {
                return Outcome::CutIn;
            }
            return Outcome::Answered {
                wait_ms: (i - last_speech) as u32 * FRAME_MS,
            };
        }
    }
    Outcome::Never
}

fn pct(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[derive(Debug)]
struct Figures {
    thinking_cut_ins: usize,
    complete_cut_ins: usize,
    never: usize,
    complete_wait: Vec<u32>,
    thinking_wait: Vec<u32>,
}

impl Figures {
    /// One line of a printed table: cut-ins of each kind, and the waits after complete answers.
    fn line(&self, label: &str, thinking: usize, complete: usize) -> String {
        format!(
            "{label:<36} cut-ins think {}/{thinking}, cut-ins done {}/{complete}, wait done p50/p99 {} / {} ms",
            self.thinking_cut_ins,
            self.complete_cut_ins,
            pct(&self.complete_wait, 0.5),
            pct(&self.complete_wait, 0.99)
        )
    }
}

fn figures(set: &[Spoken], mode: Mode, policy: &TurnPolicy) -> Figures {
    let mut f = Figures {
        thinking_cut_ins: 0,
        complete_cut_ins: 0,
        never: 0,
        complete_wait: Vec::new(),
        thinking_wait: Vec::new(),
    };
    for a in set {
        let outcome = run(a, mode, policy);
        if std::env::var_os("TURN_TAKING_DEBUG").is_some() {
            eprintln!(
                "{mode:?} {:?} {outcome:?}: {}",
                a.label,
                a.said.last().unwrap().1
            );
        }
        match (outcome, a.label) {
            (Outcome::CutIn, Label::Thinking) => f.thinking_cut_ins += 1,
            (Outcome::CutIn, Label::Complete) => f.complete_cut_ins += 1,
            (Outcome::Never, _) => f.never += 1,
            (Outcome::Answered { wait_ms }, Label::Complete) => f.complete_wait.push(wait_ms),
            (Outcome::Answered { wait_ms }, Label::Thinking) => f.thinking_wait.push(wait_ms),
        }
    }
    f.complete_wait.sort_unstable();
    f.thinking_wait.sort_unstable();
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_adaptive_end_of_turn_never_cuts_in_on_the_labelled_set_and_answers_sooner() {
    let set = labelled_set().await;
    let thinking = set.iter().filter(|a| a.label == Label::Thinking).count();
    let complete = set.len() - thinking;
    assert!(thinking >= 30 && complete >= 30);
    let policy = TurnPolicy::default();
    eprintln!(
        "turn-taking on the labelled set ({thinking} thinking, {complete} complete; {policy:?})"
    );
    eprintln!(
        "{:<22} {:>14} {:>14} {:>22} {:>22}",
        "mode", "cut-ins think", "cut-ins done", "wait done p50/p99", "wait think p50/p99"
    );
    let mut all = Vec::new();
    for mode in [
        Mode::Fixed(700),
        Mode::Fixed(1200),
        Mode::Adaptive(700),
        Mode::Adaptive(1200),
    ] {
        let f = figures(&set, mode, &policy);
        eprintln!(
            "{:<22} {:>14} {:>14} {:>22} {:>22}",
            format!("{mode:?}"),
            format!("{}/{thinking}", f.thinking_cut_ins),
            format!("{}/{complete}", f.complete_cut_ins),
            format!(
                "{} / {} ms",
                pct(&f.complete_wait, 0.5),
                pct(&f.complete_wait, 0.99)
            ),
            format!(
                "{} / {} ms",
                pct(&f.thinking_wait, 0.5),
                pct(&f.thinking_wait, 0.99)
            ),
        );
        assert_eq!(f.never, 0, "{mode:?}: every answer's turn ends");
        all.push((mode, f));
    }
    // After a short question (700 ms today) and after an open one (1200 ms):
    for (fixed, adaptive) in [(&all[0].1, &all[2].1), (&all[1].1, &all[3].1)] {
        // today's fixed silence cuts thinking candidates off; the adaptive end of turn does not,
        assert!(fixed.thinking_cut_ins > 0, "{fixed:?}");
        assert_eq!(adaptive.thinking_cut_ins, 0, "{adaptive:?}");
        // cuts in on no more complete answers than today, and answers them sooner.
        assert!(adaptive.complete_cut_ins <= fixed.complete_cut_ins);
        assert!(
            pct(&adaptive.complete_wait, 0.5) < pct(&fixed.complete_wait, 0.5),
            "{adaptive:?} against {fixed:?}"
        );
    }
}

mod common;

use common::fakes::FakeVendor;
use common::*;
use viva::protocol::{Event, InterviewState};

/// Whether the interview showed `waiting` so far.
fn went_waiting(c: &Candidate) -> bool {
    c.events().iter().any(|e| {
        e.event
            == Event::State {
                state: InterviewState::Waiting,
            }
    })
}

/// Says "So the first thing I would do is", thinks for 2.5 s, then finishes the sentence, to a
/// server whose recogniser streams live partials (the Deepgram fake: a word per half second of
/// audio). What the interview made of it when the interviewer took its next turn: the answers
/// stored (their audio, in ms), and whether it showed `waiting`.
async fn thinking_answer(adaptive: bool) -> (Vec<u32>, bool) {
    let fake = FakeVendor::start().await;
    *fake.state.transcript.lock().unwrap() =
        "So the first thing I would do is look at the slow queries in the logs.".into();
    let server = TestServer::start_with(|c| {
        c.stt = vec!["deepgram".into()];
        c.deepgram_base_url = fake.deepgram_url();
        c.deepgram_api_key = Some(viva::config::Secret::new("dg-test-key"));
        c.turn_adaptive = adaptive;
    })
    .await;
    let (id, token) = server.create_interview().await;
    let mut c = Candidate::join(&server, id, &token, None).await;
    hear_question(&mut c).await;
    let mut answer = speech("So the first thing I would do is").await;
    answer.extend((0..125).map(|_| silence_packet()));
    answer.extend(speech("look at the slow queries in the logs.").await);
    c.say(answer).await;
    // The interviewer's next turn: after the whole answer, or (cut off) after its first half.
    c.until(
        "the next question",
        |e| matches!(e, Event::AudioStart { turn } if *turn > 1),
    )
    .await;
    let waited = went_waiting(&c);
    let turns = server.turns(id).await;
    let heard = turns
        .iter()
        .filter(|t| t.speaker == viva::protocol::Speaker::Candidate)
        .map(|t| t.audio_ms)
        .collect();
    server.shutdown().await;
    (heard, waited)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_candidate_thinking_mid_answer_is_waited_for_where_a_fixed_silence_cuts_them_off() {
    // Today's fixed silence: the pause ends the turn, and the interviewer answers half an
    // answer (its first ~2 s).
    let (fixed, fixed_waited) = thinking_answer(false).await;
    assert!(!fixed_waited);
    assert_eq!(fixed.len(), 1, "{fixed:?}");
    assert!(fixed[0] < 3500, "cut off after the first half: {fixed:?}");
    // Adaptive: the words at the pause stop mid-phrase; the interviewer shows it is waiting,
    // and takes its turn after the whole answer, pause included, as one answer.
    let (adaptive, waited) = thinking_answer(true).await;
    assert!(waited, "the state went to waiting");
    assert_eq!(adaptive.len(), 1, "{adaptive:?}");
    assert!(adaptive[0] > 5000, "the whole answer: {adaptive:?}");
}

/// The labelled set judged on Whisper's own live captions (greedy, as `whisper-local` makes them
/// every second of new speech) instead of the written words: at each pause inside a thinking
/// answer and at the end of each complete one, Whisper transcribes the audio up to there. (A
/// thinking answer's own end keeps the written words: it only sets how long its last wait is.)
/// What the adaptive end of turn does with a real recogniser's words, punctuation included.
#[cfg(feature = "whisper-local")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_adaptive_end_of_turn_on_whispers_own_captions() {
    use viva::providers::whisper::ct2::Ct2Whisper;
    use viva::providers::whisper::pool::Transcribe;
    use viva::providers::whisper::WhisperSettings;

    let model = require_whisper_model();
    let engine = std::sync::Arc::new(
        Ct2Whisper::load(&WhisperSettings::sized_to(2, model)).expect("the model loads"),
    );
    let mut set = labelled_set().await;
    let mut heard_finished = [0usize; 2];
    let mut points = [0usize; 2];
    for a in &mut set {
        let mids = match a.label {
            Label::Thinking => a.said.len() - 1,
            Label::Complete => a.said.len(),
        };
        for (end, words) in a.said.iter_mut().take(mids) {
            // A second past the last word: what a caption taken in the pause has heard.
            let upto = (*end + 16_000).min(a.pcm.len());
            let samples: Vec<f32> = a.pcm[..upto]
                .iter()
                .map(|s| f32::from(*s) / 32_768.0)
                .collect();
            let e = engine.clone();
            let caption = tokio::task::spawn_blocking(move || e.transcribe(&samples, true, None))
                .await
                .unwrap()
                .expect("Whisper transcribes");
            let i = usize::from(a.label == Label::Complete);
            points[i] += 1;
            if judge(&caption) == viva::turns::completeness::Completeness::Finished {
                heard_finished[i] += 1;
            }
            if std::env::var_os("TURN_TAKING_DEBUG").is_some() {
                eprintln!(
                    "{:?} {:?} → {caption:?} ({:?})",
                    a.label,
                    words,
                    judge(&caption)
                );
            }
            *words = caption;
        }
    }
    let policy = TurnPolicy::default();
    let (thinking, complete) = (
        set.iter().filter(|a| a.label == Label::Thinking).count(),
        set.iter().filter(|a| a.label == Label::Complete).count(),
    );
    eprintln!(
        "on Whisper base's captions: {}/{} pauses inside thinking answers read finished, {}/{} ends of complete ones",
        heard_finished[0], points[0], heard_finished[1], points[1]
    );
    for mode in [Mode::Adaptive(700), Mode::Adaptive(1200)] {
        let f = figures(&set, mode, &policy);
        eprintln!(
            "{}",
            f.line(&format!("{mode:?} (Whisper)"), thinking, complete)
        );
        assert_eq!(f.never, 0, "{mode:?}: every answer's turn ends");
        // Whatever Whisper makes of them, the captions never cut in more than today's fixed
        // silences do (32/32 thinking answers, at 700 and at 1200 ms).
        assert!(f.thinking_cut_ins < thinking, "{f:?}");
    }
}

/// The embedded default's cue (no words at a pause: Whisper with one worker): each pause judged
/// by how the voice ended (`turns::intonation`), on the labelled set voiced two ways — thinking
/// phrases spoken as going on (espeak-ng's continuation tone, as a person who stops mid-phrase
/// sounds), and as espeak-ng says them by default (a statement's fall on every phrase, where the
/// voice cannot tell them from finished answers). Prints both; asserts the first never cuts in
/// more, nor answers complete answers later, than the fixed silences, and the second never
/// answers later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_words_the_voice_decides_how_long_a_pause_is() {
    let policy = TurnPolicy::default();
    for voicing in [Voicing::Continuation, Voicing::Statement] {
        let set = labelled_set_voiced(voicing).await;
        let thinking = set.iter().filter(|a| a.label == Label::Thinking).count();
        let complete = set.len() - thinking;
        let mut all = Vec::new();
        for mode in [
            Mode::Fixed(700),
            Mode::Fixed(1200),
            Mode::Intonation(700),
            Mode::Intonation(1200),
        ] {
            let f = figures(&set, mode, &policy);
            eprintln!(
                "{}",
                f.line(&format!("{voicing:?} {mode:?}"), thinking, complete)
            );
            assert_eq!(f.never, 0, "{mode:?}: every answer's turn ends");
            all.push(f);
        }
        for (fixed, heard) in [(&all[0], &all[2]), (&all[1], &all[3])] {
            assert!(
                pct(&heard.complete_wait, 0.5) <= pct(&fixed.complete_wait, 0.5),
                "{voicing:?}: {heard:?} against {fixed:?}"
            );
            if voicing == Voicing::Continuation {
                assert!(heard.thinking_cut_ins < fixed.thinking_cut_ins, "{heard:?}");
                assert!(
                    heard.complete_cut_ins <= fixed.complete_cut_ins,
                    "{heard:?}"
                );
            }
        }
    }
}

/// The embedded default, where a pause has no words (the local Whisper with one worker and no
/// live captions, or no recogniser at all): the ear follows the candidate's pitch. A complete
/// answer is answered as one; a candidate who stops on a level voice after "So the first thing
/// I would do is" is shown `waiting`, waited for, and heard whole, pause included, as one
/// answer (Whisper's words, when built with it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_embedded_default_a_thinking_candidate_is_waited_for_by_their_voice() {
    let whisper = whisper_built_in();
    let server = TestServer::start_with(|c| {
        if whisper {
            c.stt = vec!["whisper-local".into()];
            c.whisper_model = whisper_model();
            c.whisper_workers = Some(1);
            c.whisper_partial_ms = Some(0);
        } else {
            c.stt = vec!["untranscribed".into()];
        }
        c.scripted_questions = 4;
    })
    .await;
    let (id, token) = server.create_interview().await;
    let mut c = Candidate::join(&server, id, &token, None).await;
    hear_question(&mut c).await;

    // A complete answer: one turn, never `waiting`.
    c.say(speech("I would start by measuring where the time actually goes.").await)
        .await;
    c.until(
        "the next question",
        |e| matches!(e, Event::AudioStart { turn } if *turn > 1),
    )
    .await;
    assert!(!went_waiting(&c), "a finished answer is not waited on");

    // Thinking mid-phrase, the voice level ("…would do is,"), 2.5 s, then the rest.
    let mut answer = speech("So the first thing I would do is,").await;
    answer.extend((0..125).map(|_| silence_packet()));
    answer.extend(speech("look at the slow queries in the logs.").await);
    c.say(answer).await;
    c.until(
        "the question after",
        |e| matches!(e, Event::AudioStart { turn } if *turn > 3),
    )
    .await;
    assert!(went_waiting(&c), "the state went to waiting");
    let turns = server.turns(id).await;
    let answers: Vec<_> = turns
        .iter()
        .filter(|t| t.speaker == viva::protocol::Speaker::Candidate)
        .collect();
    assert_eq!(answers.len(), 2, "{answers:?}");
    assert!(
        answers[1].audio_ms > 5000,
        "the whole answer, pause included: {:?}",
        answers[1]
    );
    if whisper {
        let heard = answers[1].text.to_lowercase();
        assert!(
            heard.contains("first thing") && heard.contains("logs"),
            "{heard}"
        );
    }
    server.shutdown().await;
}
