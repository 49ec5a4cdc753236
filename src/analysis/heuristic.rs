//! The offline analyst: an honest heuristic, no model. It counts what it can see in the stored
//! answer — the question's rubric terms and the job's skills it uses, its length and structure
//! (examples, steps, reasons, trade-offs), filler words and hedges, the speaking rate — and maps
//! the counts to the four dimensions. It cannot tell a right statement from a wrong one that
//! uses the same words: its "correctness" is rubric coverage, and every result says `heuristic`.
//!
//! Its ranking of strong above weak answers is measured on a labelled set
//! (`tests/fixtures/labelled-answers.json`, `tests/heuristic_analyst.rs`; docs/benchmarks.md).

use std::collections::BTreeSet;

use super::text::{count_phrases, sentences, stem, terms, words};
use super::{AnalysisStatus, AnswerAnalysis, AnswerInput, Evidence, Method, Scores};

const EXAMPLES: &[&str] = &[
    "for example",
    "for instance",
    "such as",
    "e g",
    "in one project",
    "last year",
    "at my last",
    "we had",
    "i had",
    "in practice",
];
const REASONS: &[&str] = &[
    "because",
    "so that",
    "which means",
    "the reason",
    "that way",
    "otherwise",
    "to avoid",
    "in order to",
];
const STEPS: &[&str] = &[
    "first",
    "then",
    "next",
    "finally",
    "after that",
    "second",
    "step",
    "once",
];
const TRADE_OFFS: &[&str] = &[
    "trade off",
    "tradeoff",
    "however",
    "downside",
    "on the other hand",
    "instead",
    "it depends",
    "cost",
    "but",
    "risk",
];
const FILLERS: &[&str] = &[
    "um",
    "uh",
    "erm",
    "hmm",
    "you know",
    "sort of",
    "kind of",
    "basically",
    "i guess",
    "whatever",
    "stuff",
    "and so on",
];
const HEDGES: &[&str] = &[
    "i don t know",
    "not sure",
    "no idea",
    "never used",
    "don t remember",
    "can t remember",
    "i forget",
    "not really",
    "haven t",
];

fn clamp10(x: f32) -> u8 {
    x.round().clamp(0.0, 10.0) as u8
}

/// Analyses one answer (always `scored`; an empty answer scores zeros).
pub fn analyse(input: &AnswerInput) -> AnswerAnalysis {
    let answer_words = words(input.answer);
    let n = answer_words.len();
    let said: BTreeSet<String> = answer_words.iter().map(|w| stem(w)).collect();
    // The rubric's points, with the skills' names.
    let mut rubric = terms(input.rubric);
    for s in input.skills {
        rubric.extend(terms(s));
    }
    let question = terms(input.question);
    let covered: Vec<String> = rubric
        .iter()
        .filter(|t| said.contains(*t))
        .cloned()
        .collect();
    let missing: Vec<String> = rubric
        .iter()
        .filter(|t| !said.contains(*t))
        .cloned()
        .collect();
    let coverage = if rubric.is_empty() {
        0.0
    } else {
        covered.len() as f32 / rubric.len() as f32
    };
    let on_question = if question.is_empty() {
        0.0
    } else {
        question.iter().filter(|t| said.contains(*t)).count() as f32 / question.len() as f32
    };
    // Topic words of the answer that are neither the question's nor the rubric's: a long answer
    // made mostly of them is off the subject.
    let topic = terms(input.answer);
    let on_topic = if topic.is_empty() {
        0.0
    } else {
        topic
            .iter()
            .filter(|t| rubric.contains(*t) || question.contains(*t))
            .count() as f32
            / topic.len() as f32
    };
    let structure = [EXAMPLES, REASONS, STEPS, TRADE_OFFS]
        .iter()
        .filter(|list| count_phrases(input.answer, list) > 0)
        .count() as f32;
    let fillers = count_phrases(input.answer, FILLERS) as f32;
    let hedges = count_phrases(input.answer, HEDGES) as f32;
    let length = (n as f32 / 80.0).min(1.0);

    let relevance = if n == 0 {
        0.0
    } else {
        2.0 + 9.0 * coverage.min(0.6) / 0.6 * 0.6
            + 3.0 * on_question.min(0.5) / 0.5 * 0.4
            + 4.0 * on_topic.min(0.5)
            - hedges
    };
    let completeness =
        10.0 * coverage.min(0.7) / 0.7 * 0.45 + 3.5 * length + 0.6 * structure - hedges;
    let correctness = if n == 0 {
        0.0
    } else {
        1.0 + 8.0 * (coverage.min(0.6) / 0.6) + length - 2.0 * hedges
    };
    let mut clarity = 6.0;
    let per_100 = if n == 0 {
        0.0
    } else {
        fillers * 100.0 / n as f32
    };
    clarity -= (per_100 * 0.6).min(5.0);
    let spans = sentences(input.answer);
    if !spans.is_empty() && n > 0 {
        let mean_len = n as f32 / spans.len() as f32;
        if (6.0..=30.0).contains(&mean_len) {
            clarity += 1.5;
        }
    }
    if input.audio_ms >= 3_000 && n > 0 {
        let wpm = n as f32 * 60_000.0 / input.audio_ms as f32;
        clarity += if (100.0..=190.0).contains(&wpm) {
            1.0
        } else {
            -1.0
        };
    }
    if structure >= 2.0 {
        clarity += 1.0;
    }
    if n < 12 {
        clarity = clarity.min(n as f32 / 2.0);
    }

    let scores = Scores {
        relevance: clamp10(relevance),
        completeness: clamp10(completeness),
        correctness: clamp10(correctness),
        clarity: clamp10(clarity),
    };

    // Evidence: the sentences that use the most rubric terms.
    let mut ranked: Vec<(usize, (usize, usize))> = spans
        .iter()
        .map(|&(a, b)| {
            let t = terms(&input.answer[a..b]);
            (t.iter().filter(|x| rubric.contains(*x)).count(), (a, b))
        })
        .filter(|(hits, _)| *hits > 0)
        .collect();
    ranked.sort_by(|x, y| y.0.cmp(&x.0).then(x.1 .0.cmp(&y.1 .0)));
    let mut evidence: Vec<Evidence> = ranked
        .iter()
        .take(2)
        .filter_map(|(_, (a, b))| Evidence::find(input.answer, &input.answer[*a..*b]))
        .collect();
    evidence.sort_by_key(|e| e.start);

    let feedback = if n == 0 {
        "No answer was given.".to_owned()
    } else if n < 12 {
        format!("A very short answer ({n} words).")
    } else if rubric.is_empty() {
        format!("{n} words; no rubric to compare with.")
    } else {
        format!(
            "Covers {} of {} rubric terms{}; {n} words{}{}.",
            covered.len(),
            rubric.len(),
            if covered.is_empty() {
                String::new()
            } else {
                format!(
                    " ({})",
                    covered
                        .iter()
                        .take(4)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
            if structure > 0.0 {
                format!(
                    ", {} kinds of structure (examples, reasons, steps, trade-offs)",
                    structure
                )
            } else {
                ", no examples or reasons".to_owned()
            },
            if fillers >= 3.0 {
                format!(", {fillers} filler words")
            } else {
                String::new()
            }
        )
    };
    let mut recommendations = Vec::new();
    if !missing.is_empty() && !input.rubric.is_empty() {
        recommendations.push(format!("Go deeper on: {}.", input.rubric.trim()));
    }
    if structure < 2.0 && n > 0 {
        recommendations
            .push("Back answers with a concrete example and the reasons for a choice.".into());
    }
    if fillers >= 3.0 {
        recommendations.push("Fewer filler words; pause instead.".into());
    }
    AnswerAnalysis {
        status: AnalysisStatus::Scored,
        method: Method::Heuristic,
        scores: Some(scores),
        feedback,
        recommendations,
        evidence,
        covered,
        missing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(answer: &'a str, skills: &'a [String]) -> AnswerInput<'a> {
        AnswerInput {
            question: "When would you reach for useReducer instead of useState?",
            rubric: "Related state transitions, next state depends on previous, complex updates; \
                     easier testing of the reducer.",
            skills,
            answer,
            audio_ms: 0,
        }
    }

    #[test]
    fn a_covering_answer_outscores_a_vague_one_and_quotes_itself() {
        let skills = vec!["react".to_owned(), "hooks".to_owned()];
        let strong = "I reach for useReducer when several pieces of state change together, \
            because the transitions then live in one reducer. For example, a form wizard where \
            the next state depends on the previous step. The reducer is a pure function, so it \
            is easier to test. The downside is more boilerplate than useState for simple updates.";
        let weak = "Um, I guess useState is fine, you know, I basically always use it.";
        let a = analyse(&input(strong, &skills));
        let b = analyse(&input(weak, &skills));
        assert_eq!(a.method, Method::Heuristic);
        assert!(a.mean().unwrap() > b.mean().unwrap() + 2.0, "{a:?}\n{b:?}");
        assert!(!a.evidence.is_empty());
        for e in &a.evidence {
            assert_eq!(&strong[e.start..e.end], e.quote);
        }
        assert!(
            b.feedback.contains("very short") || b.scores.unwrap().clarity < 5,
            "{b:?}"
        );
    }

    #[test]
    fn an_empty_answer_scores_nothing_and_says_so() {
        let a = analyse(&input("", &[]));
        assert_eq!(a.scores.unwrap().mean(), 0.0);
        assert_eq!(a.feedback, "No answer was given.");
        assert!(a.evidence.is_empty());
    }
}
