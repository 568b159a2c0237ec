//! Reconstructing the past: a channel, user or message as it was at a moment, by folding the
//! selected events up to that moment with the projectors' own pure folds. There is no second
//! interpretation of events here: a reconstruction reads exactly as the read tables would have
//! read at that moment.

use std::collections::{BTreeSet, HashMap};

use aggregates::message::MessageEvent;
use projections::projectors::{
    ChannelsModel, MembershipsModel, MessageRow, MessagesModel, Overlay, Projectable, ReadModel, UserRow,
    UserStatus, UsersModel,
};
use projections::{DecodedEvent, ProjectionError, RecordedEvent};
use sqlx::PgPool;
use uuid::Uuid;

use super::bound::{self, Bound};
use super::state::{
    ChannelAsOf, ChannelHistory, Existence, MemberAsOf, MessageAsOf, MessageHistory, UserHistory,
};
use super::{decode, AuditError};
use crate::eventlog::snapshot::{Limit, Scope, Selection, Snapshot};

/// The models are only folded here, never stored; the schema they would write to is irrelevant.
const SCHEMA: &str = "public";

/// A read model and the rows its fold has built so far.
struct Folded<M: ReadModel> {
    model: M,
    rows: Overlay<M::Key, M::Row>,
}

impl<M: ReadModel> Folded<M> {
    fn new(model: M) -> Self {
        Self {
            model,
            rows: Overlay::default(),
        }
    }

    /// The projector's pure fold (`ReadModel::fold`, what `fold_in_memory` runs), applied as each
    /// page arrives so that a long history is never held in memory whole.
    fn apply(&mut self, event: Projectable<'_>) -> Result<(), ProjectionError> {
        self.model.fold(&mut self.rows, event)
    }
}

/// The moment to reconstruct: as asked, or the head of the log.
async fn moment(snapshot: &mut Snapshot, as_of: Option<Bound>) -> Result<(Bound, Limit), AuditError> {
    match as_of {
        Some(bound) => Ok((bound, bound::resolve(snapshot, bound).await?)),
        None => {
            let head = snapshot.head();
            Ok((Bound::Position(head.position), Limit::Cursor(head)))
        }
    }
}

/// Feeds every event of `scope` up to `until`, in feed order, to `each`; returns the last one's
/// position.
async fn fold_scope(
    snapshot: &mut Snapshot,
    scope: &Scope,
    until: Limit,
    mut each: impl FnMut(&RecordedEvent, Uuid, &DecodedEvent) -> Result<(), ProjectionError>,
) -> Result<Option<i64>, AuditError> {
    let mut pages = snapshot.pages(scope, None, Some(until)).await?;
    let mut last = None;
    loop {
        let page = pages.next().await?;
        if page.is_empty() {
            return Ok(last);
        }
        for event in &page {
            let (id, decoded) = decode(event)?;
            each(event, id, &decoded)?;
            last = Some(event.global_position);
        }
    }
}

fn existence(known: bool, live: bool) -> Existence {
    match (known, live) {
        (_, true) => Existence::Live,
        (true, false) => Existence::Deleted,
        (false, false) => Existence::NotYetCreated,
    }
}

fn is_post(decoded: &DecodedEvent) -> bool {
    matches!(
        decoded,
        DecodedEvent::Message(
            MessageEvent::TextMessagePosted { .. } | MessageEvent::FileMessagePosted { .. }
        )
    )
}

/// Usernames as they were at `until`, from the users' own streams.
async fn usernames(
    snapshot: &mut Snapshot,
    ids: BTreeSet<Uuid>,
    until: Limit,
) -> Result<HashMap<Uuid, String>, AuditError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut users = Folded::new(UsersModel::new(SCHEMA));
    let scope = Scope::UserStreams(ids.iter().copied().collect());
    fold_scope(snapshot, &scope, until, |event, _, decoded| {
        users.apply((event, decoded))
    })
    .await?;
    Ok(ids
        .into_iter()
        .filter_map(|id| users.rows.get(&id).map(|u| (id, u.username.clone())))
        .collect())
}

fn message(row: &MessageRow, names: &HashMap<Uuid, String>) -> MessageAsOf {
    MessageAsOf {
        id: row.id,
        channel_id: row.channel_id,
        author_id: row.author_id,
        author_username: names.get(&row.author_id).cloned(),
        message_type: row.message_type,
        content: row.content.clone(),
        s3_key: row.s3_key.clone(),
        content_type: row.content_type.clone(),
        original_filename: row.original_filename.clone(),
        created_at: row.created_at,
        updated_at: row.updated_at,
        edited: row.updated_at != row.created_at,
    }
}

/// The channel at `as_of` (the head of the log when `None`): name, description, owner, members
/// and readable messages with their text as it then read. Shared by `zync audit replay --channel
/// --as-of` and `GET /v1/channels/{id}/history`.
pub async fn channel_as_of(
    pool: &PgPool,
    channel_id: Uuid,
    as_of: Option<Bound>,
) -> Result<ChannelHistory, AuditError> {
    let mut snapshot = Snapshot::open(pool).await?;
    let (as_of, until) = moment(&mut snapshot, as_of).await?;
    let mut channels = Folded::new(ChannelsModel::new(SCHEMA));
    let mut memberships = Folded::new(MembershipsModel::new(SCHEMA));
    let mut messages = Folded::new(MessagesModel::new(SCHEMA));
    let mut posted = Vec::new();
    let scope = Scope::Selected(Selection::Channel(channel_id));
    let last_position = fold_scope(&mut snapshot, &scope, until, |event, id, decoded| {
        if is_post(decoded) {
            posted.push(id);
        }
        channels.apply((event, decoded))?;
        memberships.apply((event, decoded))?;
        messages.apply((event, decoded))
    })
    .await?;

    let channel = channels.rows.get(&channel_id);
    let mut members: Vec<_> = memberships.rows.rows().map(|(_, m)| m).collect();
    members.sort_by_key(|m| (m.joined_at, m.user_id));
    let mut readable: Vec<_> = messages.rows.rows().map(|(_, m)| m).collect();
    readable.sort_by_key(|m| (m.created_at, m.id));

    let people: BTreeSet<Uuid> = channel
        .map(|c| c.owner_id)
        .into_iter()
        .chain(members.iter().map(|m| m.user_id))
        .chain(readable.iter().map(|m| m.author_id))
        .collect();
    let names = usernames(&mut snapshot, people, until).await?;

    Ok(ChannelHistory {
        channel_id,
        as_of,
        last_position,
        status: existence(channels.rows.knows(&channel_id), channel.is_some()),
        channel: channel.map(|c| ChannelAsOf {
            id: c.id,
            name: c.name.clone(),
            description: c.description.clone(),
            owner_id: c.owner_id,
            owner_username: names.get(&c.owner_id).cloned(),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }),
        members: members
            .iter()
            .map(|m| MemberAsOf {
                user_id: m.user_id,
                username: names.get(&m.user_id).cloned(),
                joined_at: m.joined_at,
            })
            .collect(),
        messages: readable.iter().map(|m| message(m, &names)).collect(),
        deleted_message_ids: posted
            .into_iter()
            .filter(|id| messages.rows.get(id).is_none())
            .collect(),
    })
}

/// The user account at `as_of`, from its own stream.
pub async fn user_as_of(
    pool: &PgPool,
    user_id: Uuid,
    as_of: Option<Bound>,
) -> Result<UserHistory, AuditError> {
    let mut snapshot = Snapshot::open(pool).await?;
    let (as_of, until) = moment(&mut snapshot, as_of).await?;
    let mut users = Folded::new(UsersModel::new(SCHEMA));
    let scope = Scope::UserStreams(vec![user_id]);
    let last_position = fold_scope(&mut snapshot, &scope, until, |event, _, decoded| {
        users.apply((event, decoded))
    })
    .await?;
    let row: Option<&UserRow> = users.rows.get(&user_id);
    Ok(UserHistory {
        user_id,
        as_of,
        last_position,
        // The users table keeps a deleted account's row, marked.
        status: match row {
            None => Existence::NotYetCreated,
            Some(u) if u.status == UserStatus::Deleted => Existence::Deleted,
            Some(_) => Existence::Live,
        },
        user: row.cloned(),
    })
}

/// The message at `as_of`: its stream, and its channel's deletion (which removes it too).
pub async fn message_as_of(
    pool: &PgPool,
    message_id: Uuid,
    as_of: Option<Bound>,
) -> Result<MessageHistory, AuditError> {
    let mut snapshot = Snapshot::open(pool).await?;
    let (as_of, until) = moment(&mut snapshot, as_of).await?;
    let mut messages = Folded::new(MessagesModel::new(SCHEMA));
    let mut channel_id = None;
    let scope = Scope::Selected(Selection::Message(message_id));
    let mut last_position = fold_scope(&mut snapshot, &scope, until, |event, _, decoded| {
        if let DecodedEvent::Message(
            MessageEvent::TextMessagePosted { channel_id: c, .. }
            | MessageEvent::FileMessagePosted { channel_id: c, .. },
        ) = decoded
        {
            channel_id = Some(*c);
        }
        messages.apply((event, decoded))
    })
    .await?;

    let mut channel_deleted = false;
    if let (Some(channel), Some(_)) = (channel_id, messages.rows.get(&message_id)) {
        let scope = Scope::ChannelDeletion(channel);
        let deletion = fold_scope(&mut snapshot, &scope, until, |event, _, decoded| {
            messages.apply((event, decoded))
        })
        .await?;
        if deletion.is_some() {
            channel_deleted = true;
            last_position = deletion;
        }
    }

    let row = messages.rows.get(&message_id);
    let names = usernames(
        &mut snapshot,
        row.map(|m| m.author_id).into_iter().collect(),
        until,
    )
    .await?;
    Ok(MessageHistory {
        message_id,
        as_of,
        last_position,
        status: existence(messages.rows.knows(&message_id), row.is_some()),
        channel_id,
        channel_deleted,
        message: row.map(|m| message(m, &names)),
    })
}
