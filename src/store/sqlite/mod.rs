//! SQLite, the embedded default: the write path that keeps the promise
//! on a local file (`writer`), and every store operation's SQL in
//! SQLite's dialect, one module per domain module of `store`.

pub mod writer;

// Compiled out in .ci/prepare-sqlx's PostgreSQL pass (see store::operations).
#[cfg(not(feature = "prepare-postgres"))]
pub mod app_passwords;
#[cfg(not(feature = "prepare-postgres"))]
pub mod articles;
#[cfg(not(feature = "prepare-postgres"))]
pub mod feeds;
#[cfg(not(feature = "prepare-postgres"))]
pub mod page_fetches;
#[cfg(not(feature = "prepare-postgres"))]
pub mod reader_rules;
#[cfg(not(feature = "prepare-postgres"))]
pub mod reading;
#[cfg(not(feature = "prepare-postgres"))]
pub mod rules;
#[cfg(not(feature = "prepare-postgres"))]
pub mod search;
#[cfg(not(feature = "prepare-postgres"))]
pub mod sections;
#[cfg(not(feature = "prepare-postgres"))]
pub mod site;
#[cfg(not(feature = "prepare-postgres"))]
pub mod stories;
#[cfg(not(feature = "prepare-postgres"))]
pub mod streams;
#[cfg(not(feature = "prepare-postgres"))]
pub mod tokens;
#[cfg(not(feature = "prepare-postgres"))]
pub mod users;

pub use writer::Writer;

/// SQLite's migrations (`migrations/`).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[cfg(test)]
mod tests {
    use sqlx::Connection;

    /// `.cargo/config.toml` builds SQLite with the query planner stability
    /// guarantee; without it every query with `LIMIT ?` is planned anew
    /// each time it runs, which nothing else would notice but the speed.
    #[tokio::test]
    async fn sqlite_is_built_with_stable_query_plans() {
        let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:").await.unwrap();
        let used: i64 = sqlx::query_scalar("SELECT sqlite_compileoption_used('ENABLE_QPSG')")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(used, 1);
    }
}
