//! All SQL lives here: one module per table or concern.
//!
//! SQLite settings, and why:
//! - WAL: readers never block the writer and the writer never blocks
//!   readers, which is what a news site under ingest needs.
//! - `synchronous = FULL`: every commit is fsynced before the API answers,
//!   so an acknowledged article survives a process crash *and* a power
//!   loss (NORMAL would survive only the first). Batches amortise the cost.
//! - One writer connection: all writes queue on it in order, so concurrent
//!   ingests wait their turn instead of failing with "database is locked";
//!   the busy timeout covers the rare checkpoint overlap with readers. Every
//!   write is a transaction of [`Writer`], which acknowledges nothing that
//!   SQLite did not report committed (see writer.rs for why).
//! - Foreign keys on, so a section can never lose an article it holds.

pub mod app_passwords;
pub mod articles;
pub mod backup;
pub mod feeds;
pub mod health;
pub mod postgres;
pub mod reading;
pub mod search;
pub mod sections;
pub mod site;
pub mod streams;
pub mod tokens;
pub mod users;
pub mod writer;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

pub use writer::Writer;

/// Readers are cheap in WAL mode; a few cover two cores with room for
/// requests that wait on the network.
const READ_CONNECTIONS: u32 = 4;
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The database: a pool of read-only connections and the single write path.
#[derive(Clone)]
pub struct Db {
    pub reader: SqlitePool,
    pub writer: Writer,
    /// Bumped after every committed change to what the site shows, so
    /// caches of rendered pages know they are stale.
    generation: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// The section list every page shows, read once per change.
    sections: std::sync::Arc<sections::ListCache>,
    /// Bumped after every change to accounts or sessions made here.
    accounts_generation: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Sessions as recently read (see `users::SessionCache`).
    pub sessions: std::sync::Arc<users::SessionCache>,
}

impl Db {
    /// Opens (creating it and its folder if missing) and migrates the
    /// database at `path`.
    pub async fn open(path: &Path) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|err| anyhow::anyhow!("cannot create database folder {}: {err}", dir.display()))?;
        }
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(path)
            .create_if_missing(true)
            // Takes effect when the file is created. Articles are a couple
            // of kilobytes: 8 KiB pages hold several, where 4 KiB pages
            // would hold one and leave the rest of the page empty.
            .page_size(8192)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .pragma("temp_store", "memory");

        let writer = Writer::open(options.clone())
            .await
            .map_err(|err| anyhow::anyhow!("cannot open database {}: {err}", path.display()))?;
        sqlx::migrate!("./migrations").run(writer.pool()).await?;

        let reader = SqlitePoolOptions::new()
            .max_connections(READ_CONNECTIONS)
            // A local file needs no liveness check: it saves a round trip
            // to the connection's thread on every query.
            .test_before_acquire(false)
            .connect_with(options.read_only(true))
            .await?;
        Ok(Db {
            reader,
            writer,
            generation: Default::default(),
            sections: Default::default(),
            accounts_generation: Default::default(),
            sessions: Default::default(),
        })
    }

    /// Records that articles changed; called by the write path after commit.
    pub fn changed(&self) {
        self.generation.fetch_add(1, std::sync::atomic::Ordering::Release);
    }

    /// The current change count: equal values mean nothing was written.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Records that an account or a session changed: cached sessions are
    /// read again.
    pub fn accounts_changed(&self) {
        self.accounts_generation
            .fetch_add(1, std::sync::atomic::Ordering::Release);
    }

    pub fn accounts_generation(&self) -> u64 {
        self.accounts_generation.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Whether the database answers a query: the readiness probe.
    pub async fn ping(&self) -> sqlx::Result<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await.map(|_| ())
    }

    /// Checkpoints the WAL into the main file and closes every connection.
    /// Says whether the checkpoint succeeded: when it did not, the WAL file
    /// stays beside the database holding the latest commits, and SQLite
    /// replays it at the next start, so nothing committed is lost.
    pub async fn close(&self) -> Checkpoint {
        let outcome = match self.writer.execute_alone("PRAGMA wal_checkpoint(TRUNCATE)").await {
            Ok(()) => Checkpoint::Done,
            Err(err) => {
                tracing::warn!(
                    %err,
                    "WAL checkpoint on close failed: the WAL file is kept beside the database and holds \
                     every committed write; it is replayed at the next start (this is safe)"
                );
                Checkpoint::WalKept
            }
        };
        self.reader.close().await;
        self.writer.close().await;
        outcome
    }
}

/// How closing the database went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checkpoint {
    /// Every commit is in the main file; the WAL is empty.
    Done,
    /// The final checkpoint failed; the WAL keeps the latest commits.
    WalKept,
}

/// The current time as stored: unix seconds.
pub fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The current minute since the epoch: what is rendered with relative
/// times ("5 mins ago") stays right within it, so caches keep to it.
pub fn current_minute() -> i64 {
    now_unix().div_euclid(60)
}
