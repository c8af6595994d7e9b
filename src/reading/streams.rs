//! Streams: the article ids a reader app asks for ("everything unread",
//! "this feed, oldest first", "starred", "label X") in id order, one page
//! at a time. Ids grow with ingestion, so a page continues after the last
//! id it gave: a sync never skips or repeats an item, whatever is marked
//! meanwhile.
//!
//! Everything is read off the reader's snapshot and the (section_id)
//! index: for "unread", each section's walk starts above the reader's
//! horizon there, so a reader who keeps up costs a few rows, not the
//! library.

use std::collections::HashSet;

use crate::domain::slug::slugify_or;
use crate::error::AppError;
use crate::reading::Snapshot;
use crate::store::{self, Db};

/// Where a stream's items come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Every section.
    All,
    Section(i64),
    /// A tag articles carry, or a reader's own label, by name.
    Label(String),
    Starred,
}

/// Which items of the source, by read state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReadFilter {
    #[default]
    Any,
    Unread,
    Read,
}

/// One page's worth of a stream.
#[derive(Debug, Clone)]
pub struct Query {
    pub source: Source,
    pub read: ReadFilter,
    /// Some(true): starred only; Some(false): never starred ones.
    pub starred: Option<bool>,
    /// Ids strictly above this…
    pub above: i64,
    /// …and strictly below this.
    pub below: i64,
    pub oldest_first: bool,
    pub limit: usize,
    /// The page's items in any order: for a caller that wants the whole
    /// stream as a set (Fever's id lists), which saves sorting a million.
    pub any_order: bool,
}

impl Query {
    pub fn new(source: Source) -> Self {
        Query {
            source,
            read: ReadFilter::Any,
            starred: None,
            above: 0,
            below: i64::MAX,
            oldest_first: false,
            limit: 20,
            any_order: false,
        }
    }
}

/// An item of a stream: its id and the section it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item {
    pub id: i64,
    pub section_id: i64,
}

/// A page of a stream; `more` when items follow the last one.
#[derive(Debug, Default)]
pub struct Ids {
    pub items: Vec<Item>,
    pub more: bool,
}

/// Ids fetched per index walk at most: a page of "everything unread" of a
/// reader who has read nothing is one walk per section.
const BATCH: usize = 50_000;

/// The page of a stream that `query` describes.
pub async fn ids(db: &Db, user_id: i64, snapshot: &Snapshot, query: &Query) -> Result<Ids, AppError> {
    let scheduled: HashSet<i64> = store::reading::scheduled(&db.reader)
        .await?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    // What the reader's rules muted is out of every stream but the one of
    // what they starred themselves.
    let hides = |item: Item| query.source != Source::Starred && snapshot.hides(item.id, item.section_id);
    let wanted = |item: Item| {
        !scheduled.contains(&item.id)
            && !hides(item)
            && item.id > query.above
            && item.id < query.below
            && match query.read {
                ReadFilter::Any => true,
                ReadFilter::Unread => !snapshot.is_read(item.id, item.section_id),
                ReadFilter::Read => snapshot.is_read(item.id, item.section_id),
            }
            && query
                .starred
                .is_none_or(|starred| snapshot.is_saved(item.id) == starred)
    };
    // Every source gathers up to limit + 1 wanted items from its end: the
    // one past the limit says that more follow.
    let want = query.limit.saturating_add(1);
    let mut found = match &query.source {
        Source::Starred => {
            let ids: Vec<i64> = snapshot.saved_ids().collect();
            with_sections(db, &ids)
                .await?
                .into_iter()
                .filter(|i| wanted(*i))
                .collect()
        }
        Source::Label(name) => label_items(db, user_id, name, query, want, &wanted).await?,
        Source::All | Source::Section(_) => {
            let sections: Vec<i64> = match query.source {
                Source::Section(id) => vec![id],
                _ => store::sections::list(db)
                    .await?
                    .iter()
                    .map(|s| s.id)
                    .filter(|id| !snapshot.mutes_section(*id))
                    .collect(),
            };
            // Marks that place an item on the other side of its section's
            // horizon are gathered apart: the walks below skip that side.
            let marked_across: Vec<i64> = match query.read {
                ReadFilter::Any => Vec::new(),
                ReadFilter::Unread => snapshot.marked_ids(false).collect(),
                ReadFilter::Read => snapshot.marked_ids(true).collect(),
            };
            // Only those across: one on the walked side is found by the walk.
            let across = |i: &Item| match query.read {
                ReadFilter::Unread => i.id <= snapshot.horizon(i.section_id),
                _ => i.id > snapshot.horizon(i.section_id),
            };
            let mut found: Vec<Item> = with_sections(db, &marked_across)
                .await?
                .into_iter()
                .filter(|i| sections.contains(&i.section_id) && across(i) && wanted(*i))
                .collect();
            // The sections are walked at once, on as many connections as
            // the pool lends: a large sync is mostly SQLite's work.
            let walks = sections.iter().map(|&section_id| {
                let horizon = snapshot.horizon(section_id);
                let range = match query.read {
                    ReadFilter::Any => (query.above, query.below),
                    ReadFilter::Unread => (query.above.max(horizon), query.below),
                    ReadFilter::Read => (query.above, query.below.min(horizon.saturating_add(1))),
                };
                section_items(db, section_id, range, query.oldest_first, want, &wanted)
            });
            for walked in futures_util::future::try_join_all(walks).await? {
                found.extend(walked);
            }
            found
        }
    };
    // Every item was found once (each source yields an id at most once, and
    // marks are taken only where the walks do not reach), so the page is
    // the first `limit` in order. A stable sort finds the sections' runs
    // (the walks come back in order in practice) and merges them.
    let more = found.len() > query.limit;
    if more || !query.any_order {
        if query.oldest_first {
            found.sort_by_key(|i| i.id);
        } else {
            found.sort_by_key(|i| std::cmp::Reverse(i.id));
        }
    }
    found.truncate(query.limit);
    Ok(Ids { items: found, more })
}

/// Walks one section's ids in a range until `want` wanted items are found
/// or the range is done.
async fn section_items(
    db: &Db,
    section_id: i64,
    (mut above, mut below): (i64, i64),
    oldest_first: bool,
    want: usize,
    wanted: &impl Fn(Item) -> bool,
) -> Result<Vec<Item>, AppError> {
    let mut found = Vec::new();
    let mut taken = 0;
    while above < below.saturating_sub(1) && taken < want {
        let batch = (want - taken).min(BATCH) as i64;
        let ids = store::streams::section_ids(&db.reader, section_id, (above, below), oldest_first, batch).await?;
        let complete = (ids.len() as i64) < batch;
        for &id in &ids {
            let item = Item { id, section_id };
            if wanted(item) {
                found.push(item);
                taken += 1;
            }
        }
        if complete {
            break;
        }
        // The batch is the `batch` ids nearest the start, in no order: the
        // next one starts past the farthest.
        if oldest_first {
            above = ids.iter().copied().max().unwrap_or(below);
        } else {
            below = ids.iter().copied().min().unwrap_or(above);
        }
    }
    Ok(found)
}

/// Walks a label's items (tag or the reader's own) until `want` are found.
async fn label_items(
    db: &Db,
    user_id: i64,
    name: &str,
    query: &Query,
    want: usize,
    wanted: &impl Fn(Item) -> bool,
) -> Result<Vec<Item>, AppError> {
    let slug = slugify_or(name, "tag");
    let (mut above, mut below) = (query.above, query.below);
    let mut found = Vec::new();
    while found.len() < want {
        let batch = (want - found.len()).min(BATCH) as i64;
        let rows = store::streams::label_ids(
            &db.reader,
            user_id,
            &slug,
            name,
            (above, below),
            query.oldest_first,
            batch,
        )
        .await?;
        let complete = (rows.len() as i64) < batch;
        found.extend(
            rows.iter()
                .map(|&(id, section_id)| Item { id, section_id })
                .filter(|i| wanted(*i)),
        );
        match rows.last() {
            Some(&(last, _)) if !complete => {
                if query.oldest_first {
                    above = last;
                } else {
                    below = last;
                }
            }
            _ => break,
        }
    }
    Ok(found)
}

/// Published articles among `ids`, with their sections.
async fn with_sections(db: &Db, ids: &[i64]) -> Result<Vec<Item>, AppError> {
    Ok(store::reading::sections_of(&db.reader, ids)
        .await?
        .into_iter()
        .filter(|&(_, _, published)| published)
        .map(|(id, section_id, _)| Item { id, section_id })
        .collect())
}

/// The id range of articles stored from `from` to `until` (unix seconds,
/// both included, either open): what "items crawled since" means.
pub async fn stored_between(db: &Db, from: Option<i64>, until: Option<i64>) -> Result<(i64, i64), AppError> {
    let above = match from {
        Some(time) => match store::streams::first_id_stored_from(&db.reader, time).await? {
            Some(id) => id - 1,
            None => i64::MAX - 1,
        },
        None => 0,
    };
    let below = match until {
        Some(time) => match store::streams::last_id_stored_by(&db.reader, time).await? {
            Some(id) => id + 1,
            None => 1,
        },
        None => i64::MAX,
    };
    Ok((above, below))
}
