//! `zync`: the server and its operator commands (see `cli`).

use std::process::ExitCode;

use clap::Parser;
use zync::cli::{Cli, Outcome};

fn main() -> ExitCode {
    // Before any thread exists, so every arena follows it.
    zync::allocator::tune();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("zync: could not start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(run())
}

async fn run() -> ExitCode {
    let cli = Cli::parse();
    // Operator commands print their own report; only problems should interleave with it.
    zync::telemetry::init_with_default(if cli.is_server() {
        "info,sqlx=warn"
    } else {
        "warn,sqlx=error"
    });
    match cli.run(shutdown_signal()).await {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Findings) => ExitCode::from(1),
        Err(e) => {
            // One readable line (with causes), not a backtrace.
            eprintln!("zync: {e:#}");
            ExitCode::from(2)
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
