//! Writes on PostgreSQL: a transaction per write from a pool of
//! connections. PostgreSQL reports a COMMIT done only once it is durable
//! (`synchronous_commit` on, its default), and a failed transaction is
//! rolled back whole, so sqlx's own transactions keep the promise here.

use std::sync::Arc;

use sqlx::{PgConnection, PgPool};

use crate::store::WriteError;
use crate::store::health::WriteHealth;

#[derive(Clone)]
pub struct Writer {
    pool: PgPool,
    health: Arc<WriteHealth>,
}

impl Writer {
    pub fn new(pool: PgPool) -> Self {
        Writer {
            pool,
            health: Arc::new(WriteHealth::default()),
        }
    }

    /// Runs `work` between BEGIN and COMMIT; its value comes back only
    /// after the COMMIT succeeded. On failure the transaction is rolled
    /// back (by sqlx when it is dropped, should the ROLLBACK not get through).
    pub async fn transaction<R, E: WriteError>(
        &self,
        work: impl AsyncFnOnce(&mut PgConnection) -> Result<R, E>,
    ) -> Result<R, E> {
        let outcome = async {
            let mut tx = self.pool.begin().await?;
            let value = match work(&mut tx).await {
                Ok(value) => value,
                Err(err) => {
                    let _ = tx.rollback().await;
                    return Err(err);
                }
            };
            tx.commit().await?;
            Ok(value)
        }
        .await;
        if let Err(err) = &outcome
            && let Some(fault) = err.fault()
        {
            self.health.failed(fault, err);
        }
        outcome
    }

    pub fn health(&self) -> &WriteHealth {
        &self.health
    }

    /// A committed transaction that writes: PostgreSQL's WAL needs space
    /// for it, so it fails while the database's disk is full.
    pub async fn probe(&self) -> sqlx::Result<()> {
        self.transaction(async |conn| {
            sqlx::query("INSERT INTO write_probe (filler) VALUES (decode(repeat('00', 32768), 'hex'))")
                .execute(&mut *conn)
                .await?;
            sqlx::query("DELETE FROM write_probe").execute(&mut *conn).await?;
            Ok::<_, sqlx::Error>(())
        })
        .await?;
        self.health.succeeded();
        Ok(())
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}
