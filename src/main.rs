use clap::Parser;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;
use viva::cli::{AdminCommand, Cli, Command, InterviewCommand};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = dotenvy::dotenv();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    // VIVA_LOG=json: one JSON object per line (for a log shipper), spans and their fields
    // (request_id) included.
    if std::env::var("VIVA_LOG").is_ok_and(|v| v.eq_ignore_ascii_case("json")) {
        tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    } else {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }
    match Cli::parse().command {
        Command::Serve(config) => {
            let listener = TcpListener::bind(config.bind).await?;
            viva::server::run(listener, config, shutdown_signal()).await
        }
        Command::Openapi => {
            let doc = viva::http::openapi::document();
            println!("{}", doc.to_pretty_json()?);
            Ok(())
        }
        Command::Migrate(mut config) => {
            config.no_migrate = false;
            viva::server::open_store(&config).await?;
            eprintln!("migrations applied");
            Ok(())
        }
        Command::Interview(InterviewCommand::Create {
            count,
            role,
            job_description,
            resume,
            monitor_role,
            config,
        }) => {
            let created = viva::cli::create_interviews(
                &config,
                count,
                role,
                job_description,
                resume,
                monitor_role,
            )
            .await?;
            for c in created {
                println!("{}", serde_json::to_string(&c)?);
            }
            Ok(())
        }
        Command::Admin(AdminCommand::Create {
            email,
            org,
            name,
            password_stdin: _,
            config,
        }) => {
            let mut password = String::new();
            std::io::stdin().read_line(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']);
            let admin = viva::cli::create_admin(&config, &email, &org, name, password).await?;
            println!("{}", serde_json::to_string(&admin)?);
            Ok(())
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
