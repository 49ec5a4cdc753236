//! What every remote (vendor) provider shares: settings, one HTTP client, timeouts, the
//! interviewer prompt, and helpers to turn a streamed response into a provider stream.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::resilience::{BreakerPolicy, Resilience, RetryPolicy};
use super::{ContextTurn, InterviewContext};
use crate::protocol::Speaker;
use crate::protocol::TurnKind;
use crate::secret::Secret;

/// Per-stage deadlines.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timeouts {
    pub stt: Duration,
    pub tts: Duration,
    pub llm: Duration,
    /// Request sent to response headers (and, for TTS, the first audio bytes).
    pub first_byte: Duration,
    /// Request sent to the LLM's first token.
    pub llm_first_token: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            stt: Duration::from_secs(30),
            tts: Duration::from_secs(20),
            llm: Duration::from_secs(45),
            first_byte: Duration::from_secs(10),
            llm_first_token: Duration::from_secs(15),
        }
    }
}

/// A vendor's endpoint and key.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub base_url: String,
    pub api_key: Option<Secret>,
}

impl Endpoint {
    pub fn url(&self, path: &str) -> String {
        format!(
            "{}/{}",
            self.base_url.trim_end_matches('/'),
            path.trim_start_matches('/')
        )
    }
}

/// Settings of the remote providers (from [`crate::config::Config`]).
#[derive(Debug, Clone)]
pub struct RemoteSettings {
    pub openai: Endpoint,
    pub openai_llm_model: String,
    pub openai_stt_model: String,
    pub openai_tts_model: String,
    pub openai_tts_voice: String,
    /// PCM, or Ogg Opus passed through.
    pub openai_tts_format: super::TtsFormat,
    pub gemini: Endpoint,
    pub gemini_model: String,
    pub deepgram: Endpoint,
    pub deepgram_model: String,
    /// Language of the interview (ISO 639-1), sent to STT.
    pub language: String,
    pub timeouts: Timeouts,
    pub retry: RetryPolicy,
    pub breaker: BreakerPolicy,
    /// Main questions before the interviewer closes.
    pub max_questions: u32,
    /// The conversation sent to the model is trimmed to about this many tokens.
    pub context_tokens: usize,
}

impl Default for RemoteSettings {
    fn default() -> Self {
        Self {
            openai: Endpoint {
                base_url: "https://api.openai.com/v1".into(),
                api_key: None,
            },
            openai_llm_model: "gpt-4o-mini".into(),
            openai_stt_model: "whisper-1".into(),
            openai_tts_model: "gpt-4o-mini-tts".into(),
            openai_tts_voice: "alloy".into(),
            openai_tts_format: super::TtsFormat::Pcm,
            gemini: Endpoint {
                base_url: "https://generativelanguage.googleapis.com/v1beta".into(),
                api_key: None,
            },
            gemini_model: "gemini-2.0-flash".into(),
            deepgram: Endpoint {
                base_url: "wss://api.deepgram.com".into(),
                api_key: None,
            },
            deepgram_model: "nova-3".into(),
            language: "en".into(),
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
            breaker: BreakerPolicy::default(),
            max_questions: 6,
            context_tokens: 6_000,
        }
    }
}

/// Shared by the remote providers of one server.
pub struct Remote {
    pub http: reqwest::Client,
    pub settings: RemoteSettings,
}

impl Remote {
    pub fn new(settings: RemoteSettings) -> Arc<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_nodelay(true)
            .user_agent(concat!("viva/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("HTTP client");
        Arc::new(Self { http, settings })
    }

    pub fn resilience(&self, name: &str) -> Arc<Resilience> {
        Arc::new(Resilience::new(
            name,
            self.settings.retry,
            self.settings.breaker,
        ))
    }
}

/// What every vendor provider holds: the shared client and settings, its own retry and breaker
/// state, and its name (`vendor:model`, in logs, errors and metrics).
#[derive(Clone)]
pub struct Vendor {
    pub remote: Arc<Remote>,
    pub res: Arc<Resilience>,
    pub name: String,
}

impl Vendor {
    pub fn new(remote: Arc<Remote>, vendor: &str, model: &str) -> Self {
        let name = format!("{vendor}:{model}");
        Self {
            res: remote.resilience(&name),
            remote,
            name,
        }
    }
}

/// What the model writes after its closing statement; never spoken.
pub const END_MARKER: &str = "[[END]]";

/// The system prompt for one interview: its interviewer prompt (the organization's version it
/// was made with, else the server's `prompts/interviewer.v1.md`) with the interview filled in.
pub fn system_prompt(ctx: &InterviewContext, max_questions: u32) -> String {
    crate::prompts::text_of(
        ctx.prompts.as_deref(),
        crate::prompts::PromptName::Interviewer,
    )
    .replace("{role}", &ctx.role)
    .replace(
        "{job_description}",
        ctx.job_description.as_deref().unwrap_or("(none given)"),
    )
    .replace("{resume}", ctx.resume.as_deref().unwrap_or("(none given)"))
    .replace("{max_questions}", &max_questions.to_string())
    .replace("{end_marker}", END_MARKER)
}

/// The system prompt, told to close once enough questions were asked.
pub fn instructions(ctx: &InterviewContext, s: &RemoteSettings) -> String {
    let max_questions = ctx.settings.max_questions.unwrap_or(s.max_questions);
    let mut system = system_prompt(ctx, max_questions);
    if let Some(t) = &ctx.settings.template {
        system.push_str(&format!(
            "\n\nDraw your questions from the {t} interview subject."
        ));
    }
    if let Some(plan) = &ctx.plan {
        system.push_str(&plan_brief(plan));
    }
    if let Some(l) = &ctx.settings.language {
        system.push_str(&format!(
            "\n\nConduct the whole interview in the language with the BCP 47 tag \"{l}\"."
        ));
    }
    if questions_asked(ctx) as u32 >= max_questions {
        system.push_str("\n\nYou have asked enough questions: close the interview now.");
    }
    system
}

/// Questions shown to the model from the interview's plan.
const PLAN_SHOWN: usize = 8;

/// The plan as the model is told it: the questions that best connect the job and the résumé,
/// to ask or adapt.
pub fn plan_brief(plan: &crate::plan::Plan) -> String {
    let mut s = format!(
        "\n\nThe interview plan (question bank \"{}\"): the questions that best fit this job \
         and this candidate's résumé, best first. Ask questions that connect what the job needs \
         with what the candidate has done; ask these or adapt them, easier ones first, harder \
         ones after strong answers:",
        plan.bank
    );
    for q in plan.pool.iter().take(PLAN_SHOWN) {
        s.push_str(&format!(
            "\n- (difficulty {}) {} [{}]",
            q.difficulty, q.text, q.reason
        ));
    }
    if let Some(p) = &plan.project {
        s.push_str(&format!(
            "\nThe résumé names the project \"{p}\": ask about the candidate's own part in it."
        ));
    }
    s
}

/// A turn as the model reads it.
pub fn turn_text(t: &ContextTurn) -> String {
    match (t.speaker, t.transcribed) {
        (Speaker::Candidate, false) => format!(
            "[The candidate answered for {:.0} seconds; the answer could not be transcribed.]",
            f64::from(t.audio_ms) / 1000.0
        ),
        _ => t.text.clone(),
    }
}

/// Rough token count (about four characters per token for English).
pub fn approx_tokens(s: &str) -> usize {
    s.len().div_ceil(4) + 4
}

/// Fewest tokens the newest turn keeps when it alone is over the budget.
const MIN_TURN_TOKENS: usize = 200;

/// The most recent turns that fit in `budget` tokens beside the system prompt, oldest first, as
/// the model reads them (speaker, text). A newest turn that alone is over the budget is
/// shortened to fit (its head and tail), so no single turn can carry more than the budget.
/// Prompts and notices the server spoke are left out: the model did not write them.
pub fn recent_turns(ctx: &InterviewContext, system: &str, budget: usize) -> Vec<(Speaker, String)> {
    let mut left = budget.saturating_sub(approx_tokens(system));
    let mut kept = Vec::new();
    for t in ctx
        .turns
        .iter()
        .rev()
        .filter(|t| !matches!(t.kind, TurnKind::Prompt | TurnKind::Notice))
    {
        let text = turn_text(t);
        let cost = approx_tokens(&text);
        if cost <= left {
            left -= cost;
            kept.push((t.speaker, text));
            continue;
        }
        if kept.is_empty() {
            let room = left.max(MIN_TURN_TOKENS).saturating_sub(4) * 4;
            kept.push((t.speaker, shorten(&text, room)));
        }
        break;
    }
    kept.reverse();
    kept
}

/// `text` in at most about `max_bytes`: its head and tail around a marker.
fn shorten(text: &str, max_bytes: usize) -> String {
    const CUT: &str = " [\u{2026}] ";
    if text.len() <= max_bytes {
        return text.to_owned();
    }
    let keep = max_bytes.saturating_sub(CUT.len());
    let boundary = |mut i: usize| {
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let head = boundary(keep * 2 / 3);
    let mut tail = text.len() - (keep - head);
    while !text.is_char_boundary(tail) {
        tail += 1;
    }
    format!("{}{CUT}{}", &text[..head], &text[tail..])
}

/// Main questions asked so far (for the closing decision).
pub fn questions_asked(ctx: &InterviewContext) -> usize {
    ctx.turns
        .iter()
        .filter(|t| t.speaker == Speaker::Interviewer && t.kind == TurnKind::Question)
        .count()
}

/// Holds back text that might be the start of [`END_MARKER`], so the marker is never spoken
/// even when a token boundary splits it.
#[derive(Debug, Default)]
pub struct MarkerFilter {
    held: String,
    pub ended: bool,
}

impl MarkerFilter {
    /// Text that is safe to speak now.
    pub fn push(&mut self, token: &str) -> String {
        if self.ended {
            return String::new();
        }
        self.held.push_str(token);
        if let Some(at) = self.held.find(END_MARKER) {
            self.ended = true;
            let out = self.held[..at].to_owned();
            self.held.clear();
            return out;
        }
        // Keep the longest suffix that is a prefix of the marker.
        let keep = (1..END_MARKER.len().min(self.held.len() + 1))
            .rev()
            .find(|n| {
                self.held.is_char_boundary(self.held.len() - n)
                    && END_MARKER.starts_with(&self.held[self.held.len() - n..])
            })
            .unwrap_or(0);
        let cut = self.held.len() - keep;
        let out = self.held[..cut].to_owned();
        self.held.drain(..cut);
        out
    }

    /// The stream ended: whatever was held was not the marker.
    pub fn finish(&mut self) -> String {
        std::mem::take(&mut self.held)
    }
}

/// A provider stream (tokens, audio chunks) fed by a task through a bounded channel.
pub fn channel_stream<T: Send + 'static>(
    buffer: usize,
) -> (mpsc::Sender<T>, futures_util::stream::BoxStream<'static, T>) {
    let (tx, rx) = mpsc::channel(buffer);
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
    .boxed();
    (tx, stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(speaker: Speaker, text: String) -> ContextTurn {
        ContextTurn {
            speaker,
            kind: if speaker == Speaker::Candidate {
                TurnKind::Answer
            } else {
                TurnKind::Question
            },
            text,
            transcribed: true,
            audio_ms: 0,
            suggested: false,
        }
    }

    #[test]
    fn no_turn_carries_more_than_the_context_budget() {
        let huge = "word ".repeat(12_000); // 60 KB typed answer
        let ctx = InterviewContext {
            role: "Engineer".into(),
            job_description: None,
            resume: None,
            settings: Default::default(),
            plan: None,
            prompts: None,
            turns: vec![
                turn(Speaker::Interviewer, "Tell me about a project.".into()),
                turn(Speaker::Candidate, huge.clone()),
            ],
        };
        let budget = 6_000;
        let kept = recent_turns(&ctx, "system", budget);
        assert_eq!(kept.len(), 1, "only the newest turn fits");
        let tokens: usize = kept.iter().map(|(_, t)| approx_tokens(t)).sum();
        assert!(
            tokens <= budget,
            "{tokens} tokens sent for a budget of {budget}"
        );
        assert!(kept[0].1.starts_with("word word"));
        assert!(kept[0].1.contains('\u{2026}'), "the cut is marked");
        // Turns that fit are sent whole, oldest first.
        let ctx = InterviewContext {
            settings: Default::default(),
            turns: vec![
                turn(Speaker::Interviewer, "Q?".into()),
                turn(Speaker::Candidate, "A.".into()),
            ],
            ..ctx
        };
        let kept = recent_turns(&ctx, "system", budget);
        assert_eq!(
            kept,
            vec![
                (Speaker::Interviewer, "Q?".into()),
                (Speaker::Candidate, "A.".into())
            ]
        );
    }

    #[test]
    fn the_end_marker_is_never_spoken_however_it_is_split() {
        let text = format!("Thank you, that is all for today. {END_MARKER}");
        for cut in 1..text.len() {
            if !text.is_char_boundary(cut) {
                continue;
            }
            let mut f = MarkerFilter::default();
            let mut spoken = f.push(&text[..cut]);
            spoken.push_str(&f.push(&text[cut..]));
            spoken.push_str(&f.finish());
            assert_eq!(spoken, "Thank you, that is all for today. ", "cut {cut}");
            assert!(f.ended);
        }
        let mut f = MarkerFilter::default();
        let mut spoken = f.push("Arrays [[like");
        spoken.push_str(&f.push(" this]] are fine."));
        spoken.push_str(&f.finish());
        assert_eq!(spoken, "Arrays [[like this]] are fine.");
        assert!(!f.ended);
    }

    #[test]
    fn context_keeps_the_newest_turns_within_budget() {
        let turn = |speaker, text: &str| ContextTurn {
            speaker,
            kind: if speaker == Speaker::Candidate {
                TurnKind::Answer
            } else {
                TurnKind::Question
            },
            text: text.into(),
            transcribed: true,
            audio_ms: 1000,
            suggested: false,
        };
        let ctx = InterviewContext {
            role: "Engineer".into(),
            settings: Default::default(),
            turns: (0..100)
                .map(|i| {
                    turn(
                        if i % 2 == 0 {
                            Speaker::Interviewer
                        } else {
                            Speaker::Candidate
                        },
                        &format!("turn {i} {}", "word ".repeat(40)),
                    )
                })
                .collect(),
            ..InterviewContext::default()
        };
        let system = system_prompt(&ctx, 6);
        let kept = recent_turns(&ctx, &system, 2_000);
        assert!(kept.len() > 3 && kept.len() < 100, "{}", kept.len());
        assert!(kept.last().unwrap().1.starts_with("turn 99 "));
        let total: usize = kept.iter().map(|t| approx_tokens(&t.1)).sum();
        assert!(total + approx_tokens(&system) <= 2_000);
    }
}
