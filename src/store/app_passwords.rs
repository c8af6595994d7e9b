//! App passwords (migration 0009): what reader apps sign in with, found by
//! the digest of whichever form an app presents.

use sqlx::{SqliteConnection, SqlitePool};

/// An app password as listed to its owner.
pub struct AppPasswordRow {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// The digests stored for one app password.
pub struct Digests<'a> {
    pub password: &'a str,
    pub auth: &'a str,
    pub fever: &'a str,
}

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

/// Whose an app password is, found by one of its digests.
pub struct Owner {
    pub app_id: i64,
    pub last_used_at: Option<i64>,
    pub user_id: i64,
    pub name: String,
    pub role: String,
    pub state_version: i64,
}

/// Which of the stored digests a presented credential is looked up by.
#[derive(Debug, Clone, Copy)]
pub enum Presented {
    Password,
    AuthToken,
    FeverKey,
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
