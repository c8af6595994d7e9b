//! The users and sessions tables.

use sqlx::{SqliteConnection, SqlitePool};

/// A user as stored; `password_hash` is a PHC string.
#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: i64,
    pub name: String,
    pub password_hash: String,
    pub role: String,
    pub created_at: i64,
}

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

/// Sets a new password hash and ends every session of the user: a changed
/// password signs out every browser that knew the old one.
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

/// Removes a user; their sessions go with them (ON DELETE CASCADE).
pub async fn delete(conn: &mut SqliteConnection, id: i64) -> sqlx::Result<bool> {
    let removed = sqlx::query!("DELETE FROM users WHERE id = ?", id)
        .execute(conn)
        .await?
        .rows_affected();
    Ok(removed == 1)
}

/// A session joined to its user, as every signed-in request needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub user_id: i64,
    pub name: String,
    pub role: String,
    pub csrf_token: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub state_version: i64,
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

/// How many admins there are, inside a write: the last one may not go.
pub async fn admin_count(conn: &mut SqliteConnection) -> sqlx::Result<i64> {
    sqlx::query_scalar!(r#"SELECT COUNT(*) AS "n!: i64" FROM users WHERE role = 'admin'"#)
        .fetch_one(conn)
        .await
}

/// Sessions read in the last second, so a signed-in reader's page costs
/// no query. An entry is used only while no account or session changed in
/// this process since it was read (`Db::accounts_changed`); a change made
/// by another process (the CLI) is seen within `SESSION_CACHE_TTL`.
#[derive(Default)]
pub struct SessionCache {
    entries: std::sync::Mutex<std::collections::HashMap<String, CachedSession>>,
}

struct CachedSession {
    row: Option<SessionRow>,
    generation: u64,
    read_at: std::time::Instant,
}

pub const SESSION_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(1);
/// Past this many entries, the map starts over.
const SESSION_CACHE_MAX: usize = 10_000;

impl SessionCache {
    /// The session (or its absence) as last read, if still good to use.
    pub fn get(&self, id_hash: &str, generation: u64) -> Option<Option<SessionRow>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let entry = entries.get(id_hash)?;
        (entry.generation == generation && entry.read_at.elapsed() < SESSION_CACHE_TTL).then(|| entry.row.clone())
    }

    pub fn put(&self, id_hash: &str, generation: u64, row: Option<SessionRow>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= SESSION_CACHE_MAX {
            entries.clear();
        }
        let read_at = std::time::Instant::now();
        entries.insert(
            id_hash.to_owned(),
            CachedSession {
                row,
                generation,
                read_at,
            },
        );
    }
}
