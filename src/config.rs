//! Configuration from the environment (and a `.env` file), with the variable names Zync users
//! already have, plus command-line overrides.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anyhow::{bail, Context};
use sqlx::postgres::PgConnectOptions;

pub use crate::http::forwarded::TrustedProxies;
use crate::http::server::HttpSettings;
use crate::limits::{parse_limit, LimitSettings, Rate};
use crate::storage::s3::S3Settings;

use crate::state::{FileSettings, WebSocketSettings};

#[derive(Clone, Debug)]
pub struct Config {
    /// `DATABASE_URL`; `None` starts the embedded cluster in `data_dir`.
    pub database: Option<PgConnectOptions>,
    /// `ZYNC_DATA_DIR`: embedded cluster, local files, generated secret.
    pub data_dir: PathBuf,
    /// `FILES_DIR`: the local store's directory, `<data_dir>/files` when unset. Several nodes on
    /// one database must all point it at one shared directory (ADR 0006).
    pub files_dir: Option<PathBuf>,
    pub host: IpAddr,
    /// `PORT`; 0 picks a free port (tests).
    pub port: u16,
    /// `SECRET_KEY`; generated and kept in the data directory when absent.
    pub secret_key: Option<String>,
    /// `ZYNC_MASTER_KEY` (64 hexadecimal digits): wraps the keys of personal data; generated and
    /// kept in the data directory when absent. Every node of a database needs the same one.
    pub master_key: Option<String>,
    pub access_token_expire_minutes: i64,
    /// `ACCESS_TOKEN_EXPIRE_SECONDS`: a more precise lifetime; when set, it wins over the minutes.
    pub access_token_expire_seconds: Option<i64>,
    /// `FRONTEND_ORIGIN`: comma-separated origins allowed by CORS; empty allows the Zync web
    /// client's development origins (`http::routes::DEFAULT_FRONTEND_ORIGINS`).
    pub frontend_origins: Vec<String>,
    /// `DB_POOL_SIZE`.
    pub db_pool_size: u32,
    /// S3 storage (`S3_BUCKET_NAME`, `AWS_*`, `S3_ENDPOINT_URL`); `None` stores files locally.
    pub s3: Option<S3Settings>,
    /// Whether this process runs the projectors (tests turn them off to simulate a crash).
    pub run_projections: bool,
    /// `ZYNC_REACTORS` (`on`, the default, or `off`): whether this process runs the reactors
    /// (removing deleted files' objects). A node with them off leaves that work to the nodes that
    /// run them, or to its own next start: the work waits in the log, nothing is lost.
    pub run_reactors: bool,
    /// `WS_PING_INTERVAL_SECS`, `WS_IDLE_TIMEOUT_SECS`, `WS_SEND_QUEUE`.
    pub websocket: WebSocketSettings,
    /// `MAX_UPLOAD_BYTES` (default 25 MiB), `ACCESS_URL_EXPIRE_SECONDS` (default 3600).
    pub files: FileSettings,
    /// `PUBLIC_BASE_URL`: the prefix of the local store's file links (`<url>/files/...`); unset,
    /// links are absolute URLs of the host the client asked (see `http::origin`).
    pub public_base_url: Option<String>,
    /// `TRUSTED_PROXIES`: comma-separated IPs or CIDRs whose `Forwarded` / `X-Forwarded-*`
    /// headers are believed; default none.
    pub trusted_proxies: TrustedProxies,
    /// `RATE_LIMIT_MESSAGES`, `RATE_LIMIT_WS_FRAMES`, `RATE_LIMIT_LOGIN_ACCOUNT`,
    /// `RATE_LIMIT_LOGIN_ADDRESS`: rates like `300/10s`, or `off`.
    pub limits: LimitSettings,
    /// `METRICS_TOKEN`: when set, `GET /metrics` wants it as a bearer token; unset, it is open.
    pub metrics_token: Option<String>,
    /// `HTTP_HEADER_TIMEOUT_SECS` (default 10), `HTTP_BODY_TIMEOUT_SECS` (default 30): slow
    /// clients are cut off.
    pub http: HttpSettings,
}

impl Config {
    /// Reads `.env` (never overriding real environment variables), then the environment.
    pub fn from_env() -> anyhow::Result<Self> {
        match dotenvy::dotenv() {
            Ok(_) | Err(dotenvy::Error::Io(_)) => {}
            Err(e) => return Err(e).context("could not read .env"),
        }
        Self::from_lookup(|key| std::env::var(key).ok().filter(|v| !v.is_empty()))
    }

    /// Builds a config from any key lookup (the environment, or a map in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let database = get("DATABASE_URL")
            .map(|url| parse_database_url(&url))
            .transpose()?;
        if let Some(alg) = get("ALGORITHM") {
            // Tokens are HMAC-signed with SECRET_KEY; any other algorithm would be a different
            // (and, mixed with HS256, a confusable) trust model.
            if alg != "HS256" {
                bail!("ALGORITHM={alg} is not supported; Zync signs tokens with HS256");
            }
        }
        Ok(Self {
            database,
            data_dir: get("ZYNC_DATA_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("data")),
            files_dir: get("FILES_DIR").map(PathBuf::from),
            host: parse_or(&get, "HOST", IpAddr::V4(Ipv4Addr::UNSPECIFIED))?,
            port: parse_or(&get, "PORT", 8000)?,
            secret_key: get("SECRET_KEY"),
            master_key: get("ZYNC_MASTER_KEY"),
            access_token_expire_minutes: parse_or(&get, "ACCESS_TOKEN_EXPIRE_MINUTES", 30)?,
            access_token_expire_seconds: get("ACCESS_TOKEN_EXPIRE_SECONDS")
                .map(|_| parse_or(&get, "ACCESS_TOKEN_EXPIRE_SECONDS", 0))
                .transpose()?,
            frontend_origins: get("FRONTEND_ORIGIN")
                .map(|v| {
                    v.split(',')
                        .map(|o| o.trim().to_string())
                        .filter(|o| !o.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            db_pool_size: parse_or(&get, "DB_POOL_SIZE", 20)?,
            s3: S3Settings::from_lookup(&get),
            run_projections: true,
            run_reactors: match get("ZYNC_REACTORS").as_deref().map(str::trim) {
                None | Some("on") => true,
                Some("off") => false,
                Some(other) => bail!("ZYNC_REACTORS={other:?} is invalid: use on or off"),
            },
            websocket: WebSocketSettings {
                ping_interval: Duration::from_secs(parse_or(&get, "WS_PING_INTERVAL_SECS", 20)?),
                idle_timeout: Duration::from_secs(parse_or(&get, "WS_IDLE_TIMEOUT_SECS", 60)?),
                send_queue: parse_or(&get, "WS_SEND_QUEUE", 256)?,
            },
            files: FileSettings {
                max_upload_bytes: parse_or(&get, "MAX_UPLOAD_BYTES", 25 * 1024 * 1024)?,
                access_url_expiry: Duration::from_secs(parse_or(&get, "ACCESS_URL_EXPIRE_SECONDS", 3600)?),
            },
            public_base_url: get("PUBLIC_BASE_URL").map(|u| u.trim().trim_end_matches('/').to_string()),
            trusted_proxies: get("TRUSTED_PROXIES")
                .map(|raw| TrustedProxies::parse(&raw).map_err(|e| anyhow::anyhow!("TRUSTED_PROXIES: {e}")))
                .transpose()?
                .unwrap_or_default(),
            limits: {
                let defaults = LimitSettings::default();
                let limit = |key: &str, default: Option<Rate>| match get(key) {
                    None => Ok(default),
                    Some(raw) => parse_limit(&raw).map_err(|e| anyhow::anyhow!("{key}: {e}")),
                };
                LimitSettings {
                    messages: limit("RATE_LIMIT_MESSAGES", defaults.messages)?,
                    ws_frames: limit("RATE_LIMIT_WS_FRAMES", defaults.ws_frames)?,
                    login_account: limit("RATE_LIMIT_LOGIN_ACCOUNT", defaults.login_account)?,
                    login_address: limit("RATE_LIMIT_LOGIN_ADDRESS", defaults.login_address)?,
                }
            },
            metrics_token: get("METRICS_TOKEN"),
            http: HttpSettings {
                header_timeout: Duration::from_secs(parse_or(&get, "HTTP_HEADER_TIMEOUT_SECS", 10)?),
                body_timeout: Duration::from_secs(parse_or(&get, "HTTP_BODY_TIMEOUT_SECS", 30)?),
            },
        })
    }

    /// How long an access token lives, in seconds (at least one).
    pub fn access_token_ttl_seconds(&self) -> i64 {
        self.access_token_expire_seconds
            .unwrap_or(self.access_token_expire_minutes.saturating_mul(60))
            .max(1)
    }

    /// Where the local store keeps files: `FILES_DIR`, else `<data_dir>/files`.
    pub fn local_files_dir(&self) -> PathBuf {
        self.files_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("files"))
    }

    pub fn with_data_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.data_dir = dir.as_ref().to_path_buf();
        self
    }
}

/// sqlx parses any scheme; anything but PostgreSQL's would fail later and less clearly.
fn parse_database_url(url: &str) -> anyhow::Result<PgConnectOptions> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        bail!("DATABASE_URL must be a postgres:// or postgresql:// URL");
    }
    PgConnectOptions::from_str(url).context("DATABASE_URL is not a valid PostgreSQL URL")
}

fn parse_or<T: FromStr>(get: &impl Fn(&str) -> Option<String>, key: &str, default: T) -> anyhow::Result<T>
where
    T::Err: std::fmt::Display,
{
    match get(key) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|e| anyhow::anyhow!("{key}={raw:?} is invalid: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> anyhow::Result<Config> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_need_no_environment() {
        let c = config(&[]).unwrap();
        assert!(c.database.is_none());
        assert_eq!(c.port, 8000);
        assert_eq!(c.data_dir, PathBuf::from("data"));
        assert_eq!(c.access_token_expire_minutes, 30);
        assert!(c.frontend_origins.is_empty());
        assert_eq!(c.files.max_upload_bytes, 25 * 1024 * 1024);
        assert_eq!(c.files.access_url_expiry, Duration::from_secs(3600));
        assert!(c.public_base_url.is_none());
        assert_eq!(c.local_files_dir(), PathBuf::from("data/files"));
        let shared = config(&[("FILES_DIR", "/mnt/zync-files")]).unwrap();
        assert_eq!(shared.local_files_dir(), PathBuf::from("/mnt/zync-files"));
        assert!(c.trusted_proxies.is_empty());
        assert_eq!(c.http.header_timeout, Duration::from_secs(10));
        assert_eq!(c.http.body_timeout, Duration::from_secs(30));
        assert!(c.run_reactors);
        assert!(!config(&[("ZYNC_REACTORS", "off")]).unwrap().run_reactors);
    }

    #[test]
    fn reads_zync_variable_names() {
        let c = config(&[
            ("PORT", "9001"),
            ("ACCESS_TOKEN_EXPIRE_MINUTES", "5"),
            ("FRONTEND_ORIGIN", "http://a.test, http://b.test"),
            ("DATABASE_URL", "postgres://u:p@localhost/zync"),
            ("ALGORITHM", "HS256"),
            ("HTTP_HEADER_TIMEOUT_SECS", "3"),
            ("HTTP_BODY_TIMEOUT_SECS", "120"),
        ])
        .unwrap();
        assert_eq!(c.http.header_timeout, Duration::from_secs(3));
        assert_eq!(c.http.body_timeout, Duration::from_secs(120));
        assert_eq!(c.port, 9001);
        assert_eq!(c.access_token_expire_minutes, 5);
        assert_eq!(c.access_token_ttl_seconds(), 300);
        let precise = config(&[
            ("ACCESS_TOKEN_EXPIRE_MINUTES", "5"),
            ("ACCESS_TOKEN_EXPIRE_SECONDS", "3"),
        ]);
        assert_eq!(precise.unwrap().access_token_ttl_seconds(), 3);
        assert_eq!(c.frontend_origins, vec!["http://a.test", "http://b.test"]);
        assert!(c.database.is_some());
    }

    #[test]
    fn rejects_other_algorithms_and_bad_numbers() {
        assert!(config(&[("ALGORITHM", "none")]).is_err());
        assert!(config(&[("PORT", "eighty")]).is_err());
        assert!(config(&[("DATABASE_URL", "mysql://x")]).is_err());
        assert!(config(&[("RATE_LIMIT_MESSAGES", "lots")]).is_err());
        assert!(config(&[("TRUSTED_PROXIES", "10.0.0.0/8, proxy.internal")]).is_err());
        assert!(config(&[("TRUSTED_PROXIES", "10.0.0.0/8, ::1")]).is_ok());
        assert!(config(&[("ZYNC_REACTORS", "no")]).is_err());
    }

    #[test]
    fn rate_limits_are_configurable_or_off() {
        let c = config(&[
            ("RATE_LIMIT_MESSAGES", "20/1m"),
            ("RATE_LIMIT_LOGIN_ADDRESS", "off"),
        ])
        .unwrap();
        assert_eq!(c.limits.messages, Some(Rate::new(20, Duration::from_secs(60))));
        assert_eq!(c.limits.login_address, None);
        assert_eq!(c.limits.ws_frames, LimitSettings::default().ws_frames);
    }
}
