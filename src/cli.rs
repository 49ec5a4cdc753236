//! Command line: `viva serve`, `viva migrate`, `viva interview create`.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::store::NewInterview;

#[derive(Parser, Debug)]
#[command(name = "viva", version, about = "Real-time voice interview server")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server.
    Serve(Config),
    /// Create or upgrade the database schema, then exit.
    Migrate(Config),
    /// Interviews.
    #[command(subcommand)]
    Interview(InterviewCommand),
}

#[derive(Subcommand, Debug)]
pub enum InterviewCommand {
    /// Create an interview; prints {"interview_id", "candidate_token", "url"} as one JSON line
    /// (one line per interview with --count).
    Create {
        /// How many interviews to create (load tests).
        #[arg(long, default_value_t = 1)]
        count: u32,
        /// The role interviewed for (chooses the offline interviewer's question bank).
        #[arg(long, default_value = "Software Engineer")]
        role: String,
        /// A file with the job description.
        #[arg(long)]
        job_description: Option<PathBuf>,
        /// A file with the candidate's résumé.
        #[arg(long)]
        resume: Option<PathBuf>,
        #[command(flatten)]
        config: Config,
    },
}

fn read_opt(path: Option<PathBuf>) -> anyhow::Result<Option<String>> {
    path.map(|p| std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display())))
        .transpose()
}

/// Creates one interview: its id, a candidate token and the candidate page's link.
pub async fn create_interview(
    config: &Config,
    role: String,
    job_description: Option<PathBuf>,
    resume: Option<PathBuf>,
) -> anyhow::Result<Created> {
    let mut all = create_interviews(config, 1, role, job_description, resume).await?;
    Ok(all.pop().expect("one interview"))
}

/// Creates `count` interviews with the same role and context.
pub async fn create_interviews(
    config: &Config,
    count: u32,
    role: String,
    job_description: Option<PathBuf>,
    resume: Option<PathBuf>,
) -> anyhow::Result<Vec<Created>> {
    let new = NewInterview {
        role,
        job_description: read_opt(job_description)?,
        resume: read_opt(resume)?,
    };
    let store = crate::server::open_store(config).await?;
    let auth = crate::server::auth(config)?;
    let mut out = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let rec = store.create_interview(&new).await?;
        let token = auth.issue(rec.id);
        let monitor_token = auth.issue_for(crate::auth::Audience::Monitor, rec.id);
        // The token travels in the URL fragment, which browsers never send to a server.
        let url = format!(
            "{}/interview/{}#token={}",
            config.public_url(),
            rec.id,
            token
        );
        out.push(Created {
            interview_id: rec.id,
            candidate_token: token,
            url,
            monitor_token,
        });
    }
    Ok(out)
}

/// What `viva interview create` prints.
#[derive(Debug, serde::Serialize)]
pub struct Created {
    pub interview_id: uuid::Uuid,
    pub candidate_token: String,
    pub url: String,
    /// Read-only token to watch the interview live (`/v1/interviews/{id}/monitor`).
    pub monitor_token: String,
}
