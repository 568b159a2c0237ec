//! `zync projections status | rebuild`.

use std::time::Instant;

use clap::Subcommand;
use projections::rebuild::Rebuild;
use projections::status::{status, ProjectionStatus, Status};

use super::database::Database;
use super::progress::Progress;
use super::Outcome;
use crate::config::Config;

#[derive(Subcommand)]
pub enum Command {
    /// Each projection's checkpoint, the log's head, the lag between them and the last error.
    Status {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Rebuild read tables from the start of the log into shadow tables while servers keep
    /// serving, then swap them in atomically. Safe to interrupt and rerun (it resumes).
    Rebuild {
        /// Projections to rebuild (see `status` for their names).
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        names: Vec<String>,
        /// Rebuild every projection.
        #[arg(long)]
        all: bool,
    },
}

pub async fn run(config: &Config, command: Command) -> anyhow::Result<Outcome> {
    let db = Database::open(config).await?;
    let result = match command {
        Command::Status { json } => print_status(&db, json).await,
        Command::Rebuild { names, .. } => rebuild(&db, &names).await,
    };
    db.close().await?;
    result
}

async fn print_status(db: &Database, json: bool) -> anyhow::Result<Outcome> {
    let status = status(&db.pool, &crate::reactors::names()).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        print!("{}", status_table(&status));
    }
    Ok(Outcome::Success)
}

fn status_table(status: &Status) -> String {
    let mut out = format!(
        "log head: position {} ({} events)\n\n{:<28} {:>10} {:>8}  {:<20}  {}\n",
        status.head, status.events, "PROJECTION", "POSITION", "LAG", "UPDATED", "LAST ERROR"
    );
    for p in &status.projections {
        let name = if p.rebuild {
            format!("{} (rebuild)", p.name)
        } else {
            p.name.clone()
        };
        out.push_str(&status_line(&name, p));
    }
    out.push_str(&format!(
        "\n{:<28} {:>10} {:>8}  {:<20}  {}\n",
        "REACTOR", "POSITION", "LAG", "UPDATED", "LAST ERROR"
    ));
    for r in &status.reactors {
        out.push_str(&status_line(&r.name, r));
    }
    out
}

fn status_line(name: &str, p: &ProjectionStatus) -> String {
    let updated = p
        .updated_at
        .map_or("never".to_string(), |t| t.format("%Y-%m-%d %H:%M:%S").to_string());
    format!(
        "{name:<28} {:>10} {:>8}  {updated:<20}  {}\n",
        p.position,
        p.lag,
        p.last_error.as_deref().unwrap_or("-")
    )
}

async fn rebuild(db: &Database, names: &[String]) -> anyhow::Result<Outcome> {
    let mut rebuild = Rebuild::begin(&db.pool, names).await?;
    let label = rebuild.names().join(", ");
    if !rebuild.resumed.is_empty() {
        eprintln!(
            "resuming the interrupted rebuild of {}",
            rebuild.resumed.join(", ")
        );
    }
    let (total, done) = rebuild.progress().await?;
    let mut progress = Progress::new(&format!("rebuilding {label}"), total, done);
    let started = Instant::now();
    let mut projected = 0u64;
    loop {
        let (read, _) = rebuild.step().await?;
        if read == 0 {
            break;
        }
        projected += read as u64;
        progress.advance(read as u64);
    }
    progress.finish();
    let cursor = rebuild.swap().await?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "rebuilt {label}: {projected} events in {seconds:.1}s ({:.0} events/s); swapped in at position {}",
        projected as f64 / seconds.max(1e-9),
        cursor.position
    );
    Ok(Outcome::Success)
}
