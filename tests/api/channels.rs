//! `/channels` routes.
