//! Authentication: password hashing, tokens, credentials and the request extractor.

pub mod credentials;
pub mod current_user;
pub mod password;
pub mod token;

pub use current_user::CurrentUser;
