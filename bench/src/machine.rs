//! The machine a run measured, written next to its figures: the same figures mean little on
//! another machine.

use sqlx::PgPool;

/// `(what, value)` pairs: CPU, cores, memory, kernel, open-file limit, PostgreSQL and its settings.
pub async fn describe(pool: &PgPool, postgres_version: &str) -> Vec<(String, String)> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .map_or("unknown".into(), |kib| {
            format!("{:.1} GiB", kib as f64 / 1024.0 / 1024.0)
        });
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let (soft, hard) = open_file_limit();
    let mut out = vec![
        ("CPU".to_string(), format!("{model}, {cores} cores available")),
        ("memory".into(), memory),
        ("kernel".into(), kernel.trim().to_string()),
        (
            "open files (RLIMIT_NOFILE)".into(),
            format!("soft {soft}, hard {hard}"),
        ),
        ("PostgreSQL".into(), postgres_version.to_string()),
    ];
    let settings: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, setting || coalesce(' ' || unit, '') FROM pg_settings
          WHERE name IN ('shared_buffers', 'fsync', 'synchronous_commit', 'full_page_writes',
                         'wal_level', 'max_connections', 'work_mem', 'max_wal_size', 'commit_delay')
          ORDER BY name",
    )
    .fetch_all(pool)
    .await
    .unwrap_or_default();
    out.push((
        "PostgreSQL settings".into(),
        settings
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", "),
    ));
    out
}

/// This process's open-file limit (soft, hard); the server it starts inherits it.
pub fn open_file_limit() -> (u64, u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass.
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    (limit.rlim_cur, limit.rlim_max)
}

/// Raises the soft open-file limit as far as the hard limit allows (or `wanted`), returning the
/// soft limit now in force. Raising the hard limit needs CAP_SYS_RESOURCE, which a benchmark
/// should not ask for.
pub fn raise_open_file_limit(wanted: u64) -> u64 {
    let (soft, hard) = open_file_limit();
    let target = wanted.min(hard);
    if target > soft {
        let limit = libc::rlimit {
            rlim_cur: target,
            rlim_max: hard,
        };
        // SAFETY: setrlimit reads the struct we pass.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
    }
    open_file_limit().0
}
