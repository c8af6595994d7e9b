//! Full-text search over articles (FTS5, ranked with bm25).

use sqlx::{SqliteConnection, SqlitePool};

use crate::domain::ArticleCard;
use crate::domain::search::SearchQuery;
use crate::store::articles::CardRow;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// bm25, the title weighted highest.
    Relevance,
    Newest,
}

/// Narrowing of a search.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub section_id: Option<i64>,
    /// Unix seconds, inclusive.
    pub from: Option<i64>,
    pub to: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct Hit {
    pub card: ArticleCard,
    /// Text around the match, with the marks of [`crate::domain::search::MATCH_START`].
    pub snippet: String,
}

struct HitRow {
    id: i64,
    section_id: i64,
    slug: String,
    title: String,
    summary: Option<String>,
    author: Option<String>,
    image_url: Option<String>,
    section_name: String,
    section_slug: String,
    published_at: i64,
    body_html: String,
}

impl HitRow {
    /// Snippets quote the body: the headline is shown anyway, and the body
    /// is where a match has context.
    fn into_hit(self, query: &SearchQuery) -> Hit {
        let r = self;
        let card = CardRow {
            id: r.id,
            section_id: r.section_id,
            slug: r.slug,
            title: r.title,
            summary: r.summary,
            author: r.author,
            image_url: r.image_url,
            section_name: r.section_name,
            section_slug: r.section_slug,
            published_at: r.published_at,
        };
        Hit {
            card: card.into(),
            snippet: query.snippet(&crate::domain::body::plain_text(&r.body_html)),
        }
    }
}

/// How many matches a search considers: the most recently stored ones.
/// A word found in most of a million articles would otherwise be scored,
/// joined and sorted in every one of them (seconds per query); bounding
/// the candidates answers in milliseconds, and on a news site what a reader
/// searches for is among recent stories. Only searches for very common
/// words are affected. What the bound cannot remove: bm25 counts every
/// match of each term once per query (for its IDF), which for a word in
/// most of a million stories is a few hundred milliseconds.
pub const CANDIDATES: i64 = 20_000;

/// One page of hits. Paging is bounded (the caller caps `offset`), which
/// keeps deep pages from costing more than a reader would ever read.
///
/// The plan, in three steps so each is cheap: take the newest candidate
/// matches from the index alone (FTS5 streams rowids in order), filter and
/// order them by score or time joined to `articles`, and only then build
/// snippets and cards for the one page of hits.
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
    let published_by = super::now_unix();
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

/// Merges some of the search index's segments, as FTS5's automerge would
/// during a write (it is off: see migration 0004). Levels with fewer than
/// four segments are left alone. True when there was work to do.
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
