//! An organization's own question bank, as it is imported (`POST /v1/question-banks`): JSON
//! (`{name, title, questions: [{id, text, skills, type, difficulty, rubric}]}`) or CSV (a header
//! naming the columns `id, text, skills, type, difficulty, rubric` in any order; skills
//! separated by `;`). Checked whole before anything is stored; a problem names its CSV line
//! (counting the header as line 1) or its question's position.

use serde::Deserialize;

use super::bank::{BankQuestion, QuestionBank, QuestionType, MAX_QUESTIONS};

/// A bank in JSON as an organization sends it (its version is the server's to give).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonBank {
    name: String,
    title: String,
    #[serde(default)]
    #[allow(dead_code)]
    version: Option<u32>,
    questions: Vec<BankQuestion>,
}

/// Parses and checks a JSON bank.
pub fn from_json(body: &str) -> Result<QuestionBank, String> {
    let b: JsonBank = serde_json::from_str(body).map_err(|e| {
        format!(
            "line {}, column {}: {}",
            e.line(),
            e.column(),
            e.to_string().split(" at line ").next().unwrap_or_default()
        )
    })?;
    let bank = QuestionBank {
        name: b.name,
        title: b.title,
        version: 0,
        questions: b.questions,
    };
    bank.check()?;
    Ok(bank)
}

/// The CSV's records with the line each starts on (RFC 4180: quoted fields may hold commas,
/// doubled quotes and line breaks).
fn records(body: &str) -> Result<Vec<(usize, Vec<String>)>, String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut row: Vec<String> = Vec::new();
    let (mut line, mut start) = (1usize, 1usize);
    let mut quoted = false;
    let mut chars = body.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    field.push('\n');
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => {
                quoted = true;
                any = true;
            }
            ',' => {
                row.push(std::mem::take(&mut field));
                any = true;
            }
            '\r' => {}
            '\n' => {
                row.push(std::mem::take(&mut field));
                if any || row.iter().any(|f| !f.is_empty()) {
                    out.push((start, std::mem::take(&mut row)));
                }
                row.clear();
                any = false;
                line += 1;
                start = line;
            }
            _ => {
                field.push(c);
                any = true;
            }
        }
    }
    if quoted {
        return Err(format!("line {start}: a quoted field is not closed"));
    }
    row.push(field);
    if any || row.iter().any(|f| !f.is_empty()) {
        out.push((start, row));
    }
    Ok(out)
}

const COLUMNS: [&str; 6] = ["id", "text", "skills", "type", "difficulty", "rubric"];

/// Parses and checks a CSV bank named `name`, titled `title`.
pub fn from_csv(name: &str, title: &str, body: &str) -> Result<QuestionBank, String> {
    let mut rows = records(body.trim_start_matches('\u{feff}'))?.into_iter();
    let (_, header) = rows.next().ok_or("line 1: no header")?;
    let header: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
    let mut index = [0usize; 6];
    for (i, col) in COLUMNS.iter().enumerate() {
        index[i] = header.iter().position(|h| h == col).ok_or_else(|| {
            format!(
                "line 1: the header has no {col} column (needs {})",
                COLUMNS.join(", ")
            )
        })?;
    }
    let mut questions = Vec::new();
    let mut lines = Vec::new();
    for (line, row) in rows {
        if questions.len() == MAX_QUESTIONS {
            return Err(format!("line {line}: at most {MAX_QUESTIONS} questions"));
        }
        if row.len() != header.len() {
            return Err(format!(
                "line {line}: {} fields where the header has {}",
                row.len(),
                header.len()
            ));
        }
        let get = |col: usize| row[index[col]].trim();
        let kind = match get(3).to_lowercase().as_str() {
            "technical" => QuestionType::Technical,
            "behavioural" | "behavioral" => QuestionType::Behavioural,
            "project" => QuestionType::Project,
            other => {
                return Err(format!(
                    "line {line}: type {other:?}: technical, behavioural or project"
                ))
            }
        };
        let difficulty: u8 = get(4)
            .parse()
            .map_err(|_| format!("line {line}: difficulty: from 1 to 5"))?;
        questions.push(BankQuestion {
            id: get(0).to_owned(),
            text: get(1).to_owned(),
            skills: get(2)
                .split([';', '|'])
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
            kind,
            difficulty,
            rubric: get(5).to_owned(),
        });
        lines.push(line);
    }
    let bank = QuestionBank {
        name: name.to_owned(),
        title: title.to_owned(),
        version: 0,
        questions,
    };
    if bank.questions.is_empty() {
        return Err("no questions under the header".into());
    }
    // Bank-wide rules first (name, title), then each row by its line.
    bank.check_questions(|i| format!("line {}", lines[i]))?;
    bank.check()?;
    Ok(bank)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "id,text,skills,type,difficulty,rubric\n\
        q1,\"What is a closure, and when is it useful?\",javascript;closures,technical,2,\"Function plus its scope; callbacks, private state.\"\n\
        q2,\"Tell me about a \"\"hard\"\" bug.\nTake your time.\",debugging,project,3,Symptoms; cause; fix.\n";

    #[test]
    fn csv_with_quotes_commas_and_line_breaks_is_read() {
        let bank = from_csv("acme-frontend", "Acme front end", CSV).unwrap();
        assert_eq!(bank.questions.len(), 2);
        assert_eq!(
            bank.questions[0].text,
            "What is a closure, and when is it useful?"
        );
        assert_eq!(bank.questions[0].skills, ["javascript", "closures"]);
        assert_eq!(
            bank.questions[1].text,
            "Tell me about a \"hard\" bug.\nTake your time."
        );
        assert_eq!(bank.questions[1].kind, QuestionType::Project);
    }

    #[test]
    fn a_bad_row_is_named_by_its_line() {
        // The second question starts on line 3 and spans two lines; the third is on line 5.
        let bad = format!("{CSV}q3,Why?,x,technical,9,Because.\n");
        assert_eq!(
            from_csv("acme", "Acme", &bad).unwrap_err(),
            "line 5: difficulty: from 1 to 5"
        );
        let bad = format!("{CSV}q1,Again?,x,technical,2,Same id.\n");
        assert!(from_csv("acme", "Acme", &bad)
            .unwrap_err()
            .starts_with("line 5: id"));
        let bad = format!("{CSV}q4,Why?,x,opinion,2,Because.\n");
        assert!(from_csv("acme", "Acme", &bad)
            .unwrap_err()
            .starts_with("line 5: type"));
        let bad = format!("{CSV}q4,Why?,x\n");
        assert_eq!(
            from_csv("acme", "Acme", &bad).unwrap_err(),
            "line 5: 3 fields where the header has 6"
        );
        assert!(from_csv("acme", "Acme", "id,text\nq,x\n")
            .unwrap_err()
            .starts_with("line 1: the header has no skills"));
        assert!(from_csv("Acme!", "Acme", CSV)
            .unwrap_err()
            .starts_with("name"));
        assert!(from_csv(
            "acme",
            "Acme",
            "id,text,skills,type,difficulty,rubric\n\"open"
        )
        .unwrap_err()
        .contains("not closed"));
    }

    #[test]
    fn json_banks_are_checked_and_their_errors_placed() {
        let ok = r#"{"name": "acme", "title": "Acme", "questions": [
            {"id": "a", "text": "Why Rust?", "skills": ["rust"], "type": "technical",
             "difficulty": 2, "rubric": "Safety, speed."}]}"#;
        assert_eq!(from_json(ok).unwrap().questions.len(), 1);
        let bad = ok.replace("\"difficulty\": 2", "\"difficulty\": 0");
        assert_eq!(
            from_json(&bad).unwrap_err(),
            "question 1: difficulty: from 1 to 5"
        );
        let broken = "{\"name\": \"acme\",\n \"title\": 3}";
        assert!(
            from_json(broken).unwrap_err().starts_with("line 2, column"),
            "{}",
            from_json(broken).unwrap_err()
        );
    }
}
