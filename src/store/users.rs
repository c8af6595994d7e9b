//! The users and sessions tables.

use super::{Reader, Tx};

/// A user as stored; `password_hash` is a PHC string.
#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: i64,
    pub name: String,
    pub password_hash: String,
    pub role: String,
    pub created_at: i64,
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

operations! {
    users;
    pub async fn insert(conn: &mut Tx<'_>, name: &str, password_hash: &str, role: &str, now: i64) -> sqlx::Result<i64>;

    pub async fn by_name(db: &Reader, name: &str) -> sqlx::Result<Option<UserRow>>;

    pub async fn list(db: &Reader) -> sqlx::Result<Vec<UserRow>>;

    pub async fn count(db: &Reader) -> sqlx::Result<i64>;

    /// Sets a new password hash and ends every session of the user: a changed
    /// password signs out every browser that knew the old one.
    pub async fn set_password(conn: &mut Tx<'_>, id: i64, password_hash: &str) -> sqlx::Result<bool>;

    /// Removes a user; their sessions go with them (ON DELETE CASCADE).
    pub async fn delete(conn: &mut Tx<'_>, id: i64) -> sqlx::Result<bool>;

    pub async fn insert_session(conn: &mut Tx<'_>, id_hash: &str, user_id: i64, csrf_token: &str, now: i64) -> sqlx::Result<()>;

    pub async fn session(db: &Reader, id_hash: &str) -> sqlx::Result<Option<SessionRow>>;

    pub async fn touch_session(conn: &mut Tx<'_>, id_hash: &str, now: i64) -> sqlx::Result<()>;

    pub async fn delete_session(conn: &mut Tx<'_>, id_hash: &str) -> sqlx::Result<()>;

    pub async fn delete_sessions_of(conn: &mut Tx<'_>, user_id: i64) -> sqlx::Result<()>;

    pub async fn set_role(conn: &mut Tx<'_>, id: i64, role: &str) -> sqlx::Result<bool>;

    /// How many admins there are, inside a write: the last one may not go.
    pub async fn admin_count(conn: &mut Tx<'_>) -> sqlx::Result<i64>;
}
