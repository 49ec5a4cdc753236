//! Word handling shared by the heuristic analyst and the plan: words, crude stems, stop words,
//! phrase counts. English only (the offline interviewer's language).

use std::collections::BTreeSet;

/// Words too common to say anything about a topic.
const STOP: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "all",
    "also",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "been",
    "before",
    "being",
    "both",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "each",
    "else",
    "even",
    "every",
    "for",
    "from",
    "get",
    "gets",
    "got",
    "had",
    "has",
    "have",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "just",
    "made",
    "make",
    "makes",
    "many",
    "may",
    "me",
    "more",
    "most",
    "much",
    "must",
    "my",
    "need",
    "needs",
    "no",
    "not",
    "of",
    "on",
    "once",
    "one",
    "only",
    "or",
    "other",
    "our",
    "out",
    "over",
    "own",
    "same",
    "should",
    "so",
    "some",
    "such",
    "than",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "to",
    "too",
    "under",
    "up",
    "use",
    "used",
    "uses",
    "using",
    "very",
    "via",
    "was",
    "way",
    "we",
    "were",
    "what",
    "when",
    "where",
    "whether",
    "which",
    "while",
    "who",
    "why",
    "will",
    "with",
    "without",
    "would",
    "you",
    "your",
    "yours",
    "tell",
    "describe",
    "explain",
    "time",
    "times",
    "work",
    "worked",
    "like",
    "things",
    "thing",
    "good",
    "well",
    "would",
    "done",
    "know",
    "think",
    "lot",
    "really",
    "want",
    "say",
    "said",
    "along",
    "often",
    "never",
    "ever",
    "still",
    "what",
    "whats",
    "goes",
    "going",
    "wrong",
    "after",
    "afterwards",
    "help",
    "helps",
    "mean",
    "means",
    "happens",
    "happen",
    "there",
];

/// The words of a text, lower case, split at anything not a letter or digit (so `trade-off` is
/// `trade`, `off`; `useEffect` is `useeffect`).
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .collect()
}

pub fn is_stop(word: &str) -> bool {
    STOP.contains(&word)
}

/// A crude stem: plurals folded (`retries` → `retry`, `keys` → `key`), then the first six
/// characters, so `partitions` and `partitioning` meet.
pub fn stem(word: &str) -> String {
    let w = if let Some(s) = word.strip_suffix("ies") {
        format!("{s}y")
    } else if word.len() > 3 && word.ends_with('s') && !word.ends_with("ss") {
        word[..word.len() - 1].to_owned()
    } else {
        word.to_owned()
    };
    w.chars().take(6).collect()
}

/// The topic words of a text: stems of words of three letters or more that are not stop words.
pub fn terms(text: &str) -> BTreeSet<String> {
    words(text)
        .into_iter()
        .filter(|w| w.chars().count() >= 3 && !is_stop(w))
        .map(|w| stem(&w))
        .collect()
}

/// How often any of `phrases` occurs in `text` as whole words (case-insensitive).
pub fn count_phrases(text: &str, phrases: &[&str]) -> usize {
    let padded = format!(" {} ", words(text).join(" "));
    phrases
        .iter()
        .map(|p| padded.matches(&format!(" {p} ")).count())
        .sum()
}

/// The sentences of a text with their byte ranges (split after `.`, `!`, `?`), trimmed.
pub fn sentences(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if matches!(c, '.' | '!' | '?') {
            push_trimmed(text, start, i + c.len_utf8(), &mut out);
            start = i + c.len_utf8();
        }
    }
    push_trimmed(text, start, text.len(), &mut out);
    out
}

fn push_trimmed(text: &str, start: usize, end: usize, out: &mut Vec<(usize, usize)>) {
    let s = &text[start..end];
    let lead = s.len() - s.trim_start().len();
    let trail = s.len() - s.trim_end().len();
    if s.trim().chars().any(char::is_alphanumeric) {
        out.push((start + lead, end - trail));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_meet_across_plurals_and_endings() {
        assert_eq!(stem("partitions"), stem("partitioning"));
        assert_eq!(stem("retries"), stem("retry"));
        assert_eq!(stem("keys"), "key");
        assert_eq!(stem("class"), "class");
        assert!(terms("The useEffect dependency array!").contains("useeff"));
        assert!(!terms("what is the way").contains("way"));
    }

    #[test]
    fn phrases_count_whole_words_and_sentences_keep_their_offsets() {
        assert_eq!(
            count_phrases("Um, so, you know, um... umbrella", &["um", "you know"]),
            3
        );
        let text = "First, measure. Then fix it!  Done";
        let s = sentences(text);
        assert_eq!(
            s.iter().map(|&(a, b)| &text[a..b]).collect::<Vec<_>>(),
            ["First, measure.", "Then fix it!", "Done"]
        );
    }
}
