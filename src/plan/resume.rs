//! What the plan reads from a résumé's text: a project it names, and the skills it mentions.
//! Plain text rules, no model: a "Projects" heading and the line under it, a `Project: Name`
//! line, or a capitalised name after "built", "created", "developed"…

use crate::analysis::text::words;

const VERBS: &[&str] = &[
    "built",
    "created",
    "developed",
    "designed",
    "launched",
    "wrote",
    "led",
    "maintained",
    "founded",
];
const ARTICLES: &[&str] = &["a", "an", "the", "our", "my"];

/// The first project the résumé names, if it names one.
pub fn project_named(resume: &str) -> Option<String> {
    let lines: Vec<&str> = resume.lines().map(str::trim).collect();
    for (i, line) in lines.iter().enumerate() {
        let lower = line.to_lowercase();
        let bare = lower.trim_end_matches(':').trim();
        // A heading, then the first line under it.
        if bare == "projects" || bare == "project" || bare == "selected projects" {
            if let Some(next) = lines[i + 1..].iter().find(|l| !l.is_empty()) {
                if let Some(name) = name_at_start(next) {
                    return Some(name);
                }
            }
        }
        // `Project: Name — what it is`
        for label in ["project:", "projects:"] {
            if let Some(rest) = lower.strip_prefix(label) {
                let rest = &line[line.len() - rest.len()..];
                if let Some(name) = name_at_start(rest) {
                    return Some(name);
                }
            }
        }
    }
    // "Built Atlas, a …", "developed the Orders API".
    let tokens: Vec<&str> = resume.split_whitespace().collect();
    for (i, t) in tokens.iter().enumerate() {
        let verb = t
            .trim_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase();
        if !VERBS.contains(&verb.as_str()) {
            continue;
        }
        let mut j = i + 1;
        while j < tokens.len() && ARTICLES.contains(&tokens[j].to_lowercase().as_str()) {
            j += 1;
        }
        let mut name = Vec::new();
        while j < tokens.len() && name.len() < 4 {
            let w = tokens[j];
            let clean = w.trim_matches(|c: char| !c.is_alphanumeric() && c != '.' && c != '-');
            let clean = clean.trim_end_matches('.');
            if clean.chars().next().is_some_and(char::is_uppercase) {
                name.push(clean);
            } else {
                break;
            }
            // A name ends at punctuation.
            if w.ends_with([',', '.', ';', ':', ')']) {
                break;
            }
            j += 1;
        }
        if !name.is_empty() {
            return Some(name.join(" "));
        }
    }
    None
}

/// The name at the start of a line: up to a dash, colon, comma, bracket or full stop.
fn name_at_start(line: &str) -> Option<String> {
    let line = line.trim_start_matches(['-', '*', '•', '·', ' ', '\t']);
    let end = [" — ", " – ", " - ", ":", ",", "(", ". "]
        .iter()
        .filter_map(|sep| line.find(sep))
        .min()
        .unwrap_or(line.len());
    let name = line[..end].trim().trim_end_matches('.');
    let n = name.chars().count();
    (2..=60).contains(&n).then(|| name.to_owned())
}

/// Whether a text mentions a skill tag (`event-loop` matches "event loop" and "event-loop").
pub fn mentions(text_words: &str, tag: &str) -> bool {
    let phrase = words(tag).join(" ");
    !phrase.is_empty() && format!(" {text_words} ").contains(&format!(" {phrase} "))
}

/// A text's words joined by single spaces, for [`mentions`].
pub fn word_line(text: &str) -> String {
    words(text).join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_project_is_found_under_a_heading_on_a_label_or_after_a_verb() {
        let heading =
            "Jane Doe\nSkills: React\n\nProjects\n- Tidewatch — a tide-chart PWA in React\n";
        assert_eq!(project_named(heading).as_deref(), Some("Tidewatch"));
        let label = "Project: Orders API, a REST service";
        assert_eq!(project_named(label).as_deref(), Some("Orders API"));
        let verb = "At Acme I built the Ledger Sync service, then moved on.";
        assert_eq!(project_named(verb).as_deref(), Some("Ledger Sync"));
        assert_eq!(project_named("Five years of React and Node."), None);
        assert_eq!(project_named("I built things for customers."), None);
    }

    #[test]
    fn skills_match_as_whole_words() {
        let line = word_line("Worked on the event loop; Node.js, React-Query.");
        assert!(mentions(&line, "event-loop"));
        assert!(mentions(&line, "react"));
        assert!(!mentions(&line, "rea"));
        assert!(!mentions(&line, "python"));
    }
}
