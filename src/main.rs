//! `zync`: the server and its operator commands.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use zync::app::{self, Application};
use zync::config::Config;

#[derive(Parser)]
#[command(name = "zync", version, about = "Event-sourced chat backend")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (the default). Without DATABASE_URL, runs a private PostgreSQL.
    Serve {
        /// Port to listen on [env: PORT, default 8000].
        #[arg(long)]
        port: Option<u16>,
        /// Data directory: embedded cluster, generated secret [env: ZYNC_DATA_DIR, default ./data].
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Apply pending database migrations and exit.
    Migrate {
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    zync::telemetry::init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One readable line (with causes), not a backtrace.
            eprintln!("zync: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut config = Config::from_env()?;
    match cli.command.unwrap_or(Command::Serve {
        port: None,
        data_dir: None,
    }) {
        Command::Serve { port, data_dir } => {
            if let Some(port) = port {
                config.port = port;
            }
            if let Some(dir) = data_dir {
                config = config.with_data_dir(dir);
            }
            Application::build(config)
                .await?
                .run_until(shutdown_signal())
                .await
        }
        Command::Migrate { data_dir } => {
            if let Some(dir) = data_dir {
                config = config.with_data_dir(dir);
            }
            let (options, embedded) = app::database(&config).await?;
            let pool = app::pool(&config, options).await?;
            zync::db::migrate(&pool).await?;
            println!("migrations applied");
            pool.close().await;
            if let Some(pg) = embedded {
                pg.stop().await?;
            }
            Ok(())
        }
    }
}

/// SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown signal received; draining");
}
