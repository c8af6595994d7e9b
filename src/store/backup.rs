//! Online backups and offline restores of the database file.
//!
//! A backup is `VACUUM INTO`: one read transaction, so it is a consistent
//! snapshot while the server keeps serving and ingesting (WAL readers never
//! block the writer), written compactly to a new file.

use std::path::Path;
use std::str::FromStr;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, SqliteConnection};

/// What a check of a database file found.
#[derive(Debug)]
pub struct FileReport {
    pub articles: i64,
    pub sections: i64,
}

async fn open(path: &Path, read_only: bool) -> anyhow::Result<SqliteConnection> {
    let options = SqliteConnectOptions::from_str("sqlite:")?
        .filename(path)
        .read_only(read_only)
        .create_if_missing(false)
        .busy_timeout(std::time::Duration::from_secs(10));
    options
        .connect()
        .await
        .map_err(|err| anyhow::anyhow!("cannot open {}: {err}", path.display()))
}

/// Writes a consistent copy of the live database at `database` to `dest`.
pub async fn backup(database: &Path, dest: &Path) -> anyhow::Result<FileReport> {
    anyhow::ensure!(!dest.exists(), "{} already exists; choose a new file", dest.display());
    anyhow::ensure!(database.exists(), "no database at {}", database.display());
    let mut conn = open(database, true).await?;
    let dest_text = dest
        .to_str()
        .ok_or_else(|| anyhow::anyhow!("the backup path must be valid UTF-8"))?;
    sqlx::query("VACUUM INTO ?").bind(dest_text).execute(&mut conn).await?;
    conn.close().await?;
    verify(dest).await
}

/// Checks that a file is a sound Gazette database: SQLite's integrity
/// check passes and Gazette's tables are there.
pub async fn verify(path: &Path) -> anyhow::Result<FileReport> {
    anyhow::ensure!(path.is_file(), "no file at {}", path.display());
    let mut conn = open(path, true).await?;
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await?;
    anyhow::ensure!(
        integrity == "ok",
        "{} fails SQLite's integrity check: {integrity}",
        path.display()
    );
    let articles: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM articles")
        .fetch_one(&mut conn)
        .await
        .map_err(|_| anyhow::anyhow!("{} is not a Gazette database (no articles table)", path.display()))?;
    let sections: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sections")
        .fetch_one(&mut conn)
        .await?;
    conn.close().await?;
    Ok(FileReport { articles, sections })
}

/// Replaces the database at `database` with the checked copy at `source`.
/// The server must be stopped (the caller holds the database lock). The
/// replaced file is kept beside it, with its WAL folded in.
pub async fn restore(database: &Path, source: &Path) -> anyhow::Result<FileReport> {
    let report = verify(source).await?;
    let staged = database.with_extension("db.restoring");
    std::fs::copy(source, &staged)?;
    std::fs::File::open(&staged)?.sync_all()?;
    if database.exists() {
        let mut conn = open(database, false).await?;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        let kept = database.with_extension(format!(
            "db.before-restore-{}",
            chrono::Utc::now().format("%Y%m%dT%H%M%S")
        ));
        std::fs::rename(database, &kept)?;
        tracing::info!(kept = %kept.display(), "kept the replaced database");
    }
    for suffix in ["db-wal", "db-shm"] {
        let _ = std::fs::remove_file(database.with_extension(suffix));
    }
    std::fs::rename(&staged, database)?;
    // The restored file is a plain rollback-journal copy; switch it back to
    // WAL now so the first start needs no exclusive access.
    let mut conn = open(database, false).await?;
    sqlx::query("PRAGMA journal_mode = WAL").execute(&mut conn).await?;
    conn.close().await?;
    Ok(report)
}
