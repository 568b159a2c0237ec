//! `zync audit replay`: the audit log, selected, in order, as a table or JSON lines; or with
//! `--as-of`, what a channel, user or message looked like at a moment. The work is in
//! `crate::audit`; this is argument parsing and output.

use std::io::{BufWriter, ErrorKind, Write};

use clap::{ArgGroup, ValueEnum};
use uuid::Uuid;

use super::database::Database;
use super::Outcome;
use crate::audit::{self, state_format, AuditError, Bound, ReplayRequest, Selection};
use crate::config::Config;

#[derive(clap::Args, Debug)]
#[command(group(ArgGroup::new("selection").required(true).args(["channel", "user", "message", "all"])))]
pub struct Args {
    /// The channel's own events (creation, updates, ownership, members, deletion) and every event
    /// of every message posted in it.
    #[arg(long, value_name = "ID")]
    channel: Option<Uuid>,
    /// The user's own events (registration, profile, password, deletion) and every event whose
    /// metadata names them as the acting user, whatever it changed. Events that merely mention
    /// the user (someone else made them a channel's owner, say) are not included.
    #[arg(long, value_name = "ID")]
    user: Option<Uuid>,
    /// The message's events: posting, edits, deletion.
    #[arg(long, value_name = "ID")]
    message: Option<Uuid>,
    /// Every event of the log.
    #[arg(long)]
    all: bool,
    /// Only events at or after this moment: a global position (that event included) or an
    /// RFC 3339 time (compared with the time the event was recorded).
    #[arg(long, value_name = "POSITION|TIME", conflicts_with = "as_of")]
    since: Option<Bound>,
    /// Only events at or before this moment: a global position or an RFC 3339 time.
    #[arg(long, value_name = "POSITION|TIME", conflicts_with = "as_of")]
    until: Option<Bound>,
    /// Instead of the events, print the channel, user or message as it was right after the
    /// event at this position, or at this RFC 3339 time.
    #[arg(long, value_name = "POSITION|TIME", conflicts_with = "all")]
    as_of: Option<Bound>,
    /// `table`: aligned columns for people. `jsonl`: one JSON object per line, every field.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Jsonl,
}

pub async fn run(config: &Config, args: Args) -> anyhow::Result<Outcome> {
    let db = Database::open(config).await?;
    let result = execute(&db, &args).await;
    db.close().await?;
    match result {
        Ok(()) => Ok(Outcome::Success),
        // The reader went away (`| head`): what it wanted was printed.
        Err(e) if broken_pipe(&e) => Ok(Outcome::Success),
        Err(e) => Err(e),
    }
}

async fn execute(db: &Database, args: &Args) -> anyhow::Result<()> {
    let mut out = BufWriter::new(std::io::stdout());
    let pool = &db.pool;
    let Some(as_of) = args.as_of else {
        return replay(db, args, &mut out).await;
    };
    // clap allows --as-of with --channel, --user or --message only.
    let (table, json) = if let Some(id) = args.channel {
        let h = audit::channel_as_of(pool, id, Some(as_of))
            .await
            .map_err(explain)?;
        (state_format::channel_table(&h), to_json(&h))
    } else if let Some(id) = args.user {
        let h = audit::user_as_of(pool, id, Some(as_of)).await.map_err(explain)?;
        (state_format::user_table(&h), to_json(&h))
    } else if let Some(id) = args.message {
        let h = audit::message_as_of(pool, id, Some(as_of))
            .await
            .map_err(explain)?;
        (state_format::message_table(&h), to_json(&h))
    } else {
        anyhow::bail!("--as-of needs --channel, --user or --message");
    };
    match args.format {
        Format::Table => out.write_all(table.as_bytes())?,
        Format::Jsonl => writeln!(out, "{json}")?,
    }
    out.flush()?;
    Ok(())
}

async fn replay(db: &Database, args: &Args, out: &mut impl Write) -> anyhow::Result<()> {
    let selection = match (args.channel, args.user, args.message) {
        (Some(id), _, _) => Selection::Channel(id),
        (_, Some(id), _) => Selection::User(id),
        (_, _, Some(id)) => Selection::Message(id),
        // clap requires exactly one of the four: this is --all.
        _ => Selection::All,
    };
    let request = ReplayRequest {
        selection,
        since: args.since,
        until: args.until,
    };
    if args.format == Format::Table {
        writeln!(out, "{}", audit::format::table_header())?;
    }
    audit::replay(&db.pool, &request, |line| match args.format {
        Format::Table => writeln!(out, "{}", audit::format::table_row(line)),
        Format::Jsonl => writeln!(out, "{}", audit::format::json_line(line)),
    })
    .await
    .map_err(explain)?;
    out.flush()?;
    Ok(())
}

/// Says why the audit stopped when an event could not be read (the error names its position).
fn explain(e: AuditError) -> anyhow::Error {
    match e {
        AuditError::Event(e) => {
            anyhow::Error::new(e).context("audit stopped at an event this build cannot read")
        }
        other => other.into(),
    }
}

fn broken_pipe(e: &anyhow::Error) -> bool {
    let io = match e.downcast_ref::<AuditError>() {
        Some(AuditError::Output(io)) => Some(io),
        _ => e.downcast_ref::<std::io::Error>(),
    };
    io.is_some_and(|io| io.kind() == ErrorKind::BrokenPipe)
}

fn to_json(state: &impl serde::Serialize) -> String {
    serde_json::to_string(state).expect("a reconstructed state serializes to JSON")
}
