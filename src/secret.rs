//! The token signing key: `SECRET_KEY`, or one generated once and kept in the data directory.
//! Never a hard-coded default.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use anyhow::Context;

const FILE_NAME: &str = "secret_key";

pub fn load_or_generate(configured: Option<&str>, data_dir: &Path) -> anyhow::Result<Vec<u8>> {
    if let Some(key) = configured {
        if key.len() < 32 {
            tracing::warn!("SECRET_KEY is shorter than 32 bytes; use a long random value in production");
        }
        return Ok(key.as_bytes().to_vec());
    }
    let path = data_dir.join(FILE_NAME);
    if path.exists() {
        let key = fs::read_to_string(&path).with_context(|| format!("could not read {}", path.display()))?;
        let key = key.trim();
        anyhow::ensure!(
            key.len() >= 32,
            "{} is too short; delete it to generate a new key",
            path.display()
        );
        tracing::info!(path = %path.display(), "SECRET_KEY not set; using the generated key kept in the data directory");
        return Ok(key.as_bytes().to_vec());
    }
    fs::create_dir_all(data_dir).with_context(|| format!("could not create {}", data_dir.display()))?;
    let key = hex::encode(rand::random::<[u8; 32]>());
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("could not create {}", path.display()))?;
    file.write_all(key.as_bytes())?;
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600))?;
    tracing::info!(
        path = %path.display(),
        "SECRET_KEY not set; generated a new key and kept it in the data directory \
         (set SECRET_KEY, the same on every node, to share tokens across nodes)"
    );
    Ok(key.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_once_then_reuses() {
        let dir = std::env::temp_dir().join(format!("zync-secret-{}", uuid::Uuid::now_v7()));
        let first = load_or_generate(None, &dir).unwrap();
        let second = load_or_generate(None, &dir).unwrap();
        assert_eq!(first, second);
        assert_eq!(first.len(), 64);
        let mode = fs::metadata(dir.join(FILE_NAME)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(load_or_generate(Some("configured"), &dir).unwrap(), b"configured");
        fs::remove_dir_all(dir).unwrap();
    }
}
