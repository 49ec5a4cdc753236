//! Whether an answer so far reads as finished: a labelled heuristic over its last words.
//!
//! Candidates pause mid-answer far more than in small talk — "so the first thing I'd do is…
//! um…" — and a pause there is thinking, not the end of the turn. What gives it away is how the
//! words stop: on a conjunction or preposition ("and", "because", "of"), an article or a
//! possessive ("the", "my"), a filler ("um", "well"), a phrase that announces more ("let me
//! think", "for example"), a trailing comma, dash or ellipsis, or no full stop at all (every
//! recogniser Viva uses punctuates: one that heard a sentence end writes it). An answer that
//! stops on a full clause ending in a full stop, question or exclamation mark reads as
//! finished. No words at all is `Unsure` (the policy then keeps the interview's own silence).
//!
//! Measured, not assumed: the labelled set in `tests/fixtures/turn-taking-answers.txt` and the
//! figures in docs/benchmarks.md.

/// The verdict on an answer so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completeness {
    /// It stops on a finished clause: the turn may end sooner.
    Finished,
    /// It stops mid-phrase: the candidate is thinking; the interviewer waits longer.
    Unfinished(Why),
    /// Nothing to go on (no words yet, or a stop that says neither).
    Unsure,
}

/// What made an answer read as unfinished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// A conjunction, preposition, article, possessive, auxiliary or pronoun that needs more.
    Dangling,
    /// "um", "uh", "well", "like"…
    Filler,
    /// "let me think", "for example", "the thing is"…
    Announces,
    /// A trailing comma, dash or ellipsis.
    Punctuation,
    /// Words with no full stop after them: the recogniser (all of Viva's punctuate) did not
    /// hear a sentence end.
    NoStop,
    /// No words to go on, but the voice stopped level or rising, not with a statement's fall
    /// (`turns::intonation`).
    Intonation,
}

/// Last words that cannot end a sentence in spoken English answers.
const DANGLING: &[&str] = &[
    // conjunctions
    "and", "but", "or", "so", "because", "cause", "since", "although", "though", "while", "whereas",
    "if", "unless", "until", "when", "whenever", "where", "then", "than", "that", "which", "who",
    "whom", "whose", "whether", "nor", "yet", "plus", // prepositions
    "of", "to", "in", "on", "at", "for", "with", "from", "by", "about", "into", "onto", "over",
    "under", "between", "through", "during", "without", "within", "after", "before", "like", "as",
    "via", "per", "toward", "towards", "against", "around", "across",
    // articles, determiners, possessives
    "the", "a", "an", "this", "these", "those", "my", "our", "your", "their", "his", "her", "its",
    "some", "any", "each", "every", "another", "other", "more", "most", "very", "no",
    // auxiliaries and copulas that need a complement
    "is", "are", "was", "were", "be", "been", "being", "am", "have", "has", "had", "do", "does",
    "did", "would", "could", "should", "will", "can", "might", "must", "shall", "i'd", "i'll",
    "i'm", "we'd", "we'll", "we're", "it's", "there's", "i've", "we've",
    // subject pronouns
    "i", "we", "you", "they", "he", "she",
];

/// Of those, the ones that as adverbs also end sentences ("stable since.", "I think so.").
/// Auxiliaries and pronouns are not among them even though "that's what it is." ends on one:
/// a recogniser puts a full stop at a pause ("the first thing I'd do is."), and judging a
/// thinking candidate finished cuts them off, where the opposite mistake only waits longer.
const CAN_END: &[&str] = &[
    "since", "before", "after", "over", "then", "around", "through", "though", "yet", "in", "on",
    "about", "like", "so", "more", "most", "too", "without", "within", "across", "plus", "other",
    "no", // elliptical auxiliaries: "Yes, I have.", "than we did.", "I think we could."
    "do", "does", "did", "have", "has", "had", "can", "could", "would", "will", "should", "might",
    "must",
];

const FILLERS: &[&str] = &[
    "um",
    "uh",
    "umm",
    "uhm",
    "erm",
    "er",
    "hmm",
    "mm",
    "ah",
    "eh",
    "well",
    "basically",
    "actually",
    "right",
    "okay",
    "ok",
    "so",
    "like",
];

/// Phrases that announce more is coming.
const ANNOUNCES: &[&str] = &[
    "let me think",
    "let me see",
    "let me just",
    "let's see",
    "how do i put it",
    "how do i say",
    "for example",
    "for instance",
    "the thing is",
    "what i mean is",
    "i mean",
    "you know",
    "i guess",
    "in other words",
    "on the other hand",
    "first of all",
    "the first thing",
    "the second thing",
    "the other thing",
];

/// The verdict on `text`, the answer so far.
pub fn judge(text: &str) -> Completeness {
    let trimmed = text.trim_end();
    if trimmed.is_empty() {
        return Completeness::Unsure;
    }
    if trimmed.ends_with("...")
        || trimmed.ends_with('…')
        || trimmed.ends_with(',')
        || trimmed.ends_with('-')
        || trimmed.ends_with('—')
        || trimmed.ends_with(';')
        || trimmed.ends_with(':')
    {
        return Completeness::Unfinished(Why::Punctuation);
    }
    let words: Vec<String> = trimmed
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'')
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect();
    let Some(last) = words.last() else {
        return Completeness::Unsure;
    };
    let tail = words.join(" ");
    if ANNOUNCES
        .iter()
        .any(|p| tail == *p || tail.ends_with(&format!(" {p}")))
    {
        return Completeness::Unfinished(Why::Announces);
    }
    let stopped = trimmed.ends_with(['.', '!', '?']);
    // A filler announces more; after a full stop only when it stands alone ("… it worked.
    // Um."), not as the adverb ending a sentence ("It worked well.", "I'd say so.").
    let alone = trimmed
        .trim_end_matches(['.', '!', '?'])
        .rfind(['.', '!', '?'])
        .map_or(words.len() == 1, |at| {
            trimmed[at + 1..].split_whitespace().count() == 1
        });
    if FILLERS.contains(&last.as_str()) && (!stopped || alone) {
        return Completeness::Unfinished(Why::Filler);
    }
    // A word that can also end a sentence ("stable since.", "I think so.") dangles only
    // without a full stop after it.
    if DANGLING.contains(&last.as_str()) && !(stopped && CAN_END.contains(&last.as_str())) {
        return Completeness::Unfinished(Why::Dangling);
    }
    if stopped {
        return Completeness::Finished;
    }
    Completeness::Unfinished(Why::NoStop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_mid_phrase_is_unfinished_and_says_why() {
        for (text, why) in [
            ("So the first thing I would do is", Why::Dangling),
            ("I used Postgres because", Why::Dangling),
            ("We moved it to the", Why::Dangling),
            ("It was mostly about um", Why::Filler),
            ("That project went well. Uh", Why::Filler),
            ("That project went well. Um.", Why::Filler),
            ("Well.", Why::Filler),
            ("Hmm, let me think", Why::Announces),
            ("There were two reasons. For example", Why::Announces),
            ("We tried caching,", Why::Punctuation),
            // A full stop put at a pause does not finish a dangling clause.
            ("So the first thing I'd do is.", Why::Dangling),
            ("The latency dropped...", Why::Punctuation),
        ] {
            assert_eq!(judge(text), Completeness::Unfinished(why), "{text}");
        }
    }

    #[test]
    fn a_full_clause_with_a_full_stop_is_finished() {
        for text in [
            "I led the migration to Kubernetes.",
            "It cut our deploy time in half!",
            "Would that answer your question?",
            "Yes.",
            "It worked well.",
            "I would say so.",
            "We shipped it in March and it has been stable since.",
        ] {
            assert_eq!(judge(text), Completeness::Finished, "{text}");
        }
    }

    #[test]
    fn without_words_it_is_unsure_and_without_a_stop_unfinished() {
        for text in ["", "   ", ".", "…?"] {
            assert_eq!(judge(text), Completeness::Unsure, "{text:?}");
        }
        for text in ["Yes", "We used Go", "a read path and a write path"] {
            assert_eq!(
                judge(text),
                Completeness::Unfinished(Why::NoStop),
                "{text:?}"
            );
        }
        // Elliptical endings are finished with their stop, unfinished without.
        assert_eq!(judge("Yes, I have."), Completeness::Finished);
        assert_eq!(
            judge("The codebase had no"),
            Completeness::Unfinished(Why::Dangling)
        );
    }
}
