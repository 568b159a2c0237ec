//! A real S3-compatible server for tests, in process: s3s-fs over a temporary directory, served
//! by hyper on 127.0.0.1 (a free port), with SigV4 verification against one test key pair, so
//! that unsigned, expired or tampered requests are refused as S3 would refuse them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const ACCESS_KEY: &str = "ZYNCTESTACCESSKEY";
pub const SECRET_KEY: &str = "zync-test-secret-key-0123456789";
pub const BUCKET: &str = "zync-files";
pub const REGION: &str = "us-east-1";

pub struct S3Server {
    pub addr: SocketAddr,
    root: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl S3Server {
    /// Starts the server with one empty bucket, [`BUCKET`].
    pub async fn start() -> Self {
        let root = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(root.path().join(BUCKET)).expect("bucket dir");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let (stop, task) = serve(listener, root.path());
        Self {
            addr,
            root,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Serves the same bucket on the same address again, after [`stop`](Self::stop): the
    /// storage server is back, with what it held.
    #[allow(dead_code)] // the store's own tests (tests/s3) never restart it
    pub async fn restart(&mut self) {
        assert!(self.task.is_none(), "stop the server before restarting it");
        let listener = TcpListener::bind(self.addr).await.expect("bind the same address");
        let (stop, task) = serve(listener, self.root.path());
        self.stop = Some(stop);
        self.task = Some(task);
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Closes the listener and every open connection; the port then refuses connections.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Every file under the server's directory (objects, metadata, pending uploads).
    pub fn files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    out.push(path);
                }
            }
        }
        let mut out = Vec::new();
        walk(self.root.path(), &mut out);
        out
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Serves s3s-fs over `root` on `listener` until the returned sender fires.
fn serve(listener: TcpListener, root: &Path) -> (oneshot::Sender<()>, JoinHandle<()>) {
    let fs = s3s_fs::FileSystem::new(root).expect("s3s-fs");
    let service = {
        let mut b = S3ServiceBuilder::new(fs);
        b.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        b.build()
    };
    let (stop, mut stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let http = ConnBuilder::new(TokioExecutor::new());
        // Connections die with this task (stopping means nothing answers any more, not
        // even keep-alive connections a client still holds).
        let mut connections = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                accepted = listener.accept() => {
                    let Ok((socket, _)) = accepted else { continue };
                    let conn = http.serve_connection(TokioIo::new(socket), service.clone()).into_owned();
                    connections.spawn(async move { let _ = conn.await; });
                }
            }
        }
        connections.shutdown().await;
    });
    (stop, task)
}
