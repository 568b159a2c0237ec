//! `zync audit replay` without its output format: the selected events in feed order, each with
//! its summary, handed over one at a time while pages stream in.

use sqlx::PgPool;

use super::bound::{self, Bound};
use super::format::EventLine;
use super::summary::Summarizer;
use super::{decode, AuditError};
use crate::eventlog::snapshot::{Scope, Selection, Snapshot};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayRequest {
    pub selection: Selection,
    /// Events at or after this moment.
    pub since: Option<Bound>,
    /// Events at or before this moment.
    pub until: Option<Bound>,
}

/// Hands every selected event, in feed order, to `emit`; returns how many there were. Stops at
/// the first event that cannot be decoded (an error naming its position) or that `emit` refuses.
pub async fn replay(
    pool: &PgPool,
    request: &ReplayRequest,
    mut emit: impl FnMut(&EventLine<'_>) -> std::io::Result<()>,
) -> Result<u64, AuditError> {
    let mut snapshot = Snapshot::open(pool).await?;
    let since = match request.since {
        Some(b) => Some(bound::resolve(&mut snapshot, b).await?),
        None => None,
    };
    let until = match request.until {
        Some(b) => Some(bound::resolve(&mut snapshot, b).await?),
        None => None,
    };
    let mut pages = snapshot
        .pages(&Scope::Selected(request.selection), since, until)
        .await?;
    let mut summarizer = Summarizer::default();
    let mut count = 0;
    loop {
        let page = pages.next().await?;
        if page.is_empty() {
            return Ok(count);
        }
        for event in &page {
            let (id, decoded) = decode(event)?;
            let summary = summarizer.summarize(id, &decoded, event.erased);
            emit(&EventLine {
                event,
                summary: &summary,
            })?;
            count += 1;
        }
    }
}
