//! The one connection that writes, and the rule that keeps its state
//! certain: every write is a transaction that either returns after a
//! COMMIT that SQLite reported done, or leaves nothing behind.
//!
//! Why this is not sqlx's `Transaction`: after SQLITE_FULL or SQLITE_IOERR
//! SQLite may roll a transaction back on its own. sqlx's ROLLBACK on drop
//! then fails ("no transaction is active"), its count of open transactions
//! stays at one, the next `begin()` becomes a SAVEPOINT and its `commit()`
//! a RELEASE inside a transaction nobody commits: every later write was
//! acknowledged and lost (issue 17). Here BEGIN, COMMIT and ROLLBACK are
//! plain statements the writer issues itself, and a transaction that does
//! not end in a successful COMMIT or ROLLBACK closes its connection, which
//! makes SQLite discard whatever was open; the pool opens a fresh one.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{Sqlite, SqliteConnection, SqlitePool};

use crate::store::WriteError;
use crate::store::health::WriteHealth;

/// How long a write waits for the writer before giving up.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// The size of the probe's row: a few pages, about what an article takes.
const PROBE_BYTES: i64 = 32 * 1024;

/// The single write connection.
#[derive(Clone)]
pub struct Writer {
    pool: SqlitePool,
    health: Arc<WriteHealth>,
    /// The database's size limit in bytes (0: none), applied to every
    /// connection the writer opens.
    max_bytes: Arc<AtomicU64>,
}

impl Writer {
    pub async fn open(options: SqliteConnectOptions) -> sqlx::Result<Self> {
        let max_bytes = Arc::new(AtomicU64::new(0));
        let limit = Arc::clone(&max_bytes);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_connect(move |conn, _| {
                let limit = limit.load(Ordering::Acquire);
                Box::pin(async move { apply_size_limit(conn, limit).await })
            })
            .connect_with(options)
            .await?;
        Ok(Writer {
            pool,
            health: Arc::new(WriteHealth::default()),
            max_bytes,
        })
    }

    /// Runs `work` inside `BEGIN IMMEDIATE … COMMIT` and returns its value
    /// only when the COMMIT succeeded. On any failure the transaction is
    /// rolled back; after a storage fault (a full disk, an I/O or fsync
    /// error, corruption) the connection is closed and reopened as well,
    /// since SQLite's state after such an error is not to be trusted.
    pub async fn transaction<R, E: WriteError>(
        &self,
        work: impl AsyncFnOnce(&mut SqliteConnection) -> Result<R, E>,
    ) -> Result<R, E> {
        let mut conn = Held::new(self.pool.acquire().await?);
        if let Err(err) = sqlx::raw_sql("BEGIN IMMEDIATE").execute(conn.as_mut()).await {
            return Err(self.abandon(conn, err.into()).await);
        }
        let value = match work(conn.as_mut()).await {
            Ok(value) => value,
            Err(err) => return Err(self.abandon(conn, err).await),
        };
        if let Err(err) = sqlx::raw_sql("COMMIT").execute(conn.as_mut()).await {
            return Err(self.abandon(conn, err.into()).await);
        }
        conn.keep();
        Ok(value)
    }

    /// Ends a failed transaction so that nothing of it can be committed
    /// later, and records a storage fault.
    async fn abandon<E: WriteError>(&self, mut conn: Held, err: E) -> E {
        // SQLite may have rolled back already (then this fails, harmlessly).
        let rolled_back = sqlx::raw_sql("ROLLBACK").execute(conn.as_mut()).await.is_ok();
        match err.fault() {
            // Closed on drop: the next write gets a fresh connection.
            Some(fault) => self.health.failed(fault, &err),
            // Rolled back by our own ROLLBACK: the connection is as good
            // as new. Had that failed, closing it is the only certainty.
            None if rolled_back => conn.keep(),
            None => {}
        }
        err
    }

    /// Whether writes are failing now, and why.
    pub fn health(&self) -> &WriteHealth {
        &self.health
    }

    /// A small write that needs fresh pages, committed and undone: while
    /// writes are failing, it tells when they work again without waiting
    /// for a client to try.
    pub async fn probe(&self) -> sqlx::Result<()> {
        self.transaction(async |conn| {
            // Unchecked (sqlx::query, not query!): the writer is compiled in
            // both passes of .ci/prepare-sqlx, and this table is SQLite's own.
            sqlx::query("INSERT INTO write_probe (filler) VALUES (zeroblob(?))")
                .bind(PROBE_BYTES)
                .execute(&mut *conn)
                .await?;
            sqlx::query("DELETE FROM write_probe").execute(&mut *conn).await?;
            Ok::<_, sqlx::Error>(())
        })
        .await?;
        self.health.succeeded();
        Ok(())
    }

    /// Limits the database to `max_bytes` (None: no limit beyond SQLite's
    /// own), now and for every connection the writer opens later. SQLite
    /// refuses writes past it with SQLITE_FULL, as on a full disk, so an
    /// operator can keep Gazette from filling a disk it shares.
    pub async fn set_max_size(&self, max_bytes: Option<u64>) -> sqlx::Result<()> {
        let limit = max_bytes.unwrap_or(0);
        self.max_bytes.store(limit, Ordering::Release);
        let mut conn = self.pool.acquire().await?;
        apply_size_limit(&mut conn, limit).await
    }

    /// Runs `sql` outside any transaction (a checkpoint, which cannot run
    /// inside one).
    pub async fn execute_alone(&self, sql: &'static str) -> sqlx::Result<()> {
        sqlx::raw_sql(sql).execute(&self.pool).await.map(|_| ())
    }

    /// The pool itself, for migrations at start-up and pool metrics.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// `PRAGMA max_page_count` for a limit in bytes (0: SQLite's maximum).
async fn apply_size_limit(conn: &mut SqliteConnection, max_bytes: u64) -> sqlx::Result<()> {
    let pages: i64 = if max_bytes == 0 {
        // SQLite's own ceiling: 4294967294 pages.
        i64::from(u32::MAX - 1)
    } else {
        let page_size: i64 = sqlx::query_scalar("PRAGMA page_size").fetch_one(&mut *conn).await?;
        (max_bytes as i64 / page_size.max(512)).max(1)
    };
    // A pragma takes no bound parameters; the value is a number we made.
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("PRAGMA max_page_count = {pages}")))
        .execute(conn)
        .await
        .map(|_| ())
}

/// The writer connection while a transaction is open: closed when dropped
/// unless [`Held::keep`] says its state is known to be clean. A request
/// cancelled mid-transaction thus rolls back by closing, and never leaves
/// a transaction open for the next write to commit by accident.
struct Held {
    conn: PoolConnection<Sqlite>,
    clean: bool,
}

impl Held {
    fn new(conn: PoolConnection<Sqlite>) -> Self {
        Held { conn, clean: false }
    }

    fn as_mut(&mut self) -> &mut SqliteConnection {
        &mut self.conn
    }

    /// Returns the connection to the pool for reuse.
    fn keep(mut self) {
        self.clean = true;
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if !self.clean {
            self.conn.close_on_drop();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sqlx::SqlitePool;

    use crate::store::{Db, Reader, Tx};

    fn pool(db: &Db) -> &SqlitePool {
        match &db.reader {
            Reader::Sqlite(pool) => pool,
            Reader::Postgres(_) => unreachable!("opened as SQLite"),
        }
    }

    async fn probe_rows(db: &Db) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM write_probe")
            .fetch_one(pool(db))
            .await
            .unwrap()
    }

    async fn insert_probe_row(tx: &mut Tx<'_>, id: i64) -> sqlx::Result<()> {
        let Tx::Sqlite(conn) = tx else {
            unreachable!("opened as SQLite")
        };
        sqlx::query("INSERT INTO write_probe (id, filler) VALUES (?, x'00')")
            .bind(id)
            .execute(&mut **conn)
            .await
            .map(|_| ())
    }

    #[tokio::test]
    async fn a_cancelled_transaction_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("w.db")).await.unwrap();
        let cancelled = tokio::time::timeout(
            Duration::from_millis(100),
            db.writer.transaction(async |conn| {
                insert_probe_row(conn, 1).await?;
                std::future::pending::<()>().await;
                Ok::<_, sqlx::Error>(())
            }),
        )
        .await;
        assert!(cancelled.is_err(), "the transaction was cancelled");
        // Were the cancelled transaction still open on the connection, this
        // commit would commit row 1 along with row 2.
        db.writer
            .transaction(async |conn| insert_probe_row(conn, 2).await)
            .await
            .unwrap();
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM write_probe")
            .fetch_all(pool(&db))
            .await
            .unwrap();
        assert_eq!(ids, [2]);
    }

    #[tokio::test]
    async fn a_failed_statement_rolls_back_the_whole_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("w.db")).await.unwrap();
        let failed = db
            .writer
            .transaction(async |conn| {
                insert_probe_row(conn, 1).await?;
                insert_probe_row(conn, 1).await
            })
            .await;
        assert!(failed.is_err(), "a duplicate key fails");
        assert_eq!(probe_rows(&db).await, 0, "the first insert was rolled back too");
        db.writer
            .transaction(async |conn| insert_probe_row(conn, 3).await)
            .await
            .unwrap();
        assert_eq!(probe_rows(&db).await, 1);
    }
}
