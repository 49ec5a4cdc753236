//! The words an interview is likely to hear (the job's skills, the plan's technical terms), given
//! to speech recognition so that "useEffect" is heard as `useEffect`, not "use effect": Whisper
//! takes them as its initial prompt, OpenAI transcription as `prompt`, Deepgram as key terms.
//! Made once per plan in memory ([`crate::plan::vocabulary::shared`]); cheap to clone.

use std::sync::Arc;

/// Terms at most (Deepgram takes up to 100 key terms; Whisper's prompt is cut at 224 tokens).
pub const MAX_TERMS: usize = 40;
/// Characters of the prompt text at most (about 150 Whisper tokens).
pub const MAX_PROMPT_CHARS: usize = 500;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Vocabulary {
    terms: Arc<[String]>,
    prompt: Option<Arc<str>>,
}

impl Vocabulary {
    /// Terms in order of importance; blank and repeated ones (case-insensitive) are dropped, and
    /// the list is cut at [`MAX_TERMS`] and [`MAX_PROMPT_CHARS`].
    pub fn new<I, S>(terms: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut kept: Vec<String> = Vec::new();
        let mut chars = 0;
        for t in terms {
            let t = t.as_ref().trim();
            if t.is_empty() || kept.iter().any(|k| k.eq_ignore_ascii_case(t)) {
                continue;
            }
            if kept.len() == MAX_TERMS || chars + t.len() + 2 > MAX_PROMPT_CHARS {
                break;
            }
            chars += t.len() + 2;
            kept.push(t.to_owned());
        }
        let prompt = (!kept.is_empty()).then(|| format!("Glossary: {}.", kept.join(", ")).into());
        Self {
            terms: kept.into(),
            prompt,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    pub fn terms(&self) -> &[String] {
        &self.terms
    }

    /// The terms as a prompt for a recogniser that continues text (Whisper, OpenAI): a glossary
    /// line, so the model spells the terms as written without expecting them in the answer.
    pub fn prompt(&self) -> Option<&Arc<str>> {
        self.prompt.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_kept_once_in_order_and_within_bounds() {
        let v = Vocabulary::new(["React", " ", "useEffect", "react", "TypeScript"]);
        assert_eq!(v.terms(), ["React", "useEffect", "TypeScript"]);
        assert_eq!(
            v.prompt().unwrap().as_ref(),
            "Glossary: React, useEffect, TypeScript."
        );
        assert_eq!(Vocabulary::default().prompt(), None);

        let many = Vocabulary::new((0..100).map(|i| format!("term{i}")));
        assert_eq!(many.terms().len(), MAX_TERMS);
        let long = Vocabulary::new((0..100).map(|i| format!("{i:0>60}")));
        assert!(long.prompt().unwrap().len() <= MAX_PROMPT_CHARS + 12);
        assert!(long.terms().len() < 10);
    }
}
