//! Splits a streaming LLM reply into sentences so TTS can start after the first one.

/// Common abbreviations that end with a period but do not end a sentence.
const ABBREVIATIONS: &[&str] = &[
    "mr.", "mrs.", "ms.", "dr.", "prof.", "sr.", "jr.", "e.g.", "i.e.", "etc.", "vs.", "inc.",
    "st.", "approx.",
];

/// Feed tokens with [`SentenceChunker::push`]; complete sentences come out in order.
#[derive(Debug, Default)]
pub struct SentenceChunker {
    buf: String,
}

impl SentenceChunker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a token; returns the sentences it completed (trimmed, non-empty).
    pub fn push(&mut self, token: &str) -> Vec<String> {
        self.buf.push_str(token);
        let mut out = Vec::new();
        while let Some(end) = self.boundary() {
            let rest = self.buf.split_off(end);
            let sentence = std::mem::replace(&mut self.buf, rest);
            let sentence = sentence.trim();
            if !sentence.is_empty() {
                out.push(sentence.to_owned());
            }
        }
        out
    }

    /// Whatever is left at the end of the reply.
    pub fn finish(&mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.buf);
        let rest = rest.trim();
        (!rest.is_empty()).then(|| rest.to_owned())
    }

    /// Byte index just past the first sentence end followed by whitespace, if any.
    fn boundary(&self) -> Option<usize> {
        let bytes = self.buf.as_bytes();
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'\n' && self.buf[..i].trim().len() > 1 {
                return Some(i + 1);
            }
            if !matches!(b, b'.' | b'!' | b'?') {
                continue;
            }
            // Need the next character to decide (end of a number like 3.5, or an ellipsis).
            let next = *bytes.get(i + 1)?;
            if !next.is_ascii_whitespace() {
                continue;
            }
            if b == b'.' {
                let word_start = self.buf[..i]
                    .rfind(char::is_whitespace)
                    .map_or(0, |p| p + 1);
                let word = self.buf[word_start..=i].to_ascii_lowercase();
                if ABBREVIATIONS.contains(&word.as_str()) {
                    continue;
                }
            }
            return Some(i + 1);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(tokens: &[&str]) -> Vec<String> {
        let mut c = SentenceChunker::new();
        let mut out: Vec<String> = tokens.iter().flat_map(|t| c.push(t)).collect();
        out.extend(c.finish());
        out
    }

    #[test]
    fn splits_streamed_tokens_into_sentences() {
        assert_eq!(
            run(&["Hel", "lo the", "re. How", " are you", "? I am", " fine!", " Bye"]),
            vec!["Hello there.", "How are you?", "I am fine!", "Bye"]
        );
    }

    #[test]
    fn keeps_abbreviations_and_decimals_together() {
        assert_eq!(
            run(&["Dr. Smith uses e.g. Rust 1.85 daily. Next."]),
            vec!["Dr. Smith uses e.g. Rust 1.85 daily.", "Next."]
        );
    }

    #[test]
    fn sentence_is_emitted_before_the_reply_ends() {
        let mut c = SentenceChunker::new();
        assert!(c.push("First sentence.").is_empty());
        assert_eq!(c.push(" Second"), vec!["First sentence."]);
        assert_eq!(c.finish().as_deref(), Some("Second"));
    }
}
