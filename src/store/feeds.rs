//! Feed subscriptions and their polling state.

use super::{Reader, Tx};

/// A subscription as stored, with what an admin needs to see of its health.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Feed {
    pub id: i64,
    pub url: String,
    pub section: String,
    pub title: Option<String>,
    pub interval_secs: i64,
    #[serde(skip)]
    pub etag: Option<String>,
    #[serde(skip)]
    pub last_modified: Option<String>,
    pub created_at: i64,
    pub last_fetch_at: Option<i64>,
    pub last_success_at: Option<i64>,
    pub next_fetch_at: i64,
    pub error_count: i64,
    pub last_error: Option<String>,
    pub articles_ingested: i64,
    /// Entries the site's rules kept out.
    pub entries_filtered: i64,
    /// Whether each new entry's page is fetched for the full story.
    pub full_content: bool,
    /// This feed's own extraction rule, as JSON (see `full_content::rules`).
    #[serde(skip)]
    pub extraction: Option<String>,
}

pub struct NewFeed<'a> {
    pub url: &'a str,
    pub section: &'a str,
    pub title: Option<&'a str>,
    pub interval_secs: i64,
    pub now: i64,
    /// When the scheduler first polls it.
    pub first_fetch_at: i64,
    pub full_content: bool,
    pub extraction: Option<&'a str>,
}

/// What an admin may change of a subscription, written in one statement.
pub struct FeedSettings<'a> {
    pub section: &'a str,
    pub title: Option<&'a str>,
    pub interval_secs: i64,
    pub full_content: bool,
    pub extraction: Option<&'a str>,
}

/// The outcome of one poll, written back in one statement.
pub struct PollRecord<'a> {
    pub id: i64,
    pub now: i64,
    pub success: bool,
    pub next_fetch_at: i64,
    pub error: Option<&'a str>,
    pub etag: Option<&'a str>,
    pub last_modified: Option<&'a str>,
    /// A permanent redirect's target, which replaces the stored URL.
    pub moved_to: Option<&'a str>,
    pub title: Option<&'a str>,
    pub ingested: i64,
    /// Entries the site's rules kept out.
    pub filtered: i64,
}

operations! {
    feeds;
    pub async fn insert(conn: &mut Tx<'_>, feed: &NewFeed<'_>) -> sqlx::Result<i64>;

    pub async fn list(db: &Reader) -> sqlx::Result<Vec<Feed>>;

    pub async fn get(db: &Reader, id: i64) -> sqlx::Result<Option<Feed>>;

    /// Feeds due for a poll, soonest first, claimed for this instance for
    /// `lease` seconds where several instances share the database: each
    /// due feed goes to one of them, and a crashed instance's claims run
    /// out. (One SQLite file has one poller, and no claims.)
    pub async fn claim_due(conn: &mut Tx<'_>, now: i64, limit: i64, lease: i64) -> sqlx::Result<Vec<Feed>>;

    /// When the next feed is due, if any.
    pub async fn next_due_at(db: &Reader) -> sqlx::Result<Option<i64>>;

    pub async fn update_settings(conn: &mut Tx<'_>, id: i64, settings: &FeedSettings<'_>) -> sqlx::Result<bool>;

    pub async fn delete(conn: &mut Tx<'_>, id: i64) -> sqlx::Result<bool>;

    pub async fn record_poll(conn: &mut Tx<'_>, poll: &PollRecord<'_>) -> sqlx::Result<()>;
}
