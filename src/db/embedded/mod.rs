//! A private PostgreSQL cluster run from the installed server binaries, for when no `DATABASE_URL`
//! is given (see ARCHITECTURE.md, "Running Postgres without a running Postgres"). It listens only on
//! a Unix socket, trusts local connections, and does not outlive this process.

use std::fs::{self, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::{Connection, Executor, PgConnection};
use tokio::sync::watch;

mod host;
mod process;

/// A program of the PostgreSQL installation the embedded cluster uses (`pg_dump`, say), if found.
pub fn postgres_program(name: &str) -> Option<std::path::PathBuf> {
    host::find_binaries().map(|bin| bin.join(name))
}

use host::{
    check_reachable, chown_recursive, clear_stale_lock, create_data_dir, find_binaries, make_private_dir,
    server_user, socket_fits,
};
use process::{configure, log_tail, run_initdb, spawn_owned};

const SUPERUSER: &str = "zync";
const PORT: u16 = 5432;
const SOCKET_FILE: &str = ".s.PGSQL.5432";
/// `sun_path` is 108 bytes including the terminating NUL.
const SUN_PATH_MAX: usize = 107;
const READY_TIMEOUT: Duration = Duration::from_secs(30);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
const LOG_FILE: &str = "postgres.log";

pub struct EmbeddedOptions {
    /// The cluster lives in this directory itself (created and initialised when needed).
    pub data_dir: PathBuf,
    /// `false` trades crash safety for speed (fsync off, `initdb --no-sync`): for tests only.
    pub durable: bool,
    pub max_connections: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(
        "PostgreSQL server binaries (initdb, postgres) not found in /usr/lib/postgresql/*/bin or on PATH: \
         install the PostgreSQL server package (Debian: apt-get install postgresql) or set DATABASE_URL"
    )]
    BinariesNotFound,
    #[error(
        "running as root, which PostgreSQL refuses, and there is no `postgres` system user to run it as: \
         create one (Debian: apt-get install postgresql), run as a normal user, or set DATABASE_URL"
    )]
    NoServerUser,
    #[error(
        "PostgreSQL runs as user `{user}`, which cannot reach {}: {} is not searchable by it; use a data \
         directory it can reach (e.g. under /var/lib) or `chmod o+x` that directory",
        .data_dir.display(), .blocker.display()
    )]
    NotReachable {
        user: String,
        data_dir: PathBuf,
        blocker: PathBuf,
    },
    #[error("could not {action} {}: {source}", .path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("initdb failed for {} ({status}): {output}", .data_dir.display())]
    Initdb {
        data_dir: PathBuf,
        status: String,
        output: String,
    },
    #[error("data directory {} is in use by another running server (pid {pid})", .data_dir.display())]
    InUse { data_dir: PathBuf, pid: i32 },
    /// `problem`: how it exited, or that it was not ready in time.
    #[error("PostgreSQL {problem}; end of {}: {tail}", .log.display())]
    Startup {
        problem: String,
        log: PathBuf,
        tail: String,
    },
    #[error("PostgreSQL (pid {pid}) did not shut down within {STOP_TIMEOUT:?}; sent SIGQUIT")]
    StopTimeout { pid: u32 },
    #[error("embedded PostgreSQL: {0}")]
    Sql(#[from] sqlx::Error),
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> EmbeddedError {
    let path = path.to_path_buf();
    move |source| EmbeddedError::Io { action, path, source }
}

pub struct EmbeddedPostgres {
    pid: u32,
    /// Set (to a description of the exit status) by the thread that owns and reaps the postmaster.
    exited: watch::Receiver<Option<String>>,
    data_dir: PathBuf,
    socket_dir: PathBuf,
    /// A directory under /tmp we created because the data dir path is too long for a socket.
    private_socket_dir: Option<PathBuf>,
    version: String,
}

impl EmbeddedPostgres {
    pub async fn start(opts: EmbeddedOptions) -> Result<Self, EmbeddedError> {
        let bin = find_binaries().ok_or(EmbeddedError::BinariesNotFound)?;
        let run_as = server_user()?;
        let data_dir = std::path::absolute(&opts.data_dir).map_err(io_err("resolve", &opts.data_dir))?;
        if let Some(user) = &run_as {
            check_reachable(&data_dir, user)?;
        }
        let data_dir = create_data_dir(&data_dir)?;
        // Before changing any file: another server may be using this directory.
        clear_stale_lock(&data_dir.join("postmaster.pid"), &data_dir)?;
        if let Some(user) = &run_as {
            check_reachable(&data_dir, user)?; // again, in case of symlinks
            chown_recursive(&data_dir, user)?;
        }
        let version_file = data_dir.join("PG_VERSION");
        if !version_file
            .try_exists()
            .map_err(io_err("inspect", &version_file))?
        {
            run_initdb(&bin.join("initdb"), &data_dir, opts.durable, run_as.clone()).await?;
        }
        let private_socket_dir = if socket_fits(&data_dir) {
            None
        } else {
            Some(make_private_dir()?)
        };
        let socket_dir = private_socket_dir.clone().unwrap_or_else(|| data_dir.clone());
        clear_stale_lock(&socket_dir.join(format!("{SOCKET_FILE}.lock")), &data_dir)?;

        let log_path = data_dir.join(LOG_FILE);
        let log = OpenOptions::new().create(true).append(true).open(&log_path);
        let log = log.map_err(io_err("open", &log_path))?;
        let log_start = log.metadata().map(|m| m.len()).unwrap_or(0);
        let log_err = log.try_clone().map_err(io_err("open", &log_path))?;
        if let Some(user) = &run_as {
            chown_recursive(&socket_dir, user)?;
            chown_recursive(&log_path, user)?;
        }

        let postgres = bin.join("postgres");
        let mut cmd = Command::new(&postgres);
        // `-h ''`: no TCP at all; `-k`: the socket directory.
        cmd.arg("-D")
            .arg(&data_dir)
            .args(["-p", &PORT.to_string(), "-h", "", "-k"])
            .arg(&socket_dir);
        let mut settings = vec![format!("max_connections={}", opts.max_connections)];
        settings.push("shared_buffers=128MB".into());
        if !opts.durable {
            settings
                .extend(["fsync=off", "synchronous_commit=off", "full_page_writes=off"].map(String::from));
        }
        for setting in settings {
            cmd.arg("-c").arg(setting);
        }
        cmd.stdin(Stdio::null()).stdout(log).stderr(log_err);
        // SIGINT = fast shutdown: the server stops cleanly when the thread that spawned it exits.
        configure(&mut cmd, run_as.as_ref(), libc::SIGINT);
        let (pid, exited) = spawn_owned(cmd, &postgres).await?;

        let version = String::new();
        let mut server = EmbeddedPostgres {
            pid,
            exited,
            data_dir,
            socket_dir,
            private_socket_dir,
            version,
        };
        // On error `server` is dropped, which stops the postmaster.
        server.version = server.wait_ready(&log_path, log_start).await?;
        let dir = server.data_dir.display();
        tracing::info!(pid, "started embedded PostgreSQL {} in {dir}", server.version);
        Ok(server)
    }

    /// Connection options for the cluster another process (a running `zync serve`) already
    /// runs in `data_dir`, so operator commands can work beside it. The socket directory is the
    /// fifth line of `postmaster.pid`.
    pub fn attach(data_dir: &Path, database: &str) -> Result<PgConnectOptions, EmbeddedError> {
        let pid_file = data_dir.join("postmaster.pid");
        let text = std::fs::read_to_string(&pid_file).map_err(io_err("read", &pid_file))?;
        let socket_dir = text.lines().nth(4).map(str::trim).unwrap_or_default();
        if socket_dir.is_empty() {
            return Err(io_err("read the socket directory from", &pid_file)(
                std::io::Error::other("no socket directory recorded"),
            ));
        }
        Ok(Self::options_for(Path::new(socket_dir), database))
    }

    /// Unix socket, cluster superuser; overrides whatever PGHOST, PGSSLMODE, ... say.
    pub fn connect_options(&self, database: &str) -> PgConnectOptions {
        Self::options_for(&self.socket_dir, database)
    }

    fn options_for(socket_dir: &Path, database: &str) -> PgConnectOptions {
        PgConnectOptions::new_without_pgpass()
            .socket(socket_dir)
            .port(PORT)
            .username(SUPERUSER)
            .database(database)
            .ssl_mode(PgSslMode::Disable)
    }

    pub async fn ensure_database(&self, name: &str) -> Result<(), EmbeddedError> {
        let mut conn = PgConnection::connect_with(&self.connect_options("postgres")).await?;
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(&mut conn)
            .await?;
        if !exists {
            let create = format!("CREATE DATABASE {}", projections::shadow::quote(name));
            if let Err(err) = conn.execute(create.as_str()).await {
                // 42P04 duplicate_database: someone created it since our check, which is fine.
                let code = err.as_database_error().and_then(|e| e.code());
                if code.as_deref() != Some("42P04") {
                    return Err(err.into());
                }
            }
        }
        conn.close().await?;
        Ok(())
    }

    /// Fast shutdown (SIGINT to the postmaster), then waits for it to exit.
    pub async fn stop(self) -> Result<(), EmbeddedError> {
        self.signal(libc::SIGINT);
        let mut exited = self.exited.clone();
        let done = tokio::time::timeout(STOP_TIMEOUT, exited.wait_for(Option::is_some))
            .await
            .is_ok();
        if done {
            return Ok(());
        }
        // Immediate shutdown rather than SIGKILL, so the postmaster still takes its children down.
        self.signal(libc::SIGQUIT);
        Err(EmbeddedError::StopTimeout { pid: self.pid })
    }

    /// Fast shutdown without a runtime (Drop, atexit handlers): whether it exited within `timeout`.
    pub fn shutdown_blocking(&self, timeout: Duration) -> bool {
        self.signal(libc::SIGINT);
        let deadline = Instant::now() + timeout;
        while self.exited.borrow().is_none() {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        true
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }
    pub fn version(&self) -> &str {
        &self.version
    }
    pub fn pid(&self) -> u32 {
        self.pid
    }

    fn signal(&self, sig: libc::c_int) {
        // Only while unreaped: once the owner thread has reaped it, the pid may be reused.
        if self.exited.borrow().is_none() {
            unsafe { libc::kill(self.pid as libc::pid_t, sig) };
        }
    }

    async fn wait_ready(&self, log_path: &Path, log_start: u64) -> Result<String, EmbeddedError> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let opts = self.connect_options("postgres");
        loop {
            let exit_status = self.exited.borrow().clone();
            let problem = match exit_status {
                Some(status) => Some(format!("exited during startup ({status})")),
                None if Instant::now() >= deadline => Some(format!("was not ready within {READY_TIMEOUT:?}")),
                None => None,
            };
            if let Some(problem) = problem {
                let (log, tail) = (log_path.to_path_buf(), log_tail(log_path, log_start));
                return Err(EmbeddedError::Startup { problem, log, tail });
            }
            // Refused / "starting up" errors are expected until the server is ready.
            let attempt = tokio::time::timeout(Duration::from_secs(2), PgConnection::connect_with(&opts));
            if let Ok(Ok(mut conn)) = attempt.await {
                let version = sqlx::query_scalar("SHOW server_version")
                    .fetch_one(&mut conn)
                    .await?;
                let _ = conn.close().await;
                return Ok(version);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        if !self.shutdown_blocking(Duration::from_secs(5)) {
            tracing::warn!(
                pid = self.pid,
                "embedded PostgreSQL still running 5s after SIGINT"
            );
        }
        if let Some(dir) = &self.private_socket_dir {
            let _ = fs::remove_dir_all(dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line() {
        let msg = EmbeddedError::BinariesNotFound.to_string();
        assert!(
            !msg.contains('\n') && msg.contains("apt-get install postgresql") && msg.contains("DATABASE_URL")
        );
    }
}
