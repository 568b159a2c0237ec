//! `zync keys seal-log` and `zync keys rotate`: the keys of personal data, for operators
//! (docs/personal-data.md, docs/operators.md).

use anyhow::Context;
use clap::Subcommand;
use projections::personal::MasterKey;

use super::database::Database;
use super::progress::Progress;
use super::Outcome;
use crate::config::Config;
use crate::service::keys;

/// Where `rotate` reads the new master key.
const NEW_KEY_VARIABLE: &str = "ZYNC_NEW_MASTER_KEY";

#[derive(Subcommand)]
pub enum Command {
    /// Seal the personal data of a log written before Zync sealed it (ADR 0011): every event
    /// stays, only its personal fields are replaced by their sealed form. Resumable: run it again
    /// after an interruption. Texts of messages deleted earlier become unrecoverable.
    SealLog,
    /// Re-wrap every data key under the master key in ZYNC_NEW_MASTER_KEY (64 hexadecimal
    /// digits), in one transaction. Stop every server first; restart them with the new key.
    Rotate,
}

pub async fn run(config: &Config, command: Command) -> anyhow::Result<Outcome> {
    let db = Database::open(config).await?;
    let result = match command {
        Command::SealLog => seal_log(&db).await,
        Command::Rotate => rotate(config, &db).await,
    };
    db.close().await?;
    result
}

async fn seal_log(db: &Database) -> anyhow::Result<Outcome> {
    let mut bar: Option<Progress> = None;
    let mut scanned = 0;
    let done = keys::seal_older_log(&db.pool, |progress| {
        let bar = bar.get_or_insert_with(|| Progress::new("sealing the log", progress.total as u64, 0));
        bar.advance((progress.scanned - scanned) as u64);
        scanned = progress.scanned;
    })
    .await
    .context("could not seal the log (run the command again to go on)")?;
    if let Some(bar) = bar {
        bar.finish();
    }
    println!(
        "sealed the personal data of {} of {} events; the log is sealed",
        done.sealed, done.scanned
    );
    Ok(Outcome::Success)
}

async fn rotate(config: &Config, db: &Database) -> anyhow::Result<Outcome> {
    let raw = std::env::var(NEW_KEY_VARIABLE)
        .with_context(|| format!("set {NEW_KEY_VARIABLE} to the new master key (openssl rand -hex 32)"))?;
    let new = MasterKey::from_hex(&raw).context(NEW_KEY_VARIABLE)?;
    let rewrapped = keys::rotate_master_key(&db.pool, &new)
        .await
        .context("the master key was not rotated")?;
    println!("re-wrapped {rewrapped} data keys under the new master key");
    if config.master_key.is_none() {
        // The old key came from the data directory: it now holds the new one.
        crate::secret::replace_master_key(&config.data_dir, &new)?;
        println!("the data directory's master_key file now holds the new key");
    }
    println!("start every server with the new key (ZYNC_MASTER_KEY); the old one opens nothing any more");
    Ok(Outcome::Success)
}
