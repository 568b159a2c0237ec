//! Access tokens: JWT, HS256 only, with `exp`, `iss` and `aud` required.
//!
//! A token names its user (`sub`) and the user's credential version (`ver`). Changing the
//! password bumps the version and deleting the user removes the credentials, so older tokens stop
//! working at once (checked per request against `user_credentials`).

use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

const ISSUER: &str = "zync";
const AUDIENCE: &str = "zync-api";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    pub sub: String,
    pub ver: i32,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
    pub jti: String,
}

/// Why a token was refused (the client is told 401 either way; the metrics tell them apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejected {
    /// Signed by us and otherwise valid, but past its `exp`.
    Expired,
    /// Anything else: malformed, wrong signature or algorithm, wrong issuer or audience.
    Invalid,
}

#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl_seconds: i64,
}

impl TokenKeys {
    #[cfg(test)]
    pub fn new(secret: &[u8], ttl_minutes: i64) -> Self {
        Self::with_ttl_seconds(secret, ttl_minutes.max(1) * 60)
    }

    /// Tokens valid for `ttl_seconds` (at least one).
    pub fn with_ttl_seconds(secret: &[u8], ttl_seconds: i64) -> Self {
        // The algorithm is pinned: a token claiming `none` or RS256 is refused before any
        // signature check, so a public key can never be used as an HMAC secret.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.leeway = 0;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl_seconds: ttl_seconds.max(1),
        }
    }

    pub fn issue(&self, user_id: Uuid, version: i32) -> Result<String, jsonwebtoken::errors::Error> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: user_id.to_string(),
            ver: version,
            iat: now,
            exp: now + self.ttl_seconds,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            jti: Uuid::now_v7().to_string(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
    }

    /// What a valid token says, or why it is refused.
    pub fn verify(&self, token: &str) -> Result<Verified, Rejected> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map_err(|e| {
            match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => Rejected::Expired,
                _ => Rejected::Invalid,
            }
        })?;
        let uuid = |raw: &str| Uuid::parse_str(raw).map_err(|_| Rejected::Invalid);
        Ok(Verified {
            user_id: uuid(&data.claims.sub)?,
            version: data.claims.ver,
            token: TokenId {
                jti: uuid(&data.claims.jti)?,
                expires_at: data.claims.exp,
            },
        })
    }
}

/// A token's own identity: what `POST /logout` revokes until the token would expire anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenId {
    pub jti: Uuid,
    /// `exp`, in seconds since the epoch.
    pub expires_at: i64,
}

/// The claims of a token whose signature, algorithm, issuer, audience and expiry checked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub user_id: Uuid,
    /// The credential version it was issued under.
    pub version: i32,
    pub token: TokenId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let keys = TokenKeys::new(b"0123456789abcdef0123456789abcdef", 5);
        let id = Uuid::now_v7();
        let token = keys.issue(id, 3).unwrap();
        let verified = keys.verify(&token).unwrap();
        assert_eq!((verified.user_id, verified.version), (id, 3));
        assert!(verified.token.expires_at > Utc::now().timestamp());
        assert_ne!(
            keys.verify(&keys.issue(id, 3).unwrap()).unwrap().token.jti,
            verified.token.jti
        );
        let other = TokenKeys::new(b"another secret another secret!!!", 5);
        assert_eq!(other.verify(&token), Err(Rejected::Invalid));
        let mut bad = token.clone();
        bad.pop();
        assert_eq!(keys.verify(&bad), Err(Rejected::Invalid));
    }

    #[test]
    fn refuses_expired_and_unsigned_tokens() {
        let secret = b"0123456789abcdef0123456789abcdef";
        let keys = TokenKeys::new(secret, 5);
        let now = Utc::now().timestamp();
        let expired = Claims {
            sub: Uuid::now_v7().to_string(),
            ver: 0,
            iat: now - 100,
            exp: now - 10,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            jti: "x".into(),
        };
        let t = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &expired,
            &EncodingKey::from_secret(secret),
        )
        .unwrap();
        assert_eq!(keys.verify(&t), Err(Rejected::Expired));
        // alg=none: header {"alg":"none","typ":"JWT"} with an empty signature.
        let claims = Claims {
            exp: now + 100,
            ..expired
        };
        let body = serde_json::to_vec(&claims).unwrap();
        use base64_url_nopad as b64;
        let none = format!("{}.{}.", b64(br#"{"alg":"none","typ":"JWT"}"#), b64(&body));
        assert_eq!(keys.verify(&none), Err(Rejected::Invalid));
    }

    /// Everything but an HS256 token with our `iss`, `aud` and an `exp` is refused, even when
    /// signed with our own secret: other HMAC sizes, an RS256 header over an HMAC signature (the
    /// key-confusion attack), a missing `exp`, someone else's issuer or audience.
    #[test]
    fn refuses_other_algorithms_and_foreign_or_incomplete_claims() {
        use hmac::{Hmac, Mac};
        let secret = b"0123456789abcdef0123456789abcdef";
        let keys = TokenKeys::new(secret, 5);
        let now = Utc::now().timestamp();
        let good = serde_json::json!({
            "sub": Uuid::now_v7().to_string(), "ver": 0, "iat": now, "exp": now + 100,
            "iss": ISSUER, "aud": AUDIENCE, "jti": Uuid::now_v7().to_string(),
        });
        let sign = |alg: Algorithm, claims: &serde_json::Value| {
            jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret)).unwrap()
        };
        assert!(
            keys.verify(&sign(Algorithm::HS256, &good)).is_ok(),
            "the control token is valid"
        );
        assert_eq!(
            keys.verify(&sign(Algorithm::HS512, &good)),
            Err(Rejected::Invalid)
        );
        assert_eq!(
            keys.verify(&sign(Algorithm::HS384, &good)),
            Err(Rejected::Invalid)
        );

        let hand_signed = |alg: &str| {
            let header = base64_url_nopad(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#).as_bytes());
            let body = base64_url_nopad(&serde_json::to_vec(&good).unwrap());
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
            mac.update(format!("{header}.{body}").as_bytes());
            format!(
                "{header}.{body}.{}",
                base64_url_nopad(&mac.finalize().into_bytes())
            )
        };
        assert!(
            keys.verify(&hand_signed("HS256")).is_ok(),
            "the hand-made control is valid"
        );
        assert_eq!(keys.verify(&hand_signed("RS256")), Err(Rejected::Invalid));

        for (field, value) in [("iss", "someone-else"), ("aud", "another-api")] {
            let mut foreign = good.clone();
            foreign[field] = value.into();
            assert_eq!(
                keys.verify(&sign(Algorithm::HS256, &foreign)),
                Err(Rejected::Invalid),
                "{field}"
            );
        }
        for field in ["exp", "iss", "aud", "sub"] {
            let mut missing = good.clone();
            missing.as_object_mut().unwrap().remove(field);
            assert!(
                keys.verify(&sign(Algorithm::HS256, &missing)).is_err(),
                "without {field}"
            );
        }
    }

    fn base64_url_nopad(bytes: &[u8]) -> String {
        const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
            for i in 0..=chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }
}
