//! What one interview asks of its interviewer, set when it is made (`POST /v1/interviews`): how
//! many main questions, how long, in which language, from which question bank, and the
//! accommodations the candidate was granted. Stored with the interview (JSON); every field is
//! optional and falls back to the server's configuration.

use serde::{Deserialize, Serialize};

/// Main questions an interview may be set to ask.
pub const QUESTIONS: std::ops::RangeInclusive<u32> = 1..=30;
/// Minutes an interview may be set to last.
pub const MINUTES: std::ops::RangeInclusive<u32> = 5..=180;
/// Question banks a `template` may name: the built-in banks (`crate::plan::bank`), and the
/// names of earlier versions (`software`, `data`, `product`, `general`), which map onto them.
pub fn templates() -> Vec<&'static str> {
    crate::plan::bank::built_in_names()
        .chain(
            crate::plan::build::LEGACY_TEMPLATES
                .iter()
                .map(|(old, _)| *old),
        )
        .collect()
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InterviewSettings {
    /// Main questions to ask (follow-ups not counted); default `VIVA_MAX_QUESTIONS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_questions: Option<u32>,
    /// Minutes after which the interviewer closes at its next turn (1.5× with `extra_time`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_minutes: Option<u32>,
    /// The language the interviewer speaks (a BCP 47 tag such as `en` or `pt-BR`). The
    /// model-backed interviewer is told to use it; speech recognition and synthesis follow the
    /// server's configuration (`VIVA_WHISPER_LANGUAGE`, the TTS voice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The question bank: one of [`templates`] (`react`, `python`, `javascript`, `fullstack`,
    /// `backend`, `data-engineer`, `behavioral`) or one the organization imported
    /// (`POST /v1/question-banks`); default: chosen from the job's skills and title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accommodations: Vec<Accommodation>,
    /// Record both sides' audio (Ogg Opus), once the candidate has accepted the notice (which
    /// should say so); default off. Interviews made without a notice are never recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_audio: Option<bool>,
    /// Integrity signals are collected (client events stored, an `integrity` block in the
    /// assessment): copied from the organization's `integrity_signals` when the interview is made,
    /// never set by a request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integrity_signals: Option<bool>,
}

/// An accommodation a candidate was granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Accommodation {
    /// More patience: the interviewer waits twice as long in silence before it takes the turn,
    /// and `max_minutes` stretches by half.
    ExtraTime,
}

impl InterviewSettings {
    /// Checks every field; the message names the field and what it may be.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(q) = self.max_questions {
            if !QUESTIONS.contains(&q) {
                return Err(format!(
                    "max_questions: from {} to {}",
                    QUESTIONS.start(),
                    QUESTIONS.end()
                ));
            }
        }
        if let Some(m) = self.max_minutes {
            if !MINUTES.contains(&m) {
                return Err(format!(
                    "max_minutes: from {} to {}",
                    MINUTES.start(),
                    MINUTES.end()
                ));
            }
        }
        if let Some(l) = &self.language {
            if !is_language_tag(l) {
                return Err("language: a BCP 47 tag such as \"en\" or \"pt-BR\"".into());
            }
        }
        if let Some(t) = &self.template {
            // A built-in bank, or (found when the interview is made) an organization's own.
            let name_like = !t.is_empty()
                && t.len() <= 40
                && t.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !name_like {
                return Err(format!(
                    "template: one of {}, or the name of one of your organization's banks",
                    templates().join(", ")
                ));
            }
        }
        Ok(())
    }

    /// These settings, with `defaults` for each field they leave unset.
    pub fn or(self, defaults: &InterviewSettings) -> InterviewSettings {
        InterviewSettings {
            max_questions: self.max_questions.or(defaults.max_questions),
            max_minutes: self.max_minutes.or(defaults.max_minutes),
            language: self.language.or_else(|| defaults.language.clone()),
            template: self.template.or_else(|| defaults.template.clone()),
            accommodations: if self.accommodations.is_empty() {
                defaults.accommodations.clone()
            } else {
                self.accommodations
            },
            record_audio: self.record_audio.or(defaults.record_audio),
            // The organization's flag, not a default: set where the interview is made.
            integrity_signals: self.integrity_signals,
        }
    }

    pub fn extra_time(&self) -> bool {
        self.accommodations.contains(&Accommodation::ExtraTime)
    }

    /// How long the interviewer waits in silence before it takes the turn.
    pub fn patience(&self, end_silence_ms: u32) -> u32 {
        if self.extra_time() {
            end_silence_ms.saturating_mul(2)
        } else {
            end_silence_ms
        }
    }

    /// The interview's time budget in seconds, if it has one.
    pub fn budget_secs(&self) -> Option<i64> {
        let minutes = i64::from(self.max_minutes?);
        Some(if self.extra_time() {
            minutes * 90
        } else {
            minutes * 60
        })
    }

    /// `{}` for an interview with no settings of its own.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("settings serialise")
    }

    /// Stored settings; a row that does not parse (written by a newer server) keeps the defaults.
    pub fn from_json(s: &str) -> Self {
        serde_json::from_str(s).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "interview settings not understood; using the defaults");
            Self::default()
        })
    }
}

/// A plausible BCP 47 tag: a 2–3 letter language, then up to three 2–8 character subtags.
fn is_language_tag(s: &str) -> bool {
    let mut parts = s.split('-');
    let lang = parts.next().unwrap_or_default();
    (2..=3).contains(&lang.len())
        && lang.bytes().all(|b| b.is_ascii_alphabetic())
        && parts.clone().count() <= 3
        && parts.all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_requests_own_settings_win_over_the_defaults() {
        let defaults = InterviewSettings {
            max_questions: Some(8),
            language: Some("de".into()),
            accommodations: vec![Accommodation::ExtraTime],
            ..Default::default()
        };
        let own = InterviewSettings {
            max_questions: Some(3),
            ..Default::default()
        };
        let got = own.or(&defaults);
        assert_eq!(got.max_questions, Some(3));
        assert_eq!(got.language.as_deref(), Some("de"));
        assert_eq!(got.accommodations, vec![Accommodation::ExtraTime]);
        assert_eq!(got.max_minutes, None);
    }

    #[test]
    fn every_field_is_checked() {
        let ok = InterviewSettings {
            max_questions: Some(8),
            max_minutes: Some(30),
            language: Some("pt-BR".into()),
            template: Some("data".into()),
            accommodations: vec![Accommodation::ExtraTime],
            record_audio: Some(true),
            integrity_signals: Some(true),
        };
        assert_eq!(ok.validate(), Ok(()));
        let bad = |f: fn(&mut InterviewSettings)| {
            let mut s = ok.clone();
            f(&mut s);
            s.validate().unwrap_err()
        };
        assert!(bad(|s| s.max_questions = Some(0)).starts_with("max_questions"));
        assert!(bad(|s| s.max_minutes = Some(1000)).starts_with("max_minutes"));
        assert!(bad(|s| s.language = Some("english please".into())).starts_with("language"));
        // A bank's name (built in, or the organization's: looked up when the interview is made).
        assert!(bad(|s| s.template = Some("Astrology!".into())).starts_with("template"));
        let named = InterviewSettings {
            template: Some("acme-frontend".into()),
            ..ok.clone()
        };
        assert_eq!(named.validate(), Ok(()));
    }

    #[test]
    fn extra_time_means_more_patience_and_more_minutes() {
        let mut s = InterviewSettings {
            max_minutes: Some(20),
            ..Default::default()
        };
        assert_eq!((s.patience(700), s.budget_secs()), (700, Some(1200)));
        s.accommodations.push(Accommodation::ExtraTime);
        assert_eq!((s.patience(700), s.budget_secs()), (1400, Some(1800)));
    }

    #[test]
    fn stored_form_round_trips_and_defaults_are_empty() {
        assert_eq!(InterviewSettings::default().to_json(), "{}");
        let s = InterviewSettings {
            max_questions: Some(3),
            accommodations: vec![Accommodation::ExtraTime],
            ..Default::default()
        };
        assert_eq!(InterviewSettings::from_json(&s.to_json()), s);
        assert_eq!(
            InterviewSettings::from_json("not json"),
            InterviewSettings::default()
        );
    }
}
