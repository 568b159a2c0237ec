//! What a run found: every figure, each workload's headline against its baseline and target, and
//! the correctness failures that make a run invalid whatever its speed. Printed as markdown and
//! written as JSON.

use std::fmt::Write as _;

use serde::Serialize;

use crate::cpu::CpuSample;

#[derive(Debug, Serialize)]
pub struct Figure {
    pub name: String,
    pub value: f64,
    pub unit: String,
}

/// The number a workload is judged by.
#[derive(Debug, Serialize)]
pub struct Headline {
    pub value: f64,
    pub unit: String,
    /// The baseline measured in the same run, when the workload has one.
    pub baseline: Option<Baseline>,
    /// `value / baseline.value`.
    pub ratio: Option<f64>,
    /// The target, in words ("≥ 0.8× baseline").
    pub target: String,
    /// Whether the target is met; `None` when the run could not tell.
    pub met: Option<bool>,
}

#[derive(Debug, Serialize)]
pub struct Baseline {
    pub name: String,
    pub value: f64,
    pub unit: String,
}

#[derive(Debug, Serialize)]
pub struct Outcome {
    pub id: String,
    pub title: String,
    pub headline: Headline,
    pub figures: Vec<Figure>,
    /// Correctness: errors, missing deliveries, differences. Any makes the run fail.
    pub failures: Vec<String>,
    /// Anything a reader of the figures must know (a limit of this machine, say).
    pub notes: Vec<String>,
}

impl Outcome {
    pub fn new(id: &str, title: &str, headline: Headline) -> Self {
        Self {
            id: id.into(),
            title: title.into(),
            headline,
            figures: vec![],
            failures: vec![],
            notes: vec![],
        }
    }

    pub fn figure(&mut self, name: &str, value: f64, unit: &str) -> &mut Self {
        self.figures.push(Figure {
            name: name.into(),
            value,
            unit: unit.into(),
        });
        self
    }

    /// CPU spent per message by each party over the workload, in µs.
    pub fn cpu_per_message(&mut self, cpu: &CpuSample, messages: u64) -> &mut Self {
        let per = |d: std::time::Duration| d.as_secs_f64() * 1e6 / messages.max(1) as f64;
        for (party, spent) in [
            ("server", cpu.server),
            ("PostgreSQL", cpu.postgres),
            ("load generator", cpu.generator),
            ("tools (pgbench)", cpu.tools),
        ] {
            if !spent.is_zero() {
                self.figure(&format!("CPU per message: {party}"), per(spent), "µs");
            }
        }
        self
    }

    pub fn fail_if(&mut self, failed: bool, what: impl Into<String>) -> &mut Self {
        if failed {
            self.failures.push(what.into());
        }
        self
    }
}

impl Headline {
    /// A headline compared with a same-run baseline: `at_least` is the target ratio.
    pub fn against(value: f64, unit: &str, baseline: Baseline, at_least: f64) -> Self {
        let ratio = value / baseline.value.max(f64::MIN_POSITIVE);
        Self {
            value,
            unit: unit.into(),
            ratio: Some(ratio),
            target: format!("≥ {at_least}× baseline"),
            met: Some(ratio >= at_least),
            baseline: Some(baseline),
        }
    }

    /// A headline with an absolute target: `value` must be at most (`lower_is_better`) or at
    /// least `target`.
    pub fn absolute(value: f64, unit: &str, target: f64, lower_is_better: bool) -> Self {
        let (sign, met) = if lower_is_better {
            ("≤", value <= target)
        } else {
            ("≥", value >= target)
        };
        Self {
            value,
            unit: unit.into(),
            baseline: None,
            ratio: None,
            target: format!("{sign} {} {unit}", number(target)),
            met: Some(met),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub profile: String,
    pub started_at: String,
    pub machine: Vec<(String, String)>,
    pub outcomes: Vec<Outcome>,
}

impl Report {
    pub fn failures(&self) -> impl Iterator<Item = (&str, &str)> {
        self.outcomes
            .iter()
            .flat_map(|o| o.failures.iter().map(|f| (o.id.as_str(), f.as_str())))
    }

    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(md, "Profile `{}`, started {}.\n", self.profile, self.started_at);
        md.push_str("| Workload | Result | Baseline (same run) | Ratio | Target | Met | Correct |\n");
        md.push_str("|---|---:|---:|---:|---|---|---|\n");
        for o in &self.outcomes {
            let h = &o.headline;
            let baseline = h.baseline.as_ref().map_or("—".into(), |b| {
                format!("{} {} ({})", number(b.value), b.unit, b.name)
            });
            let ratio = h.ratio.map_or("—".into(), |r| format!("{r:.2}×"));
            let met = match h.met {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "—",
            };
            let correct = if o.failures.is_empty() { "yes" } else { "**no**" };
            let _ = writeln!(
                md,
                "| {} {} | {} {} | {baseline} | {ratio} | {} | {met} | {correct} |",
                o.id,
                o.title,
                number(h.value),
                h.unit,
                h.target
            );
        }
        for o in &self.outcomes {
            let _ = writeln!(md, "\n**{} {}**", o.id, o.title);
            for f in &o.figures {
                let _ = writeln!(md, "- {}: {} {}", f.name, number(f.value), f.unit);
            }
            for n in &o.notes {
                let _ = writeln!(md, "- note: {n}");
            }
            for f in &o.failures {
                let _ = writeln!(md, "- **FAILED**: {f}");
            }
        }
        md.push_str("\nMachine:\n");
        for (k, v) in &self.machine {
            let _ = writeln!(md, "- {k}: {v}");
        }
        md
    }
}

/// A figure for reading: whole numbers with thousands separators, small ones with decimals.
pub fn number(value: f64) -> String {
    if value.abs() >= 1000.0 {
        let whole = value.round() as i64;
        let digits = whole.abs().to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        if whole < 0 {
            out.insert(0, '-');
        }
        out
    } else if value.abs() >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(number(1_234_567.4), "1,234,567");
        assert_eq!(number(-4_000.0), "-4,000");
        assert_eq!(number(999.94), "999.9");
        assert_eq!(number(0.456), "0.46");
    }

    #[test]
    fn a_ratio_is_judged_against_its_target() {
        let b = Baseline {
            name: "pgbench".into(),
            value: 1000.0,
            unit: "tps".into(),
        };
        let h = Headline::against(850.0, "msgs/s", b, 0.8);
        assert_eq!(h.met, Some(true));
        assert!((h.ratio.unwrap() - 0.85).abs() < 1e-9);
        assert_eq!(Headline::absolute(12.0, "ms", 10.0, true).met, Some(false));
        assert_eq!(
            Headline::absolute(120_000.0, "events/s", 100_000.0, false).met,
            Some(true)
        );
    }
}
