//! Ingest tokens, stored only as SHA-256 digests.

use crate::store::tokens::TokenInfo;

use sqlx::{PgConnection, PgPool};

pub async fn insert(conn: &mut PgConnection, name: &str, token_hash: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO tokens (name, token_hash, created_at) VALUES ($1, $2, $3)",
        name,
        token_hash,
        now
    )
    .execute(conn)
    .await
    .map(|_| ())
}

pub async fn exists(db: &PgPool, token_hash: &str) -> sqlx::Result<bool> {
    let found = sqlx::query_scalar!(
        r#"SELECT 1::bigint AS "one!: i64" FROM tokens WHERE token_hash = $1"#,
        token_hash
    )
    .fetch_optional(db)
    .await?;
    Ok(found.is_some())
}

pub async fn count(db: &PgPool) -> sqlx::Result<i64> {
    sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM tokens"#)
        .fetch_one(db)
        .await
}

pub async fn list(db: &PgPool) -> sqlx::Result<Vec<TokenInfo>> {
    let rows = sqlx::query!(r#"SELECT name, created_at FROM tokens ORDER BY name COLLATE "C""#)
        .fetch_all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| TokenInfo {
            name: r.name,
            created_at: r.created_at,
        })
        .collect())
}

pub async fn revoke(conn: &mut PgConnection, name: &str) -> sqlx::Result<bool> {
    let done = sqlx::query!("DELETE FROM tokens WHERE name = $1", name)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}
