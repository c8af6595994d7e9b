//! Stories and near-duplicate copies, in PostgreSQL's dialect.

use sqlx::{PgConnection, PgPool};

use crate::store::stories::{PER_BAND, PER_TERM, PrintRow, StoryRef, StoryRow, Unplaced, Version};

pub async fn placed_through(db: &PgPool) -> sqlx::Result<i64> {
    sqlx::query_scalar!(r#"SELECT stories_placed_through AS "at!" FROM site_state WHERE id = 1"#)
        .fetch_one(db)
        .await
}

pub async fn unplaced_after(db: &PgPool, after: i64, limit: i64, text_bytes: i64) -> sqlx::Result<Vec<Unplaced>> {
    sqlx::query_as!(
        Unplaced,
        r#"SELECT a.id, a.title, a.summary, left(a.body_html, $3::int) AS "body_html!", a.source, a.url, a.published_at
           FROM articles a
           WHERE a.id > $1 AND NOT EXISTS (SELECT 1 FROM story_members m WHERE m.article_id = a.id)
           ORDER BY a.id LIMIT $2"#,
        after,
        limit,
        text_bytes as i32
    )
    .fetch_all(db)
    .await
}

pub async fn take_placing_turn(conn: &mut PgConnection, from: i64) -> sqlx::Result<bool> {
    // Instances place one at a time: this lock is held to the end of the
    // transaction. The cursor is moved
    // last (see `placed`): taken first, its row's lock would be held
    // while stories' rows are locked, the opposite of a deletion's order.
    sqlx::query!("SELECT pg_advisory_xact_lock($1)", super::locks::PLACING)
        .execute(&mut *conn)
        .await?;
    let at = sqlx::query_scalar!(r#"SELECT stories_placed_through AS "at!" FROM site_state WHERE id = 1"#)
        .fetch_one(conn)
        .await?;
    Ok(at == from)
}

pub async fn placed(conn: &mut PgConnection, through: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE site_state SET stories_placed_through = $1 WHERE id = 1",
        through
    )
    .execute(conn)
    .await
    .map(|_| ())
}

pub async fn still_unplaced(conn: &mut PgConnection, ids: &[i64]) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar!(
        r#"SELECT a.id FROM articles a
           WHERE a.id = ANY($1::bigint[])
             AND NOT EXISTS (SELECT 1 FROM story_members m WHERE m.article_id = a.id)"#,
        ids
    )
    .fetch_all(conn)
    .await
}

pub async fn waiting(db: &PgPool) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT COUNT(*) AS "n!" FROM articles
           WHERE id > (SELECT stories_placed_through FROM site_state WHERE id = 1)
             AND NOT EXISTS (SELECT 1 FROM story_members m WHERE m.article_id = articles.id)"#
    )
    .fetch_one(db)
    .await
}

pub async fn prints_in_bands(conn: &mut PgConnection, keys: &[(i64, i64)]) -> sqlx::Result<Vec<PrintRow>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let (weeks, bands): (Vec<i64>, Vec<i64>) = keys.iter().copied().unzip();
    sqlx::query_as!(
        PrintRow,
        r#"SELECT f.article_id, f.shingles, f.signature, m.story_id, m.duplicate_of
           FROM article_fingerprints f JOIN story_members m ON m.article_id = f.article_id
           WHERE f.article_id IN (SELECT b.article_id FROM unnest($1::bigint[], $2::bigint[]) AS j(week, band)
                                  CROSS JOIN LATERAL (SELECT b2.article_id FROM fingerprint_bands b2
                                                      WHERE b2.week = j.week AND b2.band = j.band
                                                      ORDER BY b2.article_id DESC LIMIT $3) b)
           ORDER BY f.article_id"#,
        &weeks,
        &bands,
        PER_BAND
    )
    .fetch_all(conn)
    .await
}

pub async fn term_entries(conn: &mut PgConnection, queries: &str) -> sqlx::Result<Vec<(i64, i64, i64)>> {
    let rows = sqlx::query!(
        r#"SELECT (q.v ->> 4)::bigint AS "n!", t.at AS "at!", t.story_id AS "story_id!"
           FROM jsonb_array_elements($1::jsonb) AS q(v)
           CROSS JOIN LATERAL (SELECT t2.at, t2.story_id FROM story_terms t2
                               WHERE t2.week = (q.v ->> 0)::bigint AND t2.term = q.v ->> 1
                                 AND t2.at BETWEEN (q.v ->> 2)::bigint AND (q.v ->> 3)::bigint
                               ORDER BY t2.at DESC, t2.story_id DESC LIMIT $2) t"#,
        queries as &str,
        PER_TERM
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.n, r.at, r.story_id)).collect())
}

pub async fn term_counts(conn: &mut PgConnection, terms: &[&str]) -> sqlx::Result<Vec<(String, i64)>> {
    let rows = sqlx::query!(
        r#"SELECT term AS "term!", articles AS "articles!" FROM term_counts WHERE term = ANY($1::text[])
           UNION ALL
           SELECT term, articles FROM term_counts WHERE term = ''"#,
        terms as &[&str]
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.term, r.articles)).collect())
}

pub async fn stories_by_id(conn: &mut PgConnection, ids: &[i64]) -> sqlx::Result<Vec<StoryRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_as!(
        StoryRow,
        "SELECT id, first_at, last_at, centroid FROM stories WHERE id = ANY($1::bigint[])",
        ids
    )
    .fetch_all(conn)
    .await
}

pub async fn next_id(conn: &mut PgConnection) -> sqlx::Result<i64> {
    // Under the placing turn (see `take_placing_turn`).
    sqlx::query_scalar!(r#"SELECT COALESCE(MAX(id), 0) + 1 AS "id!" FROM stories"#)
        .fetch_one(conn)
        .await
}

pub async fn save(conn: &mut PgConnection, decisions: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO stories (id, lead_article_id, article_count, source_count, first_at, last_at, centroid)
         SELECT (v ->> 'id')::bigint, (v ->> 'lead')::bigint, (v ->> 'added')::bigint, 0,
                (v ->> 'first_at')::bigint, (v ->> 'last_at')::bigint, v ->> 'centroid'
         FROM jsonb_array_elements($1::jsonb -> 'stories') AS d(v)
         ON CONFLICT (id) DO UPDATE SET article_count = stories.article_count + excluded.article_count,
                first_at = excluded.first_at, last_at = excluded.last_at, centroid = excluded.centroid",
        decisions as &str
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO story_members (article_id, story_id, duplicate_of, source_key)
         SELECT (v ->> 'article_id')::bigint, (v ->> 'story_id')::bigint, (v ->> 'duplicate_of')::bigint,
                v ->> 'source_key'
         FROM jsonb_array_elements($1::jsonb -> 'members') AS d(v)",
        decisions as &str
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE stories SET source_count = (SELECT COUNT(DISTINCT source_key) FROM story_members m
                                            WHERE m.story_id = stories.id)
         WHERE id IN (SELECT (v ->> 'id')::bigint FROM jsonb_array_elements($1::jsonb -> 'stories') AS d(v))",
        decisions as &str
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO story_terms (week, term, at, story_id)
         SELECT (v ->> 0)::bigint, v ->> 1, (v ->> 2)::bigint, (v ->> 3)::bigint
         FROM jsonb_array_elements($1::jsonb -> 'terms') AS d(v)
         ON CONFLICT DO NOTHING",
        decisions as &str
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO term_counts (term, articles)
         SELECT v ->> 0, (v ->> 1)::bigint FROM jsonb_array_elements($1::jsonb -> 'counts') AS d(v)
         ON CONFLICT (term) DO UPDATE SET articles = term_counts.articles + excluded.articles",
        decisions as &str
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO article_fingerprints (article_id, shingles, signature)
         SELECT (v ->> 0)::bigint, (v ->> 1)::bigint, decode(v ->> 2, 'hex')
         FROM jsonb_array_elements($1::jsonb -> 'prints') AS d(v)",
        decisions as &str
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO fingerprint_bands (week, band, article_id)
         SELECT (v ->> 0)::bigint, (v ->> 1)::bigint, (v ->> 2)::bigint
         FROM jsonb_array_elements($1::jsonb -> 'bands') AS d(v)
         ON CONFLICT DO NOTHING",
        decisions as &str
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE articles SET listed = FALSE
         WHERE id IN (SELECT (v #>> '{}')::bigint FROM jsonb_array_elements($1::jsonb -> 'joined') AS d(v))
           AND EXISTS (SELECT 1 FROM story_members m
                       JOIN story_members o ON o.story_id = m.story_id AND o.article_id < m.article_id
                       JOIN articles b ON b.id = o.article_id
                       WHERE m.article_id = articles.id AND b.section_id = articles.section_id)",
        decisions as &str
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn forget(conn: &mut PgConnection, article_id: i64) -> sqlx::Result<()> {
    let Some(member) = sqlx::query!(
        "SELECT m.story_id, a.section_id, a.listed
         FROM story_members m JOIN articles a ON a.id = m.article_id WHERE m.article_id = $1",
        article_id
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(());
    };
    sqlx::query!("DELETE FROM story_members WHERE article_id = $1", article_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query!(
        "UPDATE story_members
         SET duplicate_of = NULLIF((SELECT MIN(c.article_id) FROM story_members c WHERE c.duplicate_of = $1), article_id)
         WHERE duplicate_of = $1",
        article_id
    )
    .execute(&mut *conn)
    .await?;
    if member.listed {
        sqlx::query!(
            "UPDATE articles SET listed = TRUE
             WHERE id = (SELECT MIN(m.article_id) FROM story_members m JOIN articles a ON a.id = m.article_id
                         WHERE m.story_id = $1 AND a.section_id = $2)",
            member.story_id,
            member.section_id
        )
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query!(
        "UPDATE stories SET article_count = article_count - 1,
                lead_article_id = COALESCE((SELECT MIN(article_id) FROM story_members WHERE story_id = $1), lead_article_id),
                source_count = (SELECT COUNT(DISTINCT source_key) FROM story_members WHERE story_id = $1)
         WHERE id = $1",
        member.story_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "DELETE FROM stories WHERE id = $1 AND article_count <= 0",
        member.story_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("DELETE FROM article_fingerprints WHERE article_id = $1", article_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn placed_at(conn: &mut PgConnection, article_id: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        "SELECT a.published_at FROM articles a JOIN story_members m ON m.article_id = a.id WHERE a.id = $1",
        article_id
    )
    .fetch_optional(conn)
    .await
}

pub async fn drop_print(conn: &mut PgConnection, article_id: i64) -> sqlx::Result<()> {
    sqlx::query!("DELETE FROM article_fingerprints WHERE article_id = $1", article_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn of_articles(db: &PgPool, ids: &[i64]) -> sqlx::Result<Vec<StoryRef>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_as!(
        StoryRef,
        r#"SELECT m.article_id, s.id, s.article_count AS articles, s.source_count AS sources, m.duplicate_of
           FROM story_members m JOIN stories s ON s.id = m.story_id
           WHERE m.article_id = ANY($1::bigint[])"#,
        ids
    )
    .fetch_all(db)
    .await
}

pub async fn versions(db: &PgPool, story_id: i64, until: i64) -> sqlx::Result<Vec<Version>> {
    sqlx::query_as!(
        Version,
        r#"SELECT a.id, a.slug, a.title, a.author, a.source, a.url, s.name AS section_name,
                  s.slug AS section_slug, a.published_at, m.duplicate_of
           FROM story_members m JOIN articles a ON a.id = m.article_id JOIN sections s ON s.id = a.section_id
           WHERE m.story_id = $1 AND a.published_at <= $2
           ORDER BY m.article_id"#,
        story_id,
        until
    )
    .fetch_all(db)
    .await
}

pub async fn copies(conn: &mut PgConnection, article_id: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar!(
        r#"WITH original AS (SELECT COALESCE(duplicate_of, article_id) AS id FROM story_members WHERE article_id = $1)
           SELECT id AS "id!" FROM original
           UNION
           SELECT m.article_id FROM story_members m, original o WHERE m.duplicate_of = o.id"#,
        article_id
    )
    .fetch_all(conn)
    .await
}
