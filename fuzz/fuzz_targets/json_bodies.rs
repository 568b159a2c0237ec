//! The JSON request bodies: `JsonBody`'s parsing (size cap, syntax, object, required fields,
//! typed decoding) of every DTO, then the value checks the handlers apply to each field.
//! Invariants: no panic; a refusal is a 413 or a 422 whose body serialises; a value accepted by a
//! check is the input unchanged, within its bounds, free of NUL, and accepted again.
#![no_main]

use aggregates::values::{
    Bio, ChannelDescription, ChannelName, InvalidValue, MessageContent, PersonName, ProfilePicture, Username,
};
use libfuzzer_sys::fuzz_target;
use zync::http::channels::{ChannelCreate, ChannelUpdate};
use zync::http::error::ApiError;
use zync::http::extract::{parse_json, MAX_JSON_BYTES};
use zync::http::messages::{MessageCreate, MessageUpdate};
use zync::http::users::{UserCreate, UserUpdate};
use zync::http::validate;

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    match which % 6 {
        0 => {
            if let Some(u) = parsed::<UserCreate>(body) {
                username(&u.username);
                email(u.email);
                password(&u.password);
                for name in [u.first_name, u.last_name].into_iter().flatten() {
                    check(
                        &name,
                        PersonName::parse(name.clone()).map(|v| v.into_inner()),
                        1,
                        100,
                    );
                }
                profile(u.bio, u.profile_picture);
            }
        }
        1 => {
            if let Some(u) = parsed::<UserUpdate>(body) {
                if let Some(name) = &u.username {
                    username(name);
                }
                if let Some(e) = u.email {
                    email(e);
                }
                if let Some(p) = &u.password {
                    password(p);
                }
                for name in [u.first_name, u.last_name].into_iter().flatten().flatten() {
                    check(
                        &name,
                        PersonName::parse(name.clone()).map(|v| v.into_inner()),
                        1,
                        100,
                    );
                }
                profile(u.bio.flatten(), u.profile_picture.flatten());
            }
        }
        2 => {
            if let Some(c) = parsed::<ChannelCreate>(body) {
                channel(Some(c.name), c.description);
            }
        }
        3 => {
            if let Some(c) = parsed::<ChannelUpdate>(body) {
                channel(c.name, c.description.flatten());
            }
        }
        4 => {
            if let Some(m) = parsed::<MessageCreate>(body) {
                content(&m.content);
            }
        }
        _ => {
            if let Some(m) = parsed::<MessageUpdate>(body) {
                content(&m.content);
            }
        }
    }
});

/// `parse_json`, with its refusals checked.
fn parsed<T: serde::de::DeserializeOwned + utoipa::PartialSchema>(body: &[u8]) -> Option<T> {
    match parse_json::<T>(body) {
        Ok(v) => {
            assert!(body.len() <= MAX_JSON_BYTES);
            Some(v)
        }
        Err(e) => {
            refusal(&e);
            None
        }
    }
}

fn refusal(e: &ApiError) {
    match e.status.as_u16() {
        413 => assert!(e.detail.is_string()),
        422 => {
            let issues = e.detail.as_array().expect("a 422 lists its issues");
            assert!(!issues.is_empty());
            for issue in issues {
                assert!(issue["loc"].as_array().is_some_and(|l| !l.is_empty()), "{issue}");
                assert!(issue["msg"].is_string() && issue["type"].is_string(), "{issue}");
            }
        }
        other => panic!("unexpected status {other} for a body: {}", e.detail),
    }
    serde_json::to_vec(&serde_json::json!({ "detail": e.detail })).expect("the error body serialises");
}

/// A value check's outcome: accepted means unchanged, within `min..=max` characters, no NUL, and
/// accepted again.
fn check(raw: &str, parsed: Result<String, InvalidValue>, min: usize, max: usize) {
    match parsed {
        Ok(v) => {
            assert_eq!(v, raw);
            let n = v.chars().count();
            assert!((min..=max).contains(&n), "{n} characters accepted");
            assert!(!v.contains('\0'));
        }
        Err(e) => assert!(!e.message.is_empty() && !e.field.is_empty()),
    }
}

fn username(raw: &str) {
    let trimmed = Username::typed(raw);
    let parsed = Username::parse_strict(trimmed).map(|v| v.into_inner());
    if let Ok(v) = &parsed {
        assert!(!v.chars().any(char::is_control) && Username::typed(v) == v.as_str());
        assert!(Username::parse_strict(v.clone()).is_ok());
    }
    check(trimmed, parsed, 1, 50);
}

fn email(raw: String) {
    let trimmed = raw.trim().to_string();
    let parsed = validate::email(raw).map(|v| v.as_str().to_string());
    if let Ok(v) = &parsed {
        assert!(v.contains('@'));
        assert!(
            validate::email(v.clone()).is_ok(),
            "accepted e-mail {v:?} refused on a re-check"
        );
    }
    check(&trimmed, parsed, 3, 254);
}

fn password(raw: &str) {
    let n = raw.chars().count();
    assert_eq!(validate::password(raw).is_ok(), (1..=128).contains(&n));
}

fn profile(bio: Option<String>, picture: Option<String>) {
    if let Some(b) = bio {
        check(&b, Bio::parse(b.clone()).map(|v| v.into_inner()), 0, 1000);
    }
    if let Some(p) = picture {
        check(
            &p,
            ProfilePicture::parse(p.clone()).map(|v| v.into_inner()),
            1,
            2048,
        );
    }
}

fn channel(name: Option<String>, description: Option<String>) {
    if let Some(n) = name {
        check(&n, ChannelName::parse(n.clone()).map(|v| v.into_inner()), 1, 100);
    }
    if let Some(d) = description {
        check(
            &d,
            ChannelDescription::parse(d.clone()).map(|v| v.into_inner()),
            0,
            1000,
        );
    }
}

fn content(raw: &str) {
    let parsed = MessageContent::parse_text(raw).map(|v| v.into_inner());
    if let Ok(v) = &parsed {
        assert!(!v.trim().is_empty());
    }
    check(raw, parsed, 1, 4000);
}
