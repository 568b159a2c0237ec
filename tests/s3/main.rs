//! The S3 store against a real S3-compatible server started in process (s3s-fs, verifying
//! SigV4 signatures): uploads small and multipart, download through presigned URLs (with the
//! `Content-Disposition` they ask for), expiry, tampering, delete, a failing body, and a stopped
//! server.
//!
//! One test binary; the shared setup is in `support`.

#[path = "../common/s3_server.rs"]
mod s3_server;
mod support;

mod failures;
mod links;
mod store;
