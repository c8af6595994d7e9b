//! Site-wide facts: when anything last changed, and the lists sitemaps
//! are made of.

use crate::store::site::{SitemapEntry, SitemapRow};

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::domain::listing::from_unix;

pub async fn last_write_at(db: &PgPool) -> sqlx::Result<DateTime<Utc>> {
    let secs = sqlx::query_scalar!(r#"SELECT last_write_at AS "at!" FROM site_state WHERE id = 1"#)
        .fetch_optional(db)
        .await?;
    Ok(from_unix(secs.unwrap_or_default()))
}

pub async fn max_article_id(db: &PgPool) -> sqlx::Result<i64> {
    let max = sqlx::query_scalar!(r#"SELECT max(id) AS "max" FROM articles"#)
        .fetch_one(db)
        .await?;
    Ok(max.unwrap_or(0))
}

pub async fn author_slugs(db: &PgPool) -> sqlx::Result<Vec<String>> {
    let now = crate::store::now_unix();
    sqlx::query_scalar!(
        r#"SELECT DISTINCT author_slug AS "slug!: String" FROM articles
           WHERE author_slug IS NOT NULL AND published_at <= $1 ORDER BY 1"#,
        now
    )
    .fetch_all(db)
    .await
}

pub async fn tag_names(db: &PgPool) -> sqlx::Result<Vec<String>> {
    let now = crate::store::now_unix();
    sqlx::query_scalar!(
        r#"SELECT MIN(tag_name) AS "name!: String" FROM article_tags WHERE published_at <= $1
           GROUP BY tag_slug ORDER BY tag_slug"#,
        now
    )
    .fetch_all(db)
    .await
}

pub async fn published_since(db: &PgPool, since: i64, limit: u32) -> sqlx::Result<Vec<SitemapEntry>> {
    let limit = i64::from(limit);
    let now = crate::store::now_unix();
    let rows = sqlx::query_as!(
        SitemapRow,
        r#"SELECT id AS "id!", slug, title, published_at, updated_at FROM articles
           WHERE published_at >= $1 AND published_at <= $2 ORDER BY published_at DESC, id DESC LIMIT $3"#,
        since,
        now,
        limit
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(SitemapEntry::from).collect())
}

pub async fn articles_in_id_range(db: &PgPool, first: i64, last: i64) -> sqlx::Result<Vec<SitemapEntry>> {
    let rows = sqlx::query_as!(
        SitemapRow,
        r#"SELECT id AS "id!", slug, title, published_at, updated_at FROM articles
           WHERE id BETWEEN $1 AND $2 ORDER BY id"#,
        first,
        last
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(SitemapEntry::from).collect())
}

pub async fn take_turn(conn: &mut sqlx::PgConnection, job: crate::store::site::Job) -> sqlx::Result<bool> {
    let key = match job {
        crate::store::site::Job::Retention => super::locks::RETENTION,
    };
    sqlx::query_scalar!(r#"SELECT pg_try_advisory_xact_lock($1) AS "taken!""#, key)
        .fetch_one(conn)
        .await
}
