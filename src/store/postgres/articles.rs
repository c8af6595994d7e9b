//! The articles table and the tombstones of deleted articles.

use crate::store::articles::{ArticleDbRow, ArticleRow, CardRow, Existing, Known, NewRow, Scope, Shown, StoryBody};

use sqlx::{PgConnection, PgPool};

use crate::domain::{Article, ArticleCard, Cursor, Page};

pub async fn identities(conn: &mut PgConnection, keys: &[&str], url_keys: &[&str]) -> sqlx::Result<Known> {
    let rows = sqlx::query!(
        r#"SELECT 0::bigint AS "kind!: i64", ingest_key AS "key!: String", 0::bigint AS "id!: i64", '' AS "slug!: String",
                  '' AS "content_hash!: String"
           FROM tombstones WHERE ingest_key = ANY($1::text[])
           UNION ALL
           SELECT 1, ingest_key, id, slug, content_hash
           FROM articles WHERE ingest_key = ANY($1::text[])
           UNION ALL
           SELECT 2, url_key, id, slug, content_hash
           FROM articles WHERE url_key = ANY($2::text[])"#,
        keys as &[&str],
        url_keys as &[&str]
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

pub async fn insert_many(conn: &mut PgConnection, rows: &[NewRow<'_>]) -> sqlx::Result<Vec<i64>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let (rows_json, derived_json) = crate::store::articles::new_rows_json(rows);
    // Ids must become visible in the order they are given: readers'
    // horizons and apps' syncs page by id, and without the lock two
    // instances inserting at once could commit 11 before 10. Held until
    // this transaction ends.
    sqlx::query!("SELECT pg_advisory_xact_lock($1)", super::locks::INGEST)
        .execute(&mut *conn)
        .await?;
    // The search vector is written with the row: computed afterwards by an
    // UPDATE, every new row would be written twice (and its indexes too).
    let mut ids = sqlx::query_scalar!(
        r#"INSERT INTO articles (section_id, ingest_key, url_key, external_id, url, slug, title, summary, author,
                                 source, body_format, body, body_deflated, body_html, word_count, author_slug,
                                 image_url, image_caption, tags, published_at, claimed_published_at, created_at, updated_at,
                                 content_hash, search)
           SELECT s.id, r.v ->> 'ingest_key', r.v ->> 'url_key', r.v ->> 'external_id',
                  r.v ->> 'url', r.v ->> 'slug', r.v ->> 'title', r.v ->> 'summary',
                  r.v ->> 'author', r.v ->> 'source', r.v ->> 'body_format', '',
                  decode(r.v ->> 'body_deflated', 'hex'), r.v ->> 'body_html', (r.v ->> 'word_count')::bigint,
                  r.v ->> 'author_slug', r.v ->> 'image_url', r.v ->> 'image_caption',
                  r.v ->> 'tags_json', COALESCE((r.v ->> 'published_at')::bigint, (r.v ->> 'now')::bigint),
                  (r.v ->> 'claimed_published_at')::bigint, (r.v ->> 'now')::bigint, (r.v ->> 'now')::bigint,
                  r.v ->> 'content_hash',
                  article_search(r.v ->> 'title', r.v ->> 'summary', r.v ->> 'author', r.v ->> 'tags_json',
                                 r.d ->> 'body_text')
           FROM ROWS FROM (jsonb_array_elements($1::text::jsonb), jsonb_array_elements($2::text::jsonb))
                WITH ORDINALITY AS r (v, d, n)
           JOIN sections s ON s.slug = r.v ->> 'section_slug'
           ORDER BY r.n
           RETURNING id"#,
        rows_json,
        derived_json
    )
    .fetch_all(&mut *conn)
    .await?;
    ids.sort_unstable();
    if ids.len() != rows.len() {
        return Err(sqlx::Error::Protocol(
            "the database stored a different number of articles than it was given".into(),
        ));
    }
    let derived: Vec<(i64, &str)> = ids.iter().zip(rows).map(|(&id, row)| (id, row.derived_json)).collect();
    write_tags(conn, &crate::store::articles::derived_json(&derived)).await?;
    Ok(ids)
}

pub async fn update(conn: &mut PgConnection, id: i64, row: &ArticleRow<'_>) -> sqlx::Result<()> {
    sqlx::query!(
        r#"UPDATE articles SET section_id = (SELECT id FROM sections WHERE slug = $1), url_key = $2, external_id = $3,
                  url = $4, slug = $5, title = $6, summary = $7, author = $8, source = $9, body_format = $10, body = '',
                  body_deflated = $11, body_html = $12, word_count = $13, author_slug = $14, image_url = $15,
                  image_caption = $16, tags = $17, published_at = COALESCE($18, published_at),
                  claimed_published_at = $19, updated_at = $20, content_hash = $21
           WHERE id = $22"#,
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

pub async fn replace_body(conn: &mut PgConnection, id: i64, body: &StoryBody<'_>) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        r#"UPDATE articles SET title = $1, published_at = COALESCE($2, published_at), summary = $3, author = $4,
                  author_slug = $5, image_url = $6, body_format = $7, body = '', body_deflated = $8, body_html = $9,
                  word_count = $10, updated_at = $11
           WHERE id = $12"#,
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

pub async fn write_derived(conn: &mut PgConnection, derived: &[(i64, &str)], replacing: bool) -> sqlx::Result<()> {
    if derived.is_empty() {
        return Ok(());
    }
    let json = crate::store::articles::derived_json(derived);
    if replacing {
        sqlx::query!(
            "DELETE FROM article_tags WHERE article_id IN (SELECT (d ->> 0)::bigint FROM jsonb_array_elements($1::text::jsonb) d)",
            &json
        )
        .execute(&mut *conn)
        .await?;
    }
    write_tags(conn, &json).await?;
    sqlx::query!(
        "UPDATE articles a SET search = article_search(a.title, a.summary, a.author, a.tags, d -> 1 ->> 'body_text')
         FROM jsonb_array_elements($1::text::jsonb) d
         WHERE a.id = (d ->> 0)::bigint",
        json
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The tag rows of articles, from the JSON of (id, [`Derived`]) pairs.
/// Tag rows copy the publication time so tag pages page on their own index.
async fn write_tags(conn: &mut PgConnection, derived_json: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO article_tags (tag_slug, published_at, article_id, tag_name)
         SELECT t ->> 0, a.published_at, a.id, t ->> 1
         FROM jsonb_array_elements($1::text::jsonb) d
         CROSS JOIN jsonb_array_elements(d -> 1 -> 'tags') t
         JOIN articles a ON a.id = (d ->> 0)::bigint
         ON CONFLICT DO NOTHING",
        derived_json
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn delete(conn: &mut PgConnection, id: i64, now: i64) -> sqlx::Result<bool> {
    let Some(keys) = sqlx::query!("SELECT ingest_key, url_key FROM articles WHERE id = $1", id)
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
            "INSERT INTO tombstones (ingest_key, article_id, deleted_at) VALUES ($1, $2, $3)
             ON CONFLICT (ingest_key) DO UPDATE SET article_id = excluded.article_id, deleted_at = excluded.deleted_at",
            key,
            id,
            now
        )
        .execute(&mut *conn)
        .await?;
    }
    super::stories::forget(conn, id).await?;
    sqlx::query!("DELETE FROM articles WHERE id = $1", id)
        .execute(&mut *conn)
        .await?;
    Ok(true)
}

pub async fn get(db: &PgPool, id: i64, shown: Shown) -> sqlx::Result<Option<Article>> {
    let until = shown.until();
    let row = sqlx::query_as!(
        ArticleDbRow,
        r#"SELECT a.id AS "id!", a.section_id, a.slug, a.title, a.summary, a.author, a.source, a.url, a.external_id,
                  a.body_format, a.body_html, a.word_count, a.image_url, a.image_caption, a.tags,
                  s.name AS section_name, s.slug AS section_slug, a.published_at, a.claimed_published_at, a.created_at, a.updated_at
           FROM articles a JOIN sections s ON s.id = a.section_id
           WHERE a.id = $1 AND a.published_at <= $2"#,
        id,
        until
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(Article::from))
}

pub async fn recent_full(db: &PgPool, section_id: Option<i64>, limit: u32) -> sqlx::Result<Vec<Article>> {
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
                   WHERE a.published_at <= $1
                   ORDER BY a.published_at DESC, a.id DESC
                   LIMIT $2"#,
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
                   WHERE a.section_id = $1 AND a.published_at <= $2
                   ORDER BY a.published_at DESC, a.id DESC
                   LIMIT $3"#,
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

pub async fn page(db: &PgPool, scope: Scope<'_>, before: Cursor, limit: u32) -> sqlx::Result<Page> {
    let fetch = i64::from(limit) + 1;
    let (time, id) = (before.published_at, before.id).min((Shown::Published.until(), i64::MAX));
    let rows: Vec<CardRow> = match scope {
        Scope::All => {
            sqlx::query_as!(
                CardRow,
                r#"SELECT a.id AS "id!", a.section_id, a.slug, a.title, a.summary, a.author, a.image_url,
                          s.name AS section_name, s.slug AS section_slug, a.published_at
                   FROM articles a JOIN sections s ON s.id = a.section_id
                   WHERE (a.published_at, a.id) < ($1, $2) AND a.listed
                   ORDER BY a.published_at DESC, a.id DESC
                   LIMIT $3"#,
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
                   WHERE a.section_id = $1 AND (a.published_at, a.id) < ($2, $3) AND a.listed
                   ORDER BY a.published_at DESC, a.id DESC
                   LIMIT $4"#,
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
                   WHERE a.author_slug = $1 AND (a.published_at, a.id) < ($2, $3)
                   ORDER BY a.published_at DESC, a.id DESC
                   LIMIT $4"#,
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
                   WHERE t.tag_slug = $1 AND (t.published_at, t.article_id) < ($2, $3)
                   ORDER BY t.published_at DESC, t.article_id DESC
                   LIMIT $4"#,
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

pub async fn newest_by_section(db: &PgPool, per_section: u32) -> sqlx::Result<Vec<ArticleCard>> {
    let per_section = i64::from(per_section);
    let until = Shown::Published.until();
    let rows = sqlx::query_as!(
        CardRow,
        r#"SELECT a.id AS "id!", a.section_id AS "section_id!", a.slug AS "slug!", a.title AS "title!", a.summary,
                  a.author, a.image_url, s.name AS section_name, s.slug AS section_slug,
                  a.published_at AS "published_at!"
           FROM sections s
           CROSS JOIN LATERAL (SELECT b.id, b.section_id, b.slug, b.title, b.summary, b.author, b.image_url, b.published_at
                               FROM articles b
                               WHERE b.section_id = s.id AND b.published_at <= $1 AND b.listed
                               ORDER BY b.published_at DESC, b.id DESC LIMIT $2) a
           WHERE s.article_count > 0
           ORDER BY s.id, a.published_at DESC, a.id DESC"#,
        until,
        per_section
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(ArticleCard::from).collect())
}

pub async fn author_name(db: &PgPool, author_slug: &str) -> sqlx::Result<Option<String>> {
    let until = Shown::Published.until();
    let name = sqlx::query_scalar!(
        "SELECT author FROM articles WHERE author_slug = $1 AND published_at <= $2
         ORDER BY published_at DESC, id DESC LIMIT 1",
        author_slug,
        until
    )
    .fetch_optional(db)
    .await?;
    Ok(name.flatten())
}

pub async fn tag_name(db: &PgPool, tag_slug: &str) -> sqlx::Result<Option<String>> {
    let until = Shown::Published.until();
    sqlx::query_scalar!(
        "SELECT tag_name FROM article_tags WHERE tag_slug = $1 AND published_at <= $2 LIMIT 1",
        tag_slug,
        until
    )
    .fetch_optional(db)
    .await
}

pub async fn latest_outside_section(db: &PgPool, section_id: i64, limit: u32) -> sqlx::Result<Vec<ArticleCard>> {
    let limit = i64::from(limit);
    let until = Shown::Published.until();
    let rows = sqlx::query_as!(
        CardRow,
        r#"SELECT a.id AS "id!", a.section_id, a.slug, a.title, a.summary, a.author, a.image_url,
                  s.name AS section_name, s.slug AS section_slug, a.published_at
           FROM articles a JOIN sections s ON s.id = a.section_id
           WHERE a.section_id <> $1 AND a.published_at <= $2 AND a.listed
           ORDER BY a.published_at DESC, a.id DESC
           LIMIT $3"#,
        section_id,
        until,
        limit
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(ArticleCard::from).collect())
}

pub async fn ids_published_before(
    conn: &mut PgConnection,
    section_id: i64,
    before: i64,
    limit: u32,
) -> sqlx::Result<Vec<i64>> {
    let limit = i64::from(limit);
    sqlx::query_scalar!(
        r#"SELECT id AS "id!" FROM articles
           WHERE section_id = $1 AND published_at < $2
             AND NOT EXISTS (SELECT 1 FROM article_states st
                             WHERE st.article_id = articles.id AND st.saved_at IS NOT NULL)
           ORDER BY published_at, id LIMIT $3"#,
        section_id,
        before,
        limit
    )
    .fetch_all(conn)
    .await
}

pub async fn next_scheduled(db: &PgPool) -> sqlx::Result<Option<i64>> {
    let now = crate::store::now_unix();
    sqlx::query_scalar!(
        r#"SELECT MIN(published_at) AS "at: i64" FROM articles WHERE published_at > $1"#,
        now
    )
    .fetch_one(db)
    .await
}

pub async fn cards_by_ids(db: &PgPool, ids: &[i64]) -> sqlx::Result<Vec<ArticleCard>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let until = Shown::Published.until();
    let rows = sqlx::query_as!(
        CardRow,
        r#"SELECT a.id AS "id!", a.section_id, a.slug, a.title, a.summary, a.author, a.image_url,
                  s.name AS section_name, s.slug AS section_slug, a.published_at
           FROM articles a JOIN sections s ON s.id = a.section_id
           WHERE a.id = ANY($1) AND a.published_at <= $2"#,
        ids,
        until
    )
    .fetch_all(db)
    .await?;
    let mut cards: std::collections::HashMap<i64, ArticleCard> =
        rows.into_iter().map(|r| (r.id, ArticleCard::from(r))).collect();
    Ok(ids.iter().filter_map(|id| cards.remove(id)).collect())
}

pub async fn full_by_ids(db: &PgPool, ids: &[i64]) -> sqlx::Result<Vec<Article>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let until = Shown::Published.until();
    let rows = sqlx::query_as!(
        ArticleDbRow,
        r#"SELECT a.id AS "id!", a.section_id, a.slug, a.title, a.summary, a.author, a.source, a.url, a.external_id,
                  a.body_format, a.body_html, a.word_count, a.image_url, a.image_caption, a.tags,
                  s.name AS section_name, s.slug AS section_slug, a.published_at, a.claimed_published_at, a.created_at, a.updated_at
           FROM articles a JOIN sections s ON s.id = a.section_id
           WHERE a.id = ANY($1) AND a.published_at <= $2"#,
        ids,
        until
    )
    .fetch_all(db)
    .await?;
    let mut articles: std::collections::HashMap<i64, Article> =
        rows.into_iter().map(|r| (r.id, Article::from(r))).collect();
    Ok(ids.iter().filter_map(|id| articles.remove(id)).collect())
}

pub async fn ids_before(db: &PgPool, before: i64, limit: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar!(
        "SELECT id FROM articles WHERE id < $1 ORDER BY id DESC LIMIT $2",
        before,
        limit
    )
    .fetch_all(db)
    .await
}
