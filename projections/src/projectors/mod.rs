//! The projectors: one per read model, each owning its tables.

pub use channels::ChannelsProjector;
pub use memberships::MembershipsProjector;
pub use messages::MessagesProjector;
pub use users::UsersProjector;

use futures::future::BoxFuture;
use sqlx::PgConnection;

use crate::event::{DecodedEvent, RecordedEvent};
use crate::ProjectionError;

/// Turns events into rows of the tables it owns. Called inside the runner's transaction, in feed
/// order, exactly once per event (the checkpoint commits with the rows).
pub trait Projector: Send + Sync {
    /// Stable name: the checkpoint row's key and the CLI's name for it.
    fn name(&self) -> &'static str;

    /// The tables this projection writes, in the schema it was built for.
    fn tables(&self) -> &'static [&'static str];

    fn apply<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        event: &'a RecordedEvent,
        decoded: &'a DecodedEvent,
    ) -> BoxFuture<'a, Result<(), ProjectionError>>;
}

/// Implements [`Projector`] for a type with one inherent method per aggregate whose events it
/// projects: `projector!(Type, "name", ["table"], Variant => method, ...)`, where `method` is
/// `async fn(&self, &mut PgConnection, &RecordedEvent, &<Variant's event>)`. Other events pass.
macro_rules! projector {
    ($ty:ty, $name:literal, [$($table:literal),*], $($variant:ident => $method:ident),+) => {
        impl super::Projector for $ty {
            fn name(&self) -> &'static str {
                $name
            }

            fn tables(&self) -> &'static [&'static str] {
                &[$($table),*]
            }

            fn apply<'a>(
                &'a self,
                conn: &'a mut sqlx::PgConnection,
                event: &'a crate::event::RecordedEvent,
                decoded: &'a crate::event::DecodedEvent,
            ) -> futures::future::BoxFuture<'a, Result<(), crate::ProjectionError>> {
                use futures::FutureExt;
                async move {
                    match decoded {
                        $(crate::event::DecodedEvent::$variant(e) => self.$method(conn, event, e).await,)+
                        #[allow(unreachable_patterns)]
                        _ => Ok(()),
                    }
                }
                .boxed()
            }
        }
    };
}
pub(crate) use projector;

mod channels;
mod memberships;
mod messages;
mod users;

/// Every read model, writing to tables in `schema` (`public` for the live tables).
pub fn all(schema: &str) -> Vec<Box<dyn Projector>> {
    vec![
        Box::new(UsersProjector::new(schema)),
        Box::new(ChannelsProjector::new(schema)),
        Box::new(MembershipsProjector::new(schema)),
        Box::new(MessagesProjector::new(schema)),
    ]
}

/// Quotes a schema name for use in generated SQL (names come from code, not from users, but
/// quoting keeps odd names harmless).
pub(crate) fn qualified(schema: &str, table: &str) -> String {
    format!("\"{}\".\"{}\"", schema.replace('"', "\"\""), table)
}
