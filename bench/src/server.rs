//! The real `zync` binary, run as its own process so its memory and CPU are its own.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// Where the `zync` binary is: `ZYNC_BIN`, or beside this benchmark's own executable (cargo puts
/// every binary of a profile in one directory).
pub fn zync_binary() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("ZYNC_BIN") {
        return Ok(PathBuf::from(path));
    }
    let me = std::env::current_exe()?;
    let beside = me.with_file_name("zync");
    if !beside.exists() {
        bail!(
            "no zync binary at {}: build it first (bench/run does) or set ZYNC_BIN",
            beside.display()
        );
    }
    Ok(beside)
}

/// The master key of every server and command the benchmark runs (`ZYNC_MASTER_KEY`).
pub const MASTER_KEY: &str = "7a796e632d62656e63682d6d61737465722d6b65792d303132333435363738cd";

/// Runs a `zync` subcommand to completion against `database_url`; its output goes to `log`.
pub fn run_cli(database_url: &str, args: &[&str], log: &Path) -> anyhow::Result<std::process::ExitStatus> {
    let out = File::create(log)?;
    Command::new(zync_binary()?)
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("ZYNC_MASTER_KEY", MASTER_KEY)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .status()
        .with_context(|| format!("could not run zync {}", args.join(" ")))
}

/// A `zync serve` process on 127.0.0.1. Dropping it kills the process.
pub struct Server {
    child: Child,
    pub port: u16,
    pub log: PathBuf,
}

impl Server {
    pub async fn start(database_url: &str, dir: &Path, env: &[(&str, String)]) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let log = dir.join("server.log");
        let out = File::create(&log)?;
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new(zync_binary()?)
            .arg("serve")
            .current_dir(dir)
            .env("DATABASE_URL", database_url)
            .env(
                "SECRET_KEY",
                "zync-bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
            )
            .env("ZYNC_MASTER_KEY", MASTER_KEY)
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("ZYNC_DATA_DIR", dir.join("data"))
            .env("RUST_LOG", "warn")
            // The benchmark's tokens must outlive its longest run.
            .env("ACCESS_TOKEN_EXPIRE_MINUTES", "240")
            // Senders post as fast as the server lets them, far above a person's rate: the limits
            // stay on (their cost is measured) but so high that they never refuse.
            .env("RATE_LIMIT_MESSAGES", "1000000/1s")
            .env("RATE_LIMIT_WS_FRAMES", "1000000/1s")
            .envs(env.iter().map(|(k, v)| (k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .context("could not start zync serve")?;
        let mut server = Self { child, port, log };
        server.wait_ready().await?;
        Ok(server)
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let client = reqwest::Client::new();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(120) {
            if let Some(status) = self.child.try_wait()? {
                bail!("zync serve exited with {status}; see {}", self.log.display());
            }
            if let Ok(r) = client.get(format!("{}/", self.base_url())).send().await {
                if r.status().is_success() {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!(
            "zync serve did not answer within 120 s; see {}",
            self.log.display()
        )
    }

    /// Resident memory of the server process, in bytes (`VmRSS`).
    pub fn rss_bytes(&self) -> anyhow::Result<u64> {
        proc_status_kib(self.pid(), "VmRSS:").map(|kib| kib * 1024)
    }

    /// Stops the server the way an operator would (SIGTERM), waiting for it to exit.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        // SAFETY: kill(2) with a pid we own and a valid signal number.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.child.kill()?;
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A `kB` field of `/proc/<pid>/status`.
pub fn proc_status_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("no {field} in /proc/{pid}/status"))
}
