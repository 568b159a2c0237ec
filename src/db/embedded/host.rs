//! The host side of the embedded cluster: finding the server binaries, the socket path limit, the
//! account to run the server as, and preparing the directories it uses.

use std::ffi::{CString, OsStr};
use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::{io_err, EmbeddedError, SOCKET_FILE, SUN_PATH_MAX};

pub(super) fn find_binaries() -> Option<PathBuf> {
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

pub(super) fn socket_fits(dir: &Path) -> bool {
    dir.as_os_str().len() + 1 + SOCKET_FILE.len() <= SUN_PATH_MAX
}

/// The unprivileged account to run the server as, when we are root.
#[derive(Debug, Clone)]
pub(super) struct RunAs {
    pub(super) name: String,
    pub(super) uid: u32,
    pub(super) gid: u32,
}

pub(super) fn server_user() -> Result<Option<RunAs>, EmbeddedError> {
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
pub(super) fn create_data_dir(dir: &Path) -> Result<PathBuf, EmbeddedError> {
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
pub(super) fn check_reachable(data_dir: &Path, user: &RunAs) -> Result<(), EmbeddedError> {
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

pub(super) fn chown_recursive(path: &Path, user: &RunAs) -> Result<(), EmbeddedError> {
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
pub(super) fn make_private_dir() -> Result<PathBuf, EmbeddedError> {
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
pub(super) fn clear_stale_lock(file: &Path, data_dir: &Path) -> Result<(), EmbeddedError> {
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
}
