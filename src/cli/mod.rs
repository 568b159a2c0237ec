//! The `zync` command line: the server and the operator commands, one binary (clap).

mod database;
mod keys;
mod migrate;
mod progress;
mod projections;
mod replay;
mod users;
mod verify;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::app::Application;
use crate::config::Config;

#[derive(Parser)]
#[command(name = "zync", version, about = "Event-sourced chat backend")]
pub struct Cli {
    /// Data directory: embedded cluster, generated secret [env: ZYNC_DATA_DIR, default ./data].
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
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
    },
    /// Apply pending database migrations, list what was applied, and exit.
    Migrate,
    /// Inspect and rebuild the read tables.
    Projections {
        #[command(subcommand)]
        command: projections::Command,
    },
    /// Read and check the audit log (the event store).
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Personal data's keys: seal a log written before sealing, rotate the master key.
    Keys {
        #[command(subcommand)]
        command: keys::Command,
    },
    /// Carry out a user's erasure or export request.
    Users {
        #[command(subcommand)]
        command: users::Command,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Print the selected events in order (position, time, actor, request id, a summary of each
    /// change), or with --as-of the state of a channel, user or message at a moment.
    Replay(replay::Args),
    /// Rebuild every projection into a scratch schema and compare it row by row with the live
    /// read tables; exits 1 if they differ.
    Verify(verify::Args),
}

/// What a command asks the process to exit with, when it ran to the end.
pub enum Outcome {
    Success,
    /// Ran fine but found something wrong (differences, say): exit status 1.
    Findings,
}

impl Cli {
    /// `serve` (or no subcommand): a long-running server rather than an operator command.
    pub fn is_server(&self) -> bool {
        matches!(self.command, None | Some(Command::Serve { .. }))
    }

    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<Outcome> {
        let mut config = Config::from_env()?;
        if let Some(dir) = self.data_dir {
            config = config.with_data_dir(dir);
        }
        match self.command.unwrap_or(Command::Serve { port: None }) {
            Command::Serve { port } => {
                if let Some(port) = port {
                    config.port = port;
                }
                Application::build(config).await?.run_until(shutdown).await?;
                Ok(Outcome::Success)
            }
            Command::Migrate => migrate::run(&config).await,
            Command::Projections { command } => projections::run(&config, command).await,
            Command::Users { command } => users::run(&config, command).await,
            Command::Keys { command } => keys::run(&config, command).await,
            Command::Audit { command } => match command {
                AuditCommand::Replay(args) => replay::run(&config, args).await,
                AuditCommand::Verify(args) => verify::run(&config, args).await,
            },
        }
    }
}
