//! `zync users erase ID` and `zync users export ID`: an operator carries out a user's erasure or
//! export request (docs/personal-data.md), as the user could themselves over HTTP.

use anyhow::Context;
use clap::Subcommand;
use uuid::Uuid;

use super::database::Database;
use super::Outcome;
use crate::commands::{CommandBus, RequestMeta};
use crate::config::Config;
use crate::service::{export, users};

#[derive(Subcommand)]
pub enum Command {
    /// Erase a user (live or deleted): their profile, every message text and file name they
    /// wrote and their files become unreadable everywhere, the log included. Channels they own
    /// pass to the longest-standing other member, or are deleted when empty. Cannot be undone.
    Erase {
        /// The user's id.
        id: Uuid,
    },
    /// Write everything a user provided to standard output, as the JSON document of
    /// `GET /v1/users/me/export`.
    Export {
        /// The user's id.
        id: Uuid,
    },
}

pub async fn run(config: &Config, command: Command) -> anyhow::Result<Outcome> {
    let db = Database::open(config).await?;
    let result = match command {
        Command::Erase { id } => erase(&db, id).await,
        Command::Export { id } => {
            let mut out = tokio::io::stdout();
            export::export(&db.pool, id, &mut out)
                .await
                .with_context(|| format!("could not export user {id}"))
                .map(|()| Outcome::Success)
        }
    };
    db.close().await?;
    result
}

async fn erase(db: &Database, id: Uuid) -> anyhow::Result<Outcome> {
    // No server may be running: nothing waits for the projections, which the next server
    // start brings up to date (the erasure itself is in the log, and its keys are gone now).
    let commands = CommandBus::new(db.pool.clone(), None);
    let meta = RequestMeta {
        actor: None,
        request_id: format!("cli-erase-{}", Uuid::now_v7()),
        client_addr: None,
    };
    let erasure = users::erase(&commands, &db.pool, &meta, None, id)
        .await
        .with_context(|| format!("could not erase user {id}"))?;
    for hand_over in &erasure.handed_over {
        println!(
            "channel {} now belongs to {}",
            hand_over.channel_id, hand_over.new_owner_id
        );
    }
    for channel in &erasure.deleted_channels {
        println!("channel {channel} deleted (nobody else was in it)");
    }
    println!("user {id} erased");
    Ok(Outcome::Success)
}
