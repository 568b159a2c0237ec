//! `zync audit verify`: the live read tables against a fresh projection of the log, and the log
//! against the domain's rules in its own order.

use projections::rules::{check_log, RuleCheck};
use projections::verify::{verify, Difference, Report};

use super::database::Database;
use super::Outcome;
use crate::config::Config;

#[derive(clap::Args)]
pub struct Args {
    /// Print at most this many differences per table.
    #[arg(long, default_value_t = 20)]
    show: usize,
}

pub async fn run(config: &Config, args: Args) -> anyhow::Result<Outcome> {
    let db = Database::open(config).await?;
    let checked = async {
        let report = verify(&db.pool).await?;
        anyhow::Ok((report, check_log(&db.pool).await?))
    }
    .await;
    db.close().await?;
    let (report, rules) = checked?;
    print!("{}", render(&report, args.show));
    print!("{}", render_rules(&rules, args.show));
    Ok(
        if report.difference_count() == 0 && rules.violations().is_empty() {
            Outcome::Success
        } else {
            Outcome::Findings
        },
    )
}

/// The log against the domain's rules, in its own order.
fn render_rules(rules: &RuleCheck, show: usize) -> String {
    let broken = rules.violations();
    if broken.is_empty() {
        return format!(
            "verified: every one of {} events keeps the domain's rules where it stands in the log\n",
            rules.events()
        );
    }
    let mut out = String::new();
    for v in broken.iter().take(show) {
        out.push_str(&format!(
            "  position {}: {} on {}: {}\n",
            v.position, v.event_type, v.aggregate_id, v.rule
        ));
    }
    if broken.len() > show {
        out.push_str(&format!("  ... {} more\n", broken.len() - show));
    }
    out.push_str(&format!(
        "RULES BROKEN: {} events break a domain rule where they stand in the log\n",
        broken.len()
    ));
    out
}

fn render(report: &Report, show: usize) -> String {
    let mut out = String::new();
    for t in &report.tables {
        if t.differences.is_empty() {
            out.push_str(&format!("{}: ok ({} rows)\n", t.table, t.rows));
            continue;
        }
        let more = if t.truncated { " or more" } else { "" };
        out.push_str(&format!(
            "{}: {}{more} differences ({} rows live)\n",
            t.table,
            t.differences.len(),
            t.rows
        ));
        for d in t.differences.iter().take(show) {
            out.push_str(&format!("  {}\n", describe(d)));
        }
        if t.differences.len() > show {
            out.push_str(&format!("  ... {} more\n", t.differences.len() - show));
        }
    }
    let n = report.difference_count();
    out.push_str(&if n == 0 {
        format!(
            "verified: the read tables equal a rebuild from the log (up to position {})\n",
            report.cursor.position
        )
    } else {
        format!(
            "MISMATCH: {n} differing rows against a rebuild from the log (up to position {})\n",
            report.cursor.position
        )
    });
    out
}

fn describe(d: &Difference) -> String {
    match d {
        Difference::OnlyLive { key, row } => format!("only in the live table {key}: {row}"),
        Difference::OnlyRebuilt { key, row } => format!("missing from the live table {key}: {row}"),
        Difference::Changed { key, columns } => {
            let cols: Vec<String> = columns
                .iter()
                .map(|(c, live, rebuilt)| format!("{c}: live {live}, rebuilt {rebuilt}"))
                .collect();
            format!("changed {key}: {}", cols.join("; "))
        }
    }
}
