//! Turn-taking built for interviews (issue #19): deciding, at each pause in an answer, whether
//! the candidate has finished.
//!
//! - `completeness`: does the answer so far read as finished? A labelled heuristic over the
//!   words (trailing conjunctions, fillers, "let me think", an unclosed clause), not a model.
//! - `intonation`: does the answer so far *sound* finished? The pitch at the end of the phrase
//!   against the speaker's own (a statement falls; a phrase going on stays level), for a
//!   recogniser that gives no words at a pause. A labelled heuristic too.
//! - `policy`: how long the silence that ends the turn is at this pause — shorter after a
//!   finished answer, up to a ceiling after an unfinished phrase (the interviewer *waits*).
//!
//! Both are pure and synchronous: the actor asks them at a pause; nothing here waits.

pub mod completeness;
pub mod intonation;
pub mod policy;
