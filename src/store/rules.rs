//! Site rules as stored: each rule's JSON (see `crate::rules::Rule`), and
//! how often and when last it acted.

use super::{Reader, Tx};

#[derive(Debug, Clone)]
pub struct RuleRow {
    pub id: i64,
    pub name: String,
    /// The rule as JSON.
    pub spec: String,
    pub matched: i64,
    pub last_matched_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

operations! {
    rules;
    /// Every rule, in the order they are applied (oldest first).
    pub async fn list(db: &Reader) -> sqlx::Result<Vec<RuleRow>>;

    pub async fn get(db: &Reader, id: i64) -> sqlx::Result<Option<RuleRow>>;

    pub async fn count(conn: &mut Tx<'_>) -> sqlx::Result<i64>;

    /// Stores a new rule and returns its id.
    pub async fn insert(conn: &mut Tx<'_>, name: &str, spec: &str, now: i64) -> sqlx::Result<i64>;

    /// Replaces a rule; false when there is none with this id.
    pub async fn update(conn: &mut Tx<'_>, id: i64, name: &str, spec: &str, now: i64) -> sqlx::Result<bool>;

    /// False when there is none with this id.
    pub async fn delete(conn: &mut Tx<'_>, id: i64) -> sqlx::Result<bool>;

    /// Adds to rules' counts, given as a JSON array of `[id, n]`.
    pub async fn count_matches(conn: &mut Tx<'_>, counts: &str, now: i64) -> sqlx::Result<()>;
}
