//! The contract's paging parameters (`skip`/`limit`, and `before`/`after` on message history),
//! checked into the read side's `Page` and `Cursor`.

use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::error::{ApiError, Issue};
use crate::read::page::{Cursor, Page, DEFAULT_LIMIT, MAX_LIMIT};

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Rows to skip (default 0).
    #[param(minimum = 0, nullable = false)]
    pub skip: Option<i64>,
    /// Rows to return (default 100; larger values are capped to 200).
    #[param(minimum = 0, nullable = false)]
    pub limit: Option<i64>,
}

impl PageParams {
    pub fn page(&self) -> Result<Page, ApiError> {
        let skip = self.skip.unwrap_or(0);
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        let mut issues = vec![];
        if skip < 0 {
            issues.push(Issue::query_at_least("skip", 0));
        }
        if limit < 0 {
            issues.push(Issue::query_at_least("limit", 0));
        }
        if !issues.is_empty() {
            return Err(ApiError::validation(issues));
        }
        Ok(Page {
            skip,
            limit: limit.min(MAX_LIMIT),
        })
    }

    /// For lists Zync returned whole (members, a user's memberships): everything unless the
    /// client asks for a page.
    pub fn page_or_all(&self) -> Result<Page, ApiError> {
        if self.skip.is_none() && self.limit.is_none() {
            return Ok(Page::ALL);
        }
        self.page()
    }
}

/// Message history pages: `skip`/`limit`, or a keyset cursor that stays fast at any depth.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// Rows to skip (default 0).
    #[param(minimum = 0, nullable = false)]
    pub skip: Option<i64>,
    /// Rows to return (default 100; larger values are capped to 200).
    #[param(minimum = 0, nullable = false)]
    pub limit: Option<i64>,
    /// Only messages older than this message id (newest of them first in the window, returned
    /// oldest first). Not together with `after`.
    #[param(nullable = false)]
    pub before: Option<Uuid>,
    /// Only messages newer than this message id.
    #[param(nullable = false)]
    pub after: Option<Uuid>,
}

impl HistoryParams {
    pub fn page(&self) -> Result<(Page, Cursor), ApiError> {
        let page = PageParams {
            skip: self.skip,
            limit: self.limit,
        }
        .page()?;
        let cursor = match (self.before, self.after) {
            (Some(_), Some(_)) => {
                return Err(ApiError::invalid(Issue::new(
                    &["query", "before"],
                    "Give either before or after, not both",
                    "value_error",
                )))
            }
            (Some(id), None) => Cursor::Before(id),
            (None, Some(id)) => Cursor::After(id),
            (None, None) => Cursor::None,
        };
        Ok((page, cursor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_cap_and_negatives() {
        let p = PageParams {
            skip: None,
            limit: None,
        }
        .page()
        .unwrap();
        assert_eq!(p, Page { skip: 0, limit: 100 });
        let p = PageParams {
            skip: Some(5),
            limit: Some(10_000),
        }
        .page()
        .unwrap();
        assert_eq!(
            p,
            Page {
                skip: 5,
                limit: MAX_LIMIT
            }
        );
        assert!(PageParams {
            skip: Some(-1),
            limit: None
        }
        .page()
        .is_err());
        assert!(PageParams {
            skip: None,
            limit: Some(-1)
        }
        .page()
        .is_err());
    }

    #[test]
    fn cursor_is_one_or_the_other() {
        let id = Uuid::now_v7();
        let h = |before, after| HistoryParams {
            skip: None,
            limit: None,
            before,
            after,
        };
        assert_eq!(h(Some(id), None).page().unwrap().1, Cursor::Before(id));
        assert_eq!(h(None, Some(id)).page().unwrap().1, Cursor::After(id));
        assert!(h(Some(id), Some(id)).page().is_err());
    }
}
