//! Full-text search over articles (FTS5, ranked with bm25).

use crate::domain::ArticleCard;
use crate::domain::search::SearchQuery;
use crate::store::articles::CardRow;

use super::{Reader, Tx};

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

pub(crate) struct HitRow {
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
    pub body_html: String,
}

impl HitRow {
    /// Snippets quote the body: the headline is shown anyway, and the body
    /// is where a match has context.
    pub(crate) fn into_hit(self, query: &SearchQuery) -> Hit {
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
/// Every candidate is scored and its article read to sort it, so the bound
/// is what a search costs: at a million articles of real-shaped text, a
/// word in 3% of them took 137 ms with 20,000 candidates and takes 8 ms
/// with 1,000 (docs/BENCHMARKS.md, "Live site and realistic search"). On
/// a news site what a reader searches for is among recent stories; only
/// words found in more than this many stories are affected. What the
/// bound cannot remove: bm25 counts every match of each term once per
/// query (for its IDF), which for a word in most of a million stories is
/// some 40 ms, and a phrase of common words is matched in full.
pub const CANDIDATES: i64 = 1_000;

operations! {
    search;
    /// One page of hits. Paging is bounded (the caller caps `offset`), which
    /// keeps deep pages from costing more than a reader would ever read.
    ///
    /// The plan, in three steps so each is cheap: take the newest candidate
    /// matches from the index alone (FTS5 streams rowids in order), filter and
    /// order them by score or time joined to `articles`, and only then build
    /// snippets and cards for the one page of hits.
    pub async fn search(db: &Reader, query: &SearchQuery, filters: &Filters, order: Order, limit: u32, offset: u32) -> sqlx::Result<Vec<Hit>>;

    /// Merges some of the search index's segments, as FTS5's automerge would
    /// during a write (it is off: see migration 0004). Levels with fewer than
    /// four segments are left alone. True when there was work to do.
    pub async fn merge_step(conn: &mut Tx<'_>) -> sqlx::Result<bool>;
}
