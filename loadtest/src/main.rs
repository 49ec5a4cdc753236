use std::path::PathBuf;

use anyhow::{bail, Context};

use clap::Parser;
use viva_loadtest::api::Account;
use viva_loadtest::{check_target, create_invites, create_staff, parse_invites, run, Options};

/// Runs virtual candidates against a Viva server and reports what they experienced.
#[derive(Parser, Debug)]
#[command(name = "viva-loadtest", version)]
struct Cli {
    #[command(flatten)]
    opts: Options,
    /// Interviews to use: JSON lines as `viva interview create` prints them.
    #[arg(long)]
    interviews: Option<PathBuf>,
    /// Create the interviews with `<viva-bin> interview create --count N --data-dir DIR`
    /// (the server's data directory).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    #[arg(long, default_value = "viva")]
    viva_bin: PathBuf,
    /// The server's process id, to sample its CPU and memory.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Write the JSON report here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write the HTML report here.
    #[arg(long)]
    html: Option<PathBuf>,
    /// No live progress bar.
    #[arg(long)]
    quiet: bool,
    /// The staff account for `--api-rps`/`--login-rps` (its password in
    /// `VIVA_LOADTEST_API_PASSWORD`). Default with `--data-dir`: a new admin of the `default`
    /// organization (the load's interviews), made with `<viva-bin> admin create`.
    #[arg(long)]
    api_email: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    check_target(&cli.opts.url, cli.opts.allow_remote)?;
    let invites = match (&cli.interviews, &cli.data_dir) {
        (Some(f), _) => parse_invites(&std::fs::read_to_string(f)?)?,
        (None, Some(dir)) => {
            create_invites(&cli.viva_bin, dir, cli.opts.sessions, cli.opts.listen)?
        }
        (None, None) => bail!("pass --interviews FILE or --data-dir DIR (the server's)"),
    };
    let account = if cli.opts.api_rps > 0.0 || cli.opts.login_rps > 0.0 {
        let (email, password) = match (&cli.api_email, &cli.data_dir) {
            (Some(e), _) => (
                e.clone(),
                std::env::var("VIVA_LOADTEST_API_PASSWORD")
                    .context("--api-email needs its password in VIVA_LOADTEST_API_PASSWORD")?,
            ),
            (None, Some(dir)) => create_staff(&cli.viva_bin, dir)?,
            (None, None) => bail!("API traffic needs --api-email, or --data-dir to make one"),
        };
        Some(Account { email, password })
    } else {
        None
    };
    let report = run(&cli.opts, invites, account, cli.server_pid, !cli.quiet).await?;
    print!("{}", report.table());
    if let Some(p) = &cli.json {
        std::fs::write(p, report.json()).with_context(|| format!("writing {}", p.display()))?;
    }
    if let Some(p) = &cli.html {
        std::fs::write(p, report.html()).with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}
