//! The articles table and the tombstones of deleted articles.

use sqlx::{SqliteConnection, SqlitePool};

use crate::domain::listing::from_unix;
use crate::domain::{Article, ArticleCard, Cursor, Page};

/// What the write path stores for one article.
#[derive(Debug)]
pub struct ArticleRow<'a> {
    pub section_id: i64,
    pub ingest_key: Option<&'a str>,
    pub url_key: Option<&'a str>,
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
    pub body_text: &'a str,
    pub word_count: i64,
    pub author_slug: Option<&'a str>,
    /// (slug, display name) of each tag.
    pub tags: &'a [(String, String)],
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

pub async fn find_by_url_key(conn: &mut SqliteConnection, url_key: &str) -> sqlx::Result<Option<Existing>> {
    sqlx::query_as!(
        Existing,
        r#"SELECT id AS "id!", slug, content_hash FROM articles WHERE url_key = ? ORDER BY id LIMIT 1"#,
        url_key
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
    let id = sqlx::query_scalar!(
        r#"INSERT INTO articles (section_id, ingest_key, url_key, external_id, url, slug, title, summary, author,
                                 source, body_format, body, body_html, body_text, word_count, author_slug,
                                 image_url, image_caption, tags, published_at, created_at, updated_at, content_hash)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           RETURNING id AS "id!""#,
        row.section_id,
        row.ingest_key,
        row.url_key,
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
        row.body_text,
        row.word_count,
        row.author_slug,
        row.image_url,
        row.image_caption,
        row.tags_json,
        published_at,
        row.now,
        row.now,
        row.content_hash,
    )
    .fetch_one(&mut *conn)
    .await?;
    write_tags(conn, id, row.tags).await?;
    Ok(id)
}

/// Replaces an article's tag rows, copying its publication time so tag
/// pages page on their own index.
async fn write_tags(conn: &mut SqliteConnection, id: i64, tags: &[(String, String)]) -> sqlx::Result<()> {
    sqlx::query!("DELETE FROM article_tags WHERE article_id = ?", id)
        .execute(&mut *conn)
        .await?;
    for (slug, name) in tags {
        sqlx::query!(
            "INSERT OR IGNORE INTO article_tags (tag_slug, published_at, article_id, tag_name)
             SELECT ?, published_at, id, ? FROM articles WHERE id = ?",
            slug,
            name,
            id
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Replaces a stored article's content in place, keeping its id (and so
/// its URL) and, unless a new one is given, its publication time.
pub async fn update(conn: &mut SqliteConnection, id: i64, row: &ArticleRow<'_>) -> sqlx::Result<()> {
    sqlx::query!(
        r#"UPDATE articles SET section_id = ?, url_key = ?, external_id = ?, url = ?, slug = ?, title = ?, summary = ?,
                  author = ?, source = ?, body_format = ?, body = ?, body_html = ?, body_text = ?,
                  word_count = ?, author_slug = ?, image_url = ?,
                  image_caption = ?, tags = ?, published_at = COALESCE(?, published_at),
                  updated_at = ?, content_hash = ?
           WHERE id = ?"#,
        row.section_id,
        row.url_key,
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
        row.body_text,
        row.word_count,
        row.author_slug,
        row.image_url,
        row.image_caption,
        row.tags_json,
        row.published_at,
        row.now,
        row.content_hash,
        id,
    )
    .execute(&mut *conn)
    .await?;
    write_tags(conn, id, row.tags).await
}

/// Deletes an article, leaving a tombstone of its ingest key so that a
/// later re-post of it is refused. False when there was no such article.
pub async fn delete(conn: &mut SqliteConnection, id: i64, now: i64) -> sqlx::Result<bool> {
    let Some(keys) = sqlx::query!("SELECT ingest_key, url_key FROM articles WHERE id = ?", id)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(false);
    };
    // Both identities are buried: a re-post by id, or the same story
    // reached by its URL (through a feed, say), stays deleted.
    let url_key = keys.url_key.as_deref().map(crate::domain::article::url_ingest_key);
    for key in [keys.ingest_key, url_key].into_iter().flatten() {
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
    word_count: i64,
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
                  a.body_format, a.body_html, a.word_count, a.image_url, a.image_caption, a.tags,
                  s.name AS section_name, s.slug AS section_slug, a.published_at, a.created_at, a.updated_at
           FROM articles a JOIN sections s ON s.id = a.section_id
           WHERE a.id = ?"#,
        id
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(Article::from))
}

/// The newest articles in full, for feeds: the whole site or one section.
pub async fn recent_full(db: &SqlitePool, section_id: Option<i64>, limit: u32) -> sqlx::Result<Vec<Article>> {
    let limit = i64::from(limit);
    let rows = match section_id {
        None => {
            sqlx::query_as!(
                ArticleDbRow,
                r#"SELECT a.id AS "id!", a.section_id, a.slug, a.title, a.summary, a.author, a.source, a.url,
                          a.external_id, a.body_format, a.body_html, a.word_count, a.image_url, a.image_caption,
                          a.tags, s.name AS section_name, s.slug AS section_slug, a.published_at, a.created_at,
                          a.updated_at
                   FROM articles a JOIN sections s ON s.id = a.section_id
                   ORDER BY a.published_at DESC, a.id DESC
                   LIMIT ?"#,
                limit
            )
            .fetch_all(db)
            .await?
        }
        Some(section_id) => {
            sqlx::query_as!(
                ArticleDbRow,
                r#"SELECT a.id AS "id!", a.section_id, a.slug, a.title, a.summary, a.author, a.source, a.url,
                          a.external_id, a.body_format, a.body_html, a.word_count, a.image_url, a.image_caption,
                          a.tags, s.name AS section_name, s.slug AS section_slug, a.published_at, a.created_at,
                          a.updated_at
                   FROM articles a JOIN sections s ON s.id = a.section_id
                   WHERE a.section_id = ?
                   ORDER BY a.published_at DESC, a.id DESC
                   LIMIT ?"#,
                section_id,
                limit
            )
            .fetch_all(db)
            .await?
        }
    };
    Ok(rows.into_iter().map(Article::from).collect())
}

impl From<ArticleDbRow> for Article {
    fn from(r: ArticleDbRow) -> Self {
        Article {
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
            word_count: r.word_count,
            image_url: r.image_url,
            image_caption: r.image_caption,
            // Written by Gazette as a JSON array; an unreadable value shows no tags.
            tags: serde_json::from_str(&r.tags).unwrap_or_default(),
            section_name: r.section_name,
            section_slug: r.section_slug,
            published_at: from_unix(r.published_at),
            created_at: from_unix(r.created_at),
            updated_at: from_unix(r.updated_at),
        }
    }
}

/// A listing row as SQL returns it; the one place it becomes an
/// [`ArticleCard`].
pub(crate) struct CardRow {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub summary: Option<String>,
    pub author: Option<String>,
    pub image_url: Option<String>,
    pub section_name: String,
    pub section_slug: String,
    pub published_at: i64,
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

/// Which articles a listing shows.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    All,
    Section(i64),
    Author(&'a str),
    Tag(&'a str),
}

/// A page of the newest articles older than `before` in a scope. Each
/// scope pages on its own (…, published_at, id) index. Fetches one row
/// more than asked to learn whether a next page exists, without counting.
pub async fn page(db: &SqlitePool, scope: Scope<'_>, before: Cursor, limit: u32) -> sqlx::Result<Page> {
    let fetch = i64::from(limit) + 1;
    let (time, id) = (before.published_at, before.id);
    let rows: Vec<CardRow> = match scope {
        Scope::All => {
            sqlx::query_as!(
                CardRow,
                r#"SELECT a.id AS "id!", a.slug, a.title, a.summary, a.author, a.image_url,
                          s.name AS section_name, s.slug AS section_slug, a.published_at
                   FROM articles a JOIN sections s ON s.id = a.section_id
                   WHERE (a.published_at, a.id) < (?, ?)
                   ORDER BY a.published_at DESC, a.id DESC
                   LIMIT ?"#,
                time,
                id,
                fetch
            )
            .fetch_all(db)
            .await?
        }
        Scope::Section(section_id) => {
            sqlx::query_as!(
                CardRow,
                r#"SELECT a.id AS "id!", a.slug, a.title, a.summary, a.author, a.image_url,
                          s.name AS section_name, s.slug AS section_slug, a.published_at
                   FROM articles a JOIN sections s ON s.id = a.section_id
                   WHERE a.section_id = ? AND (a.published_at, a.id) < (?, ?)
                   ORDER BY a.published_at DESC, a.id DESC
                   LIMIT ?"#,
                section_id,
                time,
                id,
                fetch
            )
            .fetch_all(db)
            .await?
        }
        Scope::Author(author_slug) => {
            sqlx::query_as!(
                CardRow,
                r#"SELECT a.id AS "id!", a.slug, a.title, a.summary, a.author, a.image_url,
                          s.name AS section_name, s.slug AS section_slug, a.published_at
                   FROM articles a JOIN sections s ON s.id = a.section_id
                   WHERE a.author_slug = ? AND (a.published_at, a.id) < (?, ?)
                   ORDER BY a.published_at DESC, a.id DESC
                   LIMIT ?"#,
                author_slug,
                time,
                id,
                fetch
            )
            .fetch_all(db)
            .await?
        }
        Scope::Tag(tag_slug) => {
            sqlx::query_as!(
                CardRow,
                r#"SELECT a.id AS "id!", a.slug, a.title, a.summary, a.author, a.image_url,
                          s.name AS section_name, s.slug AS section_slug, a.published_at
                   FROM article_tags t
                   JOIN articles a ON a.id = t.article_id
                   JOIN sections s ON s.id = a.section_id
                   WHERE t.tag_slug = ? AND (t.published_at, t.article_id) < (?, ?)
                   ORDER BY t.published_at DESC, t.article_id DESC
                   LIMIT ?"#,
                tag_slug,
                time,
                id,
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

/// The byline of an author slug, as most recently written.
pub async fn author_name(db: &SqlitePool, author_slug: &str) -> sqlx::Result<Option<String>> {
    let name = sqlx::query_scalar!(
        "SELECT author FROM articles WHERE author_slug = ? ORDER BY published_at DESC, id DESC LIMIT 1",
        author_slug
    )
    .fetch_optional(db)
    .await?;
    Ok(name.flatten())
}

/// The display name of a tag slug.
pub async fn tag_name(db: &SqlitePool, tag_slug: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar!("SELECT tag_name FROM article_tags WHERE tag_slug = ? LIMIT 1", tag_slug)
        .fetch_optional(db)
        .await
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

/// Ids of a section's articles published before `before`, oldest first:
/// what a retention sweep deletes, a batch at a time.
pub async fn ids_published_before(
    conn: &mut SqliteConnection,
    section_id: i64,
    before: i64,
    limit: u32,
) -> sqlx::Result<Vec<i64>> {
    let limit = i64::from(limit);
    sqlx::query_scalar!(
        r#"SELECT id AS "id!" FROM articles WHERE section_id = ? AND published_at < ?
           ORDER BY published_at, id LIMIT ?"#,
        section_id,
        before,
        limit
    )
    .fetch_all(conn)
    .await
}
