//! Running the real `zync` binary's operator commands against a test's database.

use std::process::Output;

use sqlx::postgres::PgConnectOptions;

use crate::db::database_url;
use crate::support::TEST_MASTER_KEY;

/// What a finished `zync` command printed, and how it exited.
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Ran {
    fn from(out: Output) -> Self {
        Self {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Runs `zync <args>` on `db` (no terminal, so progress is plain lines) in a scratch working
/// directory, so no `.env` of the checkout applies.
pub async fn zync(db: &PgConnectOptions, args: &[&str]) -> Ran {
    zync_with_env(db, args, &[]).await
}

/// [`zync`], with these environment variables set besides.
pub async fn zync_with_env(db: &PgConnectOptions, args: &[&str], env: &[(&str, &str)]) -> Ran {
    let dir = std::env::temp_dir().join(format!("zync-cli-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_zync"))
        .args(args)
        .current_dir(&dir)
        .env("DATABASE_URL", database_url(db))
        .env("ZYNC_DATA_DIR", dir.join("data"))
        .env_remove("RUST_LOG")
        .env("ZYNC_MASTER_KEY", TEST_MASTER_KEY)
        .envs(env.iter().copied())
        .kill_on_drop(true)
        .output()
        .await
        .expect("the zync binary runs");
    let _ = std::fs::remove_dir_all(&dir);
    out.into()
}
