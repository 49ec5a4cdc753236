//! The plan of one interview, built when the interview is made from the job (title, skills,
//! seniority, description) and the candidate's résumé: which bank, which of its questions fit
//! (by overlap of the job's skills and the résumé with each question's tags, and why), and a
//! question about a project the résumé names. Stored with the interview; the offline
//! interviewer walks it ([`super::adaptive`]), a model-backed interviewer is shown it.

use serde::{Deserialize, Serialize};

use super::bank::{built_in, built_in_names, QuestionBank, QuestionType};
use super::resume::{mentions, project_named, word_line};

/// The format of a stored plan.
pub const PLAN_FORMAT: u32 = 1;

/// Main questions when neither the interview nor the server says (`VIVA_MAX_QUESTIONS`'s
/// default); the offline interviewer asks the number in force when it runs.
pub const DEFAULT_QUESTIONS: usize = 6;

/// The id of the question about the résumé's project.
pub const PROJECT_QUESTION: &str = "resume-project";

/// Template names of earlier versions, still accepted: the bank each now means.
pub const LEGACY_TEMPLATES: [(&str, &str); 4] = [
    ("software", "fullstack"),
    ("data", "data-engineer"),
    ("product", "behavioral"),
    ("general", "behavioral"),
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Plan {
    pub format: u32,
    /// The question bank (`react`, …) and its version.
    pub bank: String,
    pub bank_version: u32,
    /// Why this bank.
    pub bank_reason: String,
    /// The job's skills (lower case) and seniority.
    pub job_skills: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seniority: Option<String>,
    /// The bank's skill tags the résumé mentions.
    pub resume_skills: Vec<String>,
    /// A project the résumé names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Main questions to ask (follow-ups not counted).
    pub questions: usize,
    /// The questions to choose from, best fit first.
    pub pool: Vec<PlannedQuestion>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlannedQuestion {
    pub id: String,
    pub text: String,
    pub skills: Vec<String>,
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub kind: QuestionType,
    pub difficulty: u8,
    pub rubric: String,
    /// 2 per tag among the job's skills, 1 per tag the résumé mentions.
    pub fit: u32,
    /// Why it is in the plan: the tags it shares with the job and the résumé.
    pub reason: String,
}

/// What a plan is built from.
#[derive(Debug, Clone, Default)]
pub struct PlanInput<'a> {
    pub role: &'a str,
    pub description: &'a str,
    pub skills: &'a [String],
    pub seniority: Option<&'a str>,
    pub resume: &'a str,
    /// A bank the interview names (a built-in bank's name, or a legacy template name).
    pub template: Option<&'a str>,
    /// An organization's own bank, when the interview names one (it wins over `template`).
    pub bank: Option<&'a QuestionBank>,
    pub questions: usize,
}

/// The bank a template name means: a built-in name, or a legacy one.
pub fn bank_named(template: &str) -> Option<&'static QuestionBank> {
    let name = LEGACY_TEMPLATES
        .iter()
        .find(|(old, _)| *old == template)
        .map_or(template, |(_, new)| new);
    built_in(name)
}

fn normal(skill: &str) -> String {
    word_line(skill).replace(' ', "-")
}

/// Chooses the built-in bank for a job: one named by a skill or the title ("React" → `react`),
/// else the one whose tags the job's skills share most, else by the title's words, else
/// `behavioral`.
fn choose_bank(role: &str, skills: &[String]) -> (&'static QuestionBank, String) {
    let title = word_line(role);
    let skill_names: Vec<String> = skills.iter().map(|s| normal(s)).collect();
    for name in built_in_names() {
        if skill_names.iter().any(|s| s == name) {
            return (
                built_in(name).expect("built in"),
                format!("the job lists the skill {name}"),
            );
        }
    }
    for name in built_in_names() {
        if mentions(&title, name) {
            return (
                built_in(name).expect("built in"),
                format!("the job's title names {name}"),
            );
        }
    }
    let mut best: Option<(usize, &'static QuestionBank)> = None;
    for bank in built_in_names().filter_map(built_in) {
        let shared = bank
            .questions
            .iter()
            .filter(|q| q.skills.iter().any(|t| skill_names.contains(t)))
            .count();
        if shared > 0 && best.as_ref().is_none_or(|(n, _)| shared > *n) {
            best = Some((shared, bank));
        }
    }
    if let Some((n, bank)) = best {
        let reason = format!("{n} of its questions are about the job's skills");
        return (bank, reason);
    }
    let by_title = [
        ("front", "javascript"),
        ("full", "fullstack"),
        ("back", "backend"),
        ("data", "data-engineer"),
        ("engineer", "fullstack"),
        ("developer", "fullstack"),
        ("programmer", "fullstack"),
    ];
    for (word, name) in by_title {
        if title.split(' ').any(|w| w.starts_with(word)) {
            return (
                built_in(name).expect("built in"),
                format!("the job's title has \"{word}\""),
            );
        }
    }
    (
        built_in("behavioral").expect("built in"),
        "no technical bank fits the job".into(),
    )
}

/// The skills a job description lists on a `Skills:` line (interviews made before plans were
/// stored, or by the command line).
pub fn skills_in_description(description: &str) -> Vec<String> {
    description
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Skills:"))
        .flat_map(|s| s.trim().trim_end_matches('.').split(','))
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The plan of an interview made without a job record (the command line, or before plans were
/// stored): the skills are read from the description's `Skills:` line.
pub fn from_text(
    role: &str,
    description: &str,
    resume: &str,
    template: Option<&str>,
    questions: usize,
) -> Plan {
    let skills = skills_in_description(description);
    build(&PlanInput {
        role,
        description,
        skills: &skills,
        seniority: None,
        resume,
        template,
        bank: None,
        questions,
    })
}

/// Builds the plan.
pub fn build(input: &PlanInput) -> Plan {
    let (bank, bank_reason) = match (input.bank, input.template.and_then(bank_named)) {
        (Some(own), _) => (own, "the organization's bank named by the interview".into()),
        (None, Some(named)) => {
            let reason = format!("the interview names {}", input.template.unwrap_or_default());
            (named, reason)
        }
        (None, None) => choose_bank(input.role, input.skills),
    };
    let job_skills: Vec<String> = input.skills.iter().map(|s| normal(s)).collect();
    let resume_line = word_line(input.resume);
    let description_line = word_line(input.description);
    let mut tags: Vec<&String> = bank.questions.iter().flat_map(|q| &q.skills).collect();
    tags.sort();
    tags.dedup();
    let resume_skills: Vec<String> = tags
        .iter()
        .filter(|t| mentions(&resume_line, t))
        .map(|t| t.to_string())
        .collect();
    let mut pool: Vec<PlannedQuestion> = bank
        .questions
        .iter()
        .map(|q| {
            let job: Vec<&str> = q
                .skills
                .iter()
                .filter(|t| job_skills.contains(t) || mentions(&description_line, t))
                .map(String::as_str)
                .collect();
            let cv: Vec<&str> = q
                .skills
                .iter()
                .filter(|t| resume_skills.contains(t))
                .map(String::as_str)
                .collect();
            let fit = 2 * job.len() as u32 + cv.len() as u32;
            let mut reason = Vec::new();
            if !job.is_empty() {
                reason.push(format!("job: {}", job.join(", ")));
            }
            if !cv.is_empty() {
                reason.push(format!("résumé: {}", cv.join(", ")));
            }
            PlannedQuestion {
                id: q.id.clone(),
                text: q.text.clone(),
                skills: q.skills.clone(),
                kind: q.kind,
                difficulty: q.difficulty,
                rubric: q.rubric.clone(),
                fit,
                reason: if reason.is_empty() {
                    format!("from the {} bank", bank.name)
                } else {
                    reason.join("; ")
                },
            }
        })
        .collect();
    let project = project_named(input.resume);
    if let Some(name) = &project {
        pool.push(PlannedQuestion {
            id: PROJECT_QUESTION.into(),
            text: format!(
                "Your résumé mentions {name}. What was your part in it, and what was the \
                 hardest problem you solved there?"
            ),
            skills: vec!["project".into()],
            kind: QuestionType::Project,
            difficulty: 2,
            rubric: "Their own role and decisions, a concrete technical problem, how they solved \
                     it, the result and what they would change."
                .into(),
            fit: u32::MAX / 2,
            reason: format!("the résumé names the project {name}"),
        });
    }
    // Best fit first; the bank's order among equals.
    pool.sort_by_key(|q| std::cmp::Reverse(q.fit));
    Plan {
        format: PLAN_FORMAT,
        bank: bank.name.clone(),
        bank_version: bank.version,
        bank_reason,
        job_skills,
        seniority: input.seniority.map(str::to_owned),
        resume_skills,
        project,
        questions: input.questions.max(1),
        pool,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skills(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn the_bank_follows_the_job_and_the_pool_its_skills_and_the_resume() {
        let job = skills(&["React", "TypeScript", "Hooks", "State"]);
        let plan = build(&PlanInput {
            role: "Frontend Engineer",
            skills: &job,
            resume: "Five years of React.\nProjects\n- Tidewatch — tide charts with Suspense",
            questions: 6,
            ..Default::default()
        });
        assert_eq!(plan.bank, "react");
        assert_eq!(plan.bank_reason, "the job lists the skill react");
        assert_eq!(plan.project.as_deref(), Some("Tidewatch"));
        assert!(
            plan.resume_skills.contains(&"suspense".to_owned()),
            "{:?}",
            plan.resume_skills
        );
        assert_eq!(plan.pool[0].id, PROJECT_QUESTION);
        assert!(plan.pool[0].text.contains("Tidewatch"));
        // Questions about hooks and state (two job skills) come before those about one.
        let first = &plan.pool[1];
        assert!(first.skills.contains(&"hooks".into()) || first.skills.contains(&"state".into()));
        assert!(first.reason.starts_with("job: react"), "{}", first.reason);
        assert!(plan.pool.windows(2).all(|w| w[0].fit >= w[1].fit));
    }

    #[test]
    fn a_named_template_wins_and_old_names_still_work() {
        let plan = build(&PlanInput {
            role: "React Developer",
            template: Some("data"),
            questions: 3,
            ..Default::default()
        });
        assert_eq!(plan.bank, "data-engineer");
        assert!(plan.project.is_none());
        let by_title = build(&PlanInput {
            role: "Senior Python Developer",
            ..Default::default()
        });
        assert_eq!(by_title.bank, "python");
        let nothing = build(&PlanInput {
            role: "Office Manager",
            ..Default::default()
        });
        assert_eq!(nothing.bank, "behavioral");
        let by_tags = build(&PlanInput {
            role: "Engineer",
            skills: &skills(&["Kafka", "Airflow", "SQL"]),
            ..Default::default()
        });
        assert_eq!(by_tags.bank, "data-engineer");
    }

    #[test]
    fn skills_are_read_back_from_a_description() {
        let d = "Build our UI.\n\nSeniority: senior.\n\nSkills: React, TypeScript.";
        assert_eq!(skills_in_description(d), ["React", "TypeScript"]);
    }
}
