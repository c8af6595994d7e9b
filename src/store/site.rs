//! Site-wide facts: when anything last changed, and the lists sitemaps
//! are made of.

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;

use crate::domain::listing::from_unix;

/// When an article was last written or deleted (kept by triggers).
pub async fn last_write_at(db: &SqlitePool) -> sqlx::Result<DateTime<Utc>> {
    let secs = sqlx::query_scalar!("SELECT last_write_at FROM site_state WHERE id = 1")
        .fetch_optional(db)
        .await?;
    Ok(from_unix(secs.unwrap_or_default()))
}

/// The highest article id: sitemaps split articles into blocks of ids.
pub async fn max_article_id(db: &SqlitePool) -> sqlx::Result<i64> {
    let max = sqlx::query_scalar!(r#"SELECT MAX(id) AS "max: i64" FROM articles"#)
        .fetch_one(db)
        .await?;
    Ok(max.unwrap_or(0))
}

// Like every read of the public site, these show only articles published
// by now (see `articles::Shown`).

pub async fn author_slugs(db: &SqlitePool) -> sqlx::Result<Vec<String>> {
    let now = super::now_unix();
    sqlx::query_scalar!(
        r#"SELECT DISTINCT author_slug AS "slug!: String" FROM articles
           WHERE author_slug IS NOT NULL AND published_at <= ? ORDER BY 1"#,
        now
    )
    .fetch_all(db)
    .await
}

pub async fn tag_names(db: &SqlitePool) -> sqlx::Result<Vec<String>> {
    let now = super::now_unix();
    sqlx::query_scalar!(
        r#"SELECT MIN(tag_name) AS "name!: String" FROM article_tags WHERE published_at <= ?
           GROUP BY tag_slug ORDER BY tag_slug"#,
        now
    )
    .fetch_all(db)
    .await
}

/// An article as a sitemap lists it.
pub struct SitemapEntry {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub published_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

struct SitemapRow {
    id: i64,
    slug: String,
    title: String,
    published_at: i64,
    updated_at: i64,
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

pub async fn published_since(db: &SqlitePool, since: i64, limit: u32) -> sqlx::Result<Vec<SitemapEntry>> {
    let limit = i64::from(limit);
    let now = super::now_unix();
    let rows = sqlx::query_as!(
        SitemapRow,
        r#"SELECT id AS "id!", slug, title, published_at, updated_at FROM articles
           WHERE published_at >= ? AND published_at <= ? ORDER BY published_at DESC, id DESC LIMIT ?"#,
        since,
        now,
        limit
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(SitemapEntry::from).collect())
}

pub async fn articles_in_id_range(db: &SqlitePool, first: i64, last: i64) -> sqlx::Result<Vec<SitemapEntry>> {
    let now = super::now_unix();
    let rows = sqlx::query_as!(
        SitemapRow,
        r#"SELECT id AS "id!", slug, title, published_at, updated_at FROM articles
           WHERE id BETWEEN ? AND ? AND published_at <= ? ORDER BY id"#,
        first,
        last,
        now
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(SitemapEntry::from).collect())
}
