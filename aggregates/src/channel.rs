//! The channel aggregate: name, owner and the member set. Messages are *not* in here; each
//! message is its own aggregate so a busy channel's stream stays small.

use std::collections::BTreeSet;

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::values::{ChannelDescription, ChannelName};

#[derive(Debug, Clone, PartialEq)]
pub enum ChannelCommand {
    /// The creator becomes owner and first member.
    Create {
        channel_id: Uuid,
        name: ChannelName,
        description: Option<ChannelDescription>,
        owner_id: Uuid,
    },
    /// `description: Some(None)` clears it.
    Update {
        actor: Uuid,
        name: Option<ChannelName>,
        description: Option<Option<ChannelDescription>>,
    },
    /// The new owner becomes a member first if they are not one.
    TransferOwnership {
        actor: Uuid,
        new_owner_id: Uuid,
    },
    Delete {
        actor: Uuid,
    },
    Join {
        user_id: Uuid,
    },
    Leave {
        user_id: Uuid,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ChannelEvent {
    ChannelCreated {
        channel_id: Uuid,
        name: ChannelName,
        description: Option<ChannelDescription>,
        owner_id: Uuid,
    },
    /// Carries only what changed.
    ChannelUpdated {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<ChannelName>,
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            with = "crate::user::double_option"
        )]
        description: Option<Option<ChannelDescription>>,
    },
    ChannelOwnershipTransferred {
        previous_owner_id: Uuid,
        new_owner_id: Uuid,
    },
    ChannelDeleted {},
    MemberJoined {
        user_id: Uuid,
    },
    MemberLeft {
        user_id: Uuid,
    },
}

impl DomainEvent for ChannelEvent {
    fn event_type(&self) -> String {
        match self {
            Self::ChannelCreated { .. } => "ChannelCreated",
            Self::ChannelUpdated { .. } => "ChannelUpdated",
            Self::ChannelOwnershipTransferred { .. } => "ChannelOwnershipTransferred",
            Self::ChannelDeleted { .. } => "ChannelDeleted",
            Self::MemberJoined { .. } => "MemberJoined",
            Self::MemberLeft { .. } => "MemberLeft",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        "1".to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    #[error("Channel already exists")]
    AlreadyExists,
    #[error("Channel not found")]
    NotFound,
    #[error("Only the channel owner can do this")]
    NotOwner,
    #[error("User is already a member of this channel.")]
    AlreadyMember,
    #[error("User is not a member of this channel.")]
    NotAMember,
    #[error("The channel owner cannot leave the channel; transfer ownership first.")]
    OwnerCannotLeave,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Channel {
    id: Option<Uuid>,
    name: Option<ChannelName>,
    description: Option<ChannelDescription>,
    owner_id: Option<Uuid>,
    members: BTreeSet<Uuid>,
    deleted: bool,
}

impl Channel {
    pub fn is_member(&self, user_id: Uuid) -> bool {
        self.members.contains(&user_id)
    }

    fn require_live(&self) -> Result<(), ChannelError> {
        if self.id.is_some() && !self.deleted {
            Ok(())
        } else {
            Err(ChannelError::NotFound)
        }
    }

    fn require_owner(&self, actor: Uuid) -> Result<Uuid, ChannelError> {
        self.require_live()?;
        match self.owner_id {
            Some(owner) if owner == actor => Ok(owner),
            _ => Err(ChannelError::NotOwner),
        }
    }

    fn decide(&self, command: ChannelCommand) -> Result<Vec<ChannelEvent>, ChannelError> {
        Ok(match command {
            ChannelCommand::Create {
                channel_id,
                name,
                description,
                owner_id,
            } => {
                if self.id.is_some() {
                    return Err(ChannelError::AlreadyExists);
                }
                vec![
                    ChannelEvent::ChannelCreated {
                        channel_id,
                        name,
                        description,
                        owner_id,
                    },
                    ChannelEvent::MemberJoined { user_id: owner_id },
                ]
            }
            ChannelCommand::Update {
                actor,
                name,
                description,
            } => {
                self.require_owner(actor)?;
                let name = name.filter(|n| Some(n) != self.name.as_ref());
                let description = description.filter(|d| *d != self.description);
                if name.is_none() && description.is_none() {
                    return Ok(vec![]);
                }
                vec![ChannelEvent::ChannelUpdated { name, description }]
            }
            ChannelCommand::TransferOwnership { actor, new_owner_id } => {
                let previous_owner_id = self.require_owner(actor)?;
                if new_owner_id == previous_owner_id {
                    return Ok(vec![]);
                }
                let mut events = Vec::with_capacity(2);
                if !self.is_member(new_owner_id) {
                    events.push(ChannelEvent::MemberJoined {
                        user_id: new_owner_id,
                    });
                }
                events.push(ChannelEvent::ChannelOwnershipTransferred {
                    previous_owner_id,
                    new_owner_id,
                });
                events
            }
            ChannelCommand::Delete { actor } => {
                self.require_owner(actor)?;
                vec![ChannelEvent::ChannelDeleted {}]
            }
            ChannelCommand::Join { user_id } => {
                self.require_live()?;
                if self.is_member(user_id) {
                    return Err(ChannelError::AlreadyMember);
                }
                vec![ChannelEvent::MemberJoined { user_id }]
            }
            ChannelCommand::Leave { user_id } => {
                self.require_live()?;
                if !self.is_member(user_id) {
                    return Err(ChannelError::NotAMember);
                }
                if self.owner_id == Some(user_id) {
                    return Err(ChannelError::OwnerCannotLeave);
                }
                vec![ChannelEvent::MemberLeft { user_id }]
            }
        })
    }
}

impl Aggregate for Channel {
    const TYPE: &'static str = crate::aggregate_types::CHANNEL;
    type Command = ChannelCommand;
    type Event = ChannelEvent;
    type Error = ChannelError;
    type Services = ();

    async fn handle(
        &mut self,
        command: ChannelCommand,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), ChannelError> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: ChannelEvent) {
        match event {
            ChannelEvent::ChannelCreated {
                channel_id,
                name,
                description,
                owner_id,
            } => {
                self.id = Some(channel_id);
                self.name = Some(name);
                self.description = description;
                self.owner_id = Some(owner_id);
            }
            ChannelEvent::ChannelUpdated { name, description } => {
                if let Some(name) = name {
                    self.name = Some(name);
                }
                if let Some(description) = description {
                    self.description = description;
                }
            }
            ChannelEvent::ChannelOwnershipTransferred { new_owner_id, .. } => {
                self.owner_id = Some(new_owner_id)
            }
            ChannelEvent::ChannelDeleted {} => self.deleted = true,
            ChannelEvent::MemberJoined { user_id } => {
                self.members.insert(user_id);
            }
            ChannelEvent::MemberLeft { user_id } => {
                self.members.remove(&user_id);
            }
        }
    }
}
