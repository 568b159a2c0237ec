//! Structured logs via `tracing`: human-readable by default, JSON with `LOG_FORMAT=json`;
//! filtered by `RUST_LOG` (default `info`).

use tracing_subscriber::EnvFilter;

pub fn init() {
    init_with_default("info,sqlx=warn");
}

/// Logs to stderr (stdout is for a command's own output, such as `--json`), filtered by
/// `RUST_LOG` or else by `default_filter`.
pub fn init_with_default(default_filter: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(ansi);
    let json = std::env::var("LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let result = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.compact().try_init()
    };
    // Already initialised (tests start several apps in one process): keep the first.
    let _ = result;
}
