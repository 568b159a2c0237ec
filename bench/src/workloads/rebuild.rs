//! P4: `zync projections rebuild --all` on a seeded log, against PostgreSQL alone streaming the
//! same rows (`COPY (SELECT … FROM events) TO '/dev/null'`), then `zync audit verify`, which must
//! find no differences. The seed writes personal data in the clear, as a log from before sealing:
//! the rebuild of that log is timed first, as the cost of sealing's baseline (issue 15: a sealed
//! rebuild no slower than 0.9× a plaintext one); `zync keys seal-log` then seals it (its rate is a
//! figure of its own) and the log is compacted (`VACUUM FULL`: sealing in place leaves every
//! row's old version behind, which a log sealed as it is written never has), so the headline
//! rebuild opens sealed fields as on any log written today.

use std::path::Path;
use std::time::Instant;

use anyhow::{ensure, Context};
use projections::personal::MasterKey;
use projections::rebuild::REBUILD_BATCH;
use projections::{FeedCursor, FeedReader};

use crate::report::{Baseline, Headline, Outcome};
use crate::seed::{seed, Shape};
use crate::server::{run_cli, MASTER_KEY};
use crate::{rate, timed, BenchDb};

/// The target rate of issue 5.
const TARGET_EVENTS_PER_SECOND: f64 = 100_000.0;

pub async fn run(db: &BenchDb, events: i64, dir: &Path) -> anyhow::Result<Outcome> {
    let shape = Shape::for_events(events);
    let (seeded, took) = timed(seed(&db.pool, shape)).await;
    let events = seeded? as u64;
    println!(
        "  seeded {events} events ({shape:?}) in {:.1} s",
        took.as_secs_f64()
    );

    let url = db.url();
    let (plain_status, plain_took) = rebuild(&url, &dir.join("rebuild-plaintext.log"))?;
    ensure!(
        plain_status.success(),
        "the rebuild of the plaintext log exited with {plain_status}; see {}",
        dir.join("rebuild-plaintext.log").display()
    );
    let plain_rate = rate(events, plain_took);

    let started = Instant::now();
    let sealed = run_cli(&url, &["keys", "seal-log"], &dir.join("seal-log.log"))?;
    let seal_took = started.elapsed();
    ensure!(
        sealed.success(),
        "zync keys seal-log exited with {sealed}; see {}",
        dir.join("seal-log.log").display()
    );
    println!("  sealed its personal data in {:.1} s", seal_took.as_secs_f64());
    // Sealing in place left every row's old version behind: the table is twice its size, which
    // a log sealed as it is written never is. Compacted, it is that log.
    for table in ["events", "data_keys"] {
        sqlx::query(&format!("VACUUM (FULL, ANALYZE) {table}"))
            .execute(&db.pool)
            .await?;
    }

    let (copied, copy_took) = timed(
        sqlx::query(
            "COPY (SELECT global_position, tx_id, aggregate_type, aggregate_id, sequence, event_type,
                          event_version, payload, metadata, recorded_at
                     FROM events ORDER BY tx_id, global_position) TO '/dev/null'",
        )
        .execute(&db.pool),
    )
    .await;
    ensure!(
        copied?.rows_affected() == events,
        "the baseline copied the whole log"
    );
    let copy_rate = rate(events, copy_took);

    let (read, read_took) = timed(read_and_decode_all(db)).await;
    ensure!(read? == events, "the reader read the whole log");

    let (status, rebuild_took) = rebuild(&url, &dir.join("rebuild.log"))?;
    let rebuild_rate = rate(events, rebuild_took);

    let started = Instant::now();
    let verified = run_cli(&url, &["audit", "verify"], &dir.join("verify.log"))?;
    let verify_took = started.elapsed();

    let mut headline = Headline::absolute(rebuild_rate, "events/s", TARGET_EVENTS_PER_SECOND, false);
    headline.ratio = Some(rebuild_rate / copy_rate);
    headline.baseline = Some(Baseline {
        name: "COPY of the log to /dev/null".into(),
        value: copy_rate,
        unit: "events/s".into(),
    });
    let mut o = Outcome::new("P4", "projection rebuild", headline);
    o.figure("events in the log", events as f64, "")
        .figure(
            "baseline: COPY the log to /dev/null",
            copy_took.as_secs_f64(),
            "s",
        )
        .figure(
            "read and decode the feed, no writes",
            rate(events, read_took),
            "events/s",
        )
        .figure(
            "zync projections rebuild --all (whole command)",
            rebuild_took.as_secs_f64(),
            "s",
        )
        .figure(
            "the same rebuild of the log before it was sealed",
            plain_rate,
            "events/s",
        )
        .figure(
            "sealed rebuild / plaintext rebuild (issue 15: ≥ 0.9)",
            rebuild_rate / plain_rate,
            "×",
        )
        .figure(
            "zync keys seal-log on the seeded log",
            rate(events, seal_took),
            "events/s",
        )
        .figure(
            "zync audit verify (whole command)",
            verify_took.as_secs_f64(),
            "s",
        );
    o.fail_if(
        !status.success(),
        format!(
            "projections rebuild exited with {status}; see {}",
            dir.join("rebuild.log").display()
        ),
    )
    .fail_if(
        !verified.success(),
        format!(
            "audit verify exited with {verified} (1 means differences); see {}",
            dir.join("verify.log").display()
        ),
    );
    Ok(o)
}

/// `zync projections rebuild --all`, timed.
fn rebuild(url: &str, log: &Path) -> anyhow::Result<(std::process::ExitStatus, std::time::Duration)> {
    let started = Instant::now();
    let status = run_cli(url, &["projections", "rebuild", "--all"], log)?;
    Ok((status, started.elapsed()))
}

/// The feed reader alone over the whole log, in the rebuild's batches: what reading costs.
async fn read_and_decode_all(db: &BenchDb) -> anyhow::Result<u64> {
    let reader = FeedReader {
        batch_size: REBUILD_BATCH,
    };
    // Sealed fields open with the key every zync process of the benchmark uses.
    projections::personal::install(&MasterKey::from_hex(MASTER_KEY)?)?;
    let mut conn = db.pool.acquire().await?;
    let (mut cursor, mut read) = (FeedCursor::START, 0u64);
    loop {
        let batch = reader.read_after(&mut conn, cursor).await?;
        let Some(last) = batch.last() else {
            return Ok(read);
        };
        for event in &batch {
            event.decode().context("a seeded event does not decode")?;
        }
        cursor = last.cursor();
        read += batch.len() as u64;
    }
}
