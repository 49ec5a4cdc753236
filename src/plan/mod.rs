//! The interview plan (issue #16): what the interviewer asks, built from the job and the
//! résumé.
//!
//! - [`bank`]: role templates shipped with the server (`react`, `python`, `javascript`,
//!   `fullstack`, `backend`, `data-engineer`, `behavioral`; `src/plan/banks/*.json`), each
//!   question tagged by skill, type and difficulty, with what a good answer covers; checked when
//!   loaded.
//! - [`resume`]: what a résumé's text names (a project, skills).
//! - [`build`]: one interview's plan — the bank, the questions that fit the job and the résumé
//!   (and why), a question about the résumé's project. Stored with the interview.
//! - [`adaptive`]: the offline interviewer's decisions over the plan (phases, difficulty after
//!   each answer, follow-ups), replayed from the conversation; each stored with its turn.
//! - [`vocabulary`]: the plan's terms, given to speech recognition.

pub mod adaptive;
pub mod bank;
pub mod build;
pub mod import;
pub mod library;
pub mod resume;
pub mod shared;
pub mod vocabulary;

pub use adaptive::{Action, Decision, Phase};
pub use build::{build, Plan, PlanInput};
