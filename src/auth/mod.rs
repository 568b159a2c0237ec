//! Authentication: password hashing, tokens and credentials. The request extractor is
//! `http::current_user`.

pub mod credentials;
pub mod password;
pub mod session;
pub mod token;
