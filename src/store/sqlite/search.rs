//! Full-text search over articles (FTS5, ranked with bm25).

use crate::store::search::{CANDIDATES, Filters, Hit, HitRow, Order};

use sqlx::{SqliteConnection, SqlitePool};

use crate::domain::search::SearchQuery;

pub async fn search(
    db: &SqlitePool,
    query: &SearchQuery,
    filters: &Filters,
    order: Order,
    limit: u32,
    offset: u32,
) -> sqlx::Result<Vec<Hit>> {
    let (limit, offset) = (i64::from(limit), i64::from(offset));
    let newest = order == Order::Newest;
    // Scheduled articles are not found before their time.
    let published_by = crate::store::now_unix();
    let rows = sqlx::query_as!(
        HitRow,
        r#"WITH candidates AS (
               SELECT rowid AS id, bm25(articles_fts, 10.0, 4.0, 1.0, 3.0, 3.0) AS score
               FROM articles_fts
               WHERE articles_fts MATCH ?1
                 AND rowid >= (SELECT MIN(rowid) FROM (
                     SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?1 ORDER BY rowid DESC LIMIT ?2))
           ),
           page AS (
               SELECT a.id, a.published_at,
                      CASE WHEN ?6 THEN -a.published_at ELSE c.score END AS sort_key
               FROM candidates c JOIN articles a ON a.id = c.id
               WHERE (?3 IS NULL OR a.section_id = ?3)
                 AND (?4 IS NULL OR a.published_at >= ?4)
                 AND (?5 IS NULL OR a.published_at <= ?5)
                 AND a.published_at <= ?9
               ORDER BY sort_key, a.published_at DESC, a.id DESC
               LIMIT ?7 OFFSET ?8
           )
           SELECT a.id AS "id!", a.section_id, a.slug, a.title, a.summary, a.author, a.image_url,
                  s.name AS section_name, s.slug AS section_slug, a.published_at,
                  a.body_html
           FROM page
           JOIN articles a ON a.id = page.id
           JOIN sections s ON s.id = a.section_id
           ORDER BY page.sort_key, page.published_at DESC, page.id DESC"#,
        query.fts,
        CANDIDATES,
        filters.section_id,
        filters.from,
        filters.to,
        newest,
        limit,
        offset,
        published_by
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|row| row.into_hit(query)).collect())
}

/// Index pages one merge step may write: a few milliseconds of work, so a
/// write waiting behind it barely notices.
const MERGE_PAGES: i64 = 64;

pub async fn merge_step(conn: &mut SqliteConnection) -> sqlx::Result<bool> {
    let before = sqlx::query_scalar!(r#"SELECT total_changes() AS "n!: i64""#)
        .fetch_one(&mut *conn)
        .await?;
    sqlx::query!(
        "INSERT INTO articles_fts (articles_fts, rank) VALUES ('merge', ?)",
        MERGE_PAGES
    )
    .execute(&mut *conn)
    .await?;
    let after = sqlx::query_scalar!(r#"SELECT total_changes() AS "n!: i64""#)
        .fetch_one(&mut *conn)
        .await?;
    // A step that merged nothing changes at most one row (its own).
    Ok(after - before > 1)
}
