//! The projectors: one per read model, each owning its tables.
//!
//! A read model is written as a pure fold over an [`Overlay`] of rows plus two small SQL
//! adapters (load the rows a batch updates, store the batch's net changes). [`Table`] turns any
//! read model into a [`Projector`] the runner can drive, a batch at a time.

pub use channels::{ChannelRow, ChannelsModel};
pub use memberships::{MemberRow, MembershipsModel};
pub use messages::{MessageRow, MessagesModel};
pub use overlay::{Changes, Overlay};
pub use users::{UserRow, UserStatus, UsersModel};

use std::collections::HashSet;
use std::hash::Hash;

use futures::future::BoxFuture;
use futures::FutureExt;
use sqlx::PgConnection;

use crate::event::{DecodedEvent, RecordedEvent};
use crate::ProjectionError;

/// One event as the projectors see it: the stored row and its decoded payload.
pub type Projectable<'a> = (&'a RecordedEvent, &'a DecodedEvent);

/// What [`ReadModel::load`] returns: the rows found, with their keys.
pub type Loaded<K, R> = Result<Vec<(K, R)>, sqlx::Error>;

/// A read table defined by a pure fold over events.
pub trait ReadModel: Send + Sync {
    type Key: Eq + Hash + Clone + Send + Sync;
    type Row: Send + Sync;

    /// Stable name: the checkpoint row's key and the CLI's name for it.
    const NAME: &'static str;
    /// The tables it writes (unqualified).
    const TABLES: &'static [&'static str];

    /// The read model writing its tables in `schema` (`public` for the live tables).
    fn in_schema(schema: &str) -> Self
    where
        Self: Sized;

    /// Adds the keys of existing rows that `event` updates, so they can be loaded up front.
    fn touches(&self, event: Projectable<'_>, keys: &mut Vec<Self::Key>) -> Result<(), ProjectionError>;

    /// Applies one event to the rows. Pure: no I/O, so it can be tested and replayed anywhere.
    fn fold(
        &self,
        rows: &mut Overlay<Self::Key, Self::Row>,
        event: Projectable<'_>,
    ) -> Result<(), ProjectionError>;

    /// The existing rows among `keys` (missing keys are simply absent from the answer).
    fn load<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        keys: &'a [Self::Key],
    ) -> BoxFuture<'a, Loaded<Self::Key, Self::Row>>;

    /// Writes a batch's net changes: purged channels, then deletions, then upserts.
    fn store<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        changes: Changes<'a, Self::Key, Self::Row>,
    ) -> BoxFuture<'a, Result<(), sqlx::Error>>;
}

/// Something the runner can feed batches to, inside its transaction, in feed order, exactly once
/// per event (the checkpoint commits with the rows).
pub trait Projector: Send + Sync {
    fn name(&self) -> &'static str;
    fn tables(&self) -> &'static [&'static str];
    fn apply_batch<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        events: &'a [Projectable<'a>],
    ) -> BoxFuture<'a, Result<(), ProjectionError>>;
}

/// Drives a [`ReadModel`] against its tables.
pub struct Table<M>(pub M);

impl<M: ReadModel> Projector for Table<M> {
    fn name(&self) -> &'static str {
        M::NAME
    }

    fn tables(&self) -> &'static [&'static str] {
        M::TABLES
    }

    fn apply_batch<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        events: &'a [Projectable<'a>],
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        async move {
            let model = &self.0;
            let mut keys = Vec::new();
            for event in events {
                model.touches(*event, &mut keys)?;
            }
            let mut seen = HashSet::with_capacity(keys.len());
            keys.retain(|k| seen.insert(k.clone()));
            let mut rows = Overlay::default();
            if !keys.is_empty() {
                for (key, row) in model.load(conn, &keys).await? {
                    rows.preload(key, Some(row));
                }
                for key in keys {
                    rows.preload(key, None);
                }
            }
            for event in events {
                model.fold(&mut rows, *event)?;
            }
            let changes = rows.changes();
            if !changes.is_empty() {
                model.store(conn, changes).await?;
            }
            Ok(())
        }
        .boxed()
    }
}

/// Folds `events` into empty tables, in memory: the state a read model would have if these were
/// the whole log (used to reconstruct the past, e.g. a channel as of a moment).
pub fn fold_in_memory<'a, M: ReadModel>(
    model: &M,
    events: impl IntoIterator<Item = Projectable<'a>>,
) -> Result<Overlay<M::Key, M::Row>, ProjectionError> {
    let mut rows = Overlay::default();
    for event in events {
        model.fold(&mut rows, event)?;
    }
    Ok(rows)
}

mod channels;
mod memberships;
mod messages;
mod overlay;
mod users;

/// A read model as the runner, the CLI, rebuilds and health checks know it: by name and tables,
/// and how to build its projector for a schema.
pub struct Registered {
    pub name: &'static str,
    pub tables: &'static [&'static str],
    build: fn(&str) -> Box<dyn Projector>,
}

impl Registered {
    const fn of<M: ReadModel + 'static>() -> Self {
        Self {
            name: M::NAME,
            tables: M::TABLES,
            build: build::<M>,
        }
    }

    pub fn build(&self, schema: &str) -> Box<dyn Projector> {
        (self.build)(schema)
    }
}

fn build<M: ReadModel + 'static>(schema: &str) -> Box<dyn Projector> {
    Box::new(Table(M::in_schema(schema)))
}

/// Every read model, in the order a batch is applied. The one list: adding a read model here is
/// all it takes for the runner, rebuilds, `verify` and `/readyz` to know it.
pub const REGISTRY: &[Registered] = &[
    Registered::of::<UsersModel>(),
    Registered::of::<ChannelsModel>(),
    Registered::of::<MembershipsModel>(),
    Registered::of::<MessagesModel>(),
];

/// Every read model's projector, writing to tables in `schema`.
pub fn all(schema: &str) -> Vec<Box<dyn Projector>> {
    REGISTRY.iter().map(|r| r.build(schema)).collect()
}

/// The names of every read model, in registry order.
pub fn names() -> Vec<&'static str> {
    REGISTRY.iter().map(|r| r.name).collect()
}

/// `"schema"."table"` for generated SQL (names come from code, not from users, but
/// quoting keeps odd names harmless).
pub(crate) fn qualified(schema: &str, table: &str) -> String {
    format!("{}.{}", crate::shadow::quote(schema), crate::shadow::quote(table))
}

/// `DELETE FROM table WHERE column = ANY(ids)`; a no-op for no ids.
pub(crate) async fn delete_any(
    conn: &mut PgConnection,
    table: &str,
    column: &str,
    ids: &[uuid::Uuid],
) -> Result<(), sqlx::Error> {
    if !ids.is_empty() {
        sqlx::query(&format!("DELETE FROM {table} WHERE {column} = ANY($1)"))
            .bind(ids)
            .execute(conn)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod fold_tests;
