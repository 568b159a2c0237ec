//! Collects every validation issue of a request body before answering 422, as FastAPI does.

use aggregates::values::InvalidValue;

use super::error::{ApiError, Issue};

#[derive(Default)]
pub struct Checks {
    issues: Vec<Issue>,
}

impl Checks {
    /// Keeps the parsed value, or records why it was refused.
    pub fn take<T>(&mut self, parsed: Result<T, InvalidValue>) -> Option<T> {
        match parsed {
            Ok(v) => Some(v),
            Err(e) => {
                self.issues.push(Issue::body(&e));
                None
            }
        }
    }

    /// Like [`Checks::take`] for an optional input.
    pub fn take_opt<T>(
        &mut self,
        raw: Option<String>,
        parse: impl FnOnce(String) -> Result<T, InvalidValue>,
    ) -> Option<T> {
        raw.and_then(|r| self.take(parse(r)))
    }

    /// `Ok(())` when nothing was refused.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.issues.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(self.issues))
        }
    }
}

/// Relocates a refusal of a value type shared by several fields (first and last names) to the
/// field it came from: `PersonName::parse(v).map_err(at("first_name"))`.
pub fn at(field: &'static str) -> impl Fn(InvalidValue) -> InvalidValue {
    move |e| InvalidValue { field, ..e }
}

/// Syntax check for e-mail addresses (RFC 5322 via `email_address`), then the domain value.
pub fn email(raw: String) -> Result<aggregates::values::Email, InvalidValue> {
    let trimmed = raw.trim().to_string();
    if !email_address::EmailAddress::is_valid(&trimmed) {
        return Err(InvalidValue {
            field: "email",
            kind: "value_error",
            message: "value is not a valid email address: The email address is not valid.".into(),
        });
    }
    aggregates::values::Email::from_checked(trimmed)
}

/// Passwords: any characters, 1 to 128 of them (Zync set no minimum, and existing clients must
/// keep working; the maximum bounds hashing cost).
pub fn password(raw: &str) -> Result<(), InvalidValue> {
    let len = raw.chars().count();
    let max = crate::auth::password::MAX_PASSWORD_CHARS;
    if len == 0 {
        return Err(InvalidValue {
            field: "password",
            kind: "string_too_short",
            message: "String should have at least 1 character".into(),
        });
    }
    if len > max {
        return Err(InvalidValue {
            field: "password",
            kind: "string_too_long",
            message: format!("String should have at most {max} characters"),
        });
    }
    Ok(())
}
