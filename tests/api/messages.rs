//! `/messages` routes.
