//! Configuring and spawning initdb and the postmaster, and describing how they went.

use std::fs;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};

use tokio::sync::{oneshot, watch};

use super::host::RunAs;
use super::{io_err, EmbeddedError, SUPERUSER};

/// Runs the child as `run_as`, and has the kernel send it `death_signal` when the thread that
/// spawned it exits (including when this process is killed), so no orphan server is left behind.
pub(super) fn configure(cmd: &mut Command, run_as: Option<&RunAs>, death_signal: libc::c_int) {
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

pub(super) async fn run_initdb(
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
pub(super) async fn spawn_owned(mut cmd: Command, program: &Path) -> Result<Spawned, EmbeddedError> {
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
pub(super) fn log_tail(path: &Path, from: u64) -> String {
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

    #[test]
    fn tail_is_one_line() {
        assert_eq!(one_line_tail("a\n\nb\r\n  c  \n"), "a | b | c");
    }
}
