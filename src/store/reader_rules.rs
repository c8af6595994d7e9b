//! Reader rules as stored: each reader's rules as JSON (see
//! `crate::rules::Rule`), how often and when last each acted, and the
//! marks they leave on articles (`article_states.muted_by`).

use super::rules::RuleRow;
use super::{Reader, Tx};

/// An article as reader rules read it: what a listing shows of it.
#[derive(Debug, Clone)]
pub struct Subject {
    pub id: i64,
    pub section_id: i64,
    pub section_slug: String,
    pub title: String,
    pub summary: Option<String>,
    pub author: Option<String>,
    pub source: Option<String>,
    pub url: Option<String>,
    /// The tags as stored: a JSON array of strings.
    pub tags: String,
    pub external_id: Option<String>,
}

/// One reader's rule, as every reader's are gathered for new articles.
#[derive(Debug, Clone)]
pub struct OwnedRule {
    pub id: i64,
    pub user_id: i64,
    pub spec: String,
}

operations! {
    reader_rules;
    /// A reader's rules, oldest first.
    pub async fn list(db: &Reader, user_id: i64) -> sqlx::Result<Vec<RuleRow>>;

    /// Every reader's rules, by reader and then oldest first.
    pub async fn everyone(db: &Reader) -> sqlx::Result<Vec<OwnedRule>>;

    pub async fn get(db: &Reader, user_id: i64, id: i64) -> sqlx::Result<Option<RuleRow>>;

    pub async fn count(conn: &mut Tx<'_>, user_id: i64) -> sqlx::Result<i64>;

    /// Stores a new rule of a reader's and returns its id.
    pub async fn insert(conn: &mut Tx<'_>, user_id: i64, name: &str, spec: &str, now: i64) -> sqlx::Result<i64>;

    /// Replaces a reader's rule; false when they have none with this id.
    pub async fn update(conn: &mut Tx<'_>, user_id: i64, id: i64, name: &str, spec: &str, now: i64) -> sqlx::Result<bool>;

    /// False when the reader has none with this id.
    pub async fn delete(conn: &mut Tx<'_>, user_id: i64, id: i64) -> sqlx::Result<bool>;

    /// Takes back every mute a rule left (before it changes or goes).
    pub async fn unmute(conn: &mut Tx<'_>, user_id: i64, rule_id: i64) -> sqlx::Result<()>;

    /// Mutes articles for a reader by a rule; an article muted already keeps
    /// the rule that muted it first.
    pub async fn mute(conn: &mut Tx<'_>, user_id: i64, rule_id: i64, article_ids: &[i64]) -> sqlx::Result<()>;

    /// Adds `n` to a rule's count.
    pub async fn add_matches(conn: &mut Tx<'_>, rule_id: i64, n: i64, now: i64) -> sqlx::Result<()>;

    /// The articles among `ids` (scheduled ones included), as rules read them.
    pub async fn subjects(db: &Reader, ids: &[i64]) -> sqlx::Result<Vec<Subject>>;

    /// The ids of the sections with these slugs.
    pub async fn section_ids(db: &Reader, slugs: &[String]) -> sqlx::Result<Vec<i64>>;
}
