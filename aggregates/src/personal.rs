//! Personal data in events. The log keeps it sealed under a key of its own subject, and
//! destroying that key erases it (ARCHITECTURE.md, "Personal data"); an event read after that
//! still has its shape, with the value [`Personal::Erased`].

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A personal value in an event: known, or erased (its key destroyed). Stored as the value
/// itself (sealed by the event store), or `null` once erased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Personal<T> {
    Known(T),
    Erased,
}

impl<T> Personal<T> {
    pub fn known(&self) -> Option<&T> {
        match self {
            Self::Known(value) => Some(value),
            Self::Erased => None,
        }
    }

    pub fn into_known(self) -> Option<T> {
        match self {
            Self::Known(value) => Some(value),
            Self::Erased => None,
        }
    }
}

impl<T> From<T> for Personal<T> {
    fn from(value: T) -> Self {
        Self::Known(value)
    }
}

impl<T: Serialize> Serialize for Personal<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.known().serialize(s)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Personal<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(d)? {
            Some(value) => Self::Known(value),
            None => Self::Erased,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_is_the_value_itself_and_erased_is_null() {
        let known: Personal<String> = "hi".to_string().into();
        assert_eq!(serde_json::to_value(&known).unwrap(), serde_json::json!("hi"));
        assert_eq!(
            serde_json::to_value(Personal::<String>::Erased).unwrap(),
            serde_json::Value::Null
        );
        assert_eq!(
            serde_json::from_value::<Personal<String>>(serde_json::json!("hi")).unwrap(),
            known
        );
        assert_eq!(
            serde_json::from_value::<Personal<String>>(serde_json::Value::Null).unwrap(),
            Personal::Erased
        );
    }
}
