//! Full-text search over articles (FTS5, ranked with bm25).

use crate::store::search::{Bound, CANDIDATES, EXACT_MATCHES, Filters, Found, Hit, HitRow, Order};

use sqlx::{SqliteConnection, SqlitePool};

use crate::domain::search::{SearchQuery, TermCounts};

/// Past [`EXACT_MATCHES`], how many of the newest stories of the filtered
/// slice a search looks among for its [`CANDIDATES`]: reading them from the
/// time index is cheap, and they bound what the join with the matches costs
/// when stories were stored in the order they were published.
const WALK_STORIES: i64 = 20_000;

/// The walk is made in steps: a common word fills its candidates among the
/// first 1,500 stories, and only a rarer one pays for the longer walk.
const WALK_STEPS: [i64; 3] = [1_500, 6_000, WALK_STORIES];

/// The widest span of ids the candidates may cover and still be ranked by
/// relevance: bm25 is computed for every match in the span, so a span
/// reaching from an old archive to this morning would cost as much as
/// weighing every match. Wider, they are listed newest first, and the
/// reader is told.
const RANK_SPAN: i64 = 10_000;

pub async fn search(
    db: &SqlitePool,
    query: &SearchQuery,
    filters: &Filters,
    order: Order,
    limit: u32,
    offset: u32,
) -> sqlx::Result<Found> {
    let mut conn = db.acquire().await?;
    let matches = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!: i64" FROM (SELECT 1 FROM articles_fts WHERE articles_fts MATCH ?1 LIMIT ?2)"#,
        query.fts,
        EXACT_MATCHES + 1
    )
    .fetch_one(&mut *conn)
    .await?;
    if matches <= EXACT_MATCHES {
        let unfiltered = filters.section_id.is_none() && filters.from.is_none() && filters.to.is_none();
        if unfiltered
            && order == Order::Relevance
            && let Some(hits) = best_matches(&mut conn, query, limit, offset).await?
        {
            return Ok(Found { hits, bound: None });
        }
        let hits = every_match(&mut conn, query, filters, order, limit, offset).await?;
        return Ok(Found { hits, bound: None });
    }
    most_recent_matches(&mut conn, query, filters, order, limit, offset).await
}

/// Stories a relevance search ranks beyond its page, so that scheduled
/// ones (not yet shown) can be left out without a second look.
const SCHEDULED_MARGIN: i64 = 16;

/// The page of an unfiltered relevance search, ranked by the index alone
/// and only its stories read: reading every match's article to filter it
/// is most of a search's cost. `None` when scheduled stories among the
/// best took more than the margin (then every match is read).
async fn best_matches(
    conn: &mut SqliteConnection,
    query: &SearchQuery,
    limit: u32,
    offset: u32,
) -> sqlx::Result<Option<Vec<Hit>>> {
    let wanted = i64::from(offset) + i64::from(limit);
    let ranked: Vec<(i64, i64)> = sqlx::query!(
        r#"WITH best AS MATERIALIZED (
               SELECT rowid AS id, bm25(articles_fts, 10.0, 4.0, 1.0, 3.0, 3.0) AS score
               FROM articles_fts WHERE articles_fts MATCH ?1
               ORDER BY score LIMIT ?2)
           SELECT b.id AS "id!: i64", a.published_at AS "published_at!: i64"
           FROM best b JOIN articles a ON a.id = b.id
           ORDER BY b.score, a.published_at DESC, a.id DESC"#,
        query.fts,
        wanted + SCHEDULED_MARGIN
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|r| (r.id, r.published_at))
    .collect();
    let now = crate::store::now_unix();
    let shown: Vec<i64> = ranked.iter().filter(|(_, at)| *at <= now).map(|(id, _)| *id).collect();
    // Fewer than asked for: every match was ranked.
    let complete = (ranked.len() as i64) < wanted + SCHEDULED_MARGIN || shown.len() as i64 >= wanted;
    if !complete {
        return Ok(None);
    }
    let page: Vec<i64> = shown.into_iter().skip(offset as usize).take(limit as usize).collect();
    Ok(Some(cards(conn, query, &page).await?))
}

/// A search whose words match few enough stories that each is weighed.
async fn every_match(
    conn: &mut SqliteConnection,
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
           ),
           page AS (
               SELECT a.id, a.published_at,
                      CASE WHEN ?5 THEN -a.published_at ELSE c.score END AS sort_key
               FROM candidates c JOIN articles a ON a.id = c.id
               WHERE (?2 IS NULL OR a.section_id = ?2)
                 AND (?3 IS NULL OR a.published_at >= ?3)
                 AND (?4 IS NULL OR a.published_at <= ?4)
                 AND a.published_at <= ?8
               ORDER BY sort_key, a.published_at DESC, a.id DESC
               LIMIT ?6 OFFSET ?7
           )
           SELECT a.id AS "id!", a.section_id, a.slug, a.title, a.summary, a.author, a.image_url,
                  s.name AS section_name, s.slug AS section_slug, a.published_at,
                  a.body_html
           FROM page
           JOIN articles a ON a.id = page.id
           JOIN sections s ON s.id = a.section_id
           ORDER BY page.sort_key, page.published_at DESC, page.id DESC"#,
        query.fts,
        filters.section_id,
        filters.from,
        filters.to,
        newest,
        limit,
        offset,
        published_by
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|row| row.into_hit(query)).collect())
}

/// A search for words too common to weigh every match: the newest
/// [`WALK_STORIES`] of the filtered slice, by publication time (an index
/// serves that order), joined to the matches; the newest [`CANDIDATES`]
/// of those are weighed.
async fn most_recent_matches(
    conn: &mut SqliteConnection,
    query: &SearchQuery,
    filters: &Filters,
    order: Order,
    limit: u32,
    offset: u32,
) -> sqlx::Result<Found> {
    let from = filters.from.unwrap_or(i64::MIN);
    // Scheduled articles are not found before their time.
    let to = filters.to.unwrap_or(i64::MAX).min(crate::store::now_unix());
    // The walked stories are kept aside, and the index's matches within
    // their span of ids are joined to them: streaming rowids from FTS5 is
    // cheap, while asking it about each story one by one costs tens of
    // microseconds a story.
    let mut candidates: Vec<(i64, i64)> = Vec::new();
    let mut walked = 0;
    for walk in WALK_STEPS {
        walked = walk;
        candidates = match filters.section_id {
            Some(section) => sqlx::query!(
                r#"WITH walked AS MATERIALIZED (
                       SELECT id, published_at FROM articles INDEXED BY articles_by_section_time
                       WHERE section_id = ?2 AND published_at BETWEEN ?3 AND ?4
                       ORDER BY published_at DESC, id DESC LIMIT ?5)
                   SELECT w.id AS "id!: i64", w.published_at AS "published_at!: i64"
                   FROM articles_fts f JOIN walked w ON w.id = f.rowid
                   WHERE f.articles_fts MATCH ?1
                     AND f.rowid BETWEEN (SELECT min(id) FROM walked) AND (SELECT max(id) FROM walked)
                   ORDER BY w.published_at DESC, w.id DESC LIMIT ?6"#,
                query.fts,
                section,
                from,
                to,
                walk,
                CANDIDATES
            )
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|r| (r.id, r.published_at))
            .collect(),
            None => sqlx::query!(
                r#"WITH walked AS MATERIALIZED (
                       SELECT id, published_at FROM articles INDEXED BY articles_by_time
                       WHERE published_at BETWEEN ?2 AND ?3
                       ORDER BY published_at DESC, id DESC LIMIT ?4)
                   SELECT w.id AS "id!: i64", w.published_at AS "published_at!: i64"
                   FROM articles_fts f JOIN walked w ON w.id = f.rowid
                   WHERE f.articles_fts MATCH ?1
                     AND f.rowid BETWEEN (SELECT min(id) FROM walked) AND (SELECT max(id) FROM walked)
                   ORDER BY w.published_at DESC, w.id DESC LIMIT ?5"#,
                query.fts,
                from,
                to,
                walk,
                CANDIDATES
            )
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|r| (r.id, r.published_at))
            .collect(),
        };
        if candidates.len() as i64 == CANDIDATES {
            break;
        }
    }
    candidates.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(b.0.cmp(&a.0)));
    let walk_cut =
        candidates.len() < CANDIDATES as usize && slice_is_longer_than_walk(conn, filters, from, to, walked).await?;
    let cut = walk_cut || candidates.len() as i64 == CANDIDATES;
    let (low, high) = candidates
        .iter()
        .fold((i64::MAX, i64::MIN), |(lo, hi), &(id, _)| (lo.min(id), hi.max(id)));
    let rank = order == Order::Relevance && !candidates.is_empty() && high - low <= RANK_SPAN;
    let mut ordered: Vec<i64> = candidates.iter().map(|&(id, _)| id).collect();
    if rank {
        let ids = serde_json::to_string(&ordered).unwrap_or_else(|_| "[]".to_owned());
        let scores: std::collections::HashMap<i64, f64> = sqlx::query!(
            r#"WITH scored AS MATERIALIZED (
                   SELECT rowid AS id, bm25(articles_fts, 10.0, 4.0, 1.0, 3.0, 3.0) AS score
                   FROM articles_fts WHERE articles_fts MATCH ?1 AND rowid BETWEEN ?2 AND ?3)
               SELECT s.id AS "id!: i64", s.score AS "score!: f64"
               FROM scored s WHERE s.id IN (SELECT value FROM json_each(?4))"#,
            query.fts,
            low,
            high,
            ids
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| (r.id, r.score))
        .collect();
        // bm25 is lower for a better match; ties go to the newer story,
        // which `ordered` already puts first (the sort is stable).
        let score = |id: &i64| scores.get(id).copied().unwrap_or(f64::MAX);
        ordered.sort_by(|a, b| score(a).total_cmp(&score(b)));
    }
    let page: Vec<i64> = ordered.into_iter().skip(offset as usize).take(limit as usize).collect();
    let hits = cards(conn, query, &page).await?;
    let bound = cut.then_some(Bound {
        considered: candidates.len() as i64,
        newest_first: order == Order::Relevance && !rank,
        stories_searched: walk_cut.then_some(walked),
    });
    Ok(Found { hits, bound })
}

/// Whether the filtered slice holds more than the `walked` stories.
async fn slice_is_longer_than_walk(
    conn: &mut SqliteConnection,
    filters: &Filters,
    from: i64,
    to: i64,
    walked: i64,
) -> sqlx::Result<bool> {
    let walked_count = match filters.section_id {
        Some(section) => {
            sqlx::query_scalar!(
                r#"SELECT count(*) AS "n!: i64" FROM (
                   SELECT 1 FROM articles INDEXED BY articles_by_section_time
                   WHERE section_id = ?1 AND published_at BETWEEN ?2 AND ?3 LIMIT ?4)"#,
                section,
                from,
                to,
                walked + 1
            )
            .fetch_one(&mut *conn)
            .await?
        }
        None => {
            sqlx::query_scalar!(
                r#"SELECT count(*) AS "n!: i64" FROM (
                   SELECT 1 FROM articles INDEXED BY articles_by_time
                   WHERE published_at BETWEEN ?1 AND ?2 LIMIT ?3)"#,
                from,
                to,
                walked + 1
            )
            .fetch_one(&mut *conn)
            .await?
        }
    };
    Ok(walked_count > walked)
}

/// The hits of one page, in the order of `ids`.
async fn cards(conn: &mut SqliteConnection, query: &SearchQuery, ids: &[i64]) -> sqlx::Result<Vec<Hit>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids = serde_json::to_string(ids).unwrap_or_else(|_| "[]".to_owned());
    let rows = sqlx::query_as!(
        HitRow,
        r#"SELECT a.id AS "id!", a.section_id, a.slug, a.title, a.summary, a.author, a.image_url,
                  s.name AS section_name, s.slug AS section_slug, a.published_at,
                  a.body_html
           FROM json_each(?1) j
           JOIN articles a ON a.id = j.value
           JOIN sections s ON s.id = a.section_id
           ORDER BY j.key"#,
        ids
    )
    .fetch_all(&mut *conn)
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

pub async fn term_counts(db: &SqlitePool, words: &[String], prefixes: &[String]) -> sqlx::Result<TermCounts> {
    let mut conn = db.acquire().await?;
    let Some(floor) = sqlx::query_scalar!(r#"SELECT floor AS "floor!: i64" FROM search_terms_counted WHERE id = 1"#)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(TermCounts::default());
    };
    let listed = serde_json::to_string(words).unwrap_or_else(|_| "[]".to_owned());
    let docs = sqlx::query!(
        r#"SELECT t.term AS "term!: String", t.docs AS "docs!: i64"
           FROM json_each(?1) j JOIN search_terms t ON t.term = j.value"#,
        listed
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|r| (r.term, r.docs))
    .collect();
    let mut completions = std::collections::HashMap::new();
    for prefix in prefixes {
        // Every word that begins with the prefix sorts between it and the
        // prefix followed by the last character there is.
        let end = format!("{prefix}\u{10FFFF}");
        let words = sqlx::query!(
            r#"SELECT term AS "term!: String", docs AS "docs!: i64" FROM search_terms
               WHERE term >= ?1 AND term < ?2 ORDER BY docs DESC, term"#,
            prefix,
            end
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| (r.term, r.docs))
        .collect();
        completions.insert(prefix.clone(), words);
    }
    Ok(TermCounts {
        docs,
        completions,
        floor,
    })
}

pub async fn count_terms(db: &SqlitePool, floor: i64) -> sqlx::Result<Vec<(String, i64)>> {
    // Checked when it runs, not when it compiles: sqlx's analysis of
    // SQLite statements crashes the compiler on an fts5vocab table (seen
    // with sqlx 0.9.0). `tests/search_limits.rs` runs it.
    sqlx::query_as::<_, (String, i64)>("SELECT term, doc FROM articles_fts_terms WHERE doc >= ?1")
        .bind(floor)
        .fetch_all(db)
        .await
}

pub async fn save_term_counts(
    conn: &mut SqliteConnection,
    terms: &[(String, i64)],
    articles: i64,
    floor: i64,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query!("DELETE FROM search_terms").execute(&mut *conn).await?;
    // In chunks: one statement per word would be a hundred thousand round
    // trips to the writer's thread.
    for chunk in terms.chunks(5_000) {
        let rows = serde_json::to_string(chunk).unwrap_or_else(|_| "[]".to_owned());
        sqlx::query!(
            "INSERT INTO search_terms (term, docs)
             SELECT value ->> 0, value ->> 1 FROM json_each(?1)",
            rows
        )
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query!(
        "INSERT INTO search_terms_counted (id, articles, floor, counted_at) VALUES (1, ?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET articles = excluded.articles, floor = excluded.floor,
                                        counted_at = excluded.counted_at",
        articles,
        floor,
        now
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn terms_counted_at(db: &SqlitePool) -> sqlx::Result<Option<(i64, i64)>> {
    sqlx::query!(
        r#"SELECT articles AS "articles!: i64", counted_at AS "counted_at!: i64"
           FROM search_terms_counted WHERE id = 1"#
    )
    .fetch_optional(db)
    .await
    .map(|row| row.map(|r| (r.articles, r.counted_at)))
}

pub async fn indexed_articles(db: &SqlitePool) -> sqlx::Result<i64> {
    sqlx::query_scalar!(r#"SELECT count(*) AS "n!: i64" FROM articles"#)
        .fetch_one(db)
        .await
}
