//! Full-text search over articles (FTS5, ranked with bm25).

use sqlx::SqlitePool;

use crate::domain::ArticleCard;
use crate::domain::listing::from_unix;
use crate::domain::search::SearchQuery;

/// Snippets quote the body (column 2): the headline is shown anyway, and
/// the body is where a match has context.
///
/// Marks around matched words in snippets: private-use characters that
/// cannot occur in stored text, swapped for `<mark>` after escaping.
pub const MATCH_START: char = '\u{E000}';
pub const MATCH_END: char = '\u{E001}';

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
    /// Text around the match, with [`MATCH_START`]/[`MATCH_END`] marks.
    pub snippet: String,
}

struct HitRow {
    id: i64,
    slug: String,
    title: String,
    summary: Option<String>,
    author: Option<String>,
    image_url: Option<String>,
    section_name: String,
    section_slug: String,
    published_at: i64,
    snippet: String,
}

impl From<HitRow> for Hit {
    fn from(r: HitRow) -> Self {
        Hit {
            card: ArticleCard {
                id: r.id,
                slug: r.slug,
                title: r.title,
                summary: r.summary,
                author: r.author,
                image_url: r.image_url,
                section_name: r.section_name,
                section_slug: r.section_slug,
                published_at: from_unix(r.published_at),
            },
            snippet: r.snippet,
        }
    }
}

/// One page of hits. Paging is bounded (the caller caps `offset`), which
/// keeps deep pages from costing more than a reader would ever read.
pub async fn search(
    db: &SqlitePool,
    query: &SearchQuery,
    filters: &Filters,
    order: Order,
    limit: u32,
    offset: u32,
) -> sqlx::Result<Vec<Hit>> {
    let (limit, offset) = (i64::from(limit), i64::from(offset));
    let rows = match order {
        Order::Relevance => {
            sqlx::query_as!(
                HitRow,
                r#"SELECT a.id AS "id!", a.slug, a.title, a.summary, a.author, a.image_url,
                          s.name AS section_name, s.slug AS section_slug, a.published_at,
                          snippet(articles_fts, 2, char(57344), char(57345), '…', 24) AS "snippet!: String"
                   FROM articles_fts
                   JOIN articles a ON a.id = articles_fts.rowid
                   JOIN sections s ON s.id = a.section_id
                   WHERE articles_fts MATCH ?1
                     AND (?2 IS NULL OR a.section_id = ?2)
                     AND (?3 IS NULL OR a.published_at >= ?3)
                     AND (?4 IS NULL OR a.published_at <= ?4)
                   ORDER BY bm25(articles_fts, 10.0, 4.0, 1.0, 3.0, 3.0), a.published_at DESC
                   LIMIT ?5 OFFSET ?6"#,
                query.fts,
                filters.section_id,
                filters.from,
                filters.to,
                limit,
                offset
            )
            .fetch_all(db)
            .await?
        }
        Order::Newest => {
            sqlx::query_as!(
                HitRow,
                r#"SELECT a.id AS "id!", a.slug, a.title, a.summary, a.author, a.image_url,
                          s.name AS section_name, s.slug AS section_slug, a.published_at,
                          snippet(articles_fts, 2, char(57344), char(57345), '…', 24) AS "snippet!: String"
                   FROM articles_fts
                   JOIN articles a ON a.id = articles_fts.rowid
                   JOIN sections s ON s.id = a.section_id
                   WHERE articles_fts MATCH ?1
                     AND (?2 IS NULL OR a.section_id = ?2)
                     AND (?3 IS NULL OR a.published_at >= ?3)
                     AND (?4 IS NULL OR a.published_at <= ?4)
                   ORDER BY a.published_at DESC, a.id DESC
                   LIMIT ?5 OFFSET ?6"#,
                query.fts,
                filters.section_id,
                filters.from,
                filters.to,
                limit,
                offset
            )
            .fetch_all(db)
            .await?
        }
    };
    Ok(rows.into_iter().map(Hit::from).collect())
}
