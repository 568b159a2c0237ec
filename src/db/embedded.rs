//! A private PostgreSQL cluster run from the installed server binaries, for when no `DATABASE_URL`
//! is given (see ARCHITECTURE.md, "Running Postgres without a running Postgres"). It listens only on
//! a Unix socket, trusts local connections, and does not outlive this process.

use std::ffi::{CString, OsStr};
use std::fs::{self, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::{Connection, Executor, PgConnection};
use tokio::sync::{oneshot, watch};

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

    /// Unix socket, cluster superuser; overrides whatever PGHOST, PGSSLMODE, ... say.
    pub fn connect_options(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new_without_pgpass()
            .socket(&self.socket_dir)
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
            let create = format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\""));
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

fn find_binaries() -> Option<PathBuf> {
    find_binaries_in(
        Path::new("/usr/lib/postgresql"),
        std::env::var_os("PATH").as_deref(),
    )
}

/// The highest `<root>/<version>/bin` holding both initdb and postgres, else the first PATH entry
/// holding both (one directory, so that both are the same version).
fn find_binaries_in(root: &Path, path_var: Option<&OsStr>) -> Option<PathBuf> {
    let has_both = |bin: &Path| is_executable(&bin.join("initdb")) && is_executable(&bin.join("postgres"));
    let version = |name: &OsStr| -> Option<Vec<u64>> {
        name.to_str()?.split('.').map(|part| part.parse().ok()).collect()
    };
    let installed = fs::read_dir(root).into_iter().flatten().flatten();
    let mut versions: Vec<(Vec<u64>, PathBuf)> = installed
        .filter_map(|entry| Some((version(&entry.file_name())?, entry.path().join("bin"))))
        .filter(|(_, bin)| has_both(bin))
        .collect();
    versions.sort();
    match versions.pop() {
        Some((_, bin)) => Some(bin),
        None => std::env::split_paths(path_var?).find(|dir| has_both(dir)),
    }
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.mode() & 0o111 != 0)
}

fn socket_fits(dir: &Path) -> bool {
    dir.as_os_str().len() + 1 + SOCKET_FILE.len() <= SUN_PATH_MAX
}

/// The unprivileged account to run the server as, when we are root.
#[derive(Debug, Clone)]
struct RunAs {
    name: String,
    uid: u32,
    gid: u32,
}

fn server_user() -> Result<Option<RunAs>, EmbeddedError> {
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    lookup_user("postgres")
        .map(Some)
        .ok_or(EmbeddedError::NoServerUser)
}

fn lookup_user(name: &str) -> Option<RunAs> {
    let cname = CString::new(name).ok()?;
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // The _r variant: getpwnam's static buffer may be in use by other threads.
    let rc = unsafe { libc::getpwnam_r(cname.as_ptr(), &mut pwd, buf.as_mut_ptr(), buf.len(), &mut found) };
    let (uid, gid) = (pwd.pw_uid, pwd.pw_gid);
    (rc == 0 && !found.is_null()).then(|| RunAs {
        name: name.into(),
        uid,
        gid,
    })
}

/// Symlink-free path of the data dir, created mode 0700 (postgres insists on 0700/0750). Missing
/// parents get default permissions so that the server user can traverse them.
fn create_data_dir(dir: &Path) -> Result<PathBuf, EmbeddedError> {
    if let Some(parent) = dir.parent() {
        fs::create_dir_all(parent).map_err(io_err("create", parent))?;
    }
    if let Err(e) = fs::DirBuilder::new().mode(0o700).create(dir) {
        if e.kind() != io::ErrorKind::AlreadyExists {
            return Err(io_err("create", dir)(e));
        }
    }
    fs::canonicalize(dir).map_err(io_err("resolve", dir))
}

/// Checks the search bit each existing ancestor grants the server user (missing ones will be
/// created searchable). Only its primary group counts: std's `Command::uid` drops the others.
fn check_reachable(data_dir: &Path, user: &RunAs) -> Result<(), EmbeddedError> {
    for dir in data_dir.ancestors().skip(1) {
        let Ok(meta) = fs::metadata(dir) else { continue };
        let bit = match (meta.uid() == user.uid, meta.gid() == user.gid) {
            (true, _) => 0o100,
            (false, true) => 0o010,
            (false, false) => 0o001,
        };
        if meta.mode() & bit == 0 {
            let (user, data_dir, blocker) = (user.name.clone(), data_dir.to_path_buf(), dir.to_path_buf());
            return Err(EmbeddedError::NotReachable {
                user,
                data_dir,
                blocker,
            });
        }
    }
    Ok(())
}

fn chown_recursive(path: &Path, user: &RunAs) -> Result<(), EmbeddedError> {
    let meta = fs::symlink_metadata(path).map_err(io_err("inspect", path))?;
    if meta.uid() != user.uid || meta.gid() != user.gid {
        std::os::unix::fs::lchown(path, Some(user.uid), Some(user.gid)).map_err(io_err("chown", path))?;
    }
    if meta.is_dir() {
        for entry in fs::read_dir(path).map_err(io_err("read", path))? {
            chown_recursive(&entry.map_err(io_err("read", path))?.path(), user)?;
        }
    }
    Ok(())
}

/// A fresh 0700 directory under /tmp; mkdtemp, so nobody can have planted it beforehand.
fn make_private_dir() -> Result<PathBuf, EmbeddedError> {
    let mut template = b"/tmp/zync-pg-XXXXXX\0".to_vec();
    if unsafe { libc::mkdtemp(template.as_mut_ptr().cast()) }.is_null() {
        return Err(io_err("create", Path::new("/tmp/zync-pg-*"))(
            io::Error::last_os_error(),
        ));
    }
    template.pop(); // the NUL
    Ok(PathBuf::from(String::from_utf8_lossy(&template).into_owned()))
}

/// Removes a postmaster.pid / socket lock file unless its pid is a live postgres for `data_dir`
/// (after a crash or reboot the pid may be dead, or reused by an unrelated process).
fn clear_stale_lock(file: &Path, data_dir: &Path) -> Result<(), EmbeddedError> {
    let Ok(text) = fs::read_to_string(file) else {
        return Ok(());
    };
    let pid = text
        .lines()
        .next()
        .and_then(|l| l.trim().parse::<i32>().ok())
        .unwrap_or(0);
    if pid > 0 && is_postgres_for(pid, data_dir) {
        return Err(EmbeddedError::InUse {
            data_dir: data_dir.to_path_buf(),
            pid,
        });
    }
    tracing::warn!(pid, "removing stale {}", file.display());
    fs::remove_file(file).map_err(io_err("remove", file))
}

fn is_postgres_for(pid: i32, data_dir: &Path) -> bool {
    let alive =
        unsafe { libc::kill(pid, 0) } == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    // Where /proc does not tell, assume the worst.
    let proc = PathBuf::from(format!("/proc/{pid}"));
    let is_postgres = fs::read_to_string(proc.join("comm")).map_or(true, |c| c.trim() == "postgres");
    // The postmaster chdirs into its data directory.
    let same_dir = fs::read_link(proc.join("cwd")).map_or(true, |cwd| cwd == data_dir);
    alive && is_postgres && same_dir
}

/// Runs the child as `run_as`, and has the kernel send it `death_signal` when the thread that
/// spawned it exits (including when this process is killed), so no orphan server is left behind.
fn configure(cmd: &mut Command, run_as: Option<&RunAs>, death_signal: libc::c_int) {
    if let Some(user) = run_as {
        cmd.uid(user.uid)
            .gid(user.gid)
            .env("USER", &user.name)
            .env("LOGNAME", &user.name);
    }
    cmd.current_dir("/"); // our cwd may not be accessible to the server user
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: only async-signal-safe calls and no allocation between fork and exec. std runs this
    // after setuid, which matters: changing credentials clears the death signal.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, death_signal as libc::c_ulong, 0, 0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            // If we died between fork and prctl, no signal will ever come.
            if libc::getppid() != parent {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        })
    };
}

async fn run_initdb(
    initdb: &Path,
    data_dir: &Path,
    durable: bool,
    run_as: Option<RunAs>,
) -> Result<(), EmbeddedError> {
    let mut cmd = Command::new(initdb);
    cmd.arg("-D")
        .arg(data_dir)
        .args(["--auth=trust", "-U", SUPERUSER, "--encoding=UTF8", "--locale=C"]);
    if !durable {
        cmd.arg("--no-sync");
    }
    configure(&mut cmd, run_as.as_ref(), libc::SIGKILL);
    let path = initdb.to_path_buf();
    // The blocking-pool thread that spawns initdb stays blocked in wait() until it exits.
    let output = tokio::task::spawn_blocking(move || cmd.stdin(Stdio::null()).output())
        .await
        .map_err(|e| io_err("run", &path)(io::Error::other(e)))?
        .map_err(io_err("run", &path))?;
    if output.status.success() {
        return Ok(());
    }
    // The error is on stderr; stdout is progress chatter.
    let stream = if output.stderr.is_empty() {
        &output.stdout
    } else {
        &output.stderr
    };
    let text = String::from_utf8_lossy(stream);
    let status = describe_status(output.status);
    Err(EmbeddedError::Initdb {
        data_dir: data_dir.to_path_buf(),
        status,
        output: one_line_tail(&text),
    })
}

/// Spawns the postmaster from a dedicated thread that lives exactly as long as the server: it owns
/// the `Child`, reaps it and publishes how it ended. (A test's or a runtime's thread may exit
/// sooner, and would take the server down with it through the death signal.)
type Spawned = (u32, watch::Receiver<Option<String>>);
async fn spawn_owned(mut cmd: Command, program: &Path) -> Result<Spawned, EmbeddedError> {
    let (pid_tx, pid_rx) = oneshot::channel();
    let (exit_tx, exit_rx) = watch::channel(None);
    let owner = move || {
        let mut child = match cmd.spawn() {
            Ok(child) => child,
            Err(e) => return drop(pid_tx.send(Err(e))),
        };
        let _ = pid_tx.send(Ok(child.id()));
        let status = child
            .wait()
            .map_or_else(|e| format!("wait failed: {e}"), describe_status);
        exit_tx.send_replace(Some(status));
    };
    let thread = std::thread::Builder::new()
        .name("zync-postmaster".into())
        .spawn(owner);
    thread.map_err(io_err("start a thread to spawn", program))?;
    let spawned = pid_rx
        .await
        .unwrap_or_else(|_| Err(io::Error::other("spawning thread died")));
    Ok((spawned.map_err(io_err("spawn", program))?, exit_rx))
}

fn describe_status(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => status.to_string(),
    }
}

/// The last lines this run wrote to the server log.
fn log_tail(path: &Path, from: u64) -> String {
    let mut text = String::new();
    if let Ok(mut file) = fs::File::open(path) {
        let _ = file
            .seek(SeekFrom::Start(from))
            .and_then(|_| file.read_to_string(&mut text));
    }
    one_line_tail(&text)
}

/// Error messages are one line: the last few non-empty lines, joined with " | ".
fn one_line_tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(6)..].join(" | ");
    if tail.is_empty() {
        "(no output)".into()
    } else {
        tail
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_bin(dir: &Path) {
        fs::create_dir_all(dir).unwrap();
        for name in ["initdb", "postgres"] {
            fs::write(dir.join(name), "#!/bin/sh\n").unwrap();
            fs::set_permissions(
                dir.join(name),
                std::os::unix::fs::PermissionsExt::from_mode(0o755),
            )
            .unwrap();
        }
    }

    #[test]
    fn picks_highest_complete_version_then_path() {
        let root = std::env::temp_dir().join(format!("zync-bin-test-{}", std::process::id()));
        let (lib, path_bin) = (root.join("lib"), root.join("path/bin"));
        fake_bin(&lib.join("9.6/bin"));
        fake_bin(&lib.join("15/bin"));
        fs::create_dir_all(lib.join("16/bin")).unwrap(); // client-only: no server binaries
        fake_bin(&path_bin);
        let path_var = std::env::join_paths([root.join("nowhere"), path_bin.clone()]).unwrap();

        assert_eq!(find_binaries_in(&lib, Some(&path_var)), Some(lib.join("15/bin")));
        assert_eq!(
            find_binaries_in(&root.join("missing"), Some(&path_var)),
            Some(path_bin)
        );
        assert_eq!(find_binaries_in(&root.join("missing"), None), None);
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn socket_path_limit() {
        let longest = SUN_PATH_MAX - 1 - SOCKET_FILE.len();
        assert!(socket_fits(Path::new(&"/".repeat(longest))));
        assert!(!socket_fits(Path::new(&"/".repeat(longest + 1))));
        let dir = make_private_dir().unwrap();
        assert_eq!(fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
        assert!(socket_fits(&dir));
        fs::remove_dir(&dir).unwrap();
    }

    #[test]
    fn messages_are_one_line() {
        let msg = EmbeddedError::BinariesNotFound.to_string();
        assert!(
            !msg.contains('\n') && msg.contains("apt-get install postgresql") && msg.contains("DATABASE_URL")
        );
        assert_eq!(one_line_tail("a\n\nb\r\n  c  \n"), "a | b | c");
    }
}
