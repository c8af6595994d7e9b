//! PostgreSQL storage (issue 14), for several Gazette instances on one
//! database. This is its first part: the schema (`migrations/postgres/`)
//! and applying it, safely when several instances start at once. The
//! storage interface that serves the site from it is not built yet; until
//! it is, `GAZETTE_DATABASE` takes a SQLite path only.

use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;

/// The PostgreSQL migrations, kept apart from SQLite's: each database
/// has its own dialect, and a PostgreSQL database starts at the schema
/// SQLite reached by then.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// Connects to a PostgreSQL database by URL (`postgres://…`).
pub async fn connect(url: &str, max_connections: u32) -> sqlx::Result<PgPool> {
    PgPoolOptions::new().max_connections(max_connections).connect(url).await
}

/// Brings a database to the current schema. Instances starting together
/// take turns: sqlx holds an advisory lock while it migrates, so one
/// applies each migration and the others find it applied.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}
