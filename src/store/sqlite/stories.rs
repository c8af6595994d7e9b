//! Stories and near-duplicate copies, in SQLite's dialect.

use sqlx::{SqliteConnection, SqlitePool};

use crate::store::stories::{PER_BAND, PER_TERM, PrintRow, StoryRef, StoryRow, Unplaced, Version};

pub async fn placed_through(db: &SqlitePool) -> sqlx::Result<i64> {
    sqlx::query_scalar!(r#"SELECT stories_placed_through AS "at!: i64" FROM site_state WHERE id = 1"#)
        .fetch_one(db)
        .await
}

pub async fn unplaced_after(db: &SqlitePool, after: i64, limit: i64, text_bytes: i64) -> sqlx::Result<Vec<Unplaced>> {
    sqlx::query_as!(
        Unplaced,
        r#"SELECT a.id AS "id!", a.title, a.summary, substr(a.body_html, 1, ?) AS "body_html!: String", a.source, a.url,
                  a.published_at
           FROM articles a
           WHERE a.id > ? AND NOT EXISTS (SELECT 1 FROM story_members m WHERE m.article_id = a.id)
           ORDER BY a.id LIMIT ?"#,
        text_bytes,
        after,
        limit
    )
    .fetch_all(db)
    .await
}

pub async fn take_placing_turn(conn: &mut SqliteConnection, from: i64) -> sqlx::Result<bool> {
    // One writer: the turn is this transaction's, and the cursor as read.
    Ok(
        sqlx::query_scalar!("SELECT stories_placed_through FROM site_state WHERE id = 1")
            .fetch_one(conn)
            .await?
            == from,
    )
}

pub async fn placed(conn: &mut SqliteConnection, through: i64) -> sqlx::Result<()> {
    sqlx::query!("UPDATE site_state SET stories_placed_through = ? WHERE id = 1", through)
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn still_unplaced(conn: &mut SqliteConnection, ids: &[i64]) -> sqlx::Result<Vec<i64>> {
    let ids = serde_json::to_string(ids).map_err(|e| sqlx::Error::Encode(e.into()))?;
    sqlx::query_scalar!(
        r#"SELECT a.id AS "id!: i64" FROM articles a
           WHERE a.id IN (SELECT value FROM json_each(?))
             AND NOT EXISTS (SELECT 1 FROM story_members m WHERE m.article_id = a.id)"#,
        ids
    )
    .fetch_all(conn)
    .await
}

pub async fn waiting(db: &SqlitePool) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT COUNT(*) AS "n!: i64" FROM articles
           WHERE id > (SELECT stories_placed_through FROM site_state WHERE id = 1)
             AND NOT EXISTS (SELECT 1 FROM story_members m WHERE m.article_id = articles.id)"#
    )
    .fetch_one(db)
    .await
}

pub async fn prints_in_bands(conn: &mut SqliteConnection, keys: &[(i64, i64)]) -> sqlx::Result<Vec<PrintRow>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let keys = serde_json::to_string(keys).map_err(|e| sqlx::Error::Encode(e.into()))?;
    // Each band's cutoff is found first (its PER_BAND-th newest article),
    // then only the band's newest are read: the cutoff computed inside
    // the join would be computed again for every row of a crowded band.
    sqlx::query_as!(
        PrintRow,
        r#"WITH cut AS MATERIALIZED (
               SELECT j.value ->> 0 AS week, j.value ->> 1 AS band,
                      COALESCE((SELECT b2.article_id FROM fingerprint_bands b2
                                WHERE b2.week = j.value ->> 0 AND b2.band = j.value ->> 1
                                ORDER BY b2.article_id DESC LIMIT 1 OFFSET ?2 - 1), 0) AS from_id
               FROM json_each(?1) j)
           SELECT DISTINCT f.article_id AS "article_id!", f.shingles, f.signature, m.story_id, m.duplicate_of
           FROM cut JOIN fingerprint_bands b ON b.week = cut.week AND b.band = cut.band AND b.article_id >= cut.from_id
           JOIN article_fingerprints f ON f.article_id = b.article_id
           JOIN story_members m ON m.article_id = f.article_id
           ORDER BY f.article_id"#,
        keys,
        PER_BAND
    )
    .fetch_all(conn)
    .await
}

pub async fn term_entries(conn: &mut SqliteConnection, queries: &str) -> sqlx::Result<Vec<(i64, i64, i64)>> {
    // Each query's cutoff (its PER_TERM-th newest entry) is found first,
    // then its entries are read from there: a range of the index, however
    // many entries the term has.
    let rows = sqlx::query!(
        r#"WITH cut AS MATERIALIZED (
               SELECT j.value ->> 4 AS n, j.value ->> 0 AS week, j.value ->> 1 AS term, j.value ->> 3 AS hi,
                      MAX(j.value ->> 2, COALESCE((SELECT t2.at FROM story_terms t2
                                                   WHERE t2.week = j.value ->> 0 AND t2.term = j.value ->> 1
                                                     AND t2.at BETWEEN j.value ->> 2 AND j.value ->> 3
                                                   ORDER BY t2.at DESC LIMIT 1 OFFSET ?2 - 1), 0)) AS lo
               FROM json_each(?1) j)
           SELECT cut.n AS "n!: i64", t.at AS "at!: i64", t.story_id AS "story_id!: i64"
           FROM cut JOIN story_terms t
             ON t.week = cut.week AND t.term = cut.term AND t.at BETWEEN cut.lo AND cut.hi"#,
        queries,
        PER_TERM
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.n, r.at, r.story_id)).collect())
}

pub async fn term_counts(conn: &mut SqliteConnection, terms: &[&str]) -> sqlx::Result<Vec<(String, i64)>> {
    let terms = serde_json::to_string(terms).map_err(|e| sqlx::Error::Encode(e.into()))?;
    let rows = sqlx::query!(
        r#"SELECT term AS "term!: String", articles AS "articles!: i64" FROM term_counts
           WHERE term IN (SELECT value FROM json_each(?))
           UNION ALL
           SELECT term, articles FROM term_counts WHERE term = ''"#,
        terms
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.term, r.articles)).collect())
}

pub async fn stories_by_id(conn: &mut SqliteConnection, ids: &[i64]) -> sqlx::Result<Vec<StoryRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids = serde_json::to_string(ids).map_err(|e| sqlx::Error::Encode(e.into()))?;
    sqlx::query_as!(
        StoryRow,
        r#"SELECT id AS "id!", first_at, last_at, centroid FROM stories
           WHERE id IN (SELECT value FROM json_each(?))"#,
        ids
    )
    .fetch_all(conn)
    .await
}

pub async fn next_id(conn: &mut SqliteConnection) -> sqlx::Result<i64> {
    sqlx::query_scalar!(r#"SELECT COALESCE(MAX(id), 0) + 1 AS "id!: i64" FROM stories"#)
        .fetch_one(conn)
        .await
}

pub async fn save(conn: &mut SqliteConnection, decisions: &str) -> sqlx::Result<()> {
    sqlx::query!(
        r#"INSERT INTO stories (id, lead_article_id, article_count, source_count, first_at, last_at, centroid)
           SELECT value ->> 'id', value ->> 'lead', value ->> 'added', 0, value ->> 'first_at',
                  value ->> 'last_at', value ->> 'centroid'
           FROM json_each(?, '$.stories') WHERE true
           ON CONFLICT (id) DO UPDATE SET article_count = article_count + excluded.article_count,
                  first_at = excluded.first_at, last_at = excluded.last_at, centroid = excluded.centroid"#,
        decisions
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO story_members (article_id, story_id, duplicate_of, source_key)
         SELECT value ->> 'article_id', value ->> 'story_id', value ->> 'duplicate_of', value ->> 'source_key'
         FROM json_each(?, '$.members')",
        decisions
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE stories SET source_count = (SELECT COUNT(DISTINCT source_key) FROM story_members m
                                            WHERE m.story_id = stories.id)
         WHERE id IN (SELECT value ->> 'id' FROM json_each(?, '$.stories'))",
        decisions
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT OR IGNORE INTO story_terms (week, term, at, story_id)
         SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3 FROM json_each(?, '$.terms')",
        decisions
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO term_counts (term, articles)
         SELECT value ->> 0, value ->> 1 FROM json_each(?, '$.counts') WHERE true
         ON CONFLICT (term) DO UPDATE SET articles = articles + excluded.articles",
        decisions
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO article_fingerprints (article_id, shingles, signature)
         SELECT value ->> 0, value ->> 1, unhex(value ->> 2) FROM json_each(?, '$.prints')",
        decisions
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT OR IGNORE INTO fingerprint_bands (week, band, article_id)
         SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(?, '$.bands')",
        decisions
    )
    .execute(&mut *conn)
    .await?;
    // A later version of a story its section already shows is left out of lists.
    sqlx::query!(
        "UPDATE articles SET listed = 0
         WHERE id IN (SELECT value FROM json_each(?, '$.joined'))
           AND EXISTS (SELECT 1 FROM story_members m
                       JOIN story_members o ON o.story_id = m.story_id AND o.article_id < m.article_id
                       JOIN articles b ON b.id = o.article_id
                       WHERE m.article_id = articles.id AND b.section_id = articles.section_id)",
        decisions
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn forget(conn: &mut SqliteConnection, article_id: i64) -> sqlx::Result<()> {
    let Some(member) = sqlx::query!(
        r#"SELECT m.story_id AS "story_id!: i64", a.section_id AS "section_id!: i64", a.listed AS "listed!: bool"
           FROM story_members m JOIN articles a ON a.id = m.article_id WHERE m.article_id = ?"#,
        article_id
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(());
    };
    sqlx::query!("DELETE FROM story_members WHERE article_id = ?", article_id)
        .execute(&mut *conn)
        .await?;
    // Its copies: the oldest becomes the original of the others.
    sqlx::query!(
        "UPDATE story_members
         SET duplicate_of = NULLIF((SELECT MIN(c.article_id) FROM story_members c WHERE c.duplicate_of = ?1), article_id)
         WHERE duplicate_of = ?1",
        article_id
    )
    .execute(&mut *conn)
    .await?;
    if member.listed {
        sqlx::query!(
            "UPDATE articles SET listed = 1
             WHERE id = (SELECT MIN(m.article_id) FROM story_members m JOIN articles a ON a.id = m.article_id
                         WHERE m.story_id = ? AND a.section_id = ?)",
            member.story_id,
            member.section_id
        )
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query!(
        "UPDATE stories SET article_count = article_count - 1,
                lead_article_id = COALESCE((SELECT MIN(article_id) FROM story_members WHERE story_id = ?1), lead_article_id),
                source_count = (SELECT COUNT(DISTINCT source_key) FROM story_members WHERE story_id = ?1)
         WHERE id = ?1",
        member.story_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "DELETE FROM stories WHERE id = ? AND article_count <= 0",
        member.story_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("DELETE FROM article_fingerprints WHERE article_id = ?", article_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn placed_at(conn: &mut SqliteConnection, article_id: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        "SELECT a.published_at FROM articles a JOIN story_members m ON m.article_id = a.id WHERE a.id = ?",
        article_id
    )
    .fetch_optional(conn)
    .await
}

pub async fn drop_print(conn: &mut SqliteConnection, article_id: i64) -> sqlx::Result<()> {
    sqlx::query!("DELETE FROM article_fingerprints WHERE article_id = ?", article_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn of_articles(db: &SqlitePool, ids: &[i64]) -> sqlx::Result<Vec<StoryRef>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids = serde_json::to_string(ids).map_err(|e| sqlx::Error::Encode(e.into()))?;
    sqlx::query_as!(
        StoryRef,
        r#"SELECT m.article_id AS "article_id!", s.id AS "id!", s.article_count AS articles, s.source_count AS sources,
                  m.duplicate_of
           FROM story_members m JOIN stories s ON s.id = m.story_id
           WHERE m.article_id IN (SELECT value FROM json_each(?))"#,
        ids
    )
    .fetch_all(db)
    .await
}

pub async fn versions(db: &SqlitePool, story_id: i64, until: i64) -> sqlx::Result<Vec<Version>> {
    sqlx::query_as!(
        Version,
        r#"SELECT a.id AS "id!", a.slug, a.title, a.author, a.source, a.url, s.name AS section_name,
                  s.slug AS section_slug, a.published_at, m.duplicate_of
           FROM story_members m JOIN articles a ON a.id = m.article_id JOIN sections s ON s.id = a.section_id
           WHERE m.story_id = ? AND a.published_at <= ?
           ORDER BY m.article_id"#,
        story_id,
        until
    )
    .fetch_all(db)
    .await
}

pub async fn copies(conn: &mut SqliteConnection, article_id: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar!(
        r#"WITH original AS (SELECT COALESCE(duplicate_of, article_id) AS id FROM story_members WHERE article_id = ?)
           SELECT id AS "id!: i64" FROM original
           UNION
           SELECT m.article_id FROM story_members m, original o WHERE m.duplicate_of = o.id"#,
        article_id
    )
    .fetch_all(conn)
    .await
}
