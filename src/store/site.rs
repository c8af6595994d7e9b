//! Site-wide facts: when anything last changed, and the lists sitemaps
//! are made of.

use crate::domain::listing::from_unix;
use chrono::{DateTime, Utc};

use super::{Reader, Tx};

/// An article as a sitemap lists it.
pub struct SitemapEntry {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub published_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(crate) struct SitemapRow {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub published_at: i64,
    pub updated_at: i64,
}

impl From<SitemapRow> for SitemapEntry {
    fn from(r: SitemapRow) -> Self {
        SitemapEntry {
            id: r.id,
            slug: r.slug,
            title: r.title,
            published_at: from_unix(r.published_at),
            updated_at: from_unix(r.updated_at),
        }
    }
}

/// A job that one instance at a time does (see [`take_turn`]).
#[derive(Debug, Clone, Copy)]
pub enum Job {
    Retention,
}

operations! {
    site;
    /// Whether this transaction may do `job` now: false while another
    /// instance on the same database is doing it in a transaction of its
    /// own (the turn ends with the transaction). Always true on SQLite,
    /// where one process owns the file.
    pub async fn take_turn(conn: &mut Tx<'_>, job: Job) -> sqlx::Result<bool>;
    /// When an article was last written or deleted (kept by triggers).
    pub async fn last_write_at(db: &Reader) -> sqlx::Result<DateTime<Utc>>;

    /// The highest article id: sitemaps split articles into blocks of ids.
    pub async fn max_article_id(db: &Reader) -> sqlx::Result<i64>;

    pub async fn author_slugs(db: &Reader) -> sqlx::Result<Vec<String>>;

    pub async fn tag_names(db: &Reader) -> sqlx::Result<Vec<String>>;

    pub async fn published_since(db: &Reader, since: i64, limit: u32) -> sqlx::Result<Vec<SitemapEntry>>;

    /// Every article with an id from `first` to `last`, scheduled ones
    /// included (a sitemap file lists the published and falls due when the
    /// first scheduled one is).
    pub async fn articles_in_id_range(db: &Reader, first: i64, last: i64) -> sqlx::Result<Vec<SitemapEntry>>;
}
