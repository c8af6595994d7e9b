//! App passwords (migration 0009): what reader apps sign in with, found by
//! the digest of whichever form an app presents.

use crate::store::app_passwords::{AppPasswordRow, Digests, Owner, Presented};

use sqlx::{SqliteConnection, SqlitePool};

pub async fn insert(
    conn: &mut SqliteConnection,
    user_id: i64,
    name: &str,
    digests: &Digests<'_>,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO app_passwords (user_id, name, password_hash, auth_hash, fever_hash, created_at)
         VALUES (?, ?, ?, ?, ?, ?)",
        user_id,
        name,
        digests.password,
        digests.auth,
        digests.fever,
        now
    )
    .execute(conn)
    .await
    .map(|_| ())
}

pub async fn list(db: &SqlitePool, user_id: i64) -> sqlx::Result<Vec<AppPasswordRow>> {
    sqlx::query_as!(
        AppPasswordRow,
        r#"SELECT id AS "id!", name, created_at, last_used_at FROM app_passwords WHERE user_id = ? ORDER BY id"#,
        user_id
    )
    .fetch_all(db)
    .await
}

pub async fn delete(conn: &mut SqliteConnection, user_id: i64, id: i64) -> sqlx::Result<bool> {
    let done = sqlx::query!("DELETE FROM app_passwords WHERE id = ? AND user_id = ?", id, user_id)
        .execute(conn)
        .await?
        .rows_affected();
    Ok(done == 1)
}

pub async fn owner(db: &SqlitePool, by: Presented, digest: &str) -> sqlx::Result<Option<Owner>> {
    // One statement per column, so each is checked and uses its index.
    match by {
        Presented::Password => {
            sqlx::query_as!(
                Owner,
                r#"SELECT p.id AS "app_id!", p.last_used_at, u.id AS "user_id!", u.name, u.role, u.state_version
                   FROM app_passwords p JOIN users u ON u.id = p.user_id WHERE p.password_hash = ?"#,
                digest
            )
            .fetch_optional(db)
            .await
        }
        Presented::AuthToken => {
            sqlx::query_as!(
                Owner,
                r#"SELECT p.id AS "app_id!", p.last_used_at, u.id AS "user_id!", u.name, u.role, u.state_version
                   FROM app_passwords p JOIN users u ON u.id = p.user_id WHERE p.auth_hash = ?"#,
                digest
            )
            .fetch_optional(db)
            .await
        }
        Presented::FeverKey => {
            sqlx::query_as!(
                Owner,
                r#"SELECT p.id AS "app_id!", p.last_used_at, u.id AS "user_id!", u.name, u.role, u.state_version
                   FROM app_passwords p JOIN users u ON u.id = p.user_id WHERE p.fever_hash = ?"#,
                digest
            )
            .fetch_optional(db)
            .await
        }
    }
}

pub async fn touch(conn: &mut SqliteConnection, id: i64, now: i64) -> sqlx::Result<()> {
    sqlx::query!("UPDATE app_passwords SET last_used_at = ? WHERE id = ?", now, id)
        .execute(conn)
        .await
        .map(|_| ())
}
