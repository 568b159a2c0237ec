//! `bench/run [--quick]`: every workload of issue 6 in one run, with the baselines measured in the
//! same run, printed as a markdown table and written as JSON. Exits 1 if any workload was
//! incorrect (an error, a missing delivery, a difference), whatever its speed.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use uuid::Uuid;
use zync_bench::api::{Api, Member};
use zync_bench::baseline::{self, Pgbench};
use zync_bench::report::{Baseline, Headline, Outcome, Report};
use zync_bench::server::Server;
use zync_bench::workloads::history::{self, HistoryPlan};
use zync_bench::workloads::rooms::{Deliveries, Rooms};
use zync_bench::workloads::send::{self, Sender, Sent};
use zync_bench::workloads::{idle, rebuild};
use zync_bench::{cpu, machine, BenchDb, Cluster};

#[derive(Parser)]
struct Args {
    /// Every workload at small scale, for CI: checks correctness, computes the ratios.
    #[arg(long)]
    quick: bool,
    /// P2's offered rate in messages per second, instead of the profile's (500 full, 100 quick).
    #[arg(long)]
    latency_rate: Option<f64>,
    /// Which parts to run: `live` (P1, P2, P5, the hot channel and the pgbench baseline, which
    /// share one server), `rebuild` (P4), `history` (P3). All by default.
    #[arg(long, value_delimiter = ',', default_values = ["live", "rebuild", "history"])]
    only: Vec<Part>,
    /// Where the report (report.md, report.json) and the logs go.
    #[arg(long, default_value = "target/zync-bench")]
    out: PathBuf,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Part {
    Live,
    Rebuild,
    History,
}

/// Sizes and durations of one run.
struct Profile {
    name: &'static str,
    send_for: Duration,
    latency_rate: f64,
    idle_connections: usize,
    rebuild_events: i64,
    history: HistoryPlan,
}

impl Profile {
    fn full() -> Self {
        Self {
            name: "full",
            send_for: Duration::from_secs(30),
            latency_rate: 500.0,
            idle_connections: idle::TARGET_CONNECTIONS,
            rebuild_events: 1_000_000,
            history: HistoryPlan {
                messages: 1_000_000,
                depth: 100_000,
                requests: 2_000,
            },
        }
    }

    fn quick() -> Self {
        Self {
            name: "quick",
            send_for: Duration::from_secs(3),
            latency_rate: 100.0,
            idle_connections: 500,
            rebuild_events: 20_000,
            history: HistoryPlan {
                messages: 20_000,
                depth: 10_000,
                requests: 100,
            },
        }
    }
}

/// P1's layout: 16 channels of 10 members, all connected, 4 of each posting.
const CHANNELS: usize = 16;
const MEMBERS: usize = 10;
const SENDERS_PER_CHANNEL: usize = 4;
/// The hot channel: all 64 senders in one channel, 10 of them connected.
const HOT_SENDERS: usize = CHANNELS * SENDERS_PER_CHANNEL;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut profile = if args.quick {
        Profile::quick()
    } else {
        Profile::full()
    };
    if let Some(rate) = args.latency_rate {
        profile.latency_rate = rate;
    }
    std::fs::create_dir_all(&args.out)?;
    let out = args.out.canonicalize()?;
    // Before the server starts, so it inherits the limit (P5 needs a descriptor per socket).
    machine::raise_open_file_limit(u64::MAX);
    let started_at = chrono::Utc::now().to_rfc3339();
    let clock = Instant::now();

    println!(
        "# zync benchmark ({} profile); logs in {}",
        profile.name,
        out.display()
    );
    let cluster = Cluster::start(&out.join("cluster")).await?;
    let db = cluster.database("bench").await?;
    let machine = machine::describe(&db.pool, cluster.version()).await;

    let mut outcomes = vec![];
    if args.only.contains(&Part::Live) {
        outcomes.extend(live(&cluster, &db, &profile, &out, clock).await?);
    }
    if args.only.contains(&Part::Rebuild) {
        println!("P4: rebuild of {} events", profile.rebuild_events);
        let seeded = cluster.database("seeded").await?;
        outcomes.push(rebuild::run(&seeded, profile.rebuild_events, &out).await?);
    }
    if args.only.contains(&Part::History) {
        println!("P3: history of {} messages", profile.history.messages);
        let history = cluster.database("history").await?;
        outcomes.push(history::run(&history, profile.history, &out).await?);
    }
    cluster.stop().await?;
    outcomes.sort_by_key(|o| order(&o.id));

    let report = Report {
        profile: profile.name.into(),
        started_at,
        machine,
        outcomes,
    };
    let markdown = report.markdown();
    println!("\n{markdown}");
    std::fs::write(out.join("report.md"), &markdown)?;
    std::fs::write(out.join("report.json"), serde_json::to_string_pretty(&report)?)
        .context("could not write report.json")?;
    println!(
        "wrote {} and report.json; took {:.0} s",
        out.join("report.md").display(),
        clock.elapsed().as_secs_f64()
    );
    let failures: Vec<_> = report.failures().collect();
    if !failures.is_empty() {
        for (id, f) in failures {
            eprintln!("FAILED {id}: {f}");
        }
        std::process::exit(1);
    }
    Ok(())
}

/// The workloads against a running server (P1, the hot channel, P2, P5) and the pgbench
/// baseline they are judged by, which runs the same SQL once the server has stopped.
async fn live(
    cluster: &Cluster,
    db: &BenchDb,
    profile: &Profile,
    out: &Path,
    clock: Instant,
) -> anyhow::Result<Vec<Outcome>> {
    let server = Server::start(&db.url(), &out.join("server"), &[]).await?;
    let api = Api::new(&server.base_url())?;
    println!("setup: registering {} users", CHANNELS * MEMBERS);
    let users = api.register_many("member", CHANNELS * MEMBERS).await?;
    let groups: Vec<Vec<Member>> = users.chunks(MEMBERS).map(<[Member]>::to_vec).collect();

    rss(&server);
    println!(
        "P1: {HOT_SENDERS} senders, {CHANNELS} channels x {MEMBERS} connected members, {:?}",
        profile.send_for
    );
    let rooms = Rooms::open(&api, "p1", groups.clone(), MEMBERS, clock).await?;
    let senders = spread_senders(&rooms);
    let pairs: Vec<(Uuid, Uuid)> = senders
        .iter()
        .map(|(r, m)| (m.id, rooms.rooms[*r].channel))
        .collect();
    let cpu = || cpu::sample(Some(server.pid()), cluster.postmaster_pid());
    let before = cpu();
    let mut p1 = send::closed_loop(&api, &rooms, senders, profile.send_for).await;
    p1.cpu = cpu() - before;
    let p1_got = rooms.close(&p1.acked).await?;

    rss(&server);
    println!("hot channel: {HOT_SENDERS} senders in one channel, {MEMBERS} connected");
    let rooms = Rooms::open(&api, "hot", vec![users[..HOT_SENDERS].to_vec()], MEMBERS, clock).await?;
    let senders = rooms.rooms[0].members.iter().map(|m| (0, m.clone())).collect();
    let before = cpu();
    let mut hot = send::closed_loop(&api, &rooms, senders, profile.send_for).await;
    hot.cpu = cpu() - before;
    let hot_got = rooms.close(&hot.acked).await?;

    rss(&server);
    println!(
        "P2: {} msgs/s offered for {:?}",
        profile.latency_rate, profile.send_for
    );
    let rooms = Rooms::open(&api, "p2", groups, MEMBERS, clock).await?;
    let senders = spread_senders(&rooms);
    let before = cpu();
    let mut p2 = send::open_loop(&api, &rooms, senders, profile.latency_rate, profile.send_for).await;
    p2.cpu = cpu() - before;
    let p2_got = rooms.close(&p2.acked).await?;

    rss(&server);
    println!("P5: up to {} idle connections", profile.idle_connections);
    let p5 = idle::run(&api, &server, profile.idle_connections).await?;
    server.stop().await?;

    println!(
        "baseline: pgbench, {} clients, {:?}",
        pairs.len(),
        profile.send_for
    );
    let pgbench = baseline::run(cluster, db, &pairs, profile.send_for, out).await?;

    let p2_p99 = send::ms(&p2_got.latency_us, 99.0);
    let mut p2 = send::judge(
        "P2",
        "delivery latency at a fixed rate",
        Headline::absolute(p2_p99, "ms p99", 10.0, true),
        &p2,
        &p2_got,
    );
    p2.notes.push(format!(
        "{} msgs/s offered; latency from when each post was due to its frame at each member \
         (coordinated omission corrected)",
        profile.latency_rate
    ));
    Ok(vec![
        send::judge(
            "P1",
            "send throughput",
            send::throughput(&p1, baseline_of(&pgbench), 0.8),
            &p1,
            &p1_got,
        ),
        p2,
        p5,
        hot_channel(&hot, &hot_got, &pgbench),
        baseline_outcome(&pgbench),
    ])
}

/// The order of the report's rows.
fn order(id: &str) -> usize {
    ["P1", "P2", "P3", "P4", "P5", "HOT", "B"]
        .iter()
        .position(|p| *p == id)
        .unwrap_or(99)
}

/// The server's memory between workloads, for the log: it shows what each workload leaves behind.
fn rss(server: &Server) {
    if let Ok(bytes) = server.rss_bytes() {
        println!("  server RSS {:.1} MiB", bytes as f64 / 1024.0 / 1024.0);
    }
}

/// The first 4 members of each room post.
fn spread_senders(rooms: &Rooms) -> Vec<Sender> {
    rooms
        .rooms
        .iter()
        .enumerate()
        .flat_map(|(i, r)| {
            r.members[..SENDERS_PER_CHANNEL]
                .iter()
                .map(move |m| (i, m.clone()))
        })
        .collect()
}

fn baseline_of(p: &Pgbench) -> Baseline {
    Baseline {
        name: "pgbench".into(),
        value: p.tps,
        unit: "msgs/s".into(),
    }
}

/// The hot channel is judged on correctness (no conflict may reach a client as an error); its
/// throughput is reported against the same baseline.
fn hot_channel(sent: &Sent, got: &Deliveries, pgbench: &Pgbench) -> Outcome {
    let mut headline = send::throughput(sent, baseline_of(pgbench), 0.0);
    headline.target = "0 errors, nothing missing".into();
    headline.met = Some(sent.errors == 0 && got.delivered == got.expected && got.dropped.is_empty());
    send::judge(
        "HOT",
        "hot channel (64 senders, one channel)",
        headline,
        sent,
        got,
    )
}

fn baseline_outcome(pgbench: &Pgbench) -> Outcome {
    let headline = Headline {
        value: pgbench.tps,
        unit: "msgs/s".into(),
        baseline: None,
        ratio: None,
        target: "—".into(),
        met: None,
    };
    let mut o = Outcome::new("B", "baseline: pgbench, the server's SQL per message", headline);
    o.figure("messages", pgbench.messages as f64, "")
        .figure("latency average", pgbench.latency_ms, "ms")
        .cpu_per_message(&pgbench.cpu, pgbench.messages)
        .fail_if(
            pgbench.failed > 0,
            format!("{} pgbench transactions failed", pgbench.failed),
        );
    o
}
