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
pub mod reading;
#[cfg(not(feature = "prepare-postgres"))]
pub mod search;
#[cfg(not(feature = "prepare-postgres"))]
pub mod sections;
#[cfg(not(feature = "prepare-postgres"))]
pub mod site;
#[cfg(not(feature = "prepare-postgres"))]
pub mod streams;
#[cfg(not(feature = "prepare-postgres"))]
pub mod tokens;
#[cfg(not(feature = "prepare-postgres"))]
pub mod users;

pub use writer::Writer;

/// SQLite's migrations (`migrations/`).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
