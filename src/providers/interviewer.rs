//! The offline scripted interviewer: the embedded default "LLM". Not a language model: a question
//! bank per role with warm-up → core → advanced phases and follow-ups on short answers.
//!
//! It is a pure function of the conversation so far, so a resumed interview asks exactly the
//! question it would have asked: none skipped, none repeated.

use std::sync::Arc;

use async_trait::async_trait;

use super::{ContextTurn, InterviewContext, LlmEvent, LlmProvider, LlmStream, ProviderResult};
use crate::protocol::{Speaker, TurnKind};

/// Asks at most `max_questions` main questions (`VIVA_MAX_QUESTIONS`), spread over the phases.
pub struct OfflineInterviewer {
    pub max_questions: usize,
}

/// One bank question and the follow-up asked when the answer is short.
pub struct BankQuestion {
    pub text: &'static str,
    pub follow_up: &'static str,
}

const fn q(text: &'static str, follow_up: &'static str) -> BankQuestion {
    BankQuestion { text, follow_up }
}

/// A role's questions by phase.
pub struct Bank {
    pub role: &'static str,
    pub warm_up: &'static [BankQuestion],
    pub core: &'static [BankQuestion],
    pub advanced: &'static [BankQuestion],
}

const GENERAL: Bank = Bank {
    role: "general",
    warm_up: &[
        q(
            "To start, could you tell me a little about yourself and your current work?",
            "What part of that work do you enjoy most?",
        ),
        q(
            "What drew you to this role?",
            "What would success in this role look like for you after six months?",
        ),
    ],
    core: &[
        q(
            "Tell me about a project you are proud of. What was your part in it?",
            "What would you do differently if you started that project again?",
        ),
        q(
            "Describe a time you disagreed with a colleague. How did you resolve it?",
            "What did you learn from that situation?",
        ),
        q(
            "How do you decide what to work on when everything seems urgent?",
            "Can you give me a concrete example from the last few months?",
        ),
    ],
    advanced: &[
        q(
            "Walk me through the hardest problem you have solved at work, step by step.",
            "Which of those steps was the riskiest, and why?",
        ),
        q(
            "How would you help a new team member become productive in their first month?",
            "How would you know it had worked?",
        ),
    ],
};

const SOFTWARE: Bank = Bank {
    role: "software-engineer",
    warm_up: &[
        q("To start, could you tell me about yourself and the systems you work on today?",
          "Which part of that system do you know best?"),
        q("Which programming languages are you most comfortable with, and why?",
          "What is one thing you dislike about your favourite language?"),
    ],
    core: &[
        q("Describe a bug that was hard to find. How did you track it down?",
          "What did you change so that kind of bug could not happen again?"),
        q("How do you decide whether code is ready to merge?",
          "How do you handle a review you disagree with?"),
        q("Tell me about a service you designed. What were the main trade-offs?",
          "Which trade-off would you revisit today?"),
    ],
    advanced: &[
        q("How would you design a system that handles ten thousand concurrent real-time connections?",
          "Where would it break first, and how would you find out?"),
        q("Walk me through how you would investigate a latency regression in production.",
          "What would you measure before changing any code?"),
    ],
};

const DATA: Bank = Bank {
    role: "data-scientist",
    warm_up: &[
        q(
            "To start, could you tell me about yourself and the data problems you work on?",
            "Which of those problems had the most business impact?",
        ),
        q(
            "Which tools do you reach for first when you get a new data set?",
            "What do you look for in the first hour?",
        ),
    ],
    core: &[
        q(
            "Tell me about a model you put into production. How did you evaluate it?",
            "How did you monitor it once it was live?",
        ),
        q(
            "Describe a time the data told a different story than stakeholders expected.",
            "How did you present that result?",
        ),
        q(
            "How do you deal with missing or biased data?",
            "Can you give a concrete example?",
        ),
    ],
    advanced: &[
        q(
            "How would you design an experiment to measure the effect of a new feature?",
            "What could make the result misleading?",
        ),
        q(
            "Explain how you would choose between a simple model and a complex one.",
            "When did you last choose the simpler one?",
        ),
    ],
};

const PRODUCT: Bank = Bank {
    role: "product-manager",
    warm_up: &[
        q(
            "To start, could you tell me about yourself and the products you have worked on?",
            "Which of those products are you proudest of?",
        ),
        q(
            "How do you describe the job of a product manager to someone outside tech?",
            "What part of that job do you find hardest?",
        ),
    ],
    core: &[
        q(
            "Tell me about a feature you decided not to build. How did you make that call?",
            "How did you explain the decision to the people who wanted it?",
        ),
        q(
            "Describe how you work with engineering when a deadline is at risk.",
            "What did you cut the last time that happened?",
        ),
        q(
            "How do you find out what users actually need?",
            "Give me an example that surprised you.",
        ),
    ],
    advanced: &[
        q(
            "How would you set goals for a product with no clear metrics yet?",
            "How would you know the goals were wrong?",
        ),
        q(
            "Walk me through a launch that went badly. What happened next?",
            "What process did you change afterwards?",
        ),
    ],
};

/// The bank for a role name (case-insensitive, loose), falling back to the general bank.
pub fn bank_for(role: &str) -> &'static Bank {
    let r = role.to_ascii_lowercase();
    if r.contains("data") || r.contains("machine learning") || r.contains("ml ") {
        &DATA
    } else if r.contains("product") {
        &PRODUCT
    } else if r.contains("engineer") || r.contains("developer") || r.contains("programmer") {
        &SOFTWARE
    } else {
        &GENERAL
    }
}

/// The bank a template names (`software`, `data`, `product`; anything else: the general one).
pub fn bank_named(template: &str) -> &'static Bank {
    match template {
        "software" => &SOFTWARE,
        "data" => &DATA,
        "product" => &PRODUCT,
        _ => &GENERAL,
    }
}

/// The main questions of one interview: at most `limit` of a bank's, taken from its phases in
/// turn (warm-up, core, advanced, warm-up, …) so a short interview still walks every phase.
pub struct Selection<'a> {
    questions: Vec<&'a BankQuestion>,
    core_start: usize,
    advanced_start: usize,
}

impl Bank {
    pub fn select(&self, limit: usize) -> Selection<'_> {
        let phases = [self.warm_up, self.core, self.advanced];
        let mut take = [0usize; 3];
        let mut left = limit.max(1);
        while left > 0 && (0..3).any(|p| take[p] < phases[p].len()) {
            for p in 0..3 {
                if left > 0 && take[p] < phases[p].len() {
                    take[p] += 1;
                    left -= 1;
                }
            }
        }
        Selection {
            questions: (0..3).flat_map(|p| &phases[p][..take[p]]).collect(),
            core_start: take[0],
            advanced_start: take[0] + take[1],
        }
    }
}

/// A step of the interview plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Main(usize),
    FollowUp(usize),
    Closing,
}

/// An answer is short (and earns a follow-up) below 15 words, or under 6 s when not transcribed.
fn is_short(answer: &[&ContextTurn]) -> bool {
    if answer.iter().any(|t| !t.transcribed) {
        answer.iter().map(|t| t.audio_ms).sum::<u32>() < 6_000
    } else {
        answer
            .iter()
            .map(|t| t.text.split_whitespace().count())
            .sum::<usize>()
            < 15
    }
}

fn next_step(sel: &Selection, step: Step, answer: &[&ContextTurn]) -> Step {
    let after = |i: usize| {
        if i + 1 < sel.questions.len() {
            Step::Main(i + 1)
        } else {
            Step::Closing
        }
    };
    match step {
        Step::Main(i) if is_short(answer) => Step::FollowUp(i),
        Step::Main(i) | Step::FollowUp(i) => after(i),
        Step::Closing => Step::Closing,
    }
}

/// The step to take given the conversation: replays the plan over the answers so far.
pub fn plan(sel: &Selection, turns: &[ContextTurn]) -> Step {
    let mut step = Step::Main(0);
    let mut asked = false;
    let mut answer: Vec<&ContextTurn> = Vec::new();
    for t in turns {
        match (t.speaker, t.kind) {
            (Speaker::Interviewer, TurnKind::Question) => {
                if asked && !answer.is_empty() {
                    step = next_step(sel, step, &answer);
                }
                asked = true;
                answer.clear();
            }
            (Speaker::Candidate, _) if asked => answer.push(t),
            _ => {}
        }
    }
    if asked && !answer.is_empty() {
        step = next_step(sel, step, &answer);
    }
    step
}

/// The text of the reply for a step.
pub fn reply(sel: &Selection, ctx: &InterviewContext, step: Step) -> (String, bool) {
    let main = &sel.questions;
    let opening = !ctx
        .turns
        .iter()
        .any(|t| t.speaker == Speaker::Interviewer && t.kind == TurnKind::Question);
    match step {
        Step::Main(i) => {
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
                    main.len()
                ));
            } else if i == sel.core_start && i < sel.advanced_start {
                text.push_str("Thank you. Let's move on to the core of the interview. ");
            } else if i == sel.advanced_start && i < main.len() {
                text.push_str("Good. A few more advanced questions now. ");
            } else {
                text.push_str("Thank you. ");
            }
            text.push_str(main[i].text);
            (text, false)
        }
        Step::FollowUp(i) => (main[i].follow_up.to_owned(), false),
        Step::Closing => (
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
        let bank = match ctx.settings.template.as_deref() {
            Some(t) => bank_named(t),
            None => bank_for(&ctx.role),
        };
        let limit = ctx
            .settings
            .max_questions
            .map_or(self.max_questions, |n| n as usize);
        let sel = bank.select(limit);
        let (text, end) = reply(&sel, &ctx, plan(&sel, &ctx.turns));
        let events = tokens(&text)
            .into_iter()
            .map(|t| Ok(LlmEvent::Token(t)))
            .chain([Ok(LlmEvent::Done { end_interview: end })]);
        Ok(Box::pin(futures_util::stream::iter(
            events.collect::<Vec<_>>(),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(text: &str) -> ContextTurn {
        ContextTurn {
            speaker: Speaker::Interviewer,
            kind: TurnKind::Question,
            text: text.into(),
            transcribed: true,
            audio_ms: 3000,
        }
    }

    fn answer(words: usize) -> ContextTurn {
        ContextTurn {
            speaker: Speaker::Candidate,
            kind: TurnKind::Answer,
            text: vec!["word"; words].join(" "),
            transcribed: true,
            audio_ms: 500 * words as u32,
        }
    }

    #[test]
    fn walks_phases_with_follow_ups_on_short_answers() {
        let bank = &SOFTWARE.select(usize::MAX);
        let mut turns = vec![];
        assert_eq!(plan(bank, &turns), Step::Main(0));
        turns.push(agent("q0"));
        // No answer yet (e.g. resumed before the answer was committed): same step again.
        assert_eq!(plan(bank, &turns), Step::Main(0));
        turns.push(answer(30));
        assert_eq!(plan(bank, &turns), Step::Main(1));
        turns.push(agent("q1"));
        turns.push(answer(3));
        assert_eq!(plan(bank, &turns), Step::FollowUp(1));
        turns.push(agent("f1"));
        turns.push(answer(3));
        assert_eq!(plan(bank, &turns), Step::Main(2));
    }

    #[test]
    fn prompts_do_not_advance_and_the_last_answer_closes() {
        let bank = &GENERAL.select(usize::MAX);
        let mut turns = vec![];
        for _ in 0..bank.questions.len() {
            turns.push(agent("q"));
            turns.push(ContextTurn {
                kind: TurnKind::Prompt,
                ..agent("take your time")
            });
            turns.push(answer(40));
        }
        assert_eq!(plan(bank, &turns), Step::Closing);
        let (text, end) = reply(bank, &InterviewContext::default(), Step::Closing);
        assert!(end);
        assert!(text.contains("Goodbye"));
    }

    #[test]
    fn untranscribed_answers_are_judged_by_duration() {
        let bank = &GENERAL.select(usize::MAX);
        let short = ContextTurn {
            transcribed: false,
            audio_ms: 2000,
            ..answer(0)
        };
        let turns = vec![agent("q0"), short];
        assert_eq!(plan(bank, &turns), Step::FollowUp(0));
    }

    #[tokio::test]
    async fn an_interviews_own_settings_choose_the_bank_and_the_length() {
        use futures_util::StreamExt;
        let ctx = InterviewContext {
            role: "Backend Engineer".into(),
            settings: crate::interview::settings::InterviewSettings {
                max_questions: Some(2),
                template: Some("data".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let llm = OfflineInterviewer { max_questions: 6 };
        let mut text = String::new();
        let mut stream = llm.stream(Arc::new(ctx)).await.unwrap();
        while let Some(Ok(e)) = stream.next().await {
            if let LlmEvent::Token(t) = e {
                text.push_str(&t);
            }
        }
        assert!(text.contains("about 2 questions"), "{text}");
        assert!(text.ends_with(DATA.warm_up[0].text), "{text}");
    }

    #[test]
    fn opening_names_the_interviewer_honestly() {
        let ctx = InterviewContext {
            role: "Backend Engineer".into(),
            ..Default::default()
        };
        let bank = bank_for(&ctx.role);
        assert_eq!(bank.role, "software-engineer");
        let (text, end) = reply(&bank.select(6), &ctx, Step::Main(0));
        assert!(!end);
        assert!(text.contains("scripted interviewer"));
        assert!(text.ends_with(SOFTWARE.warm_up[0].text));
        assert_eq!(tokens(&text).concat(), text);
    }

    #[test]
    fn max_questions_spreads_a_short_interview_over_the_phases() {
        let two = SOFTWARE.select(2);
        assert_eq!(two.questions.len(), 2);
        assert_eq!(two.questions[0].text, SOFTWARE.warm_up[0].text);
        assert_eq!(two.questions[1].text, SOFTWARE.core[0].text);
        let ctx = InterviewContext {
            settings: Default::default(),
            turns: vec![agent("q0"), answer(40)],
            ..Default::default()
        };
        let (text, _) = reply(&two, &ctx, Step::Main(1));
        assert!(text.starts_with("Thank you. Let's move on to the core"));
        // Two long answers and the interview closes.
        let turns = [agent("q0"), answer(40), agent("q1"), answer(40)];
        assert_eq!(plan(&two, &turns), Step::Closing);
        // Asking for more than the bank holds asks the whole bank, in phase order.
        let all = SOFTWARE.select(100);
        let bank: Vec<_> = SOFTWARE
            .warm_up
            .iter()
            .chain(SOFTWARE.core)
            .chain(SOFTWARE.advanced)
            .map(|q| q.text)
            .collect();
        assert_eq!(
            all.questions.iter().map(|q| q.text).collect::<Vec<_>>(),
            bank
        );
    }
}
