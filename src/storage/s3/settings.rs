//! Where and how to reach the bucket, read from Zync's variables.

use std::fmt;
use std::time::Duration;

/// Where and how to reach the bucket, from Zync's variables.
#[derive(Clone)]
pub struct S3Settings {
    /// `S3_BUCKET_NAME`.
    pub bucket: String,
    /// `AWS_DEFAULT_REGION` (default `us-east-1`).
    pub region: String,
    /// `AWS_ACCESS_KEY_ID`.
    pub access_key_id: Option<String>,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: Option<String>,
    /// `AWS_SESSION_TOKEN`, for temporary credentials.
    pub session_token: Option<String>,
    /// `S3_ENDPOINT_URL`: an S3-compatible server, addressed path-style (`{endpoint}/{bucket}/{key}`).
    pub endpoint_url: Option<String>,
    /// How long to wait for a TCP connection before giving up on an attempt.
    pub connect_timeout: Duration,
    /// Upper bound on one whole operation (one PutObject, one part, ...), retries included.
    pub operation_timeout: Duration,
}

impl fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Settings")
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .field("endpoint_url", &self.endpoint_url)
            .field("connect_timeout", &self.connect_timeout)
            .field("operation_timeout", &self.operation_timeout)
            .finish()
    }
}

impl S3Settings {
    pub const DEFAULT_REGION: &'static str = "us-east-1";
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
    pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(30);

    /// Settings for `bucket` with every other value at its default.
    pub fn new(bucket: impl Into<String>) -> Self {
        Self {
            bucket: bucket.into(),
            region: Self::DEFAULT_REGION.to_string(),
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
            endpoint_url: None,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            operation_timeout: Self::DEFAULT_OPERATION_TIMEOUT,
        }
    }

    /// Reads Zync's variables through any lookup; `None` when no bucket is configured (the
    /// local store is the default then). Empty values count as absent.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Option<S3Settings> {
        let get = |key: &str| get(key).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let mut settings = Self::new(get("S3_BUCKET_NAME")?);
        if let Some(region) = get("AWS_DEFAULT_REGION") {
            settings.region = region;
        }
        settings.access_key_id = get("AWS_ACCESS_KEY_ID");
        settings.secret_access_key = get("AWS_SECRET_ACCESS_KEY");
        settings.session_token = get("AWS_SESSION_TOKEN");
        settings.endpoint_url = get("S3_ENDPOINT_URL");
        Some(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Option<S3Settings> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        S3Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn no_bucket_means_no_s3() {
        assert!(settings(&[]).is_none());
        assert!(settings(&[("S3_BUCKET_NAME", " "), ("AWS_ACCESS_KEY_ID", "k")]).is_none());
    }

    #[test]
    fn reads_zync_variables_with_defaults() {
        let s = settings(&[
            ("S3_BUCKET_NAME", "files"),
            ("AWS_ACCESS_KEY_ID", "k"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
        ])
        .unwrap();
        assert_eq!(s.bucket, "files");
        assert_eq!(s.region, "us-east-1");
        assert_eq!(s.access_key_id.as_deref(), Some("k"));
        assert!(s.endpoint_url.is_none());
        assert!(!format!("{s:?}").contains("\"s\""), "the secret is redacted");

        let s = settings(&[
            ("S3_BUCKET_NAME", "files"),
            ("AWS_DEFAULT_REGION", "eu-west-3"),
            ("S3_ENDPOINT_URL", "http://127.0.0.1:9000"),
        ])
        .unwrap();
        assert_eq!(s.region, "eu-west-3");
        assert_eq!(s.endpoint_url.as_deref(), Some("http://127.0.0.1:9000"));
    }
}
