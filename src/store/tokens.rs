//! Ingest tokens, stored only as SHA-256 digests.

use super::{Reader, Tx};

/// A stored token as listed to its owner: never the token itself.
#[derive(Debug, Clone)]
pub struct TokenInfo {
    pub name: String,
    pub created_at: i64,
}

operations! {
    tokens;
    pub async fn insert(conn: &mut Tx<'_>, name: &str, token_hash: &str, now: i64) -> sqlx::Result<()>;

    /// Whether a token with this digest exists. Looking up by digest means the
    /// comparison never runs over the secret itself.
    pub async fn exists(db: &Reader, token_hash: &str) -> sqlx::Result<bool>;

    pub async fn count(db: &Reader) -> sqlx::Result<i64>;

    pub async fn list(db: &Reader) -> sqlx::Result<Vec<TokenInfo>>;

    /// Removes the named token; false when there was none.
    pub async fn revoke(conn: &mut Tx<'_>, name: &str) -> sqlx::Result<bool>;
}
