//! The articles table and the tombstones of deleted articles.

use sqlx::{SqliteConnection, SqlitePool};

use crate::domain::listing::from_unix;
use crate::domain::{Article, ArticleCard, Cursor, Page};

/// What the write path stores for one article. The write path serialises
/// it to JSON before it takes the writer, and a group of them is inserted
/// by one statement over the JSON array (see [`insert_many`]).
#[derive(Debug, serde::Serialize)]
pub struct ArticleRow<'a> {
    /// The section is named by slug; it exists by the time the row is written.
    pub section_slug: &'a str,
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
    /// The sender's body, zlib-compressed (hex in the JSON).
    #[serde(serialize_with = "hex_bytes")]
    pub body_deflated: &'a [u8],
    pub body_html: &'a str,
    pub word_count: i64,
    pub author_slug: Option<&'a str>,
    pub image_url: Option<&'a str>,
    pub image_caption: Option<&'a str>,
    pub tags_json: &'a str,
    /// `None` keeps the stored time on update and means "now" on insert.
    pub published_at: Option<i64>,
    /// The future date a feed entry claimed (see migration 0006).
    pub claimed_published_at: Option<i64>,
    pub content_hash: &'a str,
    pub now: i64,
}

/// What an article adds beside its row: its tags, and the body text the
/// search index is given (and does not store). Serialised like the row.
#[derive(Debug, serde::Serialize)]
pub struct Derived<'a> {
    /// (slug, display name) of each tag.
    pub tags: &'a [(String, String)],
    pub body_text: &'a str,
}

/// An article already stored, as the identity rules need it.
#[derive(Debug, Clone)]
pub struct Existing {
    pub id: i64,
    pub slug: String,
    pub content_hash: String,
}

/// What the database knows of a group's identities (see [`identities`]).
#[derive(Debug, Default)]
pub struct Known {
    /// Tombstoned keys among those asked for.
    pub tombstoned: std::collections::HashSet<String>,
    /// Live articles by ingest key.
    pub by_key: std::collections::HashMap<String, Existing>,
    /// The first stored article with each URL key.
    pub by_url: std::collections::HashMap<String, Existing>,
}

/// Looks up, in one query, which of `keys` are tombstoned or held by a
/// live article, and which articles hold each of `url_keys`.
pub async fn identities(conn: &mut SqliteConnection, keys: &[&str], url_keys: &[&str]) -> sqlx::Result<Known> {
    let keys = serde_json::to_string(keys).unwrap_or_default();
    let url_keys = serde_json::to_string(url_keys).unwrap_or_default();
    let rows = sqlx::query!(
        r#"SELECT 0 AS "kind!: i64", ingest_key AS "key!: String", 0 AS "id!: i64", '' AS "slug!: String",
                  '' AS "content_hash!: String"
           FROM tombstones WHERE ingest_key IN (SELECT value FROM json_each(?1))
           UNION ALL
           SELECT 1, ingest_key, id, slug, content_hash
           FROM articles WHERE ingest_key IN (SELECT value FROM json_each(?1))
           UNION ALL
           SELECT 2, url_key, id, slug, content_hash
           FROM articles WHERE url_key IN (SELECT value FROM json_each(?2))"#,
        keys,
        url_keys
    )
    .fetch_all(conn)
    .await?;
    let mut known = Known::default();
    for row in rows {
        let existing = Existing {
            id: row.id,
            slug: row.slug,
            content_hash: row.content_hash,
        };
        match row.kind {
            0 => {
                known.tombstoned.insert(row.key);
            }
            1 => {
                known.by_key.insert(row.key, existing);
            }
            _ => {
                let first = known.by_url.entry(row.key).or_insert_with(|| existing.clone());
                if existing.id < first.id {
                    *first = existing;
                }
            }
        }
    }
    Ok(known)
}

/// Inserts new articles, given as JSON objects of [`ArticleRow`],
/// returning their ids in the order given.
///
/// One statement for the group: the rows travel as one JSON array and are
/// inserted in its order. A new rowid is one more than the largest before
/// it, so the returned ids, sorted, follow the order of the rows.
pub async fn insert_many(conn: &mut SqliteConnection, rows_json: &[&str]) -> sqlx::Result<Vec<i64>> {
    if rows_json.is_empty() {
        return Ok(Vec::new());
    }
    let json = format!("[{}]", rows_json.join(","));
    let mut ids = sqlx::query_scalar!(
        r#"INSERT INTO articles (section_id, ingest_key, url_key, external_id, url, slug, title, summary, author,
                                 source, body_format, body, body_deflated, body_html, word_count, author_slug,
                                 image_url, image_caption, tags, published_at, claimed_published_at, created_at, updated_at,
                                 content_hash)
           SELECT s.id, r.value ->> 'ingest_key', r.value ->> 'url_key', r.value ->> 'external_id',
                  r.value ->> 'url', r.value ->> 'slug', r.value ->> 'title', r.value ->> 'summary',
                  r.value ->> 'author', r.value ->> 'source', r.value ->> 'body_format', '',
                  unhex(r.value ->> 'body_deflated'), r.value ->> 'body_html', r.value ->> 'word_count',
                  r.value ->> 'author_slug', r.value ->> 'image_url', r.value ->> 'image_caption',
                  r.value ->> 'tags_json', COALESCE(r.value ->> 'published_at', r.value ->> 'now'),
                  r.value ->> 'claimed_published_at', r.value ->> 'now', r.value ->> 'now', r.value ->> 'content_hash'
           FROM jsonb_each(?) r JOIN sections s ON s.slug = r.value ->> 'section_slug'
           ORDER BY r.key
           RETURNING id AS "id!: i64""#,
        json
    )
    .fetch_all(&mut *conn)
    .await?;
    ids.sort_unstable();
    if ids.len() != rows_json.len() {
        return Err(sqlx::Error::Protocol(
            "the database stored a different number of articles than it was given".into(),
        ));
    }
    Ok(ids)
}

/// Replaces a stored article's content in place, keeping its id (and so
/// its URL) and, unless a new one is given, its publication time.
pub async fn update(conn: &mut SqliteConnection, id: i64, row: &ArticleRow<'_>) -> sqlx::Result<()> {
    sqlx::query!(
        r#"UPDATE articles SET section_id = (SELECT id FROM sections WHERE slug = ?), url_key = ?, external_id = ?,
                  url = ?, slug = ?, title = ?, summary = ?, author = ?, source = ?, body_format = ?, body = '',
                  body_deflated = ?, body_html = ?, word_count = ?, author_slug = ?, image_url = ?,
                  image_caption = ?, tags = ?, published_at = COALESCE(?, published_at),
                  claimed_published_at = ?, updated_at = ?, content_hash = ?
           WHERE id = ?"#,
        row.section_slug,
        row.url_key,
        row.external_id,
        row.url,
        row.slug,
        row.title,
        row.summary,
        row.author,
        row.source,
        row.body_format,
        row.body_deflated,
        row.body_html,
        row.word_count,
        row.author_slug,
        row.image_url,
        row.image_caption,
        row.tags_json,
        row.published_at,
        row.claimed_published_at,
        row.now,
        row.content_hash,
        id,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Writes the tag rows and search entries of articles just inserted or
/// updated: (id, JSON of its [`Derived`]) pairs, replacing any they had.
/// Tag rows copy the publication time so tag pages page on their own index.
pub async fn write_derived(conn: &mut SqliteConnection, derived: &[(i64, &str)], replacing: bool) -> sqlx::Result<()> {
    if derived.is_empty() {
        return Ok(());
    }
    let mut json = String::from("[");
    for (n, (id, fields)) in derived.iter().enumerate() {
        if n > 0 {
            json.push(',');
        }
        json.push_str(&format!("[{id},{fields}]"));
    }
    json.push(']');
    if replacing {
        sqlx::query!(
            "DELETE FROM article_tags WHERE article_id IN (SELECT value ->> 0 FROM jsonb_each(?))",
            json
        )
        .execute(&mut *conn)
        .await?;
        sqlx::query!(
            "DELETE FROM articles_fts WHERE rowid IN (SELECT value ->> 0 FROM jsonb_each(?))",
            json
        )
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query!(
        "INSERT OR IGNORE INTO article_tags (tag_slug, published_at, article_id, tag_name)
         SELECT t.value ->> 0, a.published_at, a.id, t.value ->> 1
         FROM jsonb_each(?) d, jsonb_each(d.value -> '$[1].tags') t JOIN articles a ON a.id = d.value ->> 0",
        json
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO articles_fts (rowid, title, summary, body_text, author, tags)
         SELECT a.id, a.title, a.summary, d.value ->> '$[1].body_text', a.author, a.tags
         FROM jsonb_each(?) d JOIN articles a ON a.id = d.value ->> 0",
        json
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn hex_bytes<S: serde::Serializer>(bytes: &&[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&hex::encode(bytes))
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
    claimed_published_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

/// Which articles a read shows. Every read of the public site shows only
/// what is published by now: an article dated in the future is scheduled
/// and stays out of pages, feeds, search and sitemaps until its time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    Published,
    /// Scheduled articles too: for a sender holding an ingest token.
    WithScheduled,
}

impl Shown {
    /// The latest publication time this read shows.
    pub(crate) fn until(self) -> i64 {
        match self {
            Shown::Published => super::now_unix(),
            Shown::WithScheduled => i64::MAX,
        }
    }
}

pub async fn get(db: &SqlitePool, id: i64, shown: Shown) -> sqlx::Result<Option<Article>> {
    let until = shown.until();
    let row = sqlx::query_as!(
        ArticleDbRow,
        r#"SELECT a.id AS "id!", a.section_id, a.slug, a.title, a.summary, a.author, a.source, a.url, a.external_id,
                  a.body_format, a.body_html, a.word_count, a.image_url, a.image_caption, a.tags,
                  s.name AS section_name, s.slug AS section_slug, a.published_at, a.claimed_published_at, a.created_at, a.updated_at
           FROM articles a JOIN sections s ON s.id = a.section_id
           WHERE a.id = ? AND a.published_at <= ?"#,
        id,
        until
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(Article::from))
}

/// The newest articles in full, for feeds: the whole site or one section.
pub async fn recent_full(db: &SqlitePool, section_id: Option<i64>, limit: u32) -> sqlx::Result<Vec<Article>> {
    let limit = i64::from(limit);
    let until = Shown::Published.until();
    let rows = match section_id {
        None => {
            sqlx::query_as!(
                ArticleDbRow,
                r#"SELECT a.id AS "id!", a.section_id, a.slug, a.title, a.summary, a.author, a.source, a.url,
                          a.external_id, a.body_format, a.body_html, a.word_count, a.image_url, a.image_caption,
                          a.tags, s.name AS section_name, s.slug AS section_slug, a.published_at,
                          a.claimed_published_at, a.created_at, a.updated_at
                   FROM articles a JOIN sections s ON s.id = a.section_id
                   WHERE a.published_at <= ?
                   ORDER BY a.published_at DESC, a.id DESC
                   LIMIT ?"#,
                until,
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
                          a.tags, s.name AS section_name, s.slug AS section_slug, a.published_at,
                          a.claimed_published_at, a.created_at, a.updated_at
                   FROM articles a JOIN sections s ON s.id = a.section_id
                   WHERE a.section_id = ? AND a.published_at <= ?
                   ORDER BY a.published_at DESC, a.id DESC
                   LIMIT ?"#,
                section_id,
                until,
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
            claimed_published_at: r.claimed_published_at.map(from_unix),
            created_at: from_unix(r.created_at),
            updated_at: from_unix(r.updated_at),
        }
    }
}

/// A listing row as SQL returns it; the one place it becomes an
/// [`ArticleCard`].
#[derive(serde::Deserialize)]
pub(crate) struct CardRow {
    pub id: i64,
    pub section_id: i64,
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
            section_id: r.section_id,
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

/// A page of the newest published articles older than `before` in a
/// scope. Each scope pages on its own (…, published_at, id) index, and
/// "published by now" is the same range's upper end. Fetches one row more
/// than asked to learn whether a next page exists, without counting.
pub async fn page(db: &SqlitePool, scope: Scope<'_>, before: Cursor, limit: u32) -> sqlx::Result<Page> {
    let fetch = i64::from(limit) + 1;
    let (time, id) = (before.published_at, before.id).min((Shown::Published.until(), i64::MAX));
    let rows: Vec<CardRow> = match scope {
        Scope::All => {
            sqlx::query_as!(
                CardRow,
                r#"SELECT a.id AS "id!", a.section_id, a.slug, a.title, a.summary, a.author, a.image_url,
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
                r#"SELECT a.id AS "id!", a.section_id, a.slug, a.title, a.summary, a.author, a.image_url,
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
                r#"SELECT a.id AS "id!", a.section_id, a.slug, a.title, a.summary, a.author, a.image_url,
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
                r#"SELECT a.id AS "id!", a.section_id, a.slug, a.title, a.summary, a.author, a.image_url,
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

/// The newest `per_section` articles of every section, for the front
/// page's blocks, newest first within each section: one query, an index
/// seek per section.
pub async fn newest_by_section(db: &SqlitePool, per_section: u32) -> sqlx::Result<Vec<ArticleCard>> {
    let per_section = i64::from(per_section);
    let until = Shown::Published.until();
    // One row, the cards as a JSON array: rows cross from the connection's
    // thread one message (and one wake-up) each, and this query has dozens.
    let json = sqlx::query_scalar!(
        r#"SELECT json_group_array(json_object(
                      'id', id, 'section_id', section_id, 'slug', slug, 'title', title, 'summary', summary, 'author', author,
                      'image_url', image_url, 'section_name', section_name, 'section_slug', section_slug,
                      'published_at', published_at)) AS "cards!: String"
           FROM (SELECT a.id, a.section_id, a.slug, a.title, a.summary, a.author, a.image_url,
                        s.name AS section_name, s.slug AS section_slug, a.published_at
                 FROM sections s
                 JOIN articles a ON a.id IN (SELECT b.id FROM articles b
                                             WHERE b.section_id = s.id AND b.published_at <= ?
                                             ORDER BY b.published_at DESC, b.id DESC LIMIT ?)
                 WHERE s.article_count > 0
                 ORDER BY s.id, a.published_at DESC, a.id DESC)"#,
        until,
        per_section
    )
    .fetch_one(db)
    .await?;
    let rows: Vec<CardRow> = serde_json::from_str(&json).map_err(|err| sqlx::Error::Decode(err.into()))?;
    Ok(rows.into_iter().map(ArticleCard::from).collect())
}

pub async fn author_name(db: &SqlitePool, author_slug: &str) -> sqlx::Result<Option<String>> {
    let until = Shown::Published.until();
    let name = sqlx::query_scalar!(
        "SELECT author FROM articles WHERE author_slug = ? AND published_at <= ?
         ORDER BY published_at DESC, id DESC LIMIT 1",
        author_slug,
        until
    )
    .fetch_optional(db)
    .await?;
    Ok(name.flatten())
}

/// The display name of a tag slug.
pub async fn tag_name(db: &SqlitePool, tag_slug: &str) -> sqlx::Result<Option<String>> {
    let until = Shown::Published.until();
    sqlx::query_scalar!(
        "SELECT tag_name FROM article_tags WHERE tag_slug = ? AND published_at <= ? LIMIT 1",
        tag_slug,
        until
    )
    .fetch_optional(db)
    .await
}

/// The newest articles outside one section: the article page's sidebar.
pub async fn latest_outside_section(db: &SqlitePool, section_id: i64, limit: u32) -> sqlx::Result<Vec<ArticleCard>> {
    let limit = i64::from(limit);
    let until = Shown::Published.until();
    let rows = sqlx::query_as!(
        CardRow,
        r#"SELECT a.id AS "id!", a.section_id, a.slug, a.title, a.summary, a.author, a.image_url,
                  s.name AS section_name, s.slug AS section_slug, a.published_at
           FROM articles a JOIN sections s ON s.id = a.section_id
           WHERE a.section_id <> ? AND a.published_at <= ?
           ORDER BY a.published_at DESC, a.id DESC
           LIMIT ?"#,
        section_id,
        until,
        limit
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(ArticleCard::from).collect())
}

/// Ids of a section's articles published before `before`, oldest first:
/// what a retention sweep deletes, a batch at a time. Articles someone
/// saved are kept.
pub async fn ids_published_before(
    conn: &mut SqliteConnection,
    section_id: i64,
    before: i64,
    limit: u32,
) -> sqlx::Result<Vec<i64>> {
    let limit = i64::from(limit);
    sqlx::query_scalar!(
        r#"SELECT id AS "id!" FROM articles
           WHERE section_id = ? AND published_at < ?
             AND NOT EXISTS (SELECT 1 FROM article_states st
                             WHERE st.article_id = articles.id AND st.saved_at IS NOT NULL)
           ORDER BY published_at, id LIMIT ?"#,
        section_id,
        before,
        limit
    )
    .fetch_all(conn)
    .await
}

/// The publication time of the next scheduled article, if any: when the
/// site's pages next change without a write.
pub async fn next_scheduled(db: &SqlitePool) -> sqlx::Result<Option<i64>> {
    let now = super::now_unix();
    sqlx::query_scalar!(
        r#"SELECT MIN(published_at) AS "at: i64" FROM articles WHERE published_at > ?"#,
        now
    )
    .fetch_one(db)
    .await
}

/// The cards of published articles by id, in the order of `ids`; ids of
/// deleted or scheduled articles are left out.
pub async fn cards_by_ids(db: &SqlitePool, ids: &[i64]) -> sqlx::Result<Vec<ArticleCard>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let until = Shown::Published.until();
    let ids_json = serde_json::to_string(ids).map_err(|err| sqlx::Error::Encode(err.into()))?;
    let rows = sqlx::query_as!(
        CardRow,
        r#"SELECT a.id AS "id!", a.section_id, a.slug, a.title, a.summary, a.author, a.image_url,
                  s.name AS section_name, s.slug AS section_slug, a.published_at
           FROM articles a JOIN sections s ON s.id = a.section_id
           WHERE a.id IN (SELECT value FROM json_each(?)) AND a.published_at <= ?"#,
        ids_json,
        until
    )
    .fetch_all(db)
    .await?;
    let mut cards: std::collections::HashMap<i64, ArticleCard> =
        rows.into_iter().map(|r| (r.id, ArticleCard::from(r))).collect();
    Ok(ids.iter().filter_map(|id| cards.remove(id)).collect())
}

/// Published articles in full by id, in the order of `ids`; ids of
/// deleted or scheduled articles are left out.
pub async fn full_by_ids(db: &SqlitePool, ids: &[i64]) -> sqlx::Result<Vec<Article>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let until = Shown::Published.until();
    let ids_json = serde_json::to_string(ids).map_err(|err| sqlx::Error::Encode(err.into()))?;
    let rows = sqlx::query_as!(
        ArticleDbRow,
        r#"SELECT a.id AS "id!", a.section_id, a.slug, a.title, a.summary, a.author, a.source, a.url, a.external_id,
                  a.body_format, a.body_html, a.word_count, a.image_url, a.image_caption, a.tags,
                  s.name AS section_name, s.slug AS section_slug, a.published_at, a.claimed_published_at, a.created_at, a.updated_at
           FROM articles a JOIN sections s ON s.id = a.section_id
           WHERE a.id IN (SELECT value FROM json_each(?)) AND a.published_at <= ?"#,
        ids_json,
        until
    )
    .fetch_all(db)
    .await?;
    let mut articles: std::collections::HashMap<i64, Article> =
        rows.into_iter().map(|r| (r.id, Article::from(r))).collect();
    Ok(ids.iter().filter_map(|id| articles.remove(id)).collect())
}
