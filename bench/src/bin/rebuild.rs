//! Projection rebuild throughput: `cargo run --release -p zync-bench --bin rebuild [-- --events N]`
//!
//! Seeds a log of N events (default 1,000,000) into a private PostgreSQL, then measures:
//! - baseline: PostgreSQL alone streaming the same rows, `COPY (SELECT ... FROM events) TO
//!   '/dev/null'` (the physical limit of reading the log on this machine in this run);
//! - reference: reading and decoding the whole feed in the rebuild's batches, writing nothing;
//! - `projections rebuild --all` (the library it runs): shadow tables, then the swap;
//! - `audit verify`, which must report no differences.

use clap::Parser;
use projections::rebuild::{Rebuild, REBUILD_BATCH};
use projections::{FeedCursor, FeedReader};
use zync_bench::seed::{seed, Shape};
use zync_bench::{rate, timed, BenchDb};

#[derive(Parser)]
struct Args {
    /// Approximate number of events to seed.
    #[arg(long, default_value_t = 1_000_000)]
    events: i64,
    /// After seeding, print a DATABASE_URL for the seeded database and keep it up for this many
    /// seconds instead of measuring (to run the real `zync` commands against it by hand).
    #[arg(long)]
    hold_seconds: Option<u64>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let db = BenchDb::start().await?;
    let shape = Shape::for_events(args.events);
    let (events, took) = timed(seed(&db.pool, shape)).await;
    let events = events? as u64;
    println!("seeded {events} events ({shape:?}) in {:.1}s", took.as_secs_f64());
    if let Some(seconds) = args.hold_seconds {
        println!("DATABASE_URL={}", db.url());
        tokio::time::sleep(std::time::Duration::from_secs(seconds)).await;
        return db.stop().await;
    }

    let (copied, baseline) = timed(
        sqlx::query(
            "COPY (SELECT global_position, tx_id, aggregate_type, aggregate_id, sequence, event_type,
                          event_version, payload, metadata, recorded_at
                     FROM events ORDER BY tx_id, global_position) TO '/dev/null'",
        )
        .execute(&db.pool),
    )
    .await;
    assert_eq!(
        copied?.rows_affected(),
        events,
        "the baseline copied the whole log"
    );
    let baseline_rate = rate(events, baseline);
    println!(
        "baseline: COPY the log to /dev/null   {:>8.2}s  {:>10.0} events/s",
        baseline.as_secs_f64(),
        baseline_rate
    );

    let (read, took) = timed(read_and_decode_all(&db)).await;
    let read = read?;
    assert_eq!(read, events, "the reader read the whole log");
    let read_rate = rate(read, took);
    println!(
        "read + decode the feed, no writes     {:>8.2}s  {:>10.0} events/s  ({:.2} x baseline)",
        took.as_secs_f64(),
        read_rate,
        read_rate / baseline_rate
    );

    let (projected, took) = timed(rebuild_all(&db)).await;
    let projected = projected?;
    let rebuild_rate = rate(projected, took);
    println!(
        "projections rebuild --all             {:>8.2}s  {:>10.0} events/s  ({:.2} x baseline)",
        took.as_secs_f64(),
        rebuild_rate,
        rebuild_rate / baseline_rate
    );

    let (report, took) = timed(projections::verify::verify(&db.pool)).await;
    let report = report?;
    println!(
        "audit verify                          {:>8.2}s  {} differences; rows: {}",
        took.as_secs_f64(),
        report.difference_count(),
        report
            .tables
            .iter()
            .map(|t| format!("{} {}", t.table, t.rows))
            .collect::<Vec<_>>()
            .join(", ")
    );
    db.stop().await?;
    anyhow::ensure!(report.difference_count() == 0, "verify found differences");
    Ok(())
}

async fn read_and_decode_all(db: &BenchDb) -> anyhow::Result<u64> {
    let reader = FeedReader {
        batch_size: REBUILD_BATCH,
    };
    let mut conn = db.pool.acquire().await?;
    let (mut cursor, mut read) = (FeedCursor::START, 0u64);
    loop {
        let batch = reader.read_after(&mut conn, cursor).await?;
        let Some(last) = batch.last() else {
            return Ok(read);
        };
        for event in &batch {
            event.decode()?;
        }
        cursor = last.cursor();
        read += batch.len() as u64;
    }
}

async fn rebuild_all(db: &BenchDb) -> anyhow::Result<u64> {
    let started = std::time::Instant::now();
    let mut rebuild = Rebuild::begin(&db.pool, &[]).await?;
    let mut projected = 0;
    loop {
        let (read, _) = rebuild.step().await?;
        if read == 0 {
            break;
        }
        projected += read as u64;
    }
    let projecting = started.elapsed();
    rebuild.swap().await?;
    println!(
        "  of which: projecting {:.2}s, indexing + swap {:.2}s",
        projecting.as_secs_f64(),
        (started.elapsed() - projecting).as_secs_f64()
    );
    Ok(projected)
}
