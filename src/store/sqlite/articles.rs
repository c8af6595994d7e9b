//! The articles table and the tombstones of deleted articles.

use crate::store::articles::{ArticleDbRow, ArticleRow, CardRow, Existing, Known, NewRow, Scope, Shown, StoryBody};

use sqlx::{SqliteConnection, SqlitePool};

use crate::domain::{Article, ArticleCard, Cursor, Page};

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
        known.learn(row.kind, row.key, existing);
    }
    Ok(known)
}

pub async fn insert_many(conn: &mut SqliteConnection, rows: &[NewRow<'_>]) -> sqlx::Result<Vec<i64>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let json = crate::store::articles::json_array(rows.iter().map(|r| r.row_json));
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
    if ids.len() != rows.len() {
        return Err(sqlx::Error::Protocol(
            "the database stored a different number of articles than it was given".into(),
        ));
    }
    // Tags and search entries live in their own tables, written by id.
    let derived: Vec<(i64, &str)> = ids.iter().zip(rows).map(|(&id, row)| (id, row.derived_json)).collect();
    write_derived(conn, &derived, false).await?;
    Ok(ids)
}

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

pub async fn replace_body(conn: &mut SqliteConnection, id: i64, body: &StoryBody<'_>) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        r#"UPDATE articles SET title = ?, published_at = COALESCE(?, published_at), summary = ?, author = ?,
                  author_slug = ?, image_url = ?, body_format = ?, body = '', body_deflated = ?, body_html = ?,
                  word_count = ?, updated_at = ?
           WHERE id = ?"#,
        body.title,
        body.published_at,
        body.summary,
        body.author,
        body.author_slug,
        body.image_url,
        body.body_format,
        body.body_deflated,
        body.body_html,
        body.word_count,
        body.now,
        id,
    )
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn write_derived(conn: &mut SqliteConnection, derived: &[(i64, &str)], replacing: bool) -> sqlx::Result<()> {
    if derived.is_empty() {
        return Ok(());
    }
    let json = crate::store::articles::derived_json(derived);
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
    super::stories::forget(conn, id).await?;
    sqlx::query!("DELETE FROM articles WHERE id = ?", id)
        .execute(&mut *conn)
        .await?;
    // SQLite hands out the largest id plus one: once the newest article
    // is gone its id comes again, and must not count as placed already.
    sqlx::query!(
        "UPDATE site_state SET stories_placed_through = MIN(stories_placed_through, COALESCE((SELECT MAX(id) FROM articles), 0))
         WHERE id = 1"
    )
    .execute(&mut *conn)
    .await?;
    Ok(true)
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
                   WHERE (a.published_at, a.id) < (?, ?) AND a.listed
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
                   WHERE a.section_id = ? AND (a.published_at, a.id) < (?, ?) AND a.listed
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
                                             WHERE b.section_id = s.id AND b.published_at <= ? AND b.listed
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

pub async fn latest_outside_section(db: &SqlitePool, section_id: i64, limit: u32) -> sqlx::Result<Vec<ArticleCard>> {
    let limit = i64::from(limit);
    let until = Shown::Published.until();
    let rows = sqlx::query_as!(
        CardRow,
        r#"SELECT a.id AS "id!", a.section_id, a.slug, a.title, a.summary, a.author, a.image_url,
                  s.name AS section_name, s.slug AS section_slug, a.published_at
           FROM articles a JOIN sections s ON s.id = a.section_id
           WHERE a.section_id <> ? AND a.published_at <= ? AND a.listed
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

pub async fn next_scheduled(db: &SqlitePool) -> sqlx::Result<Option<i64>> {
    let now = crate::store::now_unix();
    sqlx::query_scalar!(
        r#"SELECT MIN(published_at) AS "at: i64" FROM articles WHERE published_at > ?"#,
        now
    )
    .fetch_one(db)
    .await
}

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

pub async fn ids_before(db: &SqlitePool, before: i64, limit: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar!(
        r#"SELECT id AS "id!: i64" FROM articles WHERE id < ? ORDER BY id DESC LIMIT ?"#,
        before,
        limit
    )
    .fetch_all(db)
    .await
}
