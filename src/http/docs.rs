//! API docs (being written).
