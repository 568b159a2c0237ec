//! The baseline the send workloads are judged against: pgbench running, per message, the SQL our
//! server runs, at the same concurrency, against the same PostgreSQL. That is the event append in
//! one transaction (through the same guard and notify triggers), then the read-table row and the
//! projection checkpoint in another.
//!
//! Each pgbench client advances a checkpoint row of its own. The server advances one row per
//! projection, once per batch of events; a single shared row here would serialise every client on
//! one row lock held through each commit's flush, a limit of this script rather than of the
//! machine. The baseline is meant to be the machine's limit, so it does not have that one.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context};
use sqlx::PgPool;
use uuid::Uuid;

use crate::cpu::{self, CpuSample};
use crate::{BenchDb, Cluster};

const SCRIPT: &str = r#"BEGIN;
INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
SELECT 'Message', m.id::text, 1, 'TextMessagePosted', '1',
       jsonb_build_object('TextMessagePosted', jsonb_build_object('message_id', m.id,
           'channel_id', s.channel_id, 'author_id', s.author_id, 'content', 'baseline message')),
       jsonb_build_object('actor_id', s.author_id, 'request_id', m.id::text,
           'client_addr', '127.0.0.1', 'timestamp', now())
  FROM bench_baseline_senders s CROSS JOIN (SELECT gen_random_uuid() AS id) m
 WHERE s.client = :client_id
RETURNING aggregate_id AS message_id, global_position AS position, tx_id::text AS tx, recorded_at::text AS at,
          payload #>> '{TextMessagePosted,channel_id}' AS channel, payload #>> '{TextMessagePosted,author_id}' AS author
\gset
COMMIT;
BEGIN;
INSERT INTO messages (id, channel_id, author_id, message_type, content, s3_key, content_type,
                      original_filename, created_at, updated_at)
VALUES (:message_id::uuid, :channel::uuid, :author::uuid, 'text', 'baseline message', NULL, NULL, NULL,
        :at::timestamptz, :at::timestamptz);
UPDATE projection_checkpoints SET last_tx = :tx::xid8, last_position = :position::bigint, updated_at = now()
 WHERE name = 'baseline-' || :client_id;
COMMIT;
"#;

/// What pgbench reported.
#[derive(Debug)]
pub struct Pgbench {
    /// Script runs (messages) per second, without connection setup.
    pub tps: f64,
    pub messages: u64,
    pub failed: u64,
    pub latency_ms: f64,
    /// CPU of PostgreSQL and of pgbench itself over the run.
    pub cpu: CpuSample,
}

/// pgbench of the installed server, as the embedded cluster finds `initdb`.
fn pgbench() -> anyhow::Result<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|v| v.path().join("bin/pgbench"))
        .filter(|p| p.exists())
        .collect();
    found.sort();
    found
        .pop()
        .context("pgbench not found under /usr/lib/postgresql/*/bin (Debian: apt-get install postgresql)")
}

/// Runs the baseline with one client per `(author, channel)` sender, for `duration`.
pub async fn run(
    cluster: &Cluster,
    db: &BenchDb,
    senders: &[(Uuid, Uuid)],
    duration: Duration,
    dir: &Path,
) -> anyhow::Result<Pgbench> {
    prepare(&db.pool, senders).await?;
    let script = dir.join("baseline.sql");
    std::fs::write(&script, SCRIPT)?;
    let conn = db.connection();
    let before = cpu::sample(None, cluster.postmaster_pid());
    let out = Command::new(pgbench()?)
        .args(["-n", "-M", "prepared", "-j", "2"])
        .args(["-c", &senders.len().to_string()])
        .args(["-T", &duration.as_secs().max(1).to_string()])
        .args(["-h", &conn.host, "-p", &conn.port.to_string(), "-U", &conn.user])
        .arg("-f")
        .arg(&script)
        .arg(&conn.database)
        .output()
        .context("could not run pgbench")?;
    let spent = cpu::sample(None, cluster.postmaster_pid()) - before;
    let stdout = String::from_utf8_lossy(&out.stdout);
    std::fs::write(
        dir.join("baseline.log"),
        [&out.stdout[..], &out.stderr[..]].concat(),
    )?;
    if !out.status.success() {
        bail!(
            "pgbench failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut result = parse(&stdout)?;
    result.cpu = spent;
    Ok(result)
}

async fn prepare(pool: &PgPool, senders: &[(Uuid, Uuid)]) -> anyhow::Result<()> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS bench_baseline_senders (
             client int PRIMARY KEY, author_id uuid NOT NULL, channel_id uuid NOT NULL)",
    )
    .execute(pool)
    .await?;
    sqlx::query("TRUNCATE bench_baseline_senders")
        .execute(pool)
        .await?;
    for (client, (author, channel)) in senders.iter().enumerate() {
        sqlx::query("INSERT INTO bench_baseline_senders VALUES ($1, $2, $3)")
            .bind(client as i32)
            .bind(author)
            .bind(channel)
            .execute(pool)
            .await?;
        sqlx::query("INSERT INTO projection_checkpoints (name) VALUES ($1) ON CONFLICT DO NOTHING")
            .bind(format!("baseline-{client}"))
            .execute(pool)
            .await?;
    }
    Ok(())
}

fn parse(stdout: &str) -> anyhow::Result<Pgbench> {
    let field = |prefix: &str| -> anyhow::Result<f64> {
        stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("no '{prefix}' in pgbench output:\n{stdout}"))
    };
    Ok(Pgbench {
        tps: field("tps =")?,
        messages: field("number of transactions actually processed:")? as u64,
        failed: field("number of failed transactions:").unwrap_or(0.0) as u64,
        latency_ms: field("latency average =")?,
        cpu: CpuSample::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pgbench_15_output() {
        let out = "transaction type: baseline.sql\nscaling factor: 1\nquery mode: prepared\n\
                   number of clients: 64\nnumber of threads: 2\nmaximum number of tries: 1\n\
                   duration: 10 s\nnumber of transactions actually processed: 41234\n\
                   number of failed transactions: 0 (0.000%)\nlatency average = 15.512 ms\n\
                   initial connection time = 40.1 ms\ntps = 4123.456789 (without initial connection time)\n";
        let p = parse(out).unwrap();
        assert_eq!(p.messages, 41234);
        assert_eq!(p.failed, 0);
        assert!((p.tps - 4123.456789).abs() < 1e-9);
        assert!((p.latency_ms - 15.512).abs() < 1e-9);
        assert!(parse("garbage").is_err());
    }
}
