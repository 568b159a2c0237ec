//! Copies of the live read tables in another schema: where rebuilds and verifications project
//! the log without touching what servers read, and what a rebuild swaps in at the end.
//!
//! A copy has the live table's columns, defaults, checks, constraints and indexes under the same
//! names (names are per schema), so once moved into `public` it is indistinguishable from a table
//! the migrations made.

use sqlx::PgConnection;

use crate::ProjectionError;

/// Quotes an identifier that comes from code or the catalog.
pub fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// Columns of `schema.table` as (name, type), in order; empty if there is no such table.
pub async fn columns(
    conn: &mut PgConnection,
    schema: &str,
    table: &str,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod)
           FROM pg_attribute a
           JOIN pg_class c ON c.oid = a.attrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
          ORDER BY a.attnum",
    )
    .bind(schema)
    .bind(table)
    .fetch_all(conn)
    .await
}

/// Whether `schema.table` exists with exactly the live table's columns (a copy left by an
/// interrupted run of the same code can be resumed; one from an older schema cannot).
pub async fn matches_live(conn: &mut PgConnection, schema: &str, table: &str) -> Result<bool, sqlx::Error> {
    let copy = columns(&mut *conn, schema, table).await?;
    Ok(!copy.is_empty() && copy == columns(conn, "public", table).await?)
}

/// (Re)creates `schema.table` as an empty copy of `public.table`, with its primary key and
/// other constraints but without its other indexes: loading first and indexing once at the end
/// ([`create_indexes`]) is several times faster than maintaining every index row by row.
pub async fn create_copy(conn: &mut PgConnection, schema: &str, table: &str) -> Result<(), ProjectionError> {
    let (s, t) = (quote(schema), quote(table));
    // Several rebuilds (of different projections) may create the schema at once.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('zync shadow schema ' || $1))")
        .bind(schema)
        .execute(&mut *conn)
        .await?;
    sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {s}"))
        .execute(&mut *conn)
        .await?;
    sqlx::query(&format!("DROP TABLE IF EXISTS {s}.{t}"))
        .execute(&mut *conn)
        .await?;
    // Constraints and indexes are added under their live names (LIKE would invent new ones).
    sqlx::query(&format!(
        "CREATE UNLOGGED TABLE {s}.{t} (LIKE public.{t} INCLUDING ALL EXCLUDING INDEXES)"
    ))
    .execute(&mut *conn)
    .await?;
    let (constraints, _) = index_statements(&mut *conn, schema, table).await?;
    for statement in constraints {
        sqlx::query(&statement).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Makes `schema.table` crash-safe (WAL-logged, replicated): one sequential rewrite instead of
/// logging every row as it was loaded.
pub async fn make_logged(conn: &mut PgConnection, schema: &str, table: &str) -> Result<(), ProjectionError> {
    let unlogged: bool = sqlx::query_scalar(
        "SELECT relpersistence = 'u' FROM pg_class WHERE oid = (quote_ident($1) || '.' || quote_ident($2))::regclass",
    )
    .bind(schema)
    .bind(table)
    .fetch_one(&mut *conn)
    .await?;
    if unlogged {
        sqlx::query(&format!(
            "ALTER TABLE {}.{} SET LOGGED",
            quote(schema),
            quote(table)
        ))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Gives `schema.table` the live table's other indexes, under the same names; those it already
/// has are kept (a resumed rebuild may have made them before it was interrupted).
pub async fn create_indexes(
    conn: &mut PgConnection,
    schema: &str,
    table: &str,
) -> Result<(), ProjectionError> {
    let (_, indexes) = index_statements(&mut *conn, schema, table).await?;
    for statement in indexes {
        sqlx::query(&statement).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Statements that give `schema.table` the live table's primary key and unique constraints, and
/// its other indexes, with the same names.
async fn index_statements(
    conn: &mut PgConnection,
    schema: &str,
    table: &str,
) -> Result<(Vec<String>, Vec<String>), sqlx::Error> {
    let target = format!("{}.{}", quote(schema), quote(table));
    // Constraints that own an index (primary key, unique, exclusion) are re-added as constraints.
    let constraints: Vec<(String, String)> = sqlx::query_as(
        "SELECT con.conname::text, pg_get_constraintdef(con.oid)
           FROM pg_constraint con
          WHERE con.conrelid = ('public.' || quote_ident($1))::regclass AND con.contype IN ('p', 'u', 'x')
          ORDER BY con.conname",
    )
    .bind(table)
    .fetch_all(&mut *conn)
    .await?;
    // Other indexes: the definition after `USING` is independent of name and schema.
    let indexes: Vec<(String, bool, String)> = sqlx::query_as(
        "SELECT ic.relname::text, i.indisunique,
                substr(pg_get_indexdef(i.indexrelid), strpos(pg_get_indexdef(i.indexrelid), ' USING '))
           FROM pg_index i
           JOIN pg_class ic ON ic.oid = i.indexrelid
          WHERE i.indrelid = ('public.' || quote_ident($1))::regclass
            AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid)
          ORDER BY ic.relname",
    )
    .bind(table)
    .fetch_all(&mut *conn)
    .await?;
    let constraints = constraints
        .into_iter()
        .map(|(name, def)| format!("ALTER TABLE {target} ADD CONSTRAINT {} {def}", quote(&name)))
        .collect();
    let indexes = indexes
        .into_iter()
        .map(|(name, unique, rest)| {
            let unique = if unique { "UNIQUE " } else { "" };
            format!(
                "CREATE {unique}INDEX IF NOT EXISTS {} ON {target}{rest}",
                quote(&name)
            )
        })
        .collect();
    Ok((constraints, indexes))
}

/// Replaces `public.table` with `schema.table`, inside the caller's transaction: readers see the
/// old table until commit and the new one after, never a mix.
pub async fn swap_in(conn: &mut PgConnection, schema: &str, table: &str) -> Result<(), ProjectionError> {
    let t = quote(table);
    sqlx::query(&format!("DROP TABLE public.{t}"))
        .execute(&mut *conn)
        .await?;
    sqlx::query(&format!("ALTER TABLE {}.{t} SET SCHEMA public", quote(schema)))
        .execute(&mut *conn)
        .await?;
    Ok(())
}
