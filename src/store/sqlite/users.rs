//! The users and sessions tables.

use crate::store::users::{SessionRow, UserRow};

use sqlx::{SqliteConnection, SqlitePool};

pub async fn insert(
    conn: &mut SqliteConnection,
    name: &str,
    password_hash: &str,
    role: &str,
    now: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"INSERT INTO users (name, password_hash, role, created_at) VALUES (?, ?, ?, ?)
           RETURNING id AS "id!: i64""#,
        name,
        password_hash,
        role,
        now
    )
    .fetch_one(conn)
    .await
}

pub async fn by_name(db: &SqlitePool, name: &str) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as!(
        UserRow,
        r#"SELECT id AS "id!", name, password_hash, role, created_at FROM users WHERE name = ?"#,
        name
    )
    .fetch_optional(db)
    .await
}

pub async fn list(db: &SqlitePool) -> sqlx::Result<Vec<UserRow>> {
    sqlx::query_as!(
        UserRow,
        r#"SELECT id AS "id!", name, password_hash, role, created_at FROM users ORDER BY name"#
    )
    .fetch_all(db)
    .await
}

pub async fn count(db: &SqlitePool) -> sqlx::Result<i64> {
    sqlx::query_scalar!(r#"SELECT COUNT(*) AS "n!: i64" FROM users"#)
        .fetch_one(db)
        .await
}

pub async fn set_password(conn: &mut SqliteConnection, id: i64, password_hash: &str) -> sqlx::Result<bool> {
    let changed = sqlx::query!("UPDATE users SET password_hash = ? WHERE id = ?", password_hash, id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    sqlx::query!("DELETE FROM sessions WHERE user_id = ?", id)
        .execute(&mut *conn)
        .await?;
    Ok(changed == 1)
}

pub async fn delete(conn: &mut SqliteConnection, id: i64) -> sqlx::Result<bool> {
    let removed = sqlx::query!("DELETE FROM users WHERE id = ?", id)
        .execute(conn)
        .await?
        .rows_affected();
    Ok(removed == 1)
}

pub async fn insert_session(
    conn: &mut SqliteConnection,
    id_hash: &str,
    user_id: i64,
    csrf_token: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?)",
        id_hash,
        user_id,
        csrf_token,
        now,
        now
    )
    .execute(conn)
    .await
    .map(|_| ())
}

pub async fn session(db: &SqlitePool, id_hash: &str) -> sqlx::Result<Option<SessionRow>> {
    sqlx::query_as!(
        SessionRow,
        r#"SELECT s.user_id AS "user_id!", u.name, u.role, s.csrf_token, s.created_at, s.last_seen_at,
                  u.state_version
           FROM sessions s JOIN users u ON u.id = s.user_id
           WHERE s.id_hash = ?"#,
        id_hash
    )
    .fetch_optional(db)
    .await
}

pub async fn touch_session(conn: &mut SqliteConnection, id_hash: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query!("UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?", now, id_hash)
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn delete_session(conn: &mut SqliteConnection, id_hash: &str) -> sqlx::Result<()> {
    sqlx::query!("DELETE FROM sessions WHERE id_hash = ?", id_hash)
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn delete_sessions_of(conn: &mut SqliteConnection, user_id: i64) -> sqlx::Result<()> {
    sqlx::query!("DELETE FROM sessions WHERE user_id = ?", user_id)
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn set_role(conn: &mut SqliteConnection, id: i64, role: &str) -> sqlx::Result<bool> {
    let changed = sqlx::query!("UPDATE users SET role = ? WHERE id = ?", role, id)
        .execute(conn)
        .await?
        .rows_affected();
    Ok(changed == 1)
}

pub async fn admin_count(conn: &mut SqliteConnection) -> sqlx::Result<i64> {
    sqlx::query_scalar!(r#"SELECT COUNT(*) AS "n!: i64" FROM users WHERE role = 'admin'"#)
        .fetch_one(conn)
        .await
}
