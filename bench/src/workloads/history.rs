//! P3: history pages of 50 in a channel of (by default) a million messages, at the newest end and
//! deep in the past, paged with `skip` (OFFSET, which reads and throws away every skipped row)
//! and with the keyset cursor (`before`/`after` a message id, which seeks straight to it).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use serde_json::Value;
use uuid::Uuid;

use crate::api::Api;
use crate::report::{Headline, Outcome};
use crate::seed::{seed, Shape};
use crate::server::{run_cli, Server};
use crate::workloads::rooms::histogram;
use crate::workloads::send::ms;
use crate::BenchDb;

const PAGE: i64 = 50;
/// The cursor's target: p99 at any depth.
const TARGET_P99_MS: f64 = 5.0;

pub struct HistoryPlan {
    /// Live (not deleted) messages in the channel.
    pub messages: i64,
    /// How far back from the newest end the deep pages are.
    pub depth: i64,
    /// Timed requests per case (after a few untimed ones).
    pub requests: usize,
}

pub async fn run(db: &BenchDb, plan: HistoryPlan, dir: &Path) -> anyhow::Result<Outcome> {
    let (seeded, took) = crate::timed(seed(&db.pool, Shape::single_channel(plan.messages))).await;
    println!("  seeded {} events in {:.1} s", seeded?, took.as_secs_f64());
    let started = Instant::now();
    let status = run_cli(
        &db.url(),
        &["projections", "rebuild", "--all"],
        &dir.join("history-rebuild.log"),
    )?;
    ensure!(status.success(), "projecting the history failed: {status}");
    let projected_in = started.elapsed();

    let server = Server::start(&db.url(), &dir.join("server-history"), &[]).await?;
    let api = Api::new(&server.base_url())?;
    let channel: Uuid = sqlx::query_scalar("SELECT md5('channel' || 0)::uuid")
        .fetch_one(&db.pool)
        .await?;
    let reader = api.register("history-reader").await?;
    api.join(&reader, channel).await?;

    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM messages WHERE channel_id = $1")
        .bind(channel)
        .fetch_one(&db.pool)
        .await?;
    let depth = plan.depth.min(total - PAGE - 1);
    // Oldest first, as the API lists: the newest page is [total - 50, total), the deep one
    // [total - depth - 50, total - depth).
    let id_at = |index: i64| {
        let pool = db.pool.clone();
        async move {
            sqlx::query_scalar::<_, Uuid>(
                "SELECT id FROM messages WHERE channel_id = $1 ORDER BY created_at, id OFFSET $2 LIMIT 1",
            )
            .bind(channel)
            .bind(index)
            .fetch_one(&pool)
            .await
            .context("no message at that index")
        }
    };
    let path = format!("/messages/channel/{channel}?limit={PAGE}");
    let cases = [
        ("newest page, skip", format!("{path}&skip={}", total - PAGE), true),
        (
            "newest page, cursor (after)",
            format!("{path}&after={}", id_at(total - PAGE - 1).await?),
            false,
        ),
        (
            "deep page, skip",
            format!("{path}&skip={}", total - depth - PAGE),
            true,
        ),
        (
            "deep page, cursor (before)",
            format!("{path}&before={}", id_at(total - depth).await?),
            false,
        ),
    ];

    let mut o = Outcome::new(
        "P3",
        "history reads",
        Headline::absolute(0.0, "ms p99", TARGET_P99_MS, true),
    );
    o.figure("messages in the channel", total as f64, "")
        .figure("deep pages: messages back from the newest", depth as f64, "")
        .figure(
            "projecting the seeded history (rebuild)",
            projected_in.as_secs_f64(),
            "s",
        );
    let mut pages: Vec<Vec<Value>> = vec![];
    let mut worst_cursor_p99: f64 = 0.0;
    for (name, query, is_skip) in &cases {
        // OFFSET reads every skipped row: hundreds of ms a page at a million. Fewer requests
        // still show that; the cursor's tail is what needs the full count.
        let requests = if *is_skip {
            plan.requests.div_ceil(20)
        } else {
            plan.requests
        };
        let (page, latency) = measure(&api, &reader, query, requests).await?;
        o.figure(&format!("{name}: p50"), ms(&latency, 50.0), "ms")
            .figure(&format!("{name}: p99"), ms(&latency, 99.0), "ms")
            .figure(&format!("{name}: p99.9"), ms(&latency, 99.9), "ms");
        if !is_skip {
            worst_cursor_p99 = worst_cursor_p99.max(ms(&latency, 99.0));
        }
        o.fail_if(
            page.len() != PAGE as usize,
            format!("{name}: {} messages instead of {PAGE}", page.len()),
        );
        pages.push(page);
    }
    // The two ways of paging must agree on what the page is.
    o.fail_if(
        pages[0] != pages[1],
        "the newest page differs between skip and cursor",
    )
    .fail_if(
        pages[2] != pages[3],
        "the deep page differs between skip and cursor",
    );
    o.headline = Headline::absolute(worst_cursor_p99, "ms p99", TARGET_P99_MS, true);
    o.notes
        .push("headline: the worst p99 of the cursor pages; one client, requests back to back".into());
    server.stop().await?;
    Ok(o)
}

/// `requests` timed GETs of `query` one after another (after 20 untimed), and the last page.
async fn measure(
    api: &Api,
    reader: &crate::api::Member,
    query: &str,
    requests: usize,
) -> anyhow::Result<(Vec<Value>, hdrhistogram::Histogram<u64>)> {
    let mut latency = histogram();
    let mut page = Value::Null;
    for _ in 0..20 {
        page = api.get(reader, query).await?;
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    for _ in 0..requests {
        if Instant::now() > deadline {
            break;
        }
        let started = Instant::now();
        page = api.get(reader, query).await?;
        latency.record((started.elapsed().as_micros() as u64).max(1))?;
    }
    let page = page.as_array().cloned().context("a page is a JSON array")?;
    Ok((page, latency))
}
