//! `Application`: everything `zync serve` runs, bound to a port, until a shutdown signal. The
//! binary and the black-box tests start the server the same way.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use projections::RunnerHandle;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::Connection as _;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};

use crate::auth::password;
use crate::auth::token::TokenKeys;
use crate::commands::CommandBus;
use crate::config::Config;
use crate::db::embedded::{EmbeddedError, EmbeddedOptions, EmbeddedPostgres};
use crate::http::routes;
use crate::http::server::{self, HttpSettings};
use crate::limits::Limiters;
use crate::live::{LiveHub, ProjectedPosition};
use crate::metrics::Metrics;
use crate::reactors::Reactors;
use crate::state::AppState;
use crate::storage::local::LocalStore;
use crate::storage::nodes::{FileNode, StoreIdentity};
use crate::storage::s3::S3Store;
use crate::storage::ObjectStore;
use crate::{db, secret};

/// The embedded cluster's database name.
const EMBEDDED_DATABASE: &str = "zync";

pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    http: HttpSettings,
    pool: PgPool,
    projections: Option<Arc<RunnerHandle>>,
    reactors: Option<Reactors>,
    live: LiveHub,
    sweeper: tokio::task::JoinHandle<()>,
    shutdown: watch::Sender<bool>,
    embedded: Option<EmbeddedPostgres>,
    file_node: Arc<FileNode>,
}

/// How long startup waits for transactions that were running when it began (they hold the feed
/// back) before serving anyway. Appends take milliseconds; only a stuck session hits this.
const STARTUP_CATCH_UP_PATIENCE: Duration = Duration::from_secs(10);
/// A pooled connection idle longer than this is checked before use.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(1);
/// How long sockets get to send their 1001 close frames before the process exits.
const SOCKET_DRAIN: Duration = Duration::from_millis(500);

/// Connects to `DATABASE_URL`, or starts the private cluster in the data directory.
pub async fn database(config: &Config) -> anyhow::Result<(PgConnectOptions, Option<EmbeddedPostgres>)> {
    open_database(config, false).await
}

/// A database for operator commands: like [`database`], but when a server already runs the
/// embedded cluster in this data directory, connect to that one instead of failing.
pub async fn database_beside_server(
    config: &Config,
) -> anyhow::Result<(PgConnectOptions, Option<EmbeddedPostgres>)> {
    open_database(config, true).await
}

async fn open_database(
    config: &Config,
    attach: bool,
) -> anyhow::Result<(PgConnectOptions, Option<EmbeddedPostgres>)> {
    if let Some(options) = &config.database {
        return Ok((options.clone(), None));
    }
    let options = |data_dir| EmbeddedOptions {
        data_dir,
        durable: true,
        max_connections: 200,
    };
    let started = match EmbeddedPostgres::start(options(config.data_dir.join("postgres"))).await {
        // As root the cluster runs as the `postgres` user, which may not be able to enter the
        // data directory (a checkout under /root, say). Keep the cluster where it can live,
        // keyed by the data directory, rather than refuse to start.
        Err(EmbeddedError::NotReachable { blocker, .. }) => {
            let fallback = unreachable_fallback(&config.data_dir)?;
            tracing::warn!(
                blocked_by = %blocker.display(),
                cluster = %fallback.display(),
                "the postgres user cannot reach the data directory; keeping the embedded cluster elsewhere"
            );
            EmbeddedPostgres::start(options(fallback)).await
        }
        other => other,
    };
    let pg = match started {
        Err(EmbeddedError::InUse { data_dir, pid }) if attach => {
            tracing::info!(pid, "using the embedded PostgreSQL the running server started");
            return Ok((EmbeddedPostgres::attach(&data_dir, EMBEDDED_DATABASE)?, None));
        }
        other => other?,
    };
    pg.ensure_database(EMBEDDED_DATABASE).await?;
    Ok((pg.connect_options(EMBEDDED_DATABASE), Some(pg)))
}

/// Loads the master key, checks it is the database's and installs it for this process, before
/// anything is written: a node with another master key would seal personal data that no other
/// node can open. Every command that reads or writes the log does this first.
pub async fn unlock_personal_data(config: &Config, pool: &PgPool) -> anyhow::Result<()> {
    let master = secret::master_key(config.master_key.as_deref(), &config.data_dir)?;
    projections::personal::check_master_key(pool, &master).await?;
    projections::personal::install(&master)?;
    let added = projections::personal::ensure_user_keys(pool, &master).await?;
    if added > 0 {
        tracing::info!(users = added, "gave data keys to users registered before sealing");
    }
    Ok(())
}

/// `/var/lib/zync/<hash of the data directory's absolute path>/postgres`.
fn unreachable_fallback(data_dir: &std::path::Path) -> anyhow::Result<std::path::PathBuf> {
    let absolute = std::path::absolute(data_dir)?;
    let key = projections::stable_hash(absolute.to_string_lossy().as_bytes());
    Ok(std::path::PathBuf::from(format!(
        "/var/lib/zync/{key:016x}/postgres"
    )))
}

/// The object store in use, and the local store when it is that one (its links are served here).
pub type Stores = (Arc<dyn ObjectStore>, Option<Arc<LocalStore>>);

/// The object store: S3 when a bucket is configured, else the local directory `FILES_DIR`
/// (default `<data_dir>/files/`, whose signed links this app serves).
pub async fn storage(config: &Config, secret: &[u8]) -> anyhow::Result<Stores> {
    if let Some(settings) = &config.s3 {
        tracing::info!(bucket = %settings.bucket, "storing files in S3");
        let s3 = S3Store::new(settings.clone())
            .await
            .context("could not configure S3 storage")?;
        return Ok((Arc::new(s3), None));
    }
    let root = config.local_files_dir();
    let local = Arc::new(
        LocalStore::new(&root, secret, config.public_base_url.clone())
            .with_context(|| format!("could not create the file directory {}", root.display()))?,
    );
    tracing::info!(root = %root.display(), "storing files in the local directory");
    Ok((local.clone(), Some(local)))
}

pub async fn pool(config: &Config, options: PgConnectOptions) -> anyhow::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(config.db_pool_size)
        // Fail fast (503) rather than queue requests forever when the database is gone.
        .acquire_timeout(Duration::from_secs(5))
        // sqlx pings a connection (a round trip) when it goes back to the pool, and by default
        // again when it is taken out: two extra round trips for every query run on the pool,
        // ten per posted message. The ping on return stays (it cannot be turned off); the one on
        // acquire is only worth it for a connection that has sat idle, which the database may
        // have dropped meanwhile.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > IDLE_BEFORE_PING {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
        .connect_with(options)
        .await
        .context("could not connect to PostgreSQL")
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        // Two rustls crypto providers are linked (aws-lc-rs via the S3 client, ring via sqlx);
        // rustls refuses to guess, so name one. Already installed (a second app in one process) is fine.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let (options, embedded) = database(&config).await?;
        let pool = pool(&config, options).await?;
        db::migrate(&pool).await.context("could not apply migrations")?;
        let secret = secret::load_or_generate(config.secret_key.as_deref(), &config.data_dir)?;
        unlock_personal_data(&config, &pool)
            .await
            .context("refusing to start")?;
        // Before anything else starts: a node whose file store differs from a live node's
        // refuses to start (ADR 0006).
        let (storage, local_files) = storage(&config, &secret).await?;
        let identity = match &local_files {
            Some(local) => StoreIdentity::local(local.root(), &secret)
                .with_context(|| format!("could not mark the file directory {}", local.root().display()))?,
            None => StoreIdentity::s3(config.s3.as_ref().context("no file store is configured")?),
        };
        let file_node = FileNode::join(&pool, identity)
            .await
            .context("refusing to start")?;
        password::warm_up().await;

        // One LISTEN connection per node wakes every feed reader: projections, reactors, the hub.
        let projections_wake = Arc::new(Notify::new());
        let projections = if config.run_projections {
            let runner = projections::live_runner(pool.clone());
            runner.init().await?;
            // Catch up before serving, so the first reads after downtime are already complete.
            let (at, complete) = runner
                .catch_up_committed(STARTUP_CATCH_UP_PATIENCE)
                .await
                .context("projection catch-up failed")?;
            if complete {
                tracing::info!(position = at.position, "projections caught up");
            } else {
                tracing::warn!(
                    position = at.position,
                    "a long-running transaction holds the feed back; serving before catch-up ends"
                );
            }
            Some(Arc::new(runner.spawn_woken_by(projections_wake.clone())))
        } else {
            None
        };

        let projected = match &projections {
            Some(runner) => ProjectedPosition::Runner(runner.progress()),
            None => ProjectedPosition::Database,
        };
        // Their own runners, locks and checkpoints: a slow object store never holds back the
        // projections (and so neither read-your-writes nor the frames).
        let reactors = config
            .run_reactors
            .then(|| Reactors::spawn(&pool, storage.clone()));
        let wakes = std::iter::once(projections_wake)
            .chain(reactors.iter().flat_map(Reactors::wakes))
            .collect();
        let live = LiveHub::start_waking(pool.clone(), projected, wakes)
            .await
            .context("could not start the live feed")?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let state = AppState {
            pool: pool.clone(),
            tokens: Arc::new(TokenKeys::with_ttl_seconds(
                &secret,
                config.access_token_ttl_seconds(),
            )),
            commands: Arc::new(CommandBus::new(pool.clone(), projections.clone())),
            live: live.clone(),
            shutdown: shutdown_rx,
            websocket: config.websocket,
            storage,
            local_files,
            file_node: file_node.clone(),
            files: config.files,
            limits: Arc::new(Limiters::new(config.limits)),
            metrics: Arc::new(Metrics::new(config.metrics_token.clone())),
            trusted_proxies: Arc::new(config.trusted_proxies.clone()),
        };
        let router = routes::router(state, &config.frontend_origins, config.http.body_timeout);
        let listener = TcpListener::bind((config.host, config.port))
            .await
            .with_context(|| format!("could not listen on {}:{}", config.host, config.port))?;
        Ok(Self {
            listener,
            router,
            http: config.http,
            sweeper: crate::maintenance::spawn_sweeper(pool.clone()),
            pool,
            projections,
            reactors,
            live,
            shutdown,
            embedded,
            file_node,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until `shutdown` completes, then drains requests and stops what it started.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        tracing::info!(addr = %self.local_addr(), "zync listening");
        let sockets = self.shutdown.clone();
        let signal = async move {
            shutdown.await;
            // Upgraded sockets are not drained by the HTTP server: tell them to close (1001) so
            // clients reconnect and resume elsewhere.
            let _ = sockets.send(true);
        };
        server::serve(self.listener, self.router, self.http, signal).await;
        let _ = self.shutdown.send(true);
        if self.shutdown.receiver_count() > 1 {
            tokio::time::sleep(SOCKET_DRAIN).await;
        }
        self.live.shutdown();
        self.sweeper.abort();
        self.file_node.leave().await;
        if let Some(p) = &self.projections {
            p.shutdown();
        }
        if let Some(r) = &self.reactors {
            r.shutdown();
        }
        self.pool.close().await;
        if let Some(pg) = self.embedded {
            pg.stop().await?;
        }
        tracing::info!("zync stopped");
        Ok(())
    }
}
