//! Integrity signals: things in an interview a person may want to look at before trusting it —
//! for human review only. They never change a score (the assessment's scores are made before
//! and without them), they accuse no one, and each says what was seen, where (turns, offsets),
//! how sure the server is, and what else could explain it.
//!
//! Collected only for interviews made while their organization had `integrity_signals` on (the
//! interview's settings keep the flag): the candidate page's client events (tab hidden, focus
//! lost, a paste into the typed-answer box; `client_event` in docs/protocol.md), stored as they
//! arrive, and what the transcript shows (answer-onset latency, a long silence before a fluent
//! answer, an unusually even speech rate, reconnects).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::assessment::report::Cite;
use crate::protocol::{ClientEventKind, Speaker, TurnKind};
use crate::store::{InterviewRecord, TurnRecord};

/// Client events stored per interview at most (further ones are dropped and counted).
pub const MAX_CLIENT_EVENTS: u32 = 500;

/// A client event as stored: what, and when (ms from the interview's start, server clock).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientSignal {
    pub kind: ClientEventKind,
    pub at_ms: i64,
    /// For a paste: the characters pasted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chars: Option<u32>,
}

impl ClientSignal {
    /// A stored row read back (`kind` as written by [`ClientEventKind::as_str`]).
    pub fn stored(kind: &str, at_ms: i64, chars: Option<i64>) -> crate::store::StoreResult<Self> {
        Ok(Self {
            kind: ClientEventKind::parse(kind).ok_or_else(|| {
                crate::store::StoreError::Corrupt(format!("client event {kind:?}"))
            })?,
            at_ms,
            chars: chars.and_then(|c| u32::try_from(c).ok()),
        })
    }
}

/// One signal for review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Signal {
    /// `tab_hidden`, `focus_lost`, `paste`, `slow_answer_onset`, `silence_then_fluent`,
    /// `even_speech_rate`, `reconnect`.
    pub kind: String,
    /// How sure the server is that what it describes happened as described (0–1) — not how
    /// likely it is that anything was wrong.
    pub confidence: f32,
    /// What was seen, and what else could explain it.
    pub explanation: String,
    /// The turns it concerns, with their offsets (ms from the interview's start).
    pub evidence: Vec<Cite>,
    /// When it was seen, for signals with a moment of their own (ms from the start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<i64>,
}

/// The integrity block of an assessment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Review {
    /// Always `true`: shown for a person to review; no score depends on it.
    pub for_review: bool,
    pub notice: String,
    pub signals: Vec<Signal>,
}

/// An answer this slow to start, relative to the interview's median onset, is noted…
const ONSET_FACTOR: f64 = 3.0;
/// …when it is also at least this slow (ms).
const ONSET_MIN_MS: i64 = 8_000;
/// Speech rate at least this much above the interview's median counts as fluent.
const FLUENT_FACTOR: f64 = 1.15;
/// Answers needed before speech rate is compared across them.
const EVEN_MIN_ANSWERS: usize = 4;
/// Coefficient of variation of words per minute below which the rate is called even.
const EVEN_CV: f64 = 0.05;

struct Answer<'a> {
    turn: &'a TurnRecord,
    onset_ms: Option<i64>,
    wpm: Option<f64>,
}

fn words(text: &str) -> usize {
    text.split_whitespace().count()
}

/// The lower median: with few answers, the typical one rather than one of the unusual ones.
fn median(mut xs: Vec<f64>) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    Some(xs[(xs.len() - 1) / 2])
}

/// The signals of one interview: its record, turns and stored client events.
pub fn review(
    interview: &InterviewRecord,
    turns: &[TurnRecord],
    client: &[ClientSignal],
) -> Review {
    let origin: DateTime<Utc> = interview
        .started_at
        .or_else(|| turns.first().map(|t| t.started_at))
        .unwrap_or(interview.created_at);
    let ms = |t: DateTime<Utc>| (t - origin).num_milliseconds().max(0);
    let cite = |t: &TurnRecord| Cite {
        turn: t.seq,
        start_ms: ms(t.started_at),
        end_ms: ms(t.ended_at),
        quote: None,
    };
    let mut signals = Vec::new();

    // Spoken answers: how long after the question each began, and how fast it went.
    let mut answers: Vec<Answer> = Vec::new();
    let mut last_question: Option<&TurnRecord> = None;
    for t in turns {
        match (t.speaker, t.kind) {
            (Speaker::Interviewer, TurnKind::Question) => last_question = Some(t),
            (Speaker::Candidate, TurnKind::Answer) if t.transcribed => {
                let spoken = t.audio_ms >= 1_000 && words(&t.text) >= 5;
                answers.push(Answer {
                    turn: t,
                    onset_ms: last_question
                        .take()
                        .filter(|_| t.audio_ms > 0)
                        .map(|q| (t.started_at - q.ended_at).num_milliseconds()),
                    wpm: spoken.then(|| words(&t.text) as f64 * 60_000.0 / f64::from(t.audio_ms)),
                });
            }
            _ => {}
        }
    }
    let onsets = median(
        answers
            .iter()
            .filter_map(|a| a.onset_ms.map(|o| o as f64))
            .collect(),
    );
    let rates = median(answers.iter().filter_map(|a| a.wpm).collect());
    for a in &answers {
        let (Some(onset), Some(typical)) = (a.onset_ms, onsets) else {
            continue;
        };
        if onset < ONSET_MIN_MS || (onset as f64) < typical * ONSET_FACTOR {
            continue;
        }
        let fluent = matches!((a.wpm, rates), (Some(w), Some(r)) if w >= r * FLUENT_FACTOR);
        let secs = onset as f64 / 1000.0;
        let typical_s = typical / 1000.0;
        signals.push(if fluent {
            Signal {
                kind: "silence_then_fluent".into(),
                confidence: 0.4,
                explanation: format!(
                    "{secs:.1} s of silence before this answer (the interview's median is \
                     {typical_s:.1} s), then delivered faster than the candidate's other answers \
                     ({:.0} words a minute against a median of {:.0}). Thinking before a \
                     well-practised answer looks the same; listen to it.",
                    a.wpm.unwrap_or_default(),
                    rates.unwrap_or_default()
                ),
                evidence: vec![cite(a.turn)],
                at_ms: None,
            }
        } else {
            Signal {
                kind: "slow_answer_onset".into(),
                confidence: 0.7,
                explanation: format!(
                    "The answer began {secs:.1} s after the question ended; the interview's \
                     median is {typical_s:.1} s. A hard question, a pause to think or a \
                     connection problem can all cause this."
                ),
                evidence: vec![cite(a.turn)],
                at_ms: None,
            }
        });
    }
    let rated: Vec<&Answer> = answers.iter().filter(|a| a.wpm.is_some()).collect();
    if rated.len() >= EVEN_MIN_ANSWERS {
        let w: Vec<f64> = rated.iter().filter_map(|a| a.wpm).collect();
        let mean = w.iter().sum::<f64>() / w.len() as f64;
        let sd = (w.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / w.len() as f64).sqrt();
        let cv = sd / mean.max(1.0);
        if cv < EVEN_CV {
            signals.push(Signal {
                kind: "even_speech_rate".into(),
                confidence: 0.3,
                explanation: format!(
                    "Every spoken answer ran at nearly the same pace ({mean:.0} words a minute, \
                     varying by {:.1} %); spontaneous answers usually vary more, reading aloud \
                     varies less. Some people simply speak evenly: listen before concluding \
                     anything.",
                    cv * 100.0
                ),
                evidence: rated.iter().map(|a| cite(a.turn)).collect(),
                at_ms: None,
            });
        }
    }

    // Reconnects: each is welcomed back by the interviewer.
    for t in turns
        .iter()
        .filter(|t| t.kind == TurnKind::Notice && t.text.starts_with("Welcome back"))
    {
        signals.push(Signal {
            kind: "reconnect".into(),
            confidence: 1.0,
            explanation: "The candidate's connection dropped and they rejoined; the interview \
                          continued where it was. Networks fail; look only at what happened \
                          around it."
                .into(),
            evidence: vec![cite(t)],
            at_ms: Some(ms(t.started_at)),
        });
    }

    // Client events, with the turn in progress when each happened.
    let during = |at: i64| {
        turns
            .iter()
            .rfind(|t| ms(t.started_at) <= at)
            .map(cite)
            .into_iter()
            .collect::<Vec<_>>()
    };
    let mut hidden_since: Option<(ClientEventKind, i64)> = None;
    let away = |kind: ClientEventKind, from: i64, to: Option<i64>, signals: &mut Vec<Signal>| {
        let (name, what) = match kind {
            ClientEventKind::TabHidden => (
                "tab_hidden",
                "The interview page was hidden (another tab or window in front)",
            ),
            _ => (
                "focus_lost",
                "The interview page lost focus (another window or application was used)",
            ),
        };
        let how_long = to.map_or_else(
            || " and did not come back before the interview ended".to_owned(),
            |to| format!(" for {:.1} s", (to - from) as f64 / 1000.0),
        );
        signals.push(Signal {
            kind: name.into(),
            confidence: 0.9,
            explanation: format!(
                "{what}{how_long}, as the candidate's browser reported it. Notifications, \
                 another device or accessibility tools can cause this too."
            ),
            evidence: during(from),
            at_ms: Some(from),
        });
    };
    for e in client {
        match e.kind {
            ClientEventKind::TabHidden | ClientEventKind::FocusLost => {
                // Hidden and blurred usually come together: the first one counts.
                if hidden_since.is_none() {
                    hidden_since = Some((e.kind, e.at_ms));
                }
            }
            ClientEventKind::TabVisible | ClientEventKind::FocusGained => {
                if let Some((kind, from)) = hidden_since.take() {
                    away(kind, from, Some(e.at_ms), &mut signals);
                }
            }
            ClientEventKind::Paste => {
                // The typed answer that followed the paste, if one did (a second's slack: the
                // clock readings are rounded differently).
                let typed = turns.iter().find(|t| {
                    t.speaker == Speaker::Candidate
                        && t.audio_ms == 0
                        && ms(t.started_at) >= e.at_ms - 1_000
                });
                signals.push(Signal {
                    kind: "paste".into(),
                    confidence: 0.9,
                    explanation: format!(
                        "{} pasted into the typed-answer box{}. Candidates may paste their own \
                         notes or text typed elsewhere; compare it with their spoken answers.",
                        e.chars.map_or_else(
                            || "Text was".to_owned(),
                            |c| format!("{c} characters were")
                        ),
                        typed.map_or(String::new(), |t| format!(", then sent as turn {}", t.seq))
                    ),
                    evidence: typed.map(cite).into_iter().collect::<Vec<_>>(),
                    at_ms: Some(e.at_ms),
                });
            }
        }
    }
    if let Some((kind, from)) = hidden_since {
        away(kind, from, None, &mut signals);
    }
    signals.sort_by_key(|s| s.at_ms.or_else(|| s.evidence.first().map(|c| c.start_ms)));
    Review {
        for_review: true,
        notice: "For human review only: these signals change no score and prove nothing on their \
                 own. Each says what was seen and what else could explain it."
            .into(),
        signals,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::NewInterview;

    /// An interview started at t = 0 whose turns are (speaker, kind, text, start s, end s,
    /// audio ms).
    fn interview(
        turns: &[(Speaker, TurnKind, &str, f64, f64, u32)],
    ) -> (InterviewRecord, Vec<TurnRecord>) {
        let mut rec = InterviewRecord::scheduled(&NewInterview::default());
        let t0 = Utc::now();
        rec.started_at = Some(t0);
        let at = |s: f64| t0 + chrono::Duration::milliseconds((s * 1000.0) as i64);
        let turns = turns
            .iter()
            .enumerate()
            .map(
                |(i, (speaker, kind, text, start, end, audio_ms))| TurnRecord {
                    interview_id: rec.id,
                    seq: i as u32 + 1,
                    speaker: *speaker,
                    kind: *kind,
                    text: (*text).into(),
                    transcribed: true,
                    interrupted: false,
                    audio_ms: *audio_ms,
                    started_at: at(*start),
                    ended_at: at(*end),
                    timings: None,
                    suggested: false,
                    decision: None,
                },
            )
            .collect();
        (rec, turns)
    }

    const Q: (Speaker, TurnKind) = (Speaker::Interviewer, TurnKind::Question);
    const A: (Speaker, TurnKind) = (Speaker::Candidate, TurnKind::Answer);
    const TEN: &str = "one two three four five six seven eight nine ten";
    const TWENTY: &str = "one two three four five six seven eight nine ten \
                          one two three four five six seven eight nine ten";

    #[test]
    fn a_slow_start_is_noted_and_a_slow_start_before_a_fast_answer_says_so() {
        // Onsets 1, 1, 12 and 15 s; the last answer is twice as fast as the others.
        let (rec, turns) = interview(&[
            (Q.0, Q.1, "Q1?", 0.0, 3.0, 0),
            (A.0, A.1, TEN, 4.0, 9.0, 5_000),
            (Q.0, Q.1, "Q2?", 10.0, 13.0, 0),
            (A.0, A.1, TEN, 14.0, 19.0, 5_000),
            (Q.0, Q.1, "Q3?", 20.0, 23.0, 0),
            (A.0, A.1, TEN, 35.0, 40.0, 5_000),
            (Q.0, Q.1, "Q4?", 41.0, 44.0, 0),
            (A.0, A.1, TWENTY, 59.0, 64.0, 5_000),
        ]);
        let r = review(&rec, &turns, &[]);
        assert!(r.for_review);
        let kinds: Vec<(&str, u32)> = r
            .signals
            .iter()
            .map(|s| (s.kind.as_str(), s.evidence[0].turn))
            .collect();
        assert_eq!(
            kinds,
            [("slow_answer_onset", 6), ("silence_then_fluent", 8)]
        );
        assert!(
            r.signals[0]
                .explanation
                .starts_with("The answer began 12.0 s after"),
            "{:?}",
            r.signals[0]
        );
        assert_eq!(
            (
                r.signals[0].evidence[0].start_ms,
                r.signals[0].evidence[0].end_ms
            ),
            (35_000, 40_000)
        );
    }

    #[test]
    fn an_even_pace_across_answers_a_reconnect_and_the_pages_events_are_noted() {
        let (rec, turns) = interview(&[
            (Q.0, Q.1, "Q1?", 0.0, 3.0, 0),
            (A.0, A.1, TEN, 4.0, 9.0, 5_000),
            (Q.0, Q.1, "Q2?", 10.0, 13.0, 0),
            (A.0, A.1, TEN, 14.0, 19.0, 5_000),
            (
                Speaker::Interviewer,
                TurnKind::Notice,
                "Welcome back. Where were we?",
                20.0,
                22.0,
                0,
            ),
            (Q.0, Q.1, "Q3?", 23.0, 25.0, 0),
            (A.0, A.1, TEN, 26.0, 31.0, 5_000),
            (Q.0, Q.1, "Q4?", 32.0, 34.0, 0),
            (A.0, A.1, TEN, 35.0, 40.0, 5_000),
            (Q.0, Q.1, "Q5?", 41.0, 43.0, 0),
            (A.0, A.1, "Typed: my answer.", 50.0, 50.0, 0),
        ]);
        let ev = |kind, at_ms, chars| ClientSignal { kind, at_ms, chars };
        let client = [
            ev(ClientEventKind::TabHidden, 15_000, None),
            ev(ClientEventKind::FocusLost, 15_010, None),
            ev(ClientEventKind::TabVisible, 17_500, None),
            ev(ClientEventKind::FocusGained, 17_510, None),
            ev(ClientEventKind::Paste, 48_000, Some(120)),
            ev(ClientEventKind::FocusLost, 55_000, None),
        ];
        let r = review(&rec, &turns, &client);
        let kinds: Vec<&str> = r.signals.iter().map(|s| s.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "even_speech_rate",
                "tab_hidden",
                "reconnect",
                "paste",
                "focus_lost"
            ]
        );
        let even = &r.signals[0];
        assert_eq!(even.evidence.len(), 4);
        let hidden = &r.signals[1];
        assert!(hidden.explanation.contains("for 2.5 s"), "{hidden:?}");
        assert_eq!(hidden.evidence[0].turn, 4, "the answer in progress");
        assert_eq!(r.signals[2].evidence[0].turn, 5);
        assert!(r.signals[3]
            .explanation
            .starts_with("120 characters were pasted"));
        assert_eq!(
            r.signals[3].evidence[0].turn, 11,
            "the typed answer after it"
        );
        assert!(r.signals[4].explanation.contains("did not come back"));
    }

    #[test]
    fn an_ordinary_interview_has_nothing_to_review() {
        let (rec, turns) = interview(&[
            (Q.0, Q.1, "Q1?", 0.0, 3.0, 0),
            (A.0, A.1, TEN, 4.0, 9.0, 5_000),
            (Q.0, Q.1, "Q2?", 10.0, 13.0, 0),
            (A.0, A.1, TWENTY, 14.5, 24.0, 9_500),
        ]);
        assert!(review(&rec, &turns, &[]).signals.is_empty());
    }
}
