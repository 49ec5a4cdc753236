//! What the interviewer says of its own accord (not the model's words).

/// Gentle prompts after a long silence, at most, before the candidate speaks again.
pub(super) const MAX_PROMPTS: u32 = 2;
pub(super) const PROMPT_TEXT: &str = "Take your time, there is no rush. When you are ready, go \
                                      ahead, or ask me to repeat the question.";
pub(super) const NOT_CAUGHT_TEXT: &str = "Sorry, I did not catch that. Could you say it again?";
pub(super) const WELCOME_BACK_TEXT: &str = "Welcome back. Please go on with your answer.";
pub(super) const BUDGET_CLOSING_TEXT: &str = "We have reached the time available for this \
                                              interview. Thank you very much for your answers; \
                                              the team will be in touch.";
pub(super) const LONG_ANSWER_TEXT: &str = "That answer reached the time limit for one answer, \
                                           so I have saved it. If you have more to add, just keep \
                                           talking.";

/// The question again, after a restore between the question and its answer.
pub(super) fn asked_again(question: &str) -> String {
    format!("Sorry, we were disconnected for a moment. Here is the question again. {question}")
}

/// `ended.reason` of an interview the hiring team cancelled.
pub(super) const CANCELLED: &str = "cancelled";

/// What the interviewer says when the hiring team cancels a live interview.
pub(super) fn cancelled_text(reason: Option<&str>) -> String {
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    match reason {
        Some(r) => format!(
            "I am sorry, but I have to stop here: the hiring team has ended this interview. \
             They said: {}. Thank you for your time.",
            r.trim_end_matches(['.', '!'])
        ),
        None => "I am sorry, but I have to stop here: the hiring team has ended this \
                 interview. Thank you for your time."
            .into(),
    }
}
