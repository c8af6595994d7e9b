//! The write path, whichever database holds the data: every write is one
//! transaction, and its value comes back only after the database reported
//! the COMMIT done. How each backend keeps that promise is in its own
//! module (`sqlite::writer`, `postgres::writer`).

use super::health::{Fault, WriteHealth};
use super::{Tx, postgres, sqlite};

/// An error a write transaction can end with: it may come from the
/// database, and it says whether the storage itself failed.
pub trait WriteError: From<sqlx::Error> + std::fmt::Display {
    /// The storage fault behind this error, if that is what it is.
    fn fault(&self) -> Option<Fault>;
}

impl WriteError for sqlx::Error {
    fn fault(&self) -> Option<Fault> {
        Fault::of(self)
    }
}

/// Where writes go.
#[derive(Clone)]
pub enum Writer {
    Sqlite(sqlite::Writer),
    Postgres(postgres::Writer),
}

impl Writer {
    /// Runs `work` in one transaction and returns its value only when the
    /// COMMIT succeeded; on any failure nothing of it is kept.
    pub async fn transaction<R, E: WriteError>(
        &self,
        work: impl AsyncFnOnce(&mut Tx<'_>) -> Result<R, E>,
    ) -> Result<R, E> {
        match self {
            Writer::Sqlite(writer) => writer.transaction(async |conn| work(&mut Tx::Sqlite(conn)).await).await,
            Writer::Postgres(writer) => {
                writer
                    .transaction(async |conn| work(&mut Tx::Postgres(conn)).await)
                    .await
            }
        }
    }

    /// Whether writes are failing now, and why.
    pub fn health(&self) -> &WriteHealth {
        match self {
            Writer::Sqlite(writer) => writer.health(),
            Writer::Postgres(writer) => writer.health(),
        }
    }

    /// A small write, committed and undone: while writes are failing, it
    /// tells when they work again without waiting for a client to try.
    pub async fn probe(&self) -> sqlx::Result<()> {
        match self {
            Writer::Sqlite(writer) => writer.probe().await,
            Writer::Postgres(writer) => writer.probe().await,
        }
    }

    /// Limits the database's size (see `sqlite::Writer::set_max_size`).
    /// PostgreSQL's size is its administrator's to limit: a limit given
    /// for it is refused rather than ignored.
    pub async fn set_max_size(&self, max_bytes: Option<u64>) -> anyhow::Result<()> {
        match (self, max_bytes) {
            (Writer::Sqlite(writer), _) => Ok(writer.set_max_size(max_bytes).await?),
            (Writer::Postgres(_), None) => Ok(()),
            (Writer::Postgres(_), Some(_)) => Err(anyhow::anyhow!(
                "GAZETTE_MAX_DATABASE_SIZE applies to a SQLite database only: on PostgreSQL, limit the \
                 database's size with PostgreSQL's own means (a tablespace on a volume of that size)"
            )),
        }
    }

    /// Connection pool figures for /metrics: (size, idle).
    pub fn pool_figures(&self) -> (u32, usize) {
        match self {
            Writer::Sqlite(writer) => (writer.pool().size(), writer.pool().num_idle()),
            Writer::Postgres(writer) => (writer.pool().size(), writer.pool().num_idle()),
        }
    }

    pub async fn close(&self) {
        match self {
            Writer::Sqlite(writer) => writer.close().await,
            Writer::Postgres(writer) => writer.close().await,
        }
    }
}
