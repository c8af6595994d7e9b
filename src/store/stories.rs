//! Stories and near-duplicate copies: which story each article is in,
//! the index a new article's candidates come from, and what pages and the
//! API show of a story.

use super::{Reader, Tx};

/// The newest articles looked at under one fingerprint band in one week:
/// a text that many share (a template, a disclaimer) must not make every
/// new article compare itself with all of them. A copy's original is
/// most often recent; an older one is still found through the copies in
/// between.
pub const PER_BAND: i64 = 4;

/// The newest of a term's entries looked at within a group's time window:
/// a term that busy is no evidence of one story anyway.
pub const PER_TERM: i64 = 16;

/// A stored article a new one may be a copy of: one whose fingerprint
/// shares a band with it.
#[derive(Debug)]
pub struct PrintRow {
    pub article_id: i64,
    pub shingles: i64,
    pub signature: Vec<u8>,
    pub story_id: i64,
    pub duplicate_of: Option<i64>,
}

/// A story as the write path compares with it.
#[derive(Debug)]
pub struct StoryRow {
    pub id: i64,
    pub first_at: i64,
    pub last_at: i64,
    /// [`crate::stories::cluster::Centroid`] as JSON.
    pub centroid: String,
}

/// What lists and the API show of an article's story.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct StoryRef {
    #[serde(skip)]
    pub article_id: i64,
    pub id: i64,
    pub articles: i64,
    pub sources: i64,
    #[serde(skip)]
    pub duplicate_of: Option<i64>,
}

/// One version of a story, as its page lists it.
#[derive(Debug, Clone)]
pub struct Version {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub author: Option<String>,
    pub source: Option<String>,
    pub url: Option<String>,
    pub section_name: String,
    pub section_slug: String,
    pub published_at: i64,
    pub duplicate_of: Option<i64>,
}

/// A stored article as placing reads it.
#[derive(Debug)]
pub struct Unplaced {
    pub id: i64,
    pub title: String,
    pub summary: Option<String>,
    /// Its HTML's opening (see `crate::stories::placing::TEXT_BYTES`).
    pub body_html: String,
    pub source: Option<String>,
    pub url: Option<String>,
    pub published_at: i64,
}

operations! {
    stories;
    /// How far placing has come: articles with a higher id wait for it.
    pub async fn placed_through(db: &Reader) -> sqlx::Result<i64>;

    /// The first `limit` articles after id `after` that are in no story,
    /// by id, with the first `text_bytes` of their HTML.
    pub async fn unplaced_after(db: &Reader, after: i64, limit: i64, text_bytes: i64) -> sqlx::Result<Vec<Unplaced>>;

    /// Takes the turn to place the articles after `from`, until this
    /// transaction ends: false when placing has moved on from there
    /// (another instance placed them meanwhile).
    pub async fn take_placing_turn(conn: &mut Tx<'_>, from: i64) -> sqlx::Result<bool>;

    /// Records that the articles through `through` are placed.
    pub async fn placed(conn: &mut Tx<'_>, through: i64) -> sqlx::Result<()>;

    /// Which of `ids` are stored and in no story, now.
    pub async fn still_unplaced(conn: &mut Tx<'_>, ids: &[i64]) -> sqlx::Result<Vec<i64>>;

    /// How many stored articles wait to be placed.
    pub async fn waiting(db: &Reader) -> sqlx::Result<i64>;

    /// Stored articles with a fingerprint under any of these `(week, band)`
    /// keys, the newest [`PER_BAND`] of each.
    pub async fn prints_in_bands(conn: &mut Tx<'_>, keys: &[(i64, i64)]) -> sqlx::Result<Vec<PrintRow>>;

    /// For each query `[week, term, from, to, n]` of a JSON array, its
    /// entries of that week published between `from` and `to`, the newest
    /// [`PER_TERM`] (and any as new as the last of them): `(n, published
    /// at, story id)`.
    pub async fn term_entries(conn: &mut Tx<'_>, queries: &str) -> sqlx::Result<Vec<(i64, i64, i64)>>;

    /// How many articles had each of `terms`, and `("", all articles)`.
    pub async fn term_counts(conn: &mut Tx<'_>, terms: &[&str]) -> sqlx::Result<Vec<(String, i64)>>;

    pub async fn stories_by_id(conn: &mut Tx<'_>, ids: &[i64]) -> sqlx::Result<Vec<StoryRow>>;

    /// The next story id: one more than the largest ever stored.
    pub async fn next_id(conn: &mut Tx<'_>) -> sqlx::Result<i64>;

    /// Writes what placing a group of new articles decided, given as one
    /// JSON document (see `crate::stories::Decisions`): their memberships,
    /// fingerprints and terms, the stories they created or joined, and
    /// which of them lists no longer show (a later version of a story in
    /// a section that already shows it).
    pub async fn save(conn: &mut Tx<'_>, decisions: &str) -> sqlx::Result<()>;

    /// When a placed article was published; `None` when it is not
    /// stored or not yet placed.
    pub async fn placed_at(conn: &mut Tx<'_>, article_id: i64) -> sqlx::Result<Option<i64>>;

    /// Forgets an article's fingerprint (its bands then lead nowhere).
    pub async fn drop_print(conn: &mut Tx<'_>, article_id: i64) -> sqlx::Result<()>;

    /// Takes an article about to be deleted out of its story: its copies
    /// point at the next-oldest of them, the next version in its section
    /// is listed in its place, its story passes to the next-oldest article
    /// (or goes, with its last article).
    pub async fn forget(conn: &mut Tx<'_>, article_id: i64) -> sqlx::Result<()>;

    /// The story of each of `ids` that is stored.
    pub async fn of_articles(db: &Reader, ids: &[i64]) -> sqlx::Result<Vec<StoryRef>>;

    /// A story's published versions, first-seen first.
    pub async fn versions(db: &Reader, story_id: i64, until: i64) -> sqlx::Result<Vec<Version>>;

    /// An article and its near-duplicates: the copies of its original.
    pub async fn copies(conn: &mut Tx<'_>, article_id: i64) -> sqlx::Result<Vec<i64>>;
}
