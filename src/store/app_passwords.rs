//! App passwords (migration 0009): what reader apps sign in with, found by
//! the digest of whichever form an app presents.

use super::{Reader, Tx};

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

operations! {
    app_passwords;
    pub async fn insert(conn: &mut Tx<'_>, user_id: i64, name: &str, digests: &Digests<'_>, now: i64) -> sqlx::Result<()>;

    pub async fn list(db: &Reader, user_id: i64) -> sqlx::Result<Vec<AppPasswordRow>>;

    pub async fn delete(conn: &mut Tx<'_>, user_id: i64, id: i64) -> sqlx::Result<bool>;

    pub async fn owner(db: &Reader, by: Presented, digest: &str) -> sqlx::Result<Option<Owner>>;

    pub async fn touch(conn: &mut Tx<'_>, id: i64, now: i64) -> sqlx::Result<()>;
}
