//! Value-type validation: length bounds (in characters, not bytes), NUL, character sets, and the
//! `field` / `kind` pair the HTTP adapter turns into a 422 body.

use aggregates::values::{
    Bio, ChannelDescription, ChannelName, ContentType, Email, FileName, InvalidValue, MessageContent,
    PersonName, ProfilePicture, StorageKey, Username,
};

fn err<T: std::fmt::Debug>(r: Result<T, InvalidValue>) -> InvalidValue {
    r.expect_err("expected the value to be rejected")
}

fn assert_err<T: std::fmt::Debug>(r: Result<T, InvalidValue>, field: &str, kind: &str) {
    let e = err(r);
    assert_eq!((e.field, e.kind), (field, kind), "{e:?}");
}

#[test]
fn username_length_bounds() {
    assert_err(Username::parse(""), "username", "string_too_short");
    assert_eq!(Username::parse("a").unwrap().as_str(), "a");
    assert!(Username::parse("a".repeat(50)).is_ok());
    assert_err(Username::parse("a".repeat(51)), "username", "string_too_long");
    assert_eq!(Username::MAX_CHARS, 50);
}

#[test]
fn length_is_counted_in_chars_not_bytes() {
    // "é" is 2 bytes, "日" 3 bytes, "😀" 4 bytes: all count as one character.
    assert!(Username::parse("é".repeat(50)).is_ok());
    assert_err(Username::parse("é".repeat(51)), "username", "string_too_long");
    assert!(
        Username::parse("😀😀😀").is_ok(),
        "3 chars / 12 bytes is not too long"
    );
    assert!(Username::parse("日").is_ok(), "1 char / 3 bytes is long enough");
    assert!(PersonName::parse("日".repeat(100)).is_ok());
    assert_err(PersonName::parse("日".repeat(101)), "name", "string_too_long");
    assert!(MessageContent::parse("😀".repeat(4000)).is_ok());
    assert_err(
        MessageContent::parse("😀".repeat(4001)),
        "content",
        "string_too_long",
    );
}

#[test]
fn error_messages_match_the_contract() {
    assert_eq!(
        err(Username::parse("")).message,
        "String should have at least 1 character"
    );
    assert_eq!(
        err(PersonName::parse("")).message,
        "String should have at least 1 character"
    );
    assert_eq!(
        err(Username::parse("a".repeat(51))).message,
        "String should have at most 50 characters"
    );
    // Display is the message.
    let e = err(ChannelName::parse(""));
    assert_eq!(e.to_string(), e.message);
}

#[test]
fn nul_is_rejected_everywhere() {
    assert_err(Username::parse("ab\0c"), "username", "string_pattern_mismatch");
    assert_err(PersonName::parse("\0"), "name", "string_pattern_mismatch");
    assert_err(Bio::parse("bio\0"), "bio", "string_pattern_mismatch");
    assert_err(
        ProfilePicture::parse("x\0"),
        "profile_picture",
        "string_pattern_mismatch",
    );
    assert_err(ChannelName::parse("x\0"), "name", "string_pattern_mismatch");
    assert_err(
        ChannelDescription::parse("\0"),
        "description",
        "string_pattern_mismatch",
    );
    assert_err(
        MessageContent::parse("hi\0"),
        "content",
        "string_pattern_mismatch",
    );
    assert_err(StorageKey::parse("media/\0"), "s3_key", "string_pattern_mismatch");
    assert_err(
        ContentType::parse("image/\0"),
        "content_type",
        "string_pattern_mismatch",
    );
    assert_err(
        FileName::parse("a\0.png"),
        "original_filename",
        "string_pattern_mismatch",
    );
    assert_err(Email::from_checked("a\0@b.c"), "email", "string_pattern_mismatch");
    assert_err(
        Username::parse_strict("ab\0c"),
        "username",
        "string_pattern_mismatch",
    );
    assert_err(
        MessageContent::parse_text("hi\0"),
        "content",
        "string_pattern_mismatch",
    );
}

#[test]
fn every_text_value_has_its_field_and_bounds() {
    assert_err(PersonName::parse(""), "name", "string_too_short");
    assert_err(PersonName::parse("x".repeat(101)), "name", "string_too_long");

    assert!(Bio::parse("").is_ok(), "a bio may be empty");
    assert!(Bio::parse("x".repeat(1000)).is_ok());
    assert_err(Bio::parse("x".repeat(1001)), "bio", "string_too_long");

    assert_err(ProfilePicture::parse(""), "profile_picture", "string_too_short");
    assert!(ProfilePicture::parse("x".repeat(2048)).is_ok());
    assert_err(
        ProfilePicture::parse("x".repeat(2049)),
        "profile_picture",
        "string_too_long",
    );

    assert_err(ChannelName::parse(""), "name", "string_too_short");
    assert!(ChannelName::parse("x".repeat(100)).is_ok());
    assert_err(ChannelName::parse("x".repeat(101)), "name", "string_too_long");

    assert!(
        ChannelDescription::parse("").is_ok(),
        "a description may be empty"
    );
    assert!(ChannelDescription::parse("x".repeat(1000)).is_ok());
    assert_err(
        ChannelDescription::parse("x".repeat(1001)),
        "description",
        "string_too_long",
    );

    assert_err(MessageContent::parse(""), "content", "string_too_short");

    assert_err(StorageKey::parse(""), "s3_key", "string_too_short");
    assert!(StorageKey::parse("x".repeat(1024)).is_ok());
    assert_err(StorageKey::parse("x".repeat(1025)), "s3_key", "string_too_long");

    assert_err(ContentType::parse(""), "content_type", "string_too_short");
    assert!(ContentType::parse("x".repeat(255)).is_ok());
    assert_err(
        ContentType::parse("x".repeat(256)),
        "content_type",
        "string_too_long",
    );

    assert_err(FileName::parse(""), "original_filename", "string_too_short");
    assert!(FileName::parse("x".repeat(255)).is_ok());
    assert_err(
        FileName::parse("x".repeat(256)),
        "original_filename",
        "string_too_long",
    );
}

#[test]
fn username_parse_strict_charset() {
    // Zync accepted any name: e-mail-like, punctuated, inner spaces, any script.
    for ok in [
        "alice",
        "Alice_01",
        "a.b-c",
        "___",
        "élodie",
        "Ünal",
        "a@b.test",
        "alice!",
        "a+b",
        "al ice",
        "Mary Ann Smith",
        "nbsp\u{a0}x",
        "日本",
        "😀",
        "x",
    ] {
        assert!(Username::parse_strict(ok).is_ok(), "{ok:?} should be accepted");
    }
    for bad in [
        "tab\there",
        "new\nline",
        "bell\u{7}x",
        "del\u{7f}x",
        "c1\u{85}x",
        "ls\u{2028}x",
    ] {
        assert_err(Username::parse_strict(bad), "username", "string_pattern_mismatch");
    }
    for blank in [" ", "   ", "\u{3000}"] {
        assert_err(Username::parse_strict(blank), "username", "value_error");
    }
    // Length is still checked first, with its own kind.
    assert_err(Username::parse_strict(""), "username", "string_too_short");
    assert_err(
        Username::parse_strict("a".repeat(51)),
        "username",
        "string_too_long",
    );
    // What counts of a typed name: the same at registration, login and update.
    assert_eq!(Username::typed("  Mary Ann \t"), "Mary Ann");
}

#[test]
fn username_keeps_its_case() {
    // Case-insensitive uniqueness is the database's identity_key(); the value keeps what was typed.
    let a = Username::parse("Alice").unwrap();
    let b = Username::parse("aLICE").unwrap();
    assert_ne!(a, b);
    assert_eq!(a.to_string(), "Alice");
    assert_eq!(a.into_inner(), "Alice");
}

#[test]
fn message_content_parse_text_rejects_blank() {
    for blank in [" ", "   ", "\n\t", "\u{3000}"] {
        let e = err(MessageContent::parse_text(blank));
        assert_eq!((e.field, e.kind), ("content", "value_error"), "{blank:?}");
        assert_eq!(e.message, "Message content cannot be empty");
    }
    assert_err(MessageContent::parse_text(""), "content", "string_too_short");
    // Surrounding white space is kept as typed.
    assert_eq!(MessageContent::parse_text("  hi  ").unwrap().as_str(), "  hi  ");
    // The lax parser allows white space only (used for stored events, never for input).
    assert!(MessageContent::parse(" ").is_ok());
    assert_eq!(MessageContent::MAX_CHARS, 4000);
}

#[test]
fn email_from_checked() {
    let e = Email::from_checked("Bob@Example.com").unwrap();
    assert_eq!(e.as_str(), "Bob@Example.com");
    assert_eq!(e.to_string(), "Bob@Example.com");

    assert_err(Email::from_checked("a@"), "email", "string_too_short");
    assert!(Email::from_checked("a@b").is_ok());
    let long = format!("{}@b.c", "a".repeat(Email::MAX_CHARS - 4));
    assert_eq!(long.chars().count(), Email::MAX_CHARS);
    assert!(Email::from_checked(long.clone()).is_ok());
    assert_err(
        Email::from_checked(format!("a{long}")),
        "email",
        "string_too_long",
    );

    let missing_at = err(Email::from_checked("no-at-sign"));
    assert_eq!((missing_at.field, missing_at.kind), ("email", "value_error"));
    assert_eq!(missing_at.message, "value is not a valid email address");
}

#[test]
fn values_serialize_as_plain_strings() {
    let name = ChannelName::parse("général").unwrap();
    assert_eq!(serde_json::to_string(&name).unwrap(), r#""général""#);
    let back: ChannelName = serde_json::from_str(r#""général""#).unwrap();
    assert_eq!(back, name);
    let email = Email::from_checked("a@b.c").unwrap();
    assert_eq!(serde_json::to_value(&email).unwrap(), serde_json::json!("a@b.c"));
}
