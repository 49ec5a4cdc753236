//! The offline analyst against a labelled set (tests/fixtures/labelled-answers.json): strong
//! and weak answers to the same bank questions. The figure printed here is the one in
//! docs/benchmarks.md ("Heuristic analyst").

use serde::Deserialize;
use viva::analysis::{heuristic, AnswerInput, Method};
use viva::plan::bank::{built_in, built_in_names, BankQuestion};

#[derive(Deserialize)]
struct Set {
    pairs: Vec<Pair>,
}

#[derive(Deserialize)]
struct Pair {
    question: String,
    strong: String,
    weak: String,
}

fn question(id: &str) -> &'static BankQuestion {
    built_in_names()
        .filter_map(built_in)
        .flat_map(|b| b.questions.iter())
        .find(|q| q.id == id)
        .unwrap_or_else(|| panic!("no bank question {id}"))
}

#[test]
fn the_heuristic_ranks_strong_answers_above_weak_ones() {
    let set: Set =
        serde_json::from_str(include_str!("fixtures/labelled-answers.json")).expect("the set");
    assert!(set.pairs.len() >= 40, "{} pairs", set.pairs.len());
    let mut right = 0;
    // Pairs whose weak answer is at least as long as the strong one: length alone gets these
    // wrong, so they show what the rest of the heuristic adds.
    let (mut long_weak, mut long_weak_right) = (0, 0);
    for p in &set.pairs {
        let words = |s: &str| s.split_whitespace().count();
        let weak_is_long = words(&p.weak) >= words(&p.strong);
        long_weak += usize::from(weak_is_long);
        let q = question(&p.question);
        let score = |answer: &str| {
            let a = heuristic::analyse(&AnswerInput {
                question: &q.text,
                rubric: &q.rubric,
                skills: &q.skills,
                answer,
                audio_ms: 0,
            });
            assert_eq!(a.method, Method::Heuristic);
            for e in &a.evidence {
                assert_eq!(&answer[e.start..e.end], e.quote, "{}", p.question);
            }
            a.mean().expect("scored")
        };
        let (strong, weak) = (score(&p.strong), score(&p.weak));
        if strong > weak {
            right += 1;
            long_weak_right += usize::from(weak_is_long);
        } else {
            println!("{}: strong {strong} ≤ weak {weak}", p.question);
        }
    }
    let share = right as f64 * 100.0 / set.pairs.len() as f64;
    println!(
        "heuristic analyst: strong ranked above weak in {right} of {} pairs ({share:.1} %)",
        set.pairs.len()
    );
    println!(
        "  of which weak answers at least as long as the strong: {long_weak_right} of {long_weak}"
    );
    assert!(long_weak >= 5, "the set needs long weak answers");
    assert!(share >= 90.0, "{share:.1} %");
}
