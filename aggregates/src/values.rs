//! Validated value types. A command can only be built from values that passed these checks, so
//! the aggregates never see an over-long name or blank content.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a raw value was refused; `field` names the offending input for 422 responses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidValue {
    pub field: &'static str,
    pub kind: &'static str,
    pub message: String,
}

impl InvalidValue {
    fn new(field: &'static str, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            kind,
            message: message.into(),
        }
    }
}

fn bounded(field: &'static str, raw: &str, min: usize, max: usize) -> Result<(), InvalidValue> {
    let len = raw.chars().count();
    if len < min {
        return Err(InvalidValue::new(
            field,
            "string_too_short",
            format!(
                "String should have at least {min} character{}",
                if min == 1 { "" } else { "s" }
            ),
        ));
    }
    if len > max {
        return Err(InvalidValue::new(
            field,
            "string_too_long",
            format!("String should have at most {max} characters"),
        ));
    }
    if raw.contains('\0') {
        return Err(InvalidValue::new(
            field,
            "string_pattern_mismatch",
            "String must not contain NUL characters",
        ));
    }
    Ok(())
}

macro_rules! text_value {
    ($(#[$doc:meta])* $name:ident, $field:literal, $min:expr, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const MAX_CHARS: usize = $max;

            pub fn parse(raw: impl Into<String>) -> Result<Self, InvalidValue> {
                let raw = raw.into();
                bounded($field, &raw, $min, $max)?;
                Ok(Self(raw))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_value!(
    /// 1 to 50 characters; see [`Username::parse_strict`] for which. Unique case-insensitively:
    /// decided by the database's `identity_key()` (migrations/0002), the one place that folds case.
    Username, "username", 1, 50
);
text_value!(
    /// A person's first or last name.
    PersonName, "name", 1, 100
);
text_value!(
    /// Free-form profile text.
    Bio, "bio", 0, 1000
);
text_value!(
    /// A URL or storage key of the user's picture.
    ProfilePicture, "profile_picture", 1, 2048
);
text_value!(
    /// A channel's display name.
    ChannelName, "name", 1, 100
);
text_value!(
    /// A channel's description.
    ChannelDescription, "description", 0, 1000
);
text_value!(
    /// The text of a message: non-blank, at most 4000 characters.
    MessageContent, "content", 1, 4000
);
text_value!(
    /// Storage key of an uploaded object (`media/<uuid>.<ext>`).
    StorageKey, "s3_key", 1, 1024
);
text_value!(
    /// MIME type of an uploaded file.
    ContentType, "content_type", 1, 255
);
text_value!(
    /// The file name the uploader gave.
    FileName, "original_filename", 1, 255
);

impl Username {
    /// What a typed name counts as: without leading and trailing white space. Registration,
    /// login and profile updates all go through this, so whatever the user typed when they
    /// registered (`" alice "`) still logs them in, typed the same way or without the spaces.
    pub fn typed(raw: &str) -> &str {
        raw.trim()
    }

    /// Like [`Username::parse`], as Zync accepted names: any printable Unicode, inner spaces
    /// included (`"Mary Ann"`). Refused: blank names, control characters and line or paragraph
    /// separators (they break every display of the name). Callers pass [`Username::typed`].
    pub fn parse_strict(raw: impl Into<String>) -> Result<Self, InvalidValue> {
        let name = Self::parse(raw)?;
        if name.0.trim().is_empty() {
            return Err(InvalidValue::new(
                "username",
                "value_error",
                "Username must not be blank",
            ));
        }
        if name
            .0
            .chars()
            .any(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}'))
        {
            return Err(InvalidValue::new(
                "username",
                "string_pattern_mismatch",
                "Username must not contain control characters or line breaks",
            ));
        }
        Ok(name)
    }
}

impl MessageContent {
    /// Content must carry something other than white space.
    pub fn parse_text(raw: impl Into<String>) -> Result<Self, InvalidValue> {
        let content = Self::parse(raw)?;
        if content.0.trim().is_empty() {
            return Err(InvalidValue::new(
                "content",
                "value_error",
                "Message content cannot be empty",
            ));
        }
        Ok(content)
    }
}

/// An e-mail address that passed syntax checks (done by the adapter; kept as typed here).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub const MAX_CHARS: usize = 254;

    /// `checked` must already have passed an RFC 5322 syntax check in the adapter.
    pub fn from_checked(checked: impl Into<String>) -> Result<Self, InvalidValue> {
        let raw = checked.into();
        bounded("email", &raw, 3, Self::MAX_CHARS)?;
        if !raw.contains('@') {
            return Err(InvalidValue::new(
                "email",
                "value_error",
                "value is not a valid email address",
            ));
        }
        Ok(Self(raw))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
