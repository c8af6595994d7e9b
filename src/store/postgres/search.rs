//! Full-text search over articles: the weighted tsvector `search` column
//! (written by `articles::write_derived`), its GIN index, and `ts_rank`.

use sqlx::{PgConnection, PgPool};

use crate::domain::search::{SearchQuery, TermCounts};
use crate::store::search::{Bound, CANDIDATES, Filters, Found, HitRow, Order};

/// The weights of `ts_rank` for the classes D, C, B, A: body; author and
/// tags; summary; title. In the proportions of SQLite's bm25 weights.
const WEIGHTS: [f32; 4] = [0.1, 0.3, 0.4, 1.0];

pub async fn search(
    db: &PgPool,
    query: &SearchQuery,
    filters: &Filters,
    order: Order,
    limit: u32,
    offset: u32,
) -> sqlx::Result<Found> {
    let (limit, offset) = (i64::from(limit), i64::from(offset));
    let newest = order == Order::Newest;
    // Scheduled articles are not found before their time.
    let published_by = crate::store::now_unix();
    // The candidates are the most recent matches by publication time within
    // the filters, at most CANDIDATES of them. How to find those depends on
    // the word: for a common one, walking the newest articles of the slice
    // back in time finds them in the first few thousand; for a rare one, the
    // GIN index does. The planner can tell only from the query itself, so
    // the tsquery is written inline (not in a CTE, which hides it from the
    // estimates) and planned for its actual parameters every time: after a
    // few runs PostgreSQL may otherwise settle on one generic plan, made
    // without knowing the word, for every word.
    let mut tx = db.begin().await?;
    sqlx::query!("SET LOCAL plan_cache_mode = force_custom_plan")
        .execute(&mut *tx)
        .await?;
    let candidates: Vec<i64> = sqlx::query_scalar!(
        r#"SELECT a.id FROM articles a
           WHERE a.search @@ to_tsquery('gazette', $1)
             AND ($2::bigint IS NULL OR a.section_id = $2)
             AND ($3::bigint IS NULL OR a.published_at >= $3)
             AND ($4::bigint IS NULL OR a.published_at <= $4)
             AND a.published_at <= $5
           ORDER BY a.published_at DESC, a.id DESC LIMIT $6"#,
        query.tsquery,
        filters.section_id,
        filters.from,
        filters.to,
        published_by,
        CANDIDATES
    )
    .fetch_all(&mut *tx)
    .await?;
    let rows = sqlx::query_as!(
        HitRow,
        r#"WITH page AS (
               SELECT a.id, a.published_at,
                      CASE WHEN $3 THEN -a.published_at::float8
                           ELSE -ts_rank($6::real[], a.search, to_tsquery('gazette', $1))::float8 END AS sort_key
               FROM articles a WHERE a.id = ANY($2)
               ORDER BY sort_key, a.published_at DESC, a.id DESC
               LIMIT $4 OFFSET $5
           )
           SELECT a.id AS "id!", a.section_id, a.slug, a.title, a.summary, a.author, a.image_url,
                  s.name AS section_name, s.slug AS section_slug, a.published_at,
                  a.body_html
           FROM page
           JOIN articles a ON a.id = page.id
           JOIN sections s ON s.id = a.section_id
           ORDER BY page.sort_key, page.published_at DESC, page.id DESC"#,
        query.tsquery,
        &candidates,
        newest,
        limit,
        offset,
        &WEIGHTS[..]
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let bound = (candidates.len() as i64 == CANDIDATES).then_some(Bound {
        considered: CANDIDATES,
        newest_first: false,
        stories_searched: None,
    });
    Ok(Found {
        hits: rows.into_iter().map(|row| row.into_hit(query)).collect(),
        bound,
    })
}

/// PostgreSQL keeps its GIN index itself (autovacuum merges its pending
/// list): there is never a merge step to take.
pub async fn merge_step(_conn: &mut PgConnection) -> sqlx::Result<bool> {
    Ok(false)
}

/// PostgreSQL's search bounds its cost by the matches it weighs; the
/// term counts are SQLite's (see `store::search::term_counts`).
pub async fn term_counts(_db: &PgPool, _words: &[String], _prefixes: &[String]) -> sqlx::Result<TermCounts> {
    Ok(TermCounts::default())
}

pub async fn count_terms(_db: &PgPool, _floor: i64) -> sqlx::Result<Vec<(String, i64)>> {
    Ok(Vec::new())
}

pub async fn save_term_counts(
    _conn: &mut PgConnection,
    _terms: &[(String, i64)],
    _articles: i64,
    _floor: i64,
    _now: i64,
) -> sqlx::Result<()> {
    Ok(())
}

pub async fn terms_counted_at(_db: &PgPool) -> sqlx::Result<Option<(i64, i64)>> {
    Ok(None)
}

pub async fn indexed_articles(db: &PgPool) -> sqlx::Result<i64> {
    sqlx::query_scalar!(r#"SELECT count(*) AS "n!: i64" FROM articles AS indexed"#)
        .fetch_one(db)
        .await
}
