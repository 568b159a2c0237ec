//! Embedded PostgreSQL cluster (being written).
