//! Where the CPU goes during a workload: the server process, PostgreSQL (the postmaster and all
//! its backends, including those that exited), and the load generator itself. On a machine this
//! small they all share the same cores, so what the server spends per message is what the
//! baseline does not have to.

use std::ops::Sub;
use std::time::Duration;

/// Cumulative CPU time (user + system) of each party, at one moment.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuSample {
    pub server: Duration,
    pub postgres: Duration,
    pub generator: Duration,
    /// Children of the generator that have exited and been waited for (pgbench, the CLI).
    pub tools: Duration,
}

impl Sub for CpuSample {
    type Output = CpuSample;
    fn sub(self, earlier: CpuSample) -> CpuSample {
        CpuSample {
            server: self.server.saturating_sub(earlier.server),
            postgres: self.postgres.saturating_sub(earlier.postgres),
            generator: self.generator.saturating_sub(earlier.generator),
            tools: self.tools.saturating_sub(earlier.tools),
        }
    }
}

/// Samples the CPU of `server` (if running) and of the cluster whose postmaster is `postmaster`.
pub fn sample(server: Option<u32>, postmaster: u32) -> CpuSample {
    let postgres = stat(postmaster).map_or(Duration::ZERO, |s| s.own + s.children)
        + children_of(postmaster)
            .into_iter()
            .filter_map(stat)
            .map(|s| s.own)
            .sum::<Duration>();
    CpuSample {
        server: server.and_then(stat).map_or(Duration::ZERO, |s| s.own),
        postgres,
        generator: stat(std::process::id()).map_or(Duration::ZERO, |s| s.own),
        tools: stat(std::process::id()).map_or(Duration::ZERO, |s| s.children),
    }
}

struct Stat {
    own: Duration,
    /// Exited, waited-for children.
    children: Duration,
}

fn stat(pid: u32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses; the fields start after the last ')'.
    let fields: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
    // After the name: state is field 3, so utime (14) is index 11, stime 12, cutime 13, cstime 14.
    let tick = |i: usize| fields.get(i)?.parse::<u64>().ok();
    let per_tick = Duration::from_secs(1) / clock_ticks();
    Some(Stat {
        own: per_tick * (tick(11)? + tick(12)?) as u32,
        children: per_tick * (tick(13)? + tick(14)?) as u32,
    })
}

fn clock_ticks() -> u32 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as u32
    } else {
        100
    }
}

fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|t| {
                    t.rsplit_once(')')?
                        .1
                        .split_whitespace()
                        .nth(1)?
                        .parse::<u32>()
                        .ok()
                })
                == Some(parent)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_used_some_cpu() {
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let s = stat(std::process::id()).expect("our own /proc entry");
        assert!(s.own > Duration::ZERO);
    }
}
