//! Pages of the read tables: an offset window, or a keyset cursor that stays fast at any depth.

use uuid::Uuid;

pub const DEFAULT_LIMIT: i64 = 100;
/// Larger `limit`s are capped to this.
pub const MAX_LIMIT: i64 = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub skip: i64,
    pub limit: i64,
}

impl Page {
    pub const ALL: Page = Page {
        skip: 0,
        limit: i64::MAX,
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    None,
    Before(Uuid),
    After(Uuid),
}
