//! The keys and the sealing of values. No I/O.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::Aes256Gcm;
use aes_gcm_siv::Aes256GcmSiv;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde_json::{json, Value};
use uuid::Uuid;

/// The JSON form of a sealed value: `{"sealed": "<base64 of the sealed bytes>"}`.
const SEALED: &str = "sealed";
/// What the master key seals to prove, at start, that it is the one the data keys were wrapped
/// with.
const CHECK: &[u8] = b"zync master key check";

/// Nonce length of the AES modes (random, 96 bits).
const NONCE_LEN: usize = 12;
/// Nonce length of XChaCha20-Poly1305, which sealed everything before ADR 0012.
const LEGACY_NONCE_LEN: usize = 24;

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

/// The AEAD that sealed a value, named by the first byte of what it sealed (ADR 0012).
///
/// Values sealed under a data key use AES-256-GCM: five times cheaper than XChaCha20-Poly1305 on
/// a CPU with AES instructions, and each data key seals a handful of values (a message's
/// versions; a user's profile changes and client addresses), far below the 2^32 random nonces
/// one GCM key allows. The master key wraps every data key, so it uses AES-256-GCM-SIV, whose
/// random nonces may repeat without harm (it stays safe however many keys one master key wraps).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Gcm = 1,
    GcmSiv = 2,
}

impl Mode {
    fn from_tag(tag: u8) -> Option<Self> {
        match tag {
            1 => Some(Self::Gcm),
            2 => Some(Self::GcmSiv),
            _ => None,
        }
    }

    fn encrypt(self, key: &[u8; 32], nonce: &[u8; NONCE_LEN], payload: Payload<'_, '_>) -> Vec<u8> {
        match self {
            Self::Gcm => Aes256Gcm::new(key.into()).encrypt(nonce.into(), payload),
            Self::GcmSiv => Aes256GcmSiv::new(key.into()).encrypt(nonce.into(), payload),
        }
        .expect("AES-256-GCM(-SIV) seals any input that fits in memory")
    }

    fn decrypt(self, key: &[u8; 32], nonce: &[u8; NONCE_LEN], payload: Payload<'_, '_>) -> Option<Vec<u8>> {
        match self {
            Self::Gcm => Aes256Gcm::new(key.into()).decrypt(nonce.into(), payload),
            Self::GcmSiv => Aes256GcmSiv::new(key.into()).decrypt(nonce.into(), payload),
        }
        .ok()
    }
}

/// `plain` sealed for `aad`: the mode's tag, a random nonce, the ciphertext and its tag.
fn seal_bytes(mode: Mode, key: &[u8; 32], aad: &[u8], plain: &[u8]) -> Vec<u8> {
    let nonce: [u8; NONCE_LEN] = Aes256Gcm::generate_nonce(&mut OsRng).into();
    let sealed = mode.encrypt(key, &nonce, Payload { msg: plain, aad });
    let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
    out.push(mode as u8);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    out
}

/// What [`seal_bytes`] sealed, or what XChaCha20-Poly1305 sealed before ADR 0012 (a 24-byte
/// random nonce, then the ciphertext: no tag). One such older value in 128 starts by chance with a
/// byte that names a mode; when it does not open that way it is opened the older way, so every
/// value ever sealed opens, and a value that opens neither way is refused.
fn open_bytes(key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, SealError> {
    if let Some((&tag, rest)) = sealed.split_first() {
        if let (Some(mode), Some((nonce, body))) =
            (Mode::from_tag(tag), rest.split_first_chunk::<NONCE_LEN>())
        {
            if let Some(plain) = mode.decrypt(key, nonce, Payload { msg: body, aad }) {
                return Ok(plain);
            }
        }
    }
    open_legacy(key, aad, sealed)
}

fn open_legacy(key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, SealError> {
    let (nonce, body) = sealed
        .split_first_chunk::<LEGACY_NONCE_LEN>()
        .ok_or(SealError::Malformed)?;
    XChaCha20Poly1305::new(key.into())
        .decrypt(&XNonce::from(*nonce), Payload { msg: body, aad })
        .map_err(|_| SealError::Refused)
}

/// Associated data of a wrapped data key: its subject.
fn key_aad(subject: Uuid) -> Vec<u8> {
    [b"zync data key ".as_slice(), subject.as_bytes()].concat()
}

impl MasterKey {
    pub fn generate() -> Self {
        Self(Aes256GcmSiv::generate_key(&mut OsRng).into())
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
        seal_bytes(Mode::GcmSiv, &self.0, &key_aad(subject), &key.0)
    }

    pub fn unwrap(&self, subject: Uuid, wrapped: &[u8]) -> Result<DataKey, SealError> {
        let bytes = open_bytes(&self.0, &key_aad(subject), wrapped)?;
        Ok(DataKey(bytes.try_into().map_err(|_| SealError::Malformed)?))
    }

    /// A value only this master key opens, kept in the database to recognise the key at start.
    pub fn check_value(&self) -> Vec<u8> {
        seal_bytes(Mode::GcmSiv, &self.0, CHECK, CHECK)
    }

    /// Whether `check` was made by [`check_value`](Self::check_value) with this key.
    pub fn verifies(&self, check: &[u8]) -> bool {
        open_bytes(&self.0, CHECK, check).is_ok_and(|plain| plain == CHECK)
    }
}

impl DataKey {
    pub fn generate() -> Self {
        Self(Aes256Gcm::generate_key(&mut OsRng).into())
    }

    /// `value` sealed for the place `aad` names (an event's identity and the field's path).
    pub fn seal(&self, aad: &str, value: &Value) -> Value {
        let plain = serde_json::to_vec(value).expect("a JSON value serializes");
        json!({ SEALED: STANDARD.encode(seal_bytes(Mode::Gcm, &self.0, aad.as_bytes(), &plain)) })
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

    /// What XChaCha20-Poly1305 sealed before ADR 0012, with the nonce's first byte chosen.
    fn legacy_seal(key: &[u8; 32], aad: &[u8], plain: &[u8], first: u8) -> Vec<u8> {
        let mut nonce = [9u8; LEGACY_NONCE_LEN];
        nonce[0] = first;
        let body = XChaCha20Poly1305::new(key.into())
            .encrypt(&XNonce::from(nonce), Payload { msg: plain, aad })
            .unwrap();
        [nonce.as_slice(), &body].concat()
    }

    #[test]
    fn values_sealed_before_aes_still_open_even_when_they_start_like_a_tag() {
        let key = DataKey::generate();
        // 0 names no mode; 1 and 2 do, and such a value must still open the older way.
        for first in [0, Mode::Gcm as u8, Mode::GcmSiv as u8] {
            let old = legacy_seal(&key.0, b"a", br#""old text""#, first);
            let value = json!({ SEALED: STANDARD.encode(&old) });
            assert_eq!(key.open("a", &value), Ok(json!("old text")), "first byte {first}");
            assert_eq!(key.open("b", &value), Err(SealError::Refused));
        }
        let master = MasterKey::generate();
        let subject = Uuid::now_v7();
        let wrapped = legacy_seal(&master.0, &key_aad(subject), &key.0, Mode::GcmSiv as u8);
        assert_eq!(master.unwrap(subject, &wrapped).unwrap().0, key.0);
        let check = legacy_seal(&master.0, CHECK, CHECK, 7);
        assert!(master.verifies(&check));
    }

    #[test]
    fn new_values_are_tagged_with_their_mode() {
        let key = DataKey::generate();
        let sealed = STANDARD
            .decode(sealed_text(&key.seal("a", &json!("x"))).unwrap())
            .unwrap();
        assert_eq!(sealed[0], Mode::Gcm as u8);
        let master = MasterKey::generate();
        assert_eq!(master.wrap(Uuid::nil(), &key)[0], Mode::GcmSiv as u8);
        assert_eq!(master.check_value()[0], Mode::GcmSiv as u8);
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
