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
    /// Create an interview; prints {"interview_id", "candidate_token", "url"} as one JSON line.
    Create {
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

/// Creates an interview: its id, a candidate token and the candidate page's link.
pub async fn create_interview(
    config: &Config,
    role: String,
    job_description: Option<PathBuf>,
    resume: Option<PathBuf>,
) -> anyhow::Result<Created> {
    let new = NewInterview {
        role,
        job_description: read_opt(job_description)?,
        resume: read_opt(resume)?,
    };
    let store = crate::server::open_store(config).await?;
    let auth = crate::server::auth(config)?;
    let rec = store.create_interview(&new).await?;
    let token = auth.issue(rec.id);
    // The token travels in the URL fragment, which browsers never send to a server.
    let url = format!(
        "{}/interview/{}#token={}",
        config.public_url(),
        rec.id,
        token
    );
    Ok(Created {
        interview_id: rec.id,
        candidate_token: token,
        url,
    })
}

/// What `viva interview create` prints.
#[derive(Debug, serde::Serialize)]
pub struct Created {
    pub interview_id: uuid::Uuid,
    pub candidate_token: String,
    pub url: String,
}
