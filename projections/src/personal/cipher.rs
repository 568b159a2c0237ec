//! The keys and the sealing of values. No I/O.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use serde_json::{json, Value};
use uuid::Uuid;

const NONCE_LEN: usize = 24;
/// The JSON form of a sealed value: `{"sealed": "<base64 of nonce ‖ ciphertext ‖ tag>"}`.
const SEALED: &str = "sealed";
/// What the master key seals to prove, at start, that it is the one the data keys were wrapped
/// with.
const CHECK: &[u8] = b"zync master key check";

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    /// Wrong key, or the ciphertext was altered or moved from where it was sealed.
    #[error("a sealed value does not open with its key here (altered, moved or a wrong key)")]
    Refused,
    #[error("a sealed value is malformed")]
    Malformed,
    #[error("a master key must be 32 bytes, written as 64 hexadecimal digits")]
    BadMasterKey,
}

/// The key that wraps every data key. Never stored in the database.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

/// The key of one subject's personal data.
#[derive(Clone)]
pub struct DataKey([u8; 32]);

// Keys never print.
impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(…)")
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(…)")
    }
}

fn seal_bytes(key: &[u8; 32], aad: &[u8], plain: &[u8]) -> Vec<u8> {
    let cipher = XChaCha20Poly1305::new(&Key::from(*key));
    let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
    let sealed = cipher
        .encrypt(&nonce, Payload { msg: plain, aad })
        .expect("XChaCha20-Poly1305 seals any input that fits in memory");
    let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    out
}

fn open_bytes(key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, SealError> {
    if sealed.len() < NONCE_LEN {
        return Err(SealError::Malformed);
    }
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| SealError::Malformed)?;
    XChaCha20Poly1305::new(&Key::from(*key))
        .decrypt(&XNonce::from(nonce), Payload { msg: body, aad })
        .map_err(|_| SealError::Refused)
}

/// Associated data of a wrapped data key: its subject.
fn key_aad(subject: Uuid) -> Vec<u8> {
    [b"zync data key ".as_slice(), subject.as_bytes()].concat()
}

impl MasterKey {
    pub fn generate() -> Self {
        Self(XChaCha20Poly1305::generate_key(&mut OsRng).into())
    }

    /// From 64 hexadecimal digits (how `ZYNC_MASTER_KEY` and the generated file hold it).
    pub fn from_hex(raw: &str) -> Result<Self, SealError> {
        let bytes = hex::decode(raw.trim()).map_err(|_| SealError::BadMasterKey)?;
        Ok(Self(bytes.try_into().map_err(|_| SealError::BadMasterKey)?))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// `key` wrapped for `subject`: it unwraps only with this master key and for that subject.
    pub fn wrap(&self, subject: Uuid, key: &DataKey) -> Vec<u8> {
        seal_bytes(&self.0, &key_aad(subject), &key.0)
    }

    pub fn unwrap(&self, subject: Uuid, wrapped: &[u8]) -> Result<DataKey, SealError> {
        let bytes = open_bytes(&self.0, &key_aad(subject), wrapped)?;
        Ok(DataKey(bytes.try_into().map_err(|_| SealError::Malformed)?))
    }

    /// A value only this master key opens, kept in the database to recognise the key at start.
    pub fn check_value(&self) -> Vec<u8> {
        seal_bytes(&self.0, CHECK, CHECK)
    }

    /// Whether `check` was made by [`check_value`](Self::check_value) with this key.
    pub fn verifies(&self, check: &[u8]) -> bool {
        open_bytes(&self.0, CHECK, check).is_ok_and(|plain| plain == CHECK)
    }
}

impl DataKey {
    pub fn generate() -> Self {
        Self(XChaCha20Poly1305::generate_key(&mut OsRng).into())
    }

    /// `value` sealed for the place `aad` names (an event's identity and the field's path).
    pub fn seal(&self, aad: &str, value: &Value) -> Value {
        let plain = serde_json::to_vec(value).expect("a JSON value serializes");
        json!({ SEALED: STANDARD.encode(seal_bytes(&self.0, aad.as_bytes(), &plain)) })
    }

    /// The value [`seal`](Self::seal) sealed for `aad`.
    pub fn open(&self, aad: &str, sealed: &Value) -> Result<Value, SealError> {
        let text = sealed_text(sealed).ok_or(SealError::Malformed)?;
        let bytes = STANDARD.decode(text).map_err(|_| SealError::Malformed)?;
        let plain = open_bytes(&self.0, aad.as_bytes(), &bytes)?;
        serde_json::from_slice(&plain).map_err(|_| SealError::Malformed)
    }
}

/// Whether `value` is a sealed value (anything else is stored in the clear: a log written before
/// sealing, or a field that holds no personal data).
pub fn is_sealed(value: &Value) -> bool {
    sealed_text(value).is_some()
}

fn sealed_text(value: &Value) -> Option<&str> {
    match value {
        Value::Object(map) if map.len() == 1 => map.get(SEALED)?.as_str(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_where_it_was_sealed() {
        let key = DataKey::generate();
        let value = json!("hello, «world» 😀");
        let sealed = key.seal("Message/m1/1/TextMessagePosted/content", &value);
        assert!(is_sealed(&sealed));
        assert!(!sealed.to_string().contains("hello"), "{sealed}");
        assert_eq!(
            key.open("Message/m1/1/TextMessagePosted/content", &sealed),
            Ok(value)
        );
        // Moved to another event, another field, or opened with another key: refused.
        assert_eq!(
            key.open("Message/m2/1/TextMessagePosted/content", &sealed),
            Err(SealError::Refused)
        );
        assert_eq!(
            key.open("Message/m1/2/MessageEdited/content", &sealed),
            Err(SealError::Refused)
        );
        let other = DataKey::generate();
        assert_eq!(
            other.open("Message/m1/1/TextMessagePosted/content", &sealed),
            Err(SealError::Refused)
        );
    }

    #[test]
    fn sealing_twice_gives_different_ciphertexts() {
        let key = DataKey::generate();
        assert_ne!(key.seal("a", &json!("x")), key.seal("a", &json!("x")));
    }

    #[test]
    fn an_altered_or_malformed_value_is_refused() {
        let key = DataKey::generate();
        let sealed = key.seal("a", &json!("x"));
        let mut bytes = STANDARD.decode(sealed_text(&sealed).unwrap()).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let altered = json!({ SEALED: STANDARD.encode(&bytes) });
        assert_eq!(key.open("a", &altered), Err(SealError::Refused));
        assert_eq!(
            key.open("a", &json!({ SEALED: "not base64!" })),
            Err(SealError::Malformed)
        );
        assert_eq!(key.open("a", &json!("plain")), Err(SealError::Malformed));
        assert!(!is_sealed(&json!({"sealed": "x", "more": 1})));
    }

    #[test]
    fn a_data_key_unwraps_only_with_its_master_key_and_for_its_subject() {
        let (master, other_master) = (MasterKey::generate(), MasterKey::generate());
        let (subject, other_subject) = (Uuid::now_v7(), Uuid::now_v7());
        let key = DataKey::generate();
        let wrapped = master.wrap(subject, &key);
        let unwrapped = master.unwrap(subject, &wrapped).unwrap();
        assert_eq!(unwrapped.0, key.0);
        assert_eq!(
            master.unwrap(other_subject, &wrapped).unwrap_err(),
            SealError::Refused
        );
        assert_eq!(
            other_master.unwrap(subject, &wrapped).unwrap_err(),
            SealError::Refused
        );
    }

    #[test]
    fn the_check_value_recognises_its_master_key() {
        let master = MasterKey::generate();
        let check = master.check_value();
        assert!(master.verifies(&check));
        assert!(!MasterKey::generate().verifies(&check));
        let again = MasterKey::from_hex(&master.to_hex()).unwrap();
        assert!(again.verifies(&check));
        assert_eq!(MasterKey::from_hex("abcd").unwrap_err(), SealError::BadMasterKey);
        assert_eq!(
            MasterKey::from_hex(&"zz".repeat(32)).unwrap_err(),
            SealError::BadMasterKey
        );
    }
}
