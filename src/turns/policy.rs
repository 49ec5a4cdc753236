//! How long the silence that ends the candidate's turn is, pause by pause.
//!
//! The interview's own silence (700 ms after a short question, 1200 ms after an open one,
//! doubled with `extra_time`) is what a pause gets when nothing is known about the words. Once
//! the answer so far has been judged (`completeness`), a pause after a finished answer ends the
//! turn sooner (`finished_ms`), and one after an unfinished phrase waits up to `ceiling_ms`: the
//! candidate is thinking, and the interviewer shows it is `waiting`.

use super::completeness::Completeness;

/// The turn-taking settings (`VIVA_TURN_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TurnPolicy {
    /// Silence after which the answer so far is judged.
    pub probe_ms: u32,
    /// The silence that ends a turn whose answer reads as finished.
    pub finished_ms: u32,
    /// The longest silence waited after an unfinished phrase.
    pub ceiling_ms: u32,
    /// Preemptive replies prepared per answer, at most (0: none).
    pub preempt_per_turn: u32,
    /// When a pause is judged by how the voice ended (`intonation`).
    pub intonation: IntonationUse,
}

/// When the ear follows the candidate's pitch to judge a pause (`VIVA_TURN_INTONATION`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IntonationUse {
    /// Where the recogniser gives no words at a pause (no live captions, no transcript of the
    /// answer so far): the embedded Whisper on a small machine, or no recogniser.
    #[default]
    Auto,
    /// Always (a pause with fresh words is still judged by its words).
    On,
    /// Never: such pauses keep the interview's own silence.
    Off,
}

impl IntonationUse {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "auto" => Some(Self::Auto),
            "on" => Some(Self::On),
            "off" => Some(Self::Off),
            _ => None,
        }
    }

    /// Whether to follow the pitch, for a recogniser that does (`true`) or does not give words
    /// at a pause.
    pub fn follow(self, words_at_pauses: bool) -> bool {
        match self {
            Self::Auto => !words_at_pauses,
            Self::On => true,
            Self::Off => false,
        }
    }
}

impl Default for TurnPolicy {
    fn default() -> Self {
        Self {
            probe_ms: 250,
            finished_ms: 600,
            ceiling_ms: 4000,
            preempt_per_turn: 2,
            intonation: IntonationUse::Auto,
        }
    }
}

/// What a pause gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PauseRule {
    /// The silence that ends the turn at this pause.
    pub end_silence_ms: u32,
    /// The interviewer is waiting on an unfinished answer (the `waiting` state).
    pub waiting: bool,
}

impl TurnPolicy {
    /// The rule for a pause whose answer so far is judged `verdict`, where the interview's own
    /// silence is `base_ms` and `patient` (the `extra_time` accommodation) stretches the waits.
    pub fn rule(&self, verdict: Completeness, base_ms: u32, patient: bool) -> PauseRule {
        let stretch = |ms: u32| if patient { ms.saturating_mul(2) } else { ms };
        match verdict {
            // After an open question (a longer base) a finished sentence may well be followed
            // by another: the shortcut is at most a quarter of the base.
            Completeness::Finished => PauseRule {
                end_silence_ms: stretch(self.finished_ms).max(base_ms / 4 * 3).min(base_ms),
                waiting: false,
            },
            Completeness::Unfinished(_) => PauseRule {
                end_silence_ms: stretch(self.ceiling_ms).max(base_ms),
                waiting: true,
            },
            Completeness::Unsure => PauseRule {
                end_silence_ms: base_ms,
                waiting: false,
            },
        }
    }

    /// While the words of a pause are being transcribed (a recogniser without live captions):
    /// the turn stays open, up to the ceiling, until they can be judged; nothing is shown.
    pub fn hold(&self, base_ms: u32, patient: bool) -> PauseRule {
        PauseRule {
            waiting: false,
            ..self.rule(
                Completeness::Unfinished(crate::turns::completeness::Why::NoStop),
                base_ms,
                patient,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::turns::completeness::Why;

    #[test]
    fn finished_answers_end_sooner_and_unfinished_ones_wait_to_the_ceiling() {
        let p = TurnPolicy::default();
        assert_eq!(
            p.rule(Completeness::Finished, 700, false),
            PauseRule {
                end_silence_ms: 600,
                waiting: false
            }
        );
        assert_eq!(
            p.rule(Completeness::Unfinished(Why::Filler), 700, false),
            PauseRule {
                end_silence_ms: 4000,
                waiting: true
            }
        );
        assert_eq!(
            p.rule(Completeness::Unsure, 1200, false).end_silence_ms,
            1200
        );
        // Never longer than the interview's own for a finished answer, never shorter for an
        // unfinished one.
        assert_eq!(
            p.rule(Completeness::Finished, 400, false).end_silence_ms,
            400
        );
        assert_eq!(
            p.rule(Completeness::Unfinished(Why::Dangling), 9000, false)
                .end_silence_ms,
            9000
        );
        // Extra time: the waits stretch.
        assert_eq!(
            p.rule(Completeness::Unfinished(Why::Dangling), 1400, true)
                .end_silence_ms,
            8000
        );
        assert_eq!(
            p.rule(Completeness::Finished, 1400, true).end_silence_ms,
            1200
        );
        // Held open while the words are transcribed: as long as an unfinished pause, unshown.
        assert_eq!(
            p.hold(700, false),
            PauseRule {
                end_silence_ms: 4000,
                waiting: false
            }
        );
    }
}
