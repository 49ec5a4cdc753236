//! Per-answer analysis beside the interview: once an answer is committed, a task scores it (the
//! configured analyst: the heuristic, or a model) and reports back; the actor only relays the result to the watchers. Runs
//! only while someone watches (here or on another node): the assessment, after the interview,
//! analyses every answer anyway.

use super::{Actor, Internal};
use crate::analysis::answer;
use crate::protocol::monitor::MonitorEvent;

impl Actor {
    pub(super) fn analyse(&mut self, turn: u32) {
        let remote = self.remote_watch().is_some();
        if self.monitors.is_empty() && !remote {
            return;
        }
        let plan = self.conv.interview.plan.as_deref();
        let Some(ctx) = answer::context_of(plan, &self.conv.turns, turn) else {
            return;
        };
        if !ctx.transcribed {
            // Speech kept without a transcript: nothing to analyse.
            return;
        }
        let tx = self.internal_tx.clone();
        let analyst = self.deps.analyst.clone();
        let prompts = self.conv.interview.prompts.clone();
        tokio::spawn(async move {
            let analysis = analyst.analyse(&ctx, prompts.as_deref()).await;
            let event = MonitorEvent::Analysis {
                turn: ctx.turn,
                question_turn: ctx.question_turn,
                question_id: ctx.question_id,
                analysis: Box::new(analysis),
            };
            let _ = tx.send(Internal::Analysed(Box::new(event))).await;
        });
    }
}
