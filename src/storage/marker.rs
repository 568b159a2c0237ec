//! The local store's identity: a random id written once into `<root>/.zync-store-id`. Nodes
//! pointed at one shared directory read the same id; nodes with private directories each make
//! their own, which is how the node registry ([`super::nodes`]) tells them apart (ADR 0006).
//! Keys never have a segment starting with a dot, so the marker is never an object.

use std::io;
use std::path::{Path, PathBuf};

const MARKER: &str = ".zync-store-id";

pub fn path(root: &Path) -> PathBuf {
    root.join(MARKER)
}

/// The store id under `root`, written first if there is none. Several nodes may start at once on
/// a new shared directory: the id is written to a private file and hard-linked into place, which
/// fails if another node got there first, so every node ends up with the one id that won.
pub fn ensure(root: &Path) -> io::Result<String> {
    if let Some(id) = read(root)? {
        return Ok(id);
    }
    let id = uuid::Uuid::new_v4().to_string();
    let draft = root.join(format!("{MARKER}.{}", uuid::Uuid::new_v4().simple()));
    std::fs::write(&draft, format!("{id}\n"))?;
    let linked = std::fs::hard_link(&draft, path(root));
    let _ = std::fs::remove_file(&draft);
    match linked {
        Ok(()) => Ok(id),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            read(root)?.ok_or_else(|| io::Error::other("the store id marker vanished while starting"))
        }
        Err(e) => Err(e),
    }
}

/// The store id under `root`, if the marker is there. A marker that is not an id is an error:
/// guessing would risk two stores passing for one.
pub fn read(root: &Path) -> io::Result<Option<String>> {
    let marker = path(root);
    match std::fs::read_to_string(&marker) {
        Ok(text) => uuid::Uuid::parse_str(text.trim())
            .map(|id| Some(id.to_string()))
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{} does not hold a store id", marker.display()),
                )
            }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_id_per_directory() {
        let a = std::env::temp_dir().join(format!("zync-marker-{}", uuid::Uuid::now_v7().simple()));
        let b = a.with_extension("other");
        for dir in [&a, &b] {
            std::fs::create_dir_all(dir).unwrap();
        }
        assert_eq!(read(&a).unwrap(), None);
        let id = ensure(&a).unwrap();
        assert_eq!(ensure(&a).unwrap(), id);
        assert_eq!(read(&a).unwrap(), Some(id.clone()));
        assert_ne!(ensure(&b).unwrap(), id);
        std::fs::write(path(&b), "not an id").unwrap();
        assert!(read(&b).is_err());
        // Only the marker is left: no drafts.
        assert_eq!(std::fs::read_dir(&a).unwrap().count(), 1);
        for dir in [&a, &b] {
            std::fs::remove_dir_all(dir).unwrap();
        }
    }
}
