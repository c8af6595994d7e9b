//! PostgreSQL, for several Gazette instances on one database (issue 14):
//! the schema (`migrations/postgres/`) and applying it, safely when
//! several instances start at once; the write path (`writer`); and every
//! store operation's SQL in PostgreSQL's dialect, one module per domain
//! module of `store`. Until every domain module has its PostgreSQL side,
//! `GAZETTE_DATABASE` takes a SQLite path only.

pub mod peers;
pub mod writer;

// Compiled out in .ci/prepare-sqlx's SQLite pass (see store::operations).
#[cfg(not(feature = "prepare-sqlite"))]
pub mod app_passwords;
#[cfg(not(feature = "prepare-sqlite"))]
pub mod articles;
#[cfg(not(feature = "prepare-sqlite"))]
pub mod feeds;
#[cfg(not(feature = "prepare-sqlite"))]
pub mod page_fetches;
#[cfg(not(feature = "prepare-sqlite"))]
pub mod reader_rules;
#[cfg(not(feature = "prepare-sqlite"))]
pub mod reading;
#[cfg(not(feature = "prepare-sqlite"))]
pub mod rules;
#[cfg(not(feature = "prepare-sqlite"))]
pub mod search;
#[cfg(not(feature = "prepare-sqlite"))]
pub mod sections;
#[cfg(not(feature = "prepare-sqlite"))]
pub mod site;
#[cfg(not(feature = "prepare-sqlite"))]
pub mod stories;
#[cfg(not(feature = "prepare-sqlite"))]
pub mod streams;
#[cfg(not(feature = "prepare-sqlite"))]
pub mod tokens;
#[cfg(not(feature = "prepare-sqlite"))]
pub mod users;

pub use writer::Writer;

/// The advisory locks instances on one database take turns by, all in this
/// one list: two jobs sharing a key would each take the other's turn for
/// their own (story placing once held the retention sweep's key, and sweeps
/// that met a placing step gave up as if another instance were sweeping).
/// Numbers unlikely to collide with another application's locks on a
/// shared database.
pub mod locks {
    /// Held by every transaction that inserts articles, from its first
    /// insert to its end (see `articles::insert_many`).
    pub const INGEST: i64 = 0x6761_7a65_7474_6501;
    /// The retention sweep's turn (see `site::take_turn`).
    pub const RETENTION: i64 = 0x6761_7a65_7474_6502;
    /// The story placing worker's turn (see `stories::take_placing_turn`).
    pub const PLACING: i64 = 0x6761_7a65_7474_6503;

    pub const ALL: [i64; 3] = [INGEST, RETENTION, PLACING];

    #[cfg(test)]
    #[test]
    fn no_two_jobs_share_a_key() {
        let mut keys = ALL.to_vec();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), ALL.len());
    }
}

use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;

/// The PostgreSQL migrations, kept apart from SQLite's: each database
/// has its own dialect, and a PostgreSQL database starts at the schema
/// SQLite reached by then.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// Connects to a PostgreSQL database by URL (`postgres://…`).
///
/// A request waits at most `ACQUIRE_TIMEOUT` for a connection: while the
/// server is down, requests fail quickly with 503 instead of hanging.
pub async fn connect(url: &str, max_connections: u32) -> sqlx::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect(url)
        .await
}

const ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// How long an instance waits at start for a database that is not up
/// yet (started beside it by the same compose file, say).
const START_PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);

/// [`connect`], waiting for a server that cannot be reached yet or is
/// still starting, up to a minute; any other error (a wrong password, a
/// missing database) is final at once.
pub async fn connect_patiently(url: &str, max_connections: u32) -> sqlx::Result<PgPool> {
    let started = std::time::Instant::now();
    let mut said = false;
    loop {
        match connect(url, max_connections).await {
            Ok(pool) => return Ok(pool),
            Err(err) if not_up_yet(&err) && started.elapsed() < START_PATIENCE => {
                if !said {
                    tracing::info!(%err, "waiting for PostgreSQL to accept connections");
                    said = true;
                }
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
            Err(err) => return Err(err),
        }
    }
}

/// Whether a connection error means the server is not reachable or not
/// ready yet: nothing there, or starting up (SQLSTATE 57P03).
fn not_up_yet(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| code == "57P03"),
        _ => false,
    }
}

/// Whether search folds accents: the `unaccent` extension was there for
/// the migration to build the `gazette` text search configuration on.
pub async fn folds_accents(pool: &PgPool) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'unaccent')")
        .fetch_one(pool)
        .await
}

/// Brings a database to the current schema. Instances starting together
/// take turns: sqlx holds an advisory lock while it migrates, so one
/// applies each migration and the others find it applied.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}
