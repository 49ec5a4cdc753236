//! The model analyst against the OpenAI fake (a local server speaking the vendor's wire
//! format): structured output asked for and validated, an invented quote dropped, malformed
//! output repaired once, a model that does not answer in time retried once — and, past that,
//! the answer is `unscored`, never given a made-up score.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::fakes::{analysis_of, Analysed, FakeVendor};
use viva::analysis::answer::AnswerContext;
use viva::analysis::model::ModelAnalyst;
use viva::analysis::{AnalysisStatus, Method};
use viva::config::Secret;
use viva::providers::remote::{Endpoint, Remote, RemoteSettings};

const ANSWER: &str = "I reach for useReducer when several pieces of state change together. The \
    transitions then live in one pure function, which is easy to test, but it is more code than \
    useState for a single value.";

fn analyst(fake: &FakeVendor) -> ModelAnalyst {
    ModelAnalyst {
        remote: Remote::new(RemoteSettings {
            openai: Endpoint {
                base_url: fake.openai_url(),
                api_key: Some(Secret::new("sk-test-not-a-real-key-123456")),
            },
            ..RemoteSettings::default()
        }),
        model: "gpt-test".into(),
        timeout: Duration::from_millis(400),
    }
}

fn answer() -> AnswerContext {
    AnswerContext {
        turn: 5,
        question_turn: 4,
        question_id: Some("react-21".into()),
        question: "When would you reach for useReducer instead of useState?".into(),
        rubric: "Related state transitions, next state depends on previous.".into(),
        skills: vec!["react".into(), "hooks".into()],
        answer: ANSWER.into(),
        audio_ms: 9_000,
        transcribed: true,
    }
}

#[tokio::test]
async fn a_valid_structured_reply_is_used_and_an_invented_quote_is_dropped() {
    let fake = FakeVendor::start().await;
    let a = analyst(&fake).analyse(&answer(), None).await;
    assert_eq!(
        (a.status, a.method),
        (AnalysisStatus::Scored, Method::Model)
    );
    assert_eq!(a.scores.unwrap().relevance, 8);
    // The fake quoted the first sentence and one sentence never said: only the first is kept.
    assert_eq!(a.evidence.len(), 1, "{a:?}");
    let e = &a.evidence[0];
    assert_eq!(&ANSWER[e.start..e.end], e.quote);
    // What was asked: structured output under a strict schema, deterministic, the answer
    // verbatim.
    let body = fake.state.chat.bodies.lock().unwrap()[0].clone();
    assert_eq!(body["response_format"]["type"], "json_schema");
    assert_eq!(body["response_format"]["json_schema"]["strict"], true);
    assert_eq!(
        (body["temperature"].as_i64(), body["stream"].as_bool()),
        (Some(0), Some(false))
    );
    assert!(body["messages"][1]["content"]
        .as_str()
        .unwrap()
        .contains(ANSWER));
}

#[tokio::test]
async fn malformed_output_is_repaired_once_then_unscored() {
    let fake = FakeVendor::start().await;
    let analyst = analyst(&fake);
    // Malformed, then valid: repaired (the second request shows the model what was wrong).
    fake.state
        .analyses
        .lock()
        .unwrap()
        .push_back(Analysed::Content("Sure! The answer is good.".into()));
    let a = analyst.analyse(&answer(), None).await;
    assert_eq!(a.status, AnalysisStatus::Scored, "{a:?}");
    let bodies = fake.state.chat.bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), 2);
    let repair = bodies[1]["messages"].as_array().unwrap();
    assert!(repair.last().unwrap()["content"]
        .as_str()
        .unwrap()
        .contains("could not be used"));

    // Out of range, then not JSON: unscored, with no score at all.
    let mut bad = analysis_of(ANSWER);
    bad["relevance"] = 42.into();
    fake.state.analyses.lock().unwrap().extend([
        Analysed::Content(bad.to_string()),
        Analysed::Content("{\"relevance\":".into()),
    ]);
    let a = analyst.analyse(&answer(), None).await;
    assert_eq!(
        (a.status, a.scores),
        (AnalysisStatus::Unscored, None),
        "{a:?}"
    );
    assert!(a.feedback.contains("malformed"), "{}", a.feedback);
    assert!(a.evidence.is_empty());
}

#[tokio::test]
async fn a_model_that_does_not_answer_in_time_is_retried_once_then_unscored() {
    let fake = FakeVendor::start().await;
    let analyst = Arc::new(analyst(&fake));
    let stall = Analysed::Stall(Duration::from_secs(3));
    // Late once: the retry answers.
    fake.state.analyses.lock().unwrap().push_back(stall.clone());
    assert_eq!(
        analyst.analyse(&answer(), None).await.status,
        AnalysisStatus::Scored
    );
    // Late twice: unscored, and says why.
    fake.state
        .analyses
        .lock()
        .unwrap()
        .extend([stall.clone(), stall]);
    let a = analyst.analyse(&answer(), None).await;
    assert_eq!(a.status, AnalysisStatus::Unscored);
    assert!(a.feedback.contains("in time"), "{}", a.feedback);
}
