//! The pages of articles to fetch for their full story: a queue of one row
//! per article, and what its last attempt found (`full_content`).

use super::{Reader, Tx};

/// A page to fetch.
#[derive(Debug, Clone)]
pub struct PageJob {
    pub article_id: i64,
    pub url: String,
    pub feed_id: Option<i64>,
    /// Attempts made before this one.
    pub attempts: i64,
    /// The feed's entry had no title: take the page's.
    pub fill_title: bool,
    /// The feed's entry had no date: take the page's.
    pub fill_date: bool,
}

/// A page asked for, and what its feed's entry lacked.
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub article_id: i64,
    pub url: String,
    pub fill_title: bool,
    pub fill_date: bool,
}

/// Where an article's page fetch stands, as the API shows it.
#[derive(Debug, Clone)]
pub struct PageFetch {
    pub article_id: i64,
    /// "pending", "done" or "failed".
    pub state: String,
    pub reason: Option<String>,
    pub attempts: i64,
    pub next_attempt_at: Option<i64>,
    pub fetched_at: Option<i64>,
}

/// The outcome of one attempt, written back in one statement.
pub struct Attempt<'a> {
    pub article_id: i64,
    pub now: i64,
    /// "done" or "failed".
    pub state: &'a str,
    pub reason: Option<&'a str>,
    /// When to try again; `None` when nothing more is tried.
    pub next_attempt_at: Option<i64>,
}

operations! {
    page_fetches;
    /// Asks for an article's page to be fetched now, from a first attempt:
    /// a new article of a full-content feed, one its feed changed, or an
    /// admin's request. A claim in progress is kept, so the page is never
    /// fetched twice at once.
    pub async fn request(conn: &mut Tx<'_>, page: &PageRequest, feed_id: Option<i64>, now: i64) -> sqlx::Result<()>;

    /// Pages due for an attempt and not claimed by an instance, soonest
    /// first.
    pub async fn due(db: &Reader, now: i64, limit: i64) -> sqlx::Result<Vec<PageJob>>;

    /// Claims a due page for this instance for `lease` seconds: `None` when
    /// another instance claimed it first, or it is no longer due.
    pub async fn claim(conn: &mut Tx<'_>, article_id: i64, now: i64, lease: i64) -> sqlx::Result<Option<PageJob>>;

    /// Records an attempt and releases the claim.
    pub async fn record(conn: &mut Tx<'_>, attempt: &Attempt<'_>) -> sqlx::Result<()>;

    pub async fn get(db: &Reader, article_id: i64) -> sqlx::Result<Option<PageFetch>>;

    /// When the next attempt is due, if any.
    pub async fn next_due_at(db: &Reader) -> sqlx::Result<Option<i64>>;
}
