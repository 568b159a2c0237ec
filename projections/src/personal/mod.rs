//! Personal data in the log (ARCHITECTURE.md, "Personal data"): sealed under a data key of its
//! own subject (a user, a message), the data keys wrapped by one master key and kept outside the
//! log, so destroying a data key erases what it sealed from every event, backup and rebuild.
//!
//! The AEADs are RustCrypto's AES-256-GCM (fields, under data keys) and AES-256-GCM-SIV (data
//! keys, under the master key), with random nonces, so no counter has to be kept across nodes;
//! what XChaCha20-Poly1305 sealed before ADR 0012 still opens (`cipher`). Every ciphertext is bound to where it belongs through its associated data
//! (a data key to its subject; a field to its event's identity and path), so a ciphertext copied
//! to another event or field is refused, never decrypted.

pub mod catalog;
pub mod cipher;
pub mod fields;
pub mod keyring;

pub use cipher::{DataKey, MasterKey, SealError};
pub use fields::EventPlace;
pub use keyring::{
    check_master_key, data_keys, ensure_user_keys, insert_data_keys, install, installed, new_data_key,
    rotate_master_key, KeyError, MasterKeyError, NewKey, RotationError,
};
