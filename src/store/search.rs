//! Full-text search over articles (FTS5, ranked with bm25).

use crate::domain::ArticleCard;
use crate::domain::search::{SearchQuery, TermCounts};
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

/// Up to this many matches of its words in the whole library, a search
/// weighs every one that passes its filters: the cost grows with the
/// matches, so it is bounded here.
pub const EXACT_MATCHES: i64 = 10_000;

/// Past [`EXACT_MATCHES`], a search considers the most recent matches by
/// publication time within its filters, at most this many, and says so.
/// A common word is found among the newest stories at once; weighing every
/// one of a million matches would cost seconds.
pub const CANDIDATES: i64 = 1_000;

/// One page of hits, and the bound that narrowed them, if one did.
#[derive(Debug, Clone, Default)]
pub struct Found {
    pub hits: Vec<Hit>,
    pub bound: Option<Bound>,
}

/// Said to the reader when a search did not weigh every match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    /// How many of the most recent matches (within the filters) were weighed.
    pub considered: i64,
    /// They could not be ranked by relevance cheaply (they span too much of
    /// the library), so they are listed newest first.
    pub newest_first: bool,
    /// Set when the search looked at only this many of the newest stories
    /// of its slice: older matches, if any, were not looked for.
    pub stories_searched: Option<i64>,
}

/// Whether the backend keeps counts of the search index's words: SQLite
/// does; PostgreSQL's search bounds its cost by the matches it weighs.
pub fn keeps_term_counts(db: &Reader) -> bool {
    matches!(db, Reader::Sqlite(_))
}

operations! {
    search;
    /// One page of hits. Paging is bounded (the caller caps `offset`), which
    /// keeps deep pages from costing more than a reader would ever read.
    ///
    /// Filters narrow the matches before any bound: a small section or a
    /// year searched for a common word finds every match in that slice, up
    /// to the bound, and the bound takes the most recent by publication
    /// time, never by the order stories were stored (an archive imported
    /// last must not hide this year's stories). Snippets and cards are made
    /// for the one page of hits only.
    pub async fn search(db: &Reader, query: &SearchQuery, filters: &Filters, order: Order, limit: u32, offset: u32) -> sqlx::Result<Found>;

    /// What the term counts know of these words, and the counted words
    /// each prefix begins (commonest first). Empty counts, floor 0, when
    /// the words were never counted: on PostgreSQL, whose own search
    /// bounds its cost differently (it stops at a number of matches).
    pub async fn term_counts(db: &Reader, words: &[String], prefixes: &[String]) -> sqlx::Result<TermCounts>;

    /// Counts, from the search index itself, the documents holding each of
    /// its words, keeping the words in at least `floor` of them: a read of
    /// the whole index, made in the background. Nothing on PostgreSQL.
    pub async fn count_terms(db: &Reader, floor: i64) -> sqlx::Result<Vec<(String, i64)>>;

    /// Replaces the term counts with `terms`, counted when the library
    /// held `articles` articles.
    pub async fn save_term_counts(conn: &mut Tx<'_>, terms: &[(String, i64)], articles: i64, floor: i64, now: i64) -> sqlx::Result<()>;

    /// How many articles the search index holds.
    pub async fn indexed_articles(db: &Reader) -> sqlx::Result<i64>;

    /// How many articles the library held when its terms were last
    /// counted, and when that was (Unix seconds).
    pub async fn terms_counted_at(db: &Reader) -> sqlx::Result<Option<(i64, i64)>>;

    /// Merges some of the search index's segments, as FTS5's automerge would
    /// during a write (it is off: see migration 0004). Levels with fewer than
    /// four segments are left alone. True when there was work to do.
    pub async fn merge_step(conn: &mut Tx<'_>) -> sqlx::Result<bool>;
}
