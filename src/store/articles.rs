//! The articles table and the tombstones of deleted articles.

use sqlx::{SqliteConnection, SqlitePool};

use crate::domain::listing::from_unix;
use crate::domain::{Article, ArticleCard, Cursor, Page};

/// What the write path stores for one article.
#[derive(Debug)]
pub struct ArticleRow<'a> {
    pub section_id: i64,
    pub ingest_key: Option<&'a str>,
    pub external_id: Option<&'a str>,
    pub url: Option<&'a str>,
    pub slug: &'a str,
    pub title: &'a str,
    pub summary: Option<&'a str>,
    pub author: Option<&'a str>,
    pub source: Option<&'a str>,
    pub body_format: &'a str,
    pub body: &'a str,
    pub body_html: &'a str,
    pub image_url: Option<&'a str>,
    pub image_caption: Option<&'a str>,
    pub tags_json: &'a str,
    /// `None` keeps the stored time on update and means "now" on insert.
    pub published_at: Option<i64>,
    pub content_hash: &'a str,
    pub now: i64,
}

/// An article already stored under an ingest key.
#[derive(Debug)]
pub struct Existing {
    pub id: i64,
    pub slug: String,
    pub content_hash: String,
}

pub async fn find_by_key(conn: &mut SqliteConnection, key: &str) -> sqlx::Result<Option<Existing>> {
    sqlx::query_as!(
        Existing,
        r#"SELECT id AS "id!", slug, content_hash FROM articles WHERE ingest_key = ?"#,
        key
    )
    .fetch_optional(conn)
    .await
}

pub async fn is_tombstoned(conn: &mut SqliteConnection, key: &str) -> sqlx::Result<bool> {
    let found = sqlx::query_scalar!(r#"SELECT 1 AS "one!: i64" FROM tombstones WHERE ingest_key = ?"#, key)
        .fetch_optional(conn)
        .await?;
    Ok(found.is_some())
}

pub async fn insert(conn: &mut SqliteConnection, row: &ArticleRow<'_>) -> sqlx::Result<i64> {
    let published_at = row.published_at.unwrap_or(row.now);
    sqlx::query_scalar!(
        r#"INSERT INTO articles (section_id, ingest_key, external_id, url, slug, title, summary, author,
                                 source, body_format, body, body_html, image_url, image_caption, tags,
                                 published_at, created_at, updated_at, content_hash)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           RETURNING id AS "id!""#,
        row.section_id,
        row.ingest_key,
        row.external_id,
        row.url,
        row.slug,
        row.title,
        row.summary,
        row.author,
        row.source,
        row.body_format,
        row.body,
        row.body_html,
        row.image_url,
        row.image_caption,
        row.tags_json,
        published_at,
        row.now,
        row.now,
        row.content_hash,
    )
    .fetch_one(conn)
    .await
}

/// Replaces a stored article's content in place, keeping its id (and so
/// its URL) and, unless a new one is given, its publication time.
pub async fn update(conn: &mut SqliteConnection, id: i64, row: &ArticleRow<'_>) -> sqlx::Result<()> {
    sqlx::query!(
        r#"UPDATE articles SET section_id = ?, external_id = ?, url = ?, slug = ?, title = ?, summary = ?,
                  author = ?, source = ?, body_format = ?, body = ?, body_html = ?, image_url = ?,
                  image_caption = ?, tags = ?, published_at = COALESCE(?, published_at),
                  updated_at = ?, content_hash = ?
           WHERE id = ?"#,
        row.section_id,
        row.external_id,
        row.url,
        row.slug,
        row.title,
        row.summary,
        row.author,
        row.source,
        row.body_format,
        row.body,
        row.body_html,
        row.image_url,
        row.image_caption,
        row.tags_json,
        row.published_at,
        row.now,
        row.content_hash,
        id,
    )
    .execute(conn)
    .await
    .map(|_| ())
}

/// Deletes an article, leaving a tombstone of its ingest key so that a
/// later re-post of it is refused. False when there was no such article.
pub async fn delete(conn: &mut SqliteConnection, id: i64, now: i64) -> sqlx::Result<bool> {
    let Some(key) = sqlx::query_scalar!("SELECT ingest_key FROM articles WHERE id = ?", id)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(false);
    };
    if let Some(key) = key {
        sqlx::query!(
            "INSERT OR REPLACE INTO tombstones (ingest_key, article_id, deleted_at) VALUES (?, ?, ?)",
            key,
            id,
            now
        )
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query!("DELETE FROM articles WHERE id = ?", id)
        .execute(&mut *conn)
        .await?;
    Ok(true)
}

struct ArticleDbRow {
    id: i64,
    section_id: i64,
    slug: String,
    title: String,
    summary: Option<String>,
    author: Option<String>,
    source: Option<String>,
    url: Option<String>,
    external_id: Option<String>,
    body_format: String,
    body_html: String,
    image_url: Option<String>,
    image_caption: Option<String>,
    tags: String,
    section_name: String,
    section_slug: String,
    published_at: i64,
    created_at: i64,
    updated_at: i64,
}

pub async fn get(db: &SqlitePool, id: i64) -> sqlx::Result<Option<Article>> {
    let row = sqlx::query_as!(
        ArticleDbRow,
        r#"SELECT a.id AS "id!", a.section_id, a.slug, a.title, a.summary, a.author, a.source, a.url, a.external_id,
                  a.body_format, a.body_html, a.image_url, a.image_caption, a.tags,
                  s.name AS section_name, s.slug AS section_slug, a.published_at, a.created_at, a.updated_at
           FROM articles a JOIN sections s ON s.id = a.section_id
           WHERE a.id = ?"#,
        id
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| Article {
        id: r.id,
        section_id: r.section_id,
        slug: r.slug,
        title: r.title,
        summary: r.summary,
        author: r.author,
        source: r.source,
        url: r.url,
        external_id: r.external_id,
        body_format: r.body_format,
        body_html: r.body_html,
        image_url: r.image_url,
        image_caption: r.image_caption,
        // Written by Gazette as a JSON array; an unreadable value shows no tags.
        tags: serde_json::from_str(&r.tags).unwrap_or_default(),
        section_name: r.section_name,
        section_slug: r.section_slug,
        published_at: from_unix(r.published_at),
        created_at: from_unix(r.created_at),
        updated_at: from_unix(r.updated_at),
    }))
}

struct CardRow {
    id: i64,
    slug: String,
    title: String,
    summary: Option<String>,
    author: Option<String>,
    image_url: Option<String>,
    section_name: String,
    section_slug: String,
    published_at: i64,
}

impl From<CardRow> for ArticleCard {
    fn from(r: CardRow) -> Self {
        ArticleCard {
            id: r.id,
            slug: r.slug,
            title: r.title,
            summary: r.summary,
            author: r.author,
            image_url: r.image_url,
            section_name: r.section_name,
            section_slug: r.section_slug,
            published_at: from_unix(r.published_at),
        }
    }
}

/// A page of the newest articles older than `before`, across the site or
/// in one section. Fetches one row more than asked to learn whether a
/// next page exists, without counting.
pub async fn page(db: &SqlitePool, section_id: Option<i64>, before: Cursor, limit: u32) -> sqlx::Result<Page> {
    let fetch = i64::from(limit) + 1;
    let rows: Vec<CardRow> = match section_id {
        None => {
            sqlx::query_as!(
                CardRow,
                r#"SELECT a.id AS "id!", a.slug, a.title, a.summary, a.author, a.image_url,
                          s.name AS section_name, s.slug AS section_slug, a.published_at
                   FROM articles a JOIN sections s ON s.id = a.section_id
                   WHERE (a.published_at, a.id) < (?, ?)
                   ORDER BY a.published_at DESC, a.id DESC
                   LIMIT ?"#,
                before.published_at,
                before.id,
                fetch
            )
            .fetch_all(db)
            .await?
        }
        Some(section_id) => {
            sqlx::query_as!(
                CardRow,
                r#"SELECT a.id AS "id!", a.slug, a.title, a.summary, a.author, a.image_url,
                          s.name AS section_name, s.slug AS section_slug, a.published_at
                   FROM articles a JOIN sections s ON s.id = a.section_id
                   WHERE a.section_id = ? AND (a.published_at, a.id) < (?, ?)
                   ORDER BY a.published_at DESC, a.id DESC
                   LIMIT ?"#,
                section_id,
                before.published_at,
                before.id,
                fetch
            )
            .fetch_all(db)
            .await?
        }
    };
    let mut items: Vec<ArticleCard> = rows.into_iter().map(ArticleCard::from).collect();
    let next = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(ArticleCard::cursor)
    } else {
        None
    };
    Ok(Page { items, next })
}

/// The newest articles outside one section: the article page's sidebar.
pub async fn latest_outside_section(db: &SqlitePool, section_id: i64, limit: u32) -> sqlx::Result<Vec<ArticleCard>> {
    let limit = i64::from(limit);
    let rows = sqlx::query_as!(
        CardRow,
        r#"SELECT a.id AS "id!", a.slug, a.title, a.summary, a.author, a.image_url,
                  s.name AS section_name, s.slug AS section_slug, a.published_at
           FROM articles a JOIN sections s ON s.id = a.section_id
           WHERE a.section_id <> ?
           ORDER BY a.published_at DESC, a.id DESC
           LIMIT ?"#,
        section_id,
        limit
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(ArticleCard::from).collect())
}
