//! Values shared by the user aggregate's tests (`user.rs`, `user_json.rs`).
#![allow(dead_code)] // Each test crate uses its own share of them.

use aggregates::values::{Bio, Email, PersonName, Username};
use uuid::Uuid;

pub const ALICE: Uuid = Uuid::from_u128(0xA11CE);
pub const MALLORY: Uuid = Uuid::from_u128(0xBAD);

pub fn username(s: &str) -> Username {
    Username::parse_strict(s).unwrap()
}
pub fn email(s: &str) -> Email {
    Email::from_checked(s).unwrap()
}
pub fn name(s: &str) -> PersonName {
    PersonName::parse(s).unwrap()
}
pub fn bio(s: &str) -> Bio {
    Bio::parse(s).unwrap()
}
