//! The default store: a directory (`<data_dir>/files/`), with expiring HMAC-signed links that the
//! app itself serves (`GET /files/{*key}`, in `http::files`).
//!
//! Layout under the root: `<key>` holds the bytes, `.meta/<key>` the content type, `.tmp/` the
//! uploads in progress. Keys never have a segment starting with a dot, so none of these collide.
//! A put streams into a temporary file and renames it into place only when complete: a failed or
//! refused upload leaves nothing behind.
//!
//! Links: `/files/<key>?expires=<unix seconds>&name=<file name>&sig=<hex HMAC-SHA256 of
//! "<key>\n<expires>\n<name>">`, keyed by a key derived from `SECRET_KEY` (so every node with the
//! same secret accepts them). `name` is the download's file name in `Content-Disposition`; it is
//! signed so a link holder cannot rename the download. A link without a name signs
//! `"<key>\n<expires>"` (links issued before names were added stay valid until they expire; keys
//! and expiry times hold no newline, so the two forms cannot be confused). Links are absolute:
//! `<PUBLIC_BASE_URL>/files/...` when it is set, else on the origin the asking client reached
//! this server at (`http::origin`), since clients use them from pages of other origins.

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::fs;
use tokio::io::AsyncWriteExt;

use super::disposition::clean_name;
use super::{valid_key, ByteStream, ObjectStore, StorageError};

type HmacSha256 = Hmac<Sha256>;

/// Domain separation: this key signs file links and nothing else.
const LINK_KEY_CONTEXT: &[u8] = b"zync local file links v1";
const META_DIR: &str = ".meta";
const TMP_DIR: &str = ".tmp";

pub struct LocalStore {
    root: PathBuf,
    link_key: [u8; 32],
    public_base_url: Option<String>,
}

/// Why a link was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkError {
    Expired,
    BadSignature,
}

/// An object opened for serving.
pub struct LocalObject {
    pub file: fs::File,
    pub len: u64,
    pub content_type: String,
}

impl LocalStore {
    /// A store under `root` (created if missing), signing links with a key derived from `secret`.
    pub fn new(
        root: impl Into<PathBuf>,
        secret: &[u8],
        public_base_url: Option<String>,
    ) -> std::io::Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(root.join(TMP_DIR))?;
        std::fs::create_dir_all(root.join(META_DIR))?;
        let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
        mac.update(LINK_KEY_CONTEXT);
        let link_key = mac.finalize().into_bytes().into();
        Ok(Self {
            root,
            link_key,
            public_base_url: public_base_url.map(|u| u.trim_end_matches('/').to_string()),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where `key`'s bytes live; `None` for a key that could escape the root.
    pub fn path_of(&self, key: &str) -> Option<PathBuf> {
        valid_key(key).then(|| self.root.join(key))
    }

    fn meta_path(&self, key: &str) -> PathBuf {
        self.root.join(META_DIR).join(key)
    }

    fn mac(&self, key: &str, expires: i64, name: Option<&str>) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.link_key).expect("HMAC takes keys of any length");
        mac.update(key.as_bytes());
        mac.update(b"\n");
        mac.update(expires.to_string().as_bytes());
        if let Some(name) = name {
            mac.update(b"\n");
            mac.update(name.as_bytes());
        }
        mac
    }

    pub fn sign(&self, key: &str, expires: i64, name: Option<&str>) -> String {
        hex::encode(self.mac(key, expires, name).finalize().into_bytes())
    }

    /// Checks a link's signature (in constant time), then its expiry against `now`.
    pub fn verify(
        &self,
        key: &str,
        expires: i64,
        name: Option<&str>,
        sig: &str,
        now: i64,
    ) -> Result<(), LinkError> {
        let sig = hex::decode(sig).map_err(|_| LinkError::BadSignature)?;
        self.mac(key, expires, name)
            .verify_slice(&sig)
            .map_err(|_| LinkError::BadSignature)?;
        if now > expires {
            return Err(LinkError::Expired);
        }
        Ok(())
    }

    /// The link to `key`, valid until `expires` (unix seconds), downloading as `name`, on
    /// `PUBLIC_BASE_URL` if set, else on `origin`.
    pub fn link(&self, origin: &str, key: &str, expires: i64, name: Option<&str>) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("expires", &expires.to_string());
        if let Some(name) = name {
            query.append_pair("name", name);
        }
        query.append_pair("sig", &self.sign(key, expires, name));
        format!(
            "{}/files/{key}?{}",
            self.public_base_url.as_deref().unwrap_or(origin),
            query.finish()
        )
    }

    /// Opens `key` for serving: its bytes, length and stored content type.
    pub async fn open(&self, key: &str) -> Result<LocalObject, StorageError> {
        let path = self.path_of(key).ok_or(StorageError::NotFound)?;
        let file = match fs::File::open(&path).await {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(StorageError::NotFound),
            Err(e) => return Err(StorageError::Unavailable(e.to_string())),
        };
        let metadata = file
            .metadata()
            .await
            .map_err(|e| StorageError::Unavailable(e.to_string()))?;
        // A directory opens too (`media`, say) but reads as an error part way through the
        // response: only regular files are objects.
        if !metadata.is_file() {
            return Err(StorageError::NotFound);
        }
        let len = metadata.len();
        let content_type = fs::read_to_string(self.meta_path(key))
            .await
            .map(|s| s.trim().to_string())
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "application/octet-stream".to_string());
        Ok(LocalObject {
            file,
            len,
            content_type,
        })
    }

    async fn put_inner(
        &self,
        key: &str,
        content_type: &str,
        mut body: ByteStream,
    ) -> Result<u64, StorageError> {
        let path = self
            .path_of(key)
            .ok_or_else(|| StorageError::Unavailable(format!("invalid object key {key:?}")))?;
        let unavailable = |e: std::io::Error| StorageError::Unavailable(e.to_string());
        let tmp = self
            .root
            .join(TMP_DIR)
            .join(uuid::Uuid::now_v7().simple().to_string());
        let tmp_meta = tmp.with_extension("meta");
        let result = async {
            let mut file = fs::File::create(&tmp).await.map_err(unavailable)?;
            let mut written = 0u64;
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(StorageError::Body)?;
                file.write_all(&chunk).await.map_err(unavailable)?;
                written += chunk.len() as u64;
            }
            file.sync_all().await.map_err(unavailable)?;
            drop(file);
            fs::write(&tmp_meta, content_type).await.map_err(unavailable)?;
            let meta = self.meta_path(key);
            for target in [&path, &meta] {
                if let Some(parent) = target.parent() {
                    fs::create_dir_all(parent).await.map_err(unavailable)?;
                }
            }
            fs::rename(&tmp_meta, &meta).await.map_err(unavailable)?;
            if let Err(e) = fs::rename(&tmp, &path).await {
                let _ = fs::remove_file(&meta).await;
                return Err(unavailable(e));
            }
            Ok(written)
        }
        .await;
        if result.is_err() {
            let _ = fs::remove_file(&tmp).await;
            let _ = fs::remove_file(&tmp_meta).await;
        }
        result
    }

    async fn delete_inner(&self, key: &str) -> Result<(), StorageError> {
        let Some(path) = self.path_of(key) else {
            return Ok(());
        };
        for target in [path, self.meta_path(key)] {
            match fs::remove_file(&target).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StorageError::Unavailable(e.to_string())),
            }
        }
        Ok(())
    }
}

impl ObjectStore for LocalStore {
    fn put(
        &self,
        key: String,
        content_type: String,
        body: ByteStream,
    ) -> BoxFuture<'_, Result<u64, StorageError>> {
        async move { self.put_inner(&key, &content_type, body).await }.boxed()
    }

    fn delete(&self, key: String) -> BoxFuture<'_, Result<(), StorageError>> {
        async move { self.delete_inner(&key).await }.boxed()
    }

    /// `content_type` is not needed here: when a link is served, the disposition is decided
    /// from the type stored with the object (the same one), in `http::files::serve_file`.
    fn access_url(
        &self,
        key: String,
        _content_type: String,
        filename: String,
        expires_in: Duration,
        origin: String,
    ) -> BoxFuture<'_, Result<String, StorageError>> {
        async move {
            if !valid_key(&key) {
                return Err(StorageError::NotFound);
            }
            let expires =
                chrono::Utc::now().timestamp() + i64::try_from(expires_in.as_secs()).unwrap_or(i64::MAX / 2);
            let name = clean_name(&filename);
            let name = (!name.is_empty()).then_some(name.as_str());
            Ok(self.link(origin.trim_end_matches('/'), &key, expires, name))
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn store() -> LocalStore {
        let dir = std::env::temp_dir().join(format!("zync-local-{}", uuid::Uuid::now_v7().simple()));
        LocalStore::new(dir, b"secret", None).unwrap()
    }

    #[test]
    fn links_verify_and_refuse_tampering_and_expiry() {
        let s = store();
        let sig = s.sign("media/a.png", 100, None);
        assert_eq!(s.verify("media/a.png", 100, None, &sig, 100), Ok(()));
        assert_eq!(
            s.verify("media/a.png", 100, None, &sig, 101),
            Err(LinkError::Expired)
        );
        assert_eq!(
            s.verify("media/b.png", 100, None, &sig, 50),
            Err(LinkError::BadSignature)
        );
        assert_eq!(
            s.verify("media/a.png", 101, None, &sig, 50),
            Err(LinkError::BadSignature)
        );
        assert_eq!(
            s.verify("media/a.png", 100, None, "zz", 50),
            Err(LinkError::BadSignature)
        );
        assert!(s
            .link("http://h:1", "media/a.png", 100, None)
            .starts_with("http://h:1/files/media/a.png?expires=100&sig="));
        let other = LocalStore::new(s.root(), b"other secret", Some("https://x.test/".into())).unwrap();
        assert_eq!(
            other.verify("media/a.png", 100, None, &sig, 50),
            Err(LinkError::BadSignature)
        );
        // PUBLIC_BASE_URL wins over the request's origin.
        assert!(other
            .link("http://h:1", "k", 1, None)
            .starts_with("https://x.test/files/k?"));
        std::fs::remove_dir_all(s.root()).unwrap();
    }

    #[test]
    fn the_download_name_is_signed_too() {
        let s = store();
        let sig = s.sign("media/a.txt", 100, Some("a b.txt"));
        assert_eq!(s.verify("media/a.txt", 100, Some("a b.txt"), &sig, 50), Ok(()));
        for name in [None, Some("a b.exe"), Some("")] {
            assert_eq!(
                s.verify("media/a.txt", 100, name, &sig, 50),
                Err(LinkError::BadSignature),
                "{name:?}"
            );
        }
        assert_eq!(
            s.link("http://h:1", "media/a.txt", 100, Some("a b&c.txt")),
            format!(
                "http://h:1/files/media/a.txt?expires=100&name=a+b%26c.txt&sig={}",
                s.sign("media/a.txt", 100, Some("a b&c.txt"))
            )
        );
        std::fs::remove_dir_all(s.root()).unwrap();
    }

    #[tokio::test]
    async fn a_failed_put_leaves_nothing() {
        let s = store();
        let body: ByteStream = futures::stream::iter(vec![
            Ok(Bytes::from_static(b"abc")),
            Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "too large")),
        ])
        .boxed();
        let err = s
            .put("media/x.bin".into(), "text/plain".into(), body)
            .await
            .unwrap_err();
        assert!(matches!(err, StorageError::Body(_)));
        assert!(s.open("media/x.bin").await.is_err());
        assert_eq!(std::fs::read_dir(s.root().join(TMP_DIR)).unwrap().count(), 0);

        let body: ByteStream = futures::stream::iter(vec![Ok(Bytes::from_static(b"hello"))]).boxed();
        assert_eq!(
            s.put("media/y.txt".into(), "text/plain".into(), body)
                .await
                .unwrap(),
            5
        );
        let object = s.open("media/y.txt").await.unwrap();
        assert_eq!((object.len, object.content_type.as_str()), (5, "text/plain"));
        s.delete("media/y.txt".into()).await.unwrap();
        s.delete("media/y.txt".into()).await.unwrap();
        assert!(matches!(s.open("media/y.txt").await, Err(StorageError::NotFound)));
        assert!(s
            .put("../evil".into(), "x/y".into(), futures::stream::empty().boxed())
            .await
            .is_err());
        std::fs::remove_dir_all(s.root()).unwrap();
    }
}
