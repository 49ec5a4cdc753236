//! The interview plan (issue #16, in progress): what the interviewer asks, built from the job
//! and the résumé. So far, the question banks:
//!
//! - [`bank`]: role templates shipped with the server (`react`, `python`, `javascript`,
//!   `fullstack`, `backend`, `data-engineer`, `behavioral`; `src/plan/banks/*.json`), each
//!   question tagged by skill, type and difficulty, with what a good answer covers; checked when
//!   loaded. The offline interviewer does not pick from them yet.

pub mod bank;
