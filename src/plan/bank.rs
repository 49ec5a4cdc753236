//! Question banks: questions tagged by skill, type (technical, behavioural, project) and
//! difficulty (1–5), each with a short rubric of what a good answer covers. The server ships
//! role templates as JSON files built into the binary; every bank is checked when loaded (a bad
//! question is named by its position, nothing is half-loaded).

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuestionType {
    Technical,
    Behavioural,
    Project,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BankQuestion {
    /// Unique within its bank.
    pub id: String,
    pub text: String,
    /// Lower-case skill tags (`react`, `hooks`, `sql`…), matched against the job's skills and
    /// the résumé.
    pub skills: Vec<String>,
    #[serde(rename = "type")]
    pub kind: QuestionType,
    /// 1 (warm-up) to 5 (the hardest).
    pub difficulty: u8,
    /// What a good answer covers.
    pub rubric: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuestionBank {
    /// `react`, `data-engineer`…
    pub name: String,
    pub title: String,
    pub version: u32,
    pub questions: Vec<BankQuestion>,
}

/// Longest question and rubric, in characters.
pub const MAX_TEXT: usize = 500;
/// Most questions in one bank.
pub const MAX_QUESTIONS: usize = 500;

impl QuestionBank {
    /// Parses and checks a bank: the first problem, naming the question (from 1) and field.
    pub fn parse(json: &str) -> Result<Self, String> {
        let bank: Self = serde_json::from_str(json).map_err(|e| format!("not a bank: {e}"))?;
        bank.check()?;
        Ok(bank)
    }

    pub fn check(&self) -> Result<(), String> {
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 40
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !name_ok {
            return Err(format!(
                "name {:?}: up to 40 lower case letters, digits and -",
                self.name
            ));
        }
        if self.questions.is_empty() {
            return Err("no questions".into());
        }
        if self.questions.len() > MAX_QUESTIONS {
            return Err(format!("at most {MAX_QUESTIONS} questions"));
        }
        if self.title.trim().is_empty() || self.title.chars().count() > 100 {
            return Err("title: from 1 to 100 characters".into());
        }
        self.check_questions(|i| format!("question {}", i + 1))
    }

    /// Checks each question; `at(i)` names the `i`th (from 0) in the message ("question 3",
    /// "line 4").
    pub fn check_questions(&self, at: impl Fn(usize) -> String) -> Result<(), String> {
        let mut ids = HashSet::new();
        for (i, q) in self.questions.iter().enumerate() {
            let at = |what: &str| format!("{}: {what}", at(i));
            if q.id.trim().is_empty() || !ids.insert(q.id.as_str()) {
                return Err(at("id missing or not unique"));
            }
            for (field, text) in [("text", &q.text), ("rubric", &q.rubric)] {
                let n = text.trim().chars().count();
                if n == 0 || n > MAX_TEXT {
                    return Err(at(&format!("{field}: from 1 to {MAX_TEXT} characters")));
                }
            }
            if q.skills.is_empty()
                || q.skills
                    .iter()
                    .any(|s| s.is_empty() || s.chars().any(|c| c.is_uppercase()))
            {
                return Err(at("skills: at least one, in lower case"));
            }
            if !(1..=5).contains(&q.difficulty) {
                return Err(at("difficulty: from 1 to 5"));
            }
        }
        Ok(())
    }
}

/// The role templates shipped with the server, by name.
const BUILT_IN: [(&str, &str); 7] = [
    ("react", include_str!("banks/react.json")),
    ("python", include_str!("banks/python.json")),
    ("javascript", include_str!("banks/javascript.json")),
    ("fullstack", include_str!("banks/fullstack.json")),
    ("backend", include_str!("banks/backend.json")),
    ("data-engineer", include_str!("banks/data-engineer.json")),
    ("behavioral", include_str!("banks/behavioral.json")),
];

/// The names of the built-in banks.
pub fn built_in_names() -> impl Iterator<Item = &'static str> {
    BUILT_IN.iter().map(|(name, _)| *name)
}

/// The built-in banks, parsed and checked once (the files are tested, so they always are).
fn all_built_in() -> &'static [QuestionBank] {
    static BANKS: std::sync::OnceLock<Vec<QuestionBank>> = std::sync::OnceLock::new();
    BANKS.get_or_init(|| {
        BUILT_IN
            .iter()
            .map(|(_, json)| QuestionBank::parse(json).expect("built-in banks are valid"))
            .collect()
    })
}

/// A built-in bank by name.
pub fn built_in(name: &str) -> Option<&'static QuestionBank> {
    all_built_in().iter().find(|b| b.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_bank_is_valid_and_deep_enough() {
        for name in built_in_names() {
            let bank = built_in(name).unwrap();
            assert_eq!(bank.name, name);
            assert!(
                bank.questions.len() >= 25,
                "{name}: {}",
                bank.questions.len()
            );
            // Warm-up, core and advanced questions, and at least one about the candidate's own
            // work.
            let levels: HashSet<u8> = bank.questions.iter().map(|q| q.difficulty).collect();
            assert!(
                levels.contains(&1) && levels.contains(&2),
                "{name}: {levels:?}"
            );
            assert!(
                levels.contains(&3) || levels.contains(&4),
                "{name}: {levels:?}"
            );
            assert!(
                bank.questions
                    .iter()
                    .any(|q| q.kind == QuestionType::Project),
                "{name}: no project question"
            );
            let texts: HashSet<&str> = bank.questions.iter().map(|q| q.text.as_str()).collect();
            assert_eq!(
                texts.len(),
                bank.questions.len(),
                "{name}: a question twice"
            );
        }
        assert!(built_in("cobol").is_none());
    }

    #[test]
    fn a_bad_question_is_named_and_nothing_is_loaded() {
        let good = built_in("react").unwrap().clone();
        let mut bad = good.clone();
        bad.questions[2].difficulty = 9;
        let json = serde_json::to_string(&bad).unwrap();
        assert_eq!(
            QuestionBank::parse(&json).unwrap_err(),
            "question 3: difficulty: from 1 to 5"
        );
        let mut dup = good.clone();
        dup.questions[4].id = dup.questions[0].id.clone();
        assert!(dup.check().unwrap_err().starts_with("question 5: id"));
        let mut shouting = good.clone();
        shouting.questions[0].skills = vec!["React".into()];
        assert!(shouting.check().unwrap_err().contains("lower case"));
        let mut empty = good;
        empty.questions[1].rubric = "  ".into();
        assert!(empty.check().unwrap_err().starts_with("question 2: rubric"));
        assert!(QuestionBank::parse(r#"{"name":"x"}"#)
            .unwrap_err()
            .starts_with("not a bank"));
    }
}
