//! A plan's vocabulary for speech recognition: the job's skills, the résumé's project and the
//! technical terms of the questions the interview will most likely ask, spelled as the bank
//! spells them ("useEffect", "PostgreSQL", "Node.js").

use std::sync::{Arc, OnceLock, Weak};

use dashmap::DashMap;

use super::Plan;
use crate::providers::vocabulary::Vocabulary;

/// Entries kept before dead ones are swept.
const SWEEP_AT: usize = 1024;

/// The vocabulary of a plan held in memory, made once per plan: interviews that share a plan
/// ([`super::shared`]) share its vocabulary too.
pub fn shared(plan: &Arc<Plan>) -> Vocabulary {
    static MADE: OnceLock<DashMap<usize, (Weak<Plan>, Vocabulary)>> = OnceLock::new();
    let made = MADE.get_or_init(DashMap::new);
    let key = Arc::as_ptr(plan) as usize;
    // The weak reference keeps the plan's allocation, so its address names no other plan.
    if let Some(e) = made.get(&key) {
        if Weak::ptr_eq(&e.0, &Arc::downgrade(plan)) {
            return e.1.clone();
        }
    }
    let vocabulary = of(plan);
    if made.len() >= SWEEP_AT {
        made.retain(|_, (w, _)| w.strong_count() > 0);
    }
    made.insert(key, (Arc::downgrade(plan), vocabulary.clone()));
    vocabulary
}

/// Questions of the pool whose terms are taken, per main question of the interview (the pool is
/// best fit first; follow-ups and harder questions come from its head).
const POOL_PER_QUESTION: usize = 3;

/// The vocabulary of an interview with this plan.
pub fn of(plan: &Plan) -> Vocabulary {
    let texts: Vec<&str> = plan
        .pool
        .iter()
        .take(plan.questions.max(1) * POOL_PER_QUESTION)
        .flat_map(|q| [q.text.as_str(), q.rubric.as_str()])
        .collect();
    let mut terms: Vec<String> = Vec::new();
    for skill in &plan.job_skills {
        terms.push(spelled(skill, &texts));
    }
    terms.extend(plan.project.iter().cloned());
    for text in &texts {
        terms.extend(
            text.split(|c: char| c.is_whitespace() || ",;:()\"“”?!/".contains(c))
                .map(|w| w.trim_end_matches(['.', '\'']))
                .filter(|w| technical(w))
                .map(str::to_owned),
        );
    }
    Vocabulary::new(terms)
}

/// Skills as their makers spell them, for job skills the questions do not spell.
const KNOWN: &[&str] = &[
    "TypeScript",
    "JavaScript",
    "PostgreSQL",
    "MySQL",
    "SQLite",
    "MongoDB",
    "GraphQL",
    "Node.js",
    "Next.js",
    "Vue.js",
    "NumPy",
    "PyTorch",
    "TensorFlow",
    "FastAPI",
    "Django",
    "Kubernetes",
    "Terraform",
    "Kafka",
    "Redis",
    "Docker",
    "Spark",
    "Airflow",
    "dbt",
    "AWS",
    "GCP",
    "CI/CD",
    "REST",
    "gRPC",
    "OAuth",
    "Tailwind",
    "Redux",
    "Webpack",
    "Vite",
    "Rust",
    "Go",
    "Python",
    "Java",
    "Kotlin",
    "Swift",
    "C#",
    "C++",
    "HTML",
    "CSS",
    "SQL",
    "Linux",
    "Git",
];

/// A lower-case skill as its makers spell it ([`KNOWN`]: "postgresql" → "PostgreSQL") or as the
/// texts spell it mid-sentence ("react" → "React"; a capital that only starts a sentence does not
/// count), else as given.
fn spelled(skill: &str, texts: &[&str]) -> String {
    if let Some(known) = KNOWN.iter().find(|k| k.eq_ignore_ascii_case(skill)) {
        return (*known).to_owned();
    }
    for text in texts {
        let mut sentence_start = true;
        for raw in text.split_whitespace() {
            let w = raw.trim_matches(|c: char| ",;:()\"?!".contains(c));
            let w = w.trim_end_matches('.');
            if !sentence_start && w != skill && w.eq_ignore_ascii_case(skill) {
                return w.to_owned();
            }
            sentence_start = raw.ends_with(['.', '?', '!', ':']);
        }
    }
    skill.to_owned()
}

/// A word a recogniser is likely to misspell: camelCase or inner capitals ("useEffect",
/// "TypeScript"), acronyms ("SQL", "CI"), or letters joined with digits or symbols ("OAuth2",
/// "Node.js", "C#"). Ordinary words, capitalised or not, are left to the recogniser.
fn technical(word: &str) -> bool {
    let letters = word.chars().filter(|c| c.is_alphabetic()).count();
    if letters == 0 || word.chars().count() < 2 {
        return false;
    }
    let inner_capital = word.chars().skip(1).any(char::is_uppercase);
    let joined = word
        .chars()
        .any(|c| c.is_ascii_digit() || "#+.".contains(c))
        && word.chars().next().is_some_and(char::is_alphanumeric);
    inner_capital || joined
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::build::from_text;

    #[test]
    fn a_react_plan_hears_the_job_skills_and_the_questions_terms_as_spelled() {
        let plan = from_text(
            "React Developer",
            "Skills: React, TypeScript, hooks",
            "I built Kestrel, a dashboard in React.",
            None,
            6,
        );
        let v = of(&plan);
        let terms = v.terms();
        assert_eq!(&terms[..3], ["React", "TypeScript", "hooks"], "{terms:?}");
        assert_eq!(
            spelled("state", &["State is kept.", "A global state."]),
            "state"
        );
        assert_eq!(spelled("sql", &["Why SQL?"]), "SQL");
        assert!(terms.iter().any(|t| t == "useEffect"), "{terms:?}");
        assert!(terms.iter().all(|t| t != "What" && t != "the"), "{terms:?}");
        assert!(v
            .prompt()
            .unwrap()
            .starts_with("Glossary: React, TypeScript"));
    }

    #[test]
    fn interviews_sharing_a_plan_share_its_vocabulary() {
        let plan = Arc::new(from_text("Data Engineer", "Skills: Spark", "", None, 4));
        let (a, b) = (shared(&plan), shared(&plan.clone()));
        assert_eq!(a, of(&plan));
        assert!(std::ptr::eq(a.terms(), b.terms()));
        let other = Arc::new(from_text("React Developer", "", "", None, 4));
        assert_ne!(shared(&other), a);
    }

    #[test]
    fn ordinary_words_are_not_terms() {
        for w in ["What", "the", "state", "I", "3"] {
            assert!(!technical(w), "{w}");
        }
        for w in [
            "useEffect",
            "TypeScript",
            "SQL",
            "OAuth2",
            "Node.js",
            "C#",
            "CI",
        ] {
            assert!(technical(w), "{w}");
        }
    }
}
