//! Command line: `viva serve`, `viva migrate`, `viva interview create`, `viva admin create`.

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
    /// Recruiter organizations' administrators.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Print the API's OpenAPI 3.1 document (as the server serves it at `/openapi.json`), e.g.
    /// to generate a client.
    Openapi,
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create an organization (if it does not exist yet) and an admin of it; the password is
    /// read from standard input. Prints the user as one JSON line.
    Create {
        #[arg(long)]
        email: String,
        /// The organization's name.
        #[arg(long)]
        org: String,
        #[arg(long)]
        name: Option<String>,
        /// Read the password from standard input (its first line); required, so that it never
        /// appears in the shell history or the process list.
        #[arg(long, required = true)]
        password_stdin: bool,
        #[command(flatten)]
        config: Config,
    },
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
        /// What the printed monitor token may do: `viewer` watches; `recruiter` may also listen
        /// in and steer (e.g. load tests of listen-in).
        #[arg(long, value_enum, default_value = "viewer")]
        monitor_role: MonitorRole,
        #[command(flatten)]
        config: Config,
    },
}

/// `--monitor-role`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum MonitorRole {
    Viewer,
    Recruiter,
}

impl From<MonitorRole> for crate::accounts::Role {
    fn from(r: MonitorRole) -> Self {
        match r {
            MonitorRole::Viewer => Self::Viewer,
            MonitorRole::Recruiter => Self::Recruiter,
        }
    }
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
    let mut all = create_interviews(
        config,
        1,
        role,
        job_description,
        resume,
        MonitorRole::Viewer,
    )
    .await?;
    Ok(all.pop().expect("one interview"))
}

/// Creates `count` interviews with the same role and context; their monitor tokens act as
/// `monitor_role`.
pub async fn create_interviews(
    config: &Config,
    count: u32,
    role: String,
    job_description: Option<PathBuf>,
    resume: Option<PathBuf>,
    monitor_role: MonitorRole,
) -> anyhow::Result<Vec<Created>> {
    let (job_description, resume) = (read_opt(job_description)?, read_opt(resume)?);
    let plan = crate::plan::build::from_text(
        &role,
        job_description.as_deref().unwrap_or_default(),
        resume.as_deref().unwrap_or_default(),
        None,
        config.max_questions as usize,
    );
    let storage = crate::server::open_storage(config).await?;
    let new = NewInterview {
        plan: Some(std::sync::Arc::new(plan)),
        prompts: Some(
            crate::prompts::for_new_interview(
                storage.prompts.as_ref(),
                crate::accounts::DEFAULT_ORG,
            )
            .await?,
        ),
        role,
        job_description,
        resume,
        // Operators' and load tests' interviews start without a consent step.
        ..Default::default()
    };
    let auth = crate::server::auth(config)?;
    let public_url = config.public_url();
    // Operators' interviews belong to the built-in organization.
    let scope = crate::accounts::Scope::operator(crate::accounts::DEFAULT_ORG);
    let mut out = Vec::with_capacity(count as usize);
    for _ in 0..count {
        out.push(
            crate::hiring::interviews::create(
                storage.interviews.as_ref(),
                &auth,
                &public_url,
                scope,
                &new,
                &Default::default(),
                monitor_role.into(),
            )
            .await?,
        );
    }
    Ok(out)
}

/// What `viva interview create` prints (one JSON line per interview).
pub use crate::hiring::interviews::Created;

/// What `viva admin create` prints.
#[derive(Debug, serde::Serialize)]
pub struct CreatedAdmin {
    pub id: uuid::Uuid,
    pub email: String,
    pub name: Option<String>,
    pub role: crate::accounts::Role,
    pub organization: CreatedOrganization,
}

#[derive(Debug, serde::Serialize)]
pub struct CreatedOrganization {
    pub id: uuid::Uuid,
    pub name: String,
    /// Whether this command created it.
    pub created: bool,
}

/// Creates the organization if new, then an admin of it with `password` (checked against the
/// policy). Fails, changing nothing, if the email is taken or the password is refused.
pub async fn create_admin(
    config: &Config,
    email: &str,
    org: &str,
    name: Option<String>,
    password: &str,
) -> anyhow::Result<CreatedAdmin> {
    use crate::accounts::{password as pw, NewUser, Role};
    let email = email.trim();
    let org_name = org.trim();
    anyhow::ensure!(
        crate::accounts::is_plausible_email(email),
        "--email must be an email address"
    );
    anyhow::ensure!(
        (1..=200).contains(&org_name.chars().count()),
        "--org must be 1 to 200 characters"
    );
    pw::check_policy(password, email).map_err(|e| anyhow::anyhow!("password refused: {e}"))?;
    let storage = crate::server::open_storage(config).await?;
    let accounts = storage.accounts;
    if accounts.user_by_email(email).await?.is_some() {
        anyhow::bail!("a user with the email {email} already exists");
    }
    let (organization, created) = match accounts.organization_by_name(org_name).await? {
        Some(o) => (o, false),
        None => (accounts.create_organization(org_name).await?, true),
    };
    let password = password.to_owned();
    let hash = tokio::task::spawn_blocking(move || pw::hash(&password)).await?;
    let user = accounts
        .create_user(&NewUser {
            organization_id: organization.id,
            email: email.to_owned(),
            name,
            role: Role::Admin,
            password_hash: Some(hash),
        })
        .await?;
    Ok(CreatedAdmin {
        id: user.id,
        email: user.email,
        name: user.name,
        role: user.role,
        organization: CreatedOrganization {
            id: organization.id,
            name: organization.name,
            created,
        },
    })
}
