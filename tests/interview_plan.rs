//! The interview's plan over the real server: a React job and a résumé naming a project, an
//! offline interview over the WebSocket (spoken answers), and the plan and every decision as
//! `GET /v1/interviews/{id}/plan` shows them — React questions from the bank, warm-up → core →
//! advanced, the résumé's project asked about, one follow-up after a thin answer, difficulty
//! following the answers. Another organization gets a 404.
//!
//! The candidate speaks (espeak-ng); the recogniser is the OpenAI fake, told what it hears for
//! each answer, so the answers' words are the test's.

mod common;

use common::api::{consented, post, staff};
use common::fakes::FakeVendor;
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use viva::accounts::Role;

/// A full answer to a planned question: its rubric, with an example and a reason.
fn strong(rubric: &str) -> String {
    format!(
        "For example, in my last project: {rubric} I chose that because it kept the code \
         simple, but the trade-off was more boilerplate for the team to learn."
    )
}

fn planned<'a>(plan: &'a Value, id: &str) -> &'a Value {
    plan["plan"]["pool"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["id"] == id)
        .unwrap_or_else(|| panic!("{id} not in the plan"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_react_interview_walks_its_plan() {
    let fake = FakeVendor::start().await;
    let server = TestServer::start_with(|c| {
        c.llm = vec!["offline-interviewer".into()];
        c.stt = vec!["openai".into()];
        c.openai_base_url = fake.openai_url();
        c.openai_api_key = Some(viva::config::Secret::new("sk-test-not-a-real-key-123456"));
    })
    .await;
    let voice = speech("This is my answer.").await;

    let admin = staff(&server, "ada@acme.example", "Acme", Role::Admin).await;
    let viewer = staff(&server, "vi@acme.example", "Acme", Role::Viewer).await;
    let other = staff(&server, "bea@bee.example", "Bee", Role::Admin).await;
    let job = post(
        &admin,
        "/v1/jobs",
        json!({"title": "Frontend Engineer", "description": "Our booking UI.",
               "skills": ["React", "Hooks", "State"], "seniority": "mid"}),
    )
    .await;
    let cand = post(
        &admin,
        "/v1/candidates",
        json!({"name": "Grace Hopper", "email": "grace@navy.example",
               "resume_text": "Frontend developer, five years of React and TypeScript.\n\nProjects\n- Tidewatch — tide charts for sailors, React and Suspense\n"}),
    )
    .await;
    let made = post(
        &admin,
        "/v1/interviews",
        json!({"job_id": job["id"], "candidate_id": cand["id"], "max_questions": 5}),
    )
    .await;
    let (id, token) = consented(&admin, &made).await;
    let path = format!("/v1/interviews/{id}/plan");

    // Before it starts: the plan, built from the job and the résumé.
    let (s, before) = viewer.call(Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::OK, "{before}");
    assert_eq!(before["stored"], true);
    assert_eq!(before["plan"]["bank"], "react");
    assert_eq!(before["plan"]["project"], "Tidewatch");
    assert!(before["decisions"].as_array().unwrap().is_empty());
    // Another organization's interview does not exist for it.
    let (s, v) = other.call(Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");

    let mut c = Candidate::join(&server, id, &token, None).await;
    let mut weak_given = false;
    while next_turn_heard(&mut c).await {
        // The turn is durable once its audio ends: its decision is readable.
        let (_, now) = admin.call(Method::GET, &path, None).await;
        let last = now["decisions"].as_array().unwrap().last().unwrap().clone();
        let d = &last["decision"];
        match d["action"].as_str().unwrap() {
            "close" => continue,
            "follow_up" => {
                let text = strong("Memoised selectors and a reducer.");
                answer_heard_as(&mut c, &fake, &voice, text).await
            }
            _ => {
                let q = planned(&now, d["question_id"].as_str().unwrap());
                // The third main question gets a thin answer.
                if d["number"] == 3 && !weak_given {
                    weak_given = true;
                    answer_heard_as(&mut c, &fake, &voice, "I am not sure.".into()).await;
                } else {
                    let text = strong(q["rubric"].as_str().unwrap());
                    answer_heard_as(&mut c, &fake, &voice, text).await;
                }
            }
        }
    }

    let (_, done) = admin.call(Method::GET, &path, None).await;
    let decisions: Vec<&Value> = done["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["decision"])
        .collect();
    let asks: Vec<&&Value> = decisions.iter().filter(|d| d["action"] == "ask").collect();
    let phases: Vec<&str> = asks.iter().map(|d| d["phase"].as_str().unwrap()).collect();
    assert_eq!(
        phases,
        ["warm_up", "core", "core", "core", "advanced"],
        "{done}"
    );
    // The résumé's project opens the core; the rest are React questions from the bank.
    assert_eq!(asks[1]["question_id"], "resume-project");
    let mut skills = std::collections::BTreeSet::new();
    for d in asks.iter().filter(|d| d["question_id"] != "resume-project") {
        let q = planned(&done, d["question_id"].as_str().unwrap());
        assert!(q["id"].as_str().unwrap().starts_with("react-"), "{q}");
        skills.extend(
            q["skills"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap()),
        );
    }
    assert!(
        skills.contains("hooks") || skills.contains("state") || skills.contains("rendering"),
        "{skills:?}"
    );
    // Only the closing's final text says it is the closing (clients count questions by it).
    let closings: Vec<u32> = c
        .events()
        .iter()
        .filter_map(|e| match &e.event {
            viva::protocol::Event::AgentText {
                turn,
                is_final: true,
                closing,
                ..
            } => closing.then_some(*turn),
            _ => None,
        })
        .collect();
    let close_turns: Vec<u32> = done["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["decision"]["action"] == "close")
        .map(|t| t["turn"].as_u64().unwrap() as u32)
        .collect();
    assert_eq!(closings, close_turns);
    // What was said is what was planned: each turn's text ends with its question.
    let texts = final_agent_texts(&c.events());
    for t in done["decisions"].as_array().unwrap() {
        let turn = t["turn"].as_u64().unwrap() as u32;
        let said = &texts.iter().find(|(n, _)| *n == turn).unwrap().1;
        let d = &t["decision"];
        match d["action"].as_str().unwrap() {
            "ask" => {
                let q = planned(&done, d["question_id"].as_str().unwrap());
                assert!(said.ends_with(q["text"].as_str().unwrap()), "{said}");
                if d["question_id"] == "resume-project" {
                    assert!(said.contains("Tidewatch"), "{said}");
                }
            }
            "follow_up" => assert_eq!(
                said,
                viva::plan::adaptive::follow_up(d["question_id"].as_str().unwrap())
            ),
            _ => assert!(said.contains("Goodbye"), "{said}"),
        }
    }
    // The thin answer got exactly one follow-up, and the next question was aimed lower.
    let follow_ups: Vec<&&Value> = decisions
        .iter()
        .filter(|d| d["action"] == "follow_up")
        .collect();
    assert_eq!(follow_ups.len(), 1, "{done}");
    assert_eq!(follow_ups[0]["question_id"], asks[2]["question_id"]);
    assert!(
        asks[3]["why"].as_str().unwrap().contains("was weak"),
        "{}",
        asks[3]
    );
    assert!(asks[3]["target_difficulty"].as_u64() < asks[2]["target_difficulty"].as_u64());
    assert!(
        asks[1]["why"].as_str().unwrap().contains("was strong"),
        "{}",
        asks[1]
    );
    assert_eq!(decisions.last().unwrap()["action"], "close");
    // Speech recognition was told the plan's vocabulary: the job's skills as the bank spells
    // them, the résumé's project, the questions' terms — the same prompt for every answer.
    let prompts: Vec<String> = fake
        .state
        .stt
        .bodies
        .lock()
        .unwrap()
        .iter()
        .map(|b| b["prompt"].as_str().expect("a prompt").to_owned())
        .collect();
    assert!(!prompts.is_empty());
    assert!(prompts.iter().all(|p| *p == prompts[0]), "{prompts:?}");
    let glossary = &prompts[0];
    assert!(
        glossary.starts_with("Glossary: React, hooks, state"),
        "{glossary}"
    );
    assert!(glossary.contains("Tidewatch"), "{glossary}");
    assert!(glossary.contains("useEffect"), "{glossary}");
    // The recruiter sees the same terms with the plan.
    let terms: Vec<&str> = done["vocabulary"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(*glossary, format!("Glossary: {}.", terms.join(", ")));
    server.shutdown().await;
}
