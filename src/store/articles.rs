//! The articles table and the tombstones of deleted articles.

use crate::domain::listing::from_unix;
use crate::domain::{Article, ArticleCard, Cursor, Page};

use std::sync::Arc;

use super::memo::Version;
use super::{Db, Reader, Tx};

/// What the write path stores for one article. The write path serialises
/// it to JSON before it takes the writer, and a group of them is inserted
/// by one statement over the JSON array (see [`insert_many`]).
#[derive(Debug, serde::Serialize)]
pub struct ArticleRow<'a> {
    /// The section is named by slug; it exists by the time the row is written.
    pub section_slug: &'a str,
    pub ingest_key: Option<&'a str>,
    pub url_key: Option<&'a str>,
    pub external_id: Option<&'a str>,
    pub url: Option<&'a str>,
    pub slug: &'a str,
    pub title: &'a str,
    pub summary: Option<&'a str>,
    pub author: Option<&'a str>,
    pub source: Option<&'a str>,
    pub body_format: &'a str,
    /// The sender's body, zlib-compressed (hex in the JSON).
    #[serde(serialize_with = "hex_bytes")]
    pub body_deflated: &'a [u8],
    pub body_html: &'a str,
    pub word_count: i64,
    pub author_slug: Option<&'a str>,
    pub image_url: Option<&'a str>,
    pub image_caption: Option<&'a str>,
    pub tags_json: &'a str,
    /// `None` keeps the stored time on update and means "now" on insert.
    pub published_at: Option<i64>,
    /// The future date a feed entry claimed (see migration 0006).
    pub claimed_published_at: Option<i64>,
    pub content_hash: &'a str,
    pub now: i64,
}

/// What an article adds beside its row: its tags, and the body text the
/// search index is given (and does not store). Serialised like the row.
#[derive(Debug, serde::Serialize)]
pub struct Derived<'a> {
    /// (slug, display name) of each tag.
    pub tags: &'a [(String, String)],
    pub body_text: &'a str,
}

/// A new article for [`insert_many`]: its [`ArticleRow`] and its
/// [`Derived`] parts, each as JSON.
#[derive(Debug, Clone, Copy)]
pub struct NewRow<'a> {
    pub row_json: &'a str,
    pub derived_json: &'a str,
}

/// The JSON arrays of a group of new rows: their rows and their derived
/// parts, in the same order.
pub(crate) fn new_rows_json(rows: &[NewRow<'_>]) -> (String, String) {
    (
        json_array(rows.iter().map(|r| r.row_json)),
        json_array(rows.iter().map(|r| r.derived_json)),
    )
}

/// `[a,b,…]` of JSON texts, written once into a string of the right size.
pub(crate) fn json_array<'a>(items: impl Iterator<Item = &'a str> + Clone) -> String {
    let mut out = String::with_capacity(items.clone().map(|i| i.len() + 1).sum::<usize>() + 2);
    out.push('[');
    for (n, item) in items.enumerate() {
        if n > 0 {
            out.push(',');
        }
        out.push_str(item);
    }
    out.push(']');
    out
}

/// A story's body replaced by the one found on its page (full-content
/// fetch): the sender's keys and content hash stay (its title and date
/// too, unless the sender gave none and the page did), so
/// the next poll of its feed finds it unchanged.
#[derive(Debug)]
pub struct StoryBody<'a> {
    pub title: &'a str,
    /// `None` keeps the stored date.
    pub published_at: Option<i64>,
    pub summary: Option<&'a str>,
    pub author: Option<&'a str>,
    pub author_slug: Option<&'a str>,
    pub image_url: Option<&'a str>,
    pub body_format: &'a str,
    pub body_deflated: &'a [u8],
    pub body_html: &'a str,
    pub word_count: i64,
    pub now: i64,
}

/// An article already stored, as the identity rules need it.
#[derive(Debug, Clone)]
pub struct Existing {
    pub id: i64,
    pub slug: String,
    pub content_hash: String,
}

/// What the database knows of a group's identities (see [`identities`]).
#[derive(Debug, Default)]
pub struct Known {
    /// Tombstoned keys among those asked for.
    pub tombstoned: std::collections::HashSet<String>,
    /// Live articles by ingest key.
    pub by_key: std::collections::HashMap<String, Existing>,
    /// The first stored article with each URL key.
    pub by_url: std::collections::HashMap<String, Existing>,
}

impl Known {
    /// Adds one row of an identities query: `kind` 0 is a tombstoned key,
    /// 1 a live article's ingest key, 2 an article's URL key.
    pub(crate) fn learn(&mut self, kind: i64, key: String, existing: Existing) {
        match kind {
            0 => {
                self.tombstoned.insert(key);
            }
            1 => {
                self.by_key.insert(key, existing);
            }
            _ => {
                let first = self.by_url.entry(key).or_insert_with(|| existing.clone());
                if existing.id < first.id {
                    *first = existing;
                }
            }
        }
    }
}

fn hex_bytes<S: serde::Serializer>(bytes: &&[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&hex::encode(bytes))
}

pub(crate) struct ArticleDbRow {
    pub id: i64,
    pub section_id: i64,
    pub slug: String,
    pub title: String,
    pub summary: Option<String>,
    pub author: Option<String>,
    pub source: Option<String>,
    pub url: Option<String>,
    pub external_id: Option<String>,
    pub body_format: String,
    pub body_html: String,
    pub word_count: i64,
    pub image_url: Option<String>,
    pub image_caption: Option<String>,
    pub tags: String,
    pub section_name: String,
    pub section_slug: String,
    pub published_at: i64,
    pub claimed_published_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Which articles a read shows. Every read of the public site shows only
/// what is published by now: an article dated in the future is scheduled
/// and stays out of pages, feeds, search and sitemaps until its time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    Published,
    /// Scheduled articles too: for a sender holding an ingest token.
    WithScheduled,
}

impl Shown {
    /// The latest publication time this read shows.
    pub(crate) fn until(self) -> i64 {
        match self {
            Shown::Published => super::now_unix(),
            Shown::WithScheduled => i64::MAX,
        }
    }
}

impl From<ArticleDbRow> for Article {
    fn from(r: ArticleDbRow) -> Self {
        Article {
            id: r.id,
            section_id: r.section_id,
            slug: r.slug,
            title: r.title,
            summary: r.summary,
            author: r.author,
            source: r.source,
            url: r.url,
            external_id: r.external_id,
            body_format: r.body_format,
            body_html: r.body_html,
            word_count: r.word_count,
            image_url: r.image_url,
            image_caption: r.image_caption,
            // Written by Gazette as a JSON array; an unreadable value shows no tags.
            tags: serde_json::from_str(&r.tags).unwrap_or_default(),
            section_name: r.section_name,
            section_slug: r.section_slug,
            published_at: from_unix(r.published_at),
            claimed_published_at: r.claimed_published_at.map(from_unix),
            created_at: from_unix(r.created_at),
            updated_at: from_unix(r.updated_at),
        }
    }
}

/// A listing row as SQL returns it; the one place it becomes an
/// [`ArticleCard`].
#[derive(serde::Deserialize)]
pub(crate) struct CardRow {
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
}

impl From<CardRow> for ArticleCard {
    fn from(r: CardRow) -> Self {
        ArticleCard {
            id: r.id,
            section_id: r.section_id,
            slug: r.slug,
            title: r.title,
            summary: r.summary,
            author: r.author,
            image_url: r.image_url,
            section_name: r.section_name,
            section_slug: r.section_slug,
            published_at: from_unix(r.published_at),
        }
    }
}

/// Which articles a listing shows.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    All,
    Section(i64),
    Author(&'a str),
    Tag(&'a str),
}

/// `(id, JSON of its Derived)` pairs as one JSON array of `[id, {…}]`:
/// how both backends take a group's derived fields in one statement.
pub(crate) fn derived_json(derived: &[(i64, &str)]) -> String {
    let mut json = String::from("[");
    for (n, (id, fields)) in derived.iter().enumerate() {
        if n > 0 {
            json.push(',');
        }
        json.push_str(&format!("[{id},{fields}]"));
    }
    json.push(']');
    json
}

/// The article page's sidebar: the newest `limit` stories outside one
/// section. Every article page of the section shows the same list, so it is
/// read once per change rather than once per page.
pub async fn sidebar(db: &Db, section_id: i64, limit: u32) -> sqlx::Result<Arc<[ArticleCard]>> {
    let version = Version::now(db);
    if let Some(cards) = db.sidebars.get(&(section_id, limit), version) {
        return Ok(cards);
    }
    let cards: Arc<[ArticleCard]> = latest_outside_section(&db.reader, section_id, limit).await?.into();
    db.sidebars.put((section_id, limit), version, Arc::clone(&cards));
    Ok(cards)
}

/// Sidebars as last read, by section and length.
pub type SidebarMemo = super::memo::Memo<(i64, u32), Arc<[ArticleCard]>>;

operations! {
    articles;
    /// Looks up, in one query, which of `keys` are tombstoned or held by a
    /// live article, and which articles hold each of `url_keys`.
    pub async fn identities(conn: &mut Tx<'_>, keys: &[&str], url_keys: &[&str]) -> sqlx::Result<Known>;

    /// Inserts new articles with their tag rows and search entries,
    /// returning their ids in the order given.
    ///
    /// One statement for the group's rows: they travel as one JSON array and
    /// are inserted in its order. A new id is one more than the largest
    /// before it, so the returned ids, sorted, follow the order of the rows.
    pub async fn insert_many(conn: &mut Tx<'_>, rows: &[NewRow<'_>]) -> sqlx::Result<Vec<i64>>;

    /// Replaces a stored article's content in place, keeping its id (and so
    /// its URL) and, unless a new one is given, its publication time.
    pub async fn update(conn: &mut Tx<'_>, id: i64, row: &ArticleRow<'_>) -> sqlx::Result<()>;

    /// Writes the tag rows and search entries of articles just updated or
    /// copied: (id, JSON of its [`Derived`]) pairs, replacing any they had.
    /// Tag rows copy the publication time so tag pages page on their own index.
    /// Replaces a story's body (see [`StoryBody`]); false when it is gone.
    pub async fn replace_body(conn: &mut Tx<'_>, id: i64, body: &StoryBody<'_>) -> sqlx::Result<bool>;

    pub async fn write_derived(conn: &mut Tx<'_>, derived: &[(i64, &str)], replacing: bool) -> sqlx::Result<()>;

    /// Deletes an article, leaving a tombstone of its ingest key so that a
    /// later re-post of it is refused. False when there was no such article.
    pub async fn delete(conn: &mut Tx<'_>, id: i64, now: i64) -> sqlx::Result<bool>;

    pub async fn get(db: &Reader, id: i64, shown: Shown) -> sqlx::Result<Option<Article>>;

    /// The newest articles in full, for feeds: the whole site or one section.
    pub async fn recent_full(db: &Reader, section_id: Option<i64>, limit: u32) -> sqlx::Result<Vec<Article>>;

    /// A page of the newest published articles older than `before` in a
    /// scope. Each scope pages on its own (…, published_at, id) index, and
    /// "published by now" is the same range's upper end. Fetches one row more
    /// than asked to learn whether a next page exists, without counting.
    pub async fn page(db: &Reader, scope: Scope<'_>, before: Cursor, limit: u32) -> sqlx::Result<Page>;

    /// The newest `per_section` articles of every section, for the front
    /// page's blocks, newest first within each section: one query, an index
    /// seek per section.
    pub async fn newest_by_section(db: &Reader, per_section: u32) -> sqlx::Result<Vec<ArticleCard>>;

    pub async fn author_name(db: &Reader, author_slug: &str) -> sqlx::Result<Option<String>>;

    /// The display name of a tag slug.
    pub async fn tag_name(db: &Reader, tag_slug: &str) -> sqlx::Result<Option<String>>;

    /// The newest articles outside one section: the article page's sidebar.
    pub async fn latest_outside_section(db: &Reader, section_id: i64, limit: u32) -> sqlx::Result<Vec<ArticleCard>>;

    /// Ids of a section's articles published before `before`, oldest first:
    /// what a retention sweep deletes, a batch at a time. Articles someone
    /// saved are kept.
    pub async fn ids_published_before(conn: &mut Tx<'_>, section_id: i64, before: i64, limit: u32) -> sqlx::Result<Vec<i64>>;

    /// The publication time of the next scheduled article, if any: when the
    /// site's pages next change without a write.
    pub async fn next_scheduled(db: &Reader) -> sqlx::Result<Option<i64>>;

    /// The cards of published articles by id, in the order of `ids`; ids of
    /// deleted or scheduled articles are left out.
    pub async fn cards_by_ids(db: &Reader, ids: &[i64]) -> sqlx::Result<Vec<ArticleCard>>;

    /// Published articles in full by id, in the order of `ids`; ids of
    /// deleted or scheduled articles are left out.
    pub async fn full_by_ids(db: &Reader, ids: &[i64]) -> sqlx::Result<Vec<Article>>;

    /// The ids of up to `limit` articles below `before`, newest id first:
    /// the whole library a page at a time, scheduled and hidden articles
    /// included.
    pub async fn ids_before(db: &Reader, before: i64, limit: i64) -> sqlx::Result<Vec<i64>>;
}
