//! The user aggregate: one stream per registered account.
//!
//! Credentials are deliberately absent: the event store is immutable and kept forever, so a
//! password hash must never enter it. `PasswordChanged` records only *that* it changed.

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::personal::Personal;
use crate::values::{Bio, Email, PersonName, ProfilePicture, Username};

/// Optional profile fields given at registration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub first_name: Option<PersonName>,
    pub last_name: Option<PersonName>,
    pub bio: Option<Bio>,
    pub profile_picture: Option<ProfilePicture>,
}

/// A partial update. For the nullable fields, `Some(None)` clears the value and `None` leaves it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProfileChanges {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<Username>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "double_option")]
    pub first_name: Option<Option<PersonName>>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "double_option")]
    pub last_name: Option<Option<PersonName>>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "double_option")]
    pub bio: Option<Option<Bio>>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "double_option")]
    pub profile_picture: Option<Option<ProfilePicture>>,
}

impl ProfileChanges {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Serde for `Option<Option<T>>` where an explicit `null` means `Some(None)`.
pub mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer>(v: &Option<Option<T>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(inner) => inner.serialize(s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum UserCommand {
    Register {
        user_id: Uuid,
        username: Username,
        email: Email,
        profile: Profile,
    },
    /// One profile update, password included: its events are appended together or not at all.
    /// `password_changed` says that the credentials (kept outside the log) now hold a new hash.
    UpdateProfile {
        actor: Uuid,
        changes: ProfileChanges,
        password_changed: bool,
    },
    ChangePassword {
        actor: Uuid,
    },
    Delete {
        actor: Uuid,
    },
    /// The right to be forgotten: by the user themselves (`actor`), or by an operator (`None`).
    /// A deleted account can still be erased; an erased one is gone.
    Erase {
        actor: Option<Uuid>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum UserEvent {
    /// Every field but the id is personal data: sealed under the user's key, and erased (null,
    /// or an absent profile field) once the user is.
    UserRegistered {
        user_id: Uuid,
        username: Personal<Username>,
        email: Personal<Email>,
        #[serde(flatten)]
        profile: Profile,
    },
    /// Carries only the fields whose value actually changed.
    UserProfileUpdated {
        changes: ProfileChanges,
    },
    UserPasswordChanged {},
    UserDeleted {},
    /// The user's data key and their messages' keys were destroyed with this event: everything
    /// personal they put in the log now reads as erased.
    UserErased {},
}

impl DomainEvent for UserEvent {
    fn event_type(&self) -> String {
        match self {
            Self::UserRegistered { .. } => "UserRegistered",
            Self::UserProfileUpdated { .. } => "UserProfileUpdated",
            Self::UserPasswordChanged { .. } => "UserPasswordChanged",
            Self::UserDeleted { .. } => "UserDeleted",
            Self::UserErased { .. } => "UserErased",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        "1".to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    #[error("User already exists")]
    AlreadyRegistered,
    #[error("User not found")]
    NotFound,
    #[error("Not enough permissions")]
    NotPermitted,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    id: Option<Uuid>,
    username: Option<Username>,
    email: Option<Email>,
    profile: Profile,
    deleted: bool,
    erased: bool,
}

impl User {
    fn require_live(&self) -> Result<Uuid, UserError> {
        match self.id {
            Some(id) if !self.deleted => Ok(id),
            _ => Err(UserError::NotFound),
        }
    }

    fn require_self(&self, actor: Uuid) -> Result<(), UserError> {
        if self.require_live()? == actor {
            Ok(())
        } else {
            Err(UserError::NotPermitted)
        }
    }

    /// Drops the parts of `changes` that would not change anything.
    fn effective(&self, mut c: ProfileChanges) -> ProfileChanges {
        if c.username.as_ref() == self.username.as_ref() {
            c.username = None;
        }
        if c.email.as_ref() == self.email.as_ref() {
            c.email = None;
        }
        if c.first_name.as_ref() == Some(&self.profile.first_name) {
            c.first_name = None;
        }
        if c.last_name.as_ref() == Some(&self.profile.last_name) {
            c.last_name = None;
        }
        if c.bio.as_ref() == Some(&self.profile.bio) {
            c.bio = None;
        }
        if c.profile_picture.as_ref() == Some(&self.profile.profile_picture) {
            c.profile_picture = None;
        }
        c
    }
}

impl Aggregate for User {
    const TYPE: &'static str = crate::aggregate_types::USER;
    type Command = UserCommand;
    type Event = UserEvent;
    type Error = UserError;
    type Services = ();

    async fn handle(
        &mut self,
        command: UserCommand,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), UserError> {
        let event = match command {
            UserCommand::Register {
                user_id,
                username,
                email,
                profile,
            } => {
                if self.id.is_some() {
                    return Err(UserError::AlreadyRegistered);
                }
                UserEvent::UserRegistered {
                    user_id,
                    username: username.into(),
                    email: email.into(),
                    profile,
                }
            }
            UserCommand::UpdateProfile {
                actor,
                changes,
                password_changed,
            } => {
                self.require_self(actor)?;
                let changes = self.effective(changes);
                // Both events in one append: a refused profile change (a taken username) must not
                // leave a recorded password change behind, nor the other way round.
                if !changes.is_empty() {
                    sink.write(UserEvent::UserProfileUpdated { changes }, self).await;
                }
                if password_changed {
                    sink.write(UserEvent::UserPasswordChanged {}, self).await;
                }
                return Ok(());
            }
            UserCommand::ChangePassword { actor } => {
                self.require_self(actor)?;
                UserEvent::UserPasswordChanged {}
            }
            UserCommand::Delete { actor } => {
                self.require_self(actor)?;
                UserEvent::UserDeleted {}
            }
            UserCommand::Erase { actor } => {
                match actor {
                    Some(actor) => self.require_self(actor)?,
                    None if self.id.is_none() || self.erased => return Err(UserError::NotFound),
                    None => {}
                }
                UserEvent::UserErased {}
            }
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: UserEvent) {
        match event {
            UserEvent::UserRegistered {
                user_id,
                username,
                email,
                profile,
            } => {
                self.id = Some(user_id);
                self.username = username.into_known();
                self.email = email.into_known();
                self.profile = profile;
            }
            UserEvent::UserProfileUpdated { changes } => {
                if let Some(u) = changes.username {
                    self.username = Some(u);
                }
                if let Some(e) = changes.email {
                    self.email = Some(e);
                }
                if let Some(v) = changes.first_name {
                    self.profile.first_name = v;
                }
                if let Some(v) = changes.last_name {
                    self.profile.last_name = v;
                }
                if let Some(v) = changes.bio {
                    self.profile.bio = v;
                }
                if let Some(v) = changes.profile_picture {
                    self.profile.profile_picture = v;
                }
            }
            UserEvent::UserPasswordChanged {} => {}
            UserEvent::UserDeleted {} => self.deleted = true,
            UserEvent::UserErased {} => {
                // Nothing of the user is known any more: their profile opens as erased.
                *self = Self {
                    id: self.id,
                    deleted: true,
                    erased: true,
                    ..Self::default()
                };
            }
        }
    }
}
