//! The offline interviewer: the embedded default "LLM". Not a language model: it walks the
//! interview's plan (`crate::plan`) — bank questions that fit the job and the résumé, a
//! question about the résumé's project, warm-up → core → advanced, difficulty following the
//! answers, one follow-up after a thin answer — and says so when it introduces itself.
//!
//! It is a pure function of the plan and the conversation so far, so a resumed interview asks
//! exactly the question it would have asked: none skipped, none repeated. Each reply starts with
//! its [`Decision`] (stored with the turn).

use std::sync::Arc;

use async_trait::async_trait;

use super::{InterviewContext, LlmEvent, LlmProvider, LlmStream, ProviderResult};
use crate::plan::adaptive::{self, phase_of};
use crate::plan::build::from_text;
use crate::plan::{Action, Decision, Phase, Plan};
use crate::protocol::{Speaker, TurnKind};

/// Asks at most `max_questions` main questions (`VIVA_MAX_QUESTIONS`) unless the interview
/// sets its own.
pub struct OfflineInterviewer {
    pub max_questions: usize,
}

/// The interview's stored plan, or (for interviews made before plans were stored) one built the
/// same way from what the interview holds.
pub fn plan_for(ctx: &InterviewContext, max_questions: usize) -> Arc<Plan> {
    let questions = ctx
        .settings
        .max_questions
        .map_or(max_questions, |n| n as usize)
        .max(1);
    if let Some(p) = &ctx.plan {
        return if p.questions == questions {
            p.clone()
        } else {
            Arc::new(Plan {
                questions,
                ..Plan::clone(p)
            })
        };
    }
    Arc::new(from_text(
        &ctx.role,
        ctx.job_description.as_deref().unwrap_or_default(),
        ctx.resume.as_deref().unwrap_or_default(),
        ctx.settings.template.as_deref(),
        questions,
    ))
}

/// The text of the reply that carries out a decision, and whether it ends the interview.
pub fn reply(plan: &Plan, ctx: &InterviewContext, d: &Decision) -> (String, bool) {
    let opening = !ctx
        .turns
        .iter()
        .any(|t| t.speaker == Speaker::Interviewer && t.kind == TurnKind::Question);
    match d.action {
        Action::Ask => {
            let mut text = String::new();
            if opening {
                let role = if ctx.role.trim().is_empty() {
                    "this"
                } else {
                    ctx.role.trim()
                };
                text.push_str(&format!(
                    "Hello, and thank you for joining. I am Viva's offline practice interviewer, \
                     a scripted interviewer rather than a language model. This is a {role} interview \
                     of about {} questions; take your time with each answer. ",
                    plan.questions
                ));
            } else if d.number > 1 && phase_of(d.number - 1, plan.questions) != d.phase {
                text.push_str(match d.phase {
                    Phase::Core => "Thank you. Let's move on to the core of the interview. ",
                    _ => "Good. A few more advanced questions now. ",
                });
            } else {
                text.push_str("Thank you. ");
            }
            text.push_str(adaptive::text(plan, d).unwrap_or_default());
            (text, false)
        }
        Action::FollowUp => (
            adaptive::follow_up(d.question_id.as_deref().unwrap_or_default()).to_owned(),
            false,
        ),
        Action::Close => (
            "Thank you, that was the last question. We have everything we need, and the \
             recruiter will be in touch. Goodbye."
                .to_owned(),
            true,
        ),
    }
}

/// Splits a reply into word tokens (each keeps its leading space), as a model would stream it.
pub fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, w) in text.split(' ').enumerate() {
        out.push(if i == 0 {
            w.to_owned()
        } else {
            format!(" {w}")
        });
    }
    out
}

#[async_trait]
impl LlmProvider for OfflineInterviewer {
    fn name(&self) -> &str {
        "offline-interviewer"
    }

    async fn stream(&self, ctx: Arc<InterviewContext>) -> ProviderResult<LlmStream> {
        let plan = plan_for(&ctx, self.max_questions);
        let decision = adaptive::next(&plan, &ctx.turns);
        let (text, end) = reply(&plan, &ctx, &decision);
        let events = std::iter::once(Ok(LlmEvent::Decision(Box::new(decision))))
            .chain(tokens(&text).into_iter().map(|t| Ok(LlmEvent::Token(t))))
            .chain([Ok(LlmEvent::Done { end_interview: end })]);
        Ok(Box::pin(futures_util::stream::iter(
            events.collect::<Vec<_>>(),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::ContextTurn;
    use futures_util::StreamExt;

    async fn say(llm: &OfflineInterviewer, ctx: InterviewContext) -> (Option<Decision>, String) {
        let mut text = String::new();
        let mut decision = None;
        let mut stream = llm.stream(Arc::new(ctx)).await.unwrap();
        while let Some(Ok(e)) = stream.next().await {
            match e {
                LlmEvent::Token(t) => text.push_str(&t),
                LlmEvent::Decision(d) => decision = Some(*d),
                _ => {}
            }
        }
        (decision, text)
    }

    #[tokio::test]
    async fn a_react_job_gets_react_questions_and_the_opening_is_honest() {
        let ctx = InterviewContext {
            role: "Frontend Engineer".into(),
            job_description: Some("Build our UI.\n\nSkills: React, Hooks.".into()),
            settings: crate::interview::settings::InterviewSettings {
                max_questions: Some(3),
                ..Default::default()
            },
            ..Default::default()
        };
        let llm = OfflineInterviewer { max_questions: 6 };
        let (d, text) = say(&llm, ctx.clone()).await;
        let d = d.unwrap();
        assert!(text.contains("scripted interviewer"), "{text}");
        assert!(text.contains("about 3 questions"), "{text}");
        assert_eq!(d.phase, Phase::WarmUp);
        let id = d.question_id.unwrap();
        assert!(id.starts_with("react-"), "{id}");
        let plan = plan_for(&ctx, 6);
        assert!(text.ends_with(&plan.pool.iter().find(|q| q.id == id).unwrap().text));
        assert_eq!(tokens(&text).concat(), text);
    }

    #[tokio::test]
    async fn the_last_answer_closes_politely() {
        let q = ContextTurn {
            speaker: Speaker::Interviewer,
            kind: TurnKind::Question,
            text: "q".into(),
            transcribed: true,
            audio_ms: 3000,
            suggested: false,
        };
        let mut ctx = InterviewContext {
            role: "React Developer".into(),
            settings: crate::interview::settings::InterviewSettings {
                max_questions: Some(1),
                ..Default::default()
            },
            ..Default::default()
        };
        // A full answer to the question asked: its rubric, with an example and a reason.
        let plan = plan_for(&ctx, 6);
        let asked = adaptive::next(&plan, &[]);
        let rubric = &plan
            .pool
            .iter()
            .find(|p| asked.question_id.as_deref() == Some(p.id.as_str()))
            .unwrap()
            .rubric;
        let a = ContextTurn {
            speaker: Speaker::Candidate,
            kind: TurnKind::Answer,
            text: format!(
                "For example, in my last project: {rubric} I chose that because it kept the \
                 code simple, but the trade-off was more boilerplate for the team to learn."
            ),
            ..q.clone()
        };
        ctx.turns = vec![q, a];
        let (d, text) = say(&OfflineInterviewer { max_questions: 6 }, ctx).await;
        assert_eq!(d.unwrap().action, Action::Close);
        assert!(text.contains("Goodbye"));
    }
}
