//! Reading state: what each signed-in reader has read and saved, on top
//! of the one shared library of articles.
//!
//! The rules: an article is read when its reader opened it or marked it
//! read, or when it lies at or below the reader's horizon for its section
//! ("mark all read" moves the horizon to the newest article shown, so
//! stories that arrive meanwhile stay unread), unless marked unread since.
//! Storage is in `store::reading` (migration 0008 says why it is shaped
//! so); this module keeps each active reader's state in memory, so a page
//! learns which of its stories are read without a query, and caches unread
//! counts until the next write.

pub mod keys;
pub mod labels;
pub mod rules;
pub mod streams;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use crate::domain::{Cursor, Page};
use crate::error::AppError;
use crate::store::{self, Db};

/// Unread counts stop here: the count walks an index, and past this a
/// number says no more than "a lot" (Google Reader showed "1000+" too).
pub const COUNT_CAP: i64 = 1000;
/// Readers whose state is kept in memory at once; past it, the maps start over.
const MAX_CACHED_READERS: usize = 10_000;

/// One reader's state, as loaded from the database.
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    /// The user's `state_version` this was loaded at.
    pub version: i64,
    pub hide_read: bool,
    /// Copies of a story the reader read stay unread (see [`Reading::act`]).
    pub show_copies: bool,
    /// What the reader's rules muted is shown all the same.
    pub show_muted: bool,
    horizons: HashMap<i64, i64>,
    marks: HashMap<i64, Mark>,
    /// What the reader's rules mute: shared between snapshots, and read
    /// again only when it changes, for it can be large.
    muted: Arc<Muted>,
}

/// What a reader's rules mute: articles one by one (with their sections),
/// and sections as a whole.
#[derive(Debug, Default)]
pub struct Muted {
    /// The reader's `mutes_version` this was read at.
    version: i64,
    /// How far story placing, which mutes new articles as it places them,
    /// had come when this was read: the articles after it may have been
    /// muted since, and are read again.
    through: i64,
    /// The articles muted when the version was read, shared by every
    /// `Muted` of that version, and those muted since (few: folded into
    /// a new `base` past [`RECENT_MUTES`]).
    base: Arc<HashMap<i64, i64>>,
    recent: HashMap<i64, i64>,
    sections: HashSet<i64>,
}

/// Articles muted since a reader's muted set was read whole, kept apart
/// before they are folded in.
const RECENT_MUTES: usize = 4096;

impl Muted {
    fn contains(&self, article_id: i64) -> bool {
        self.base.contains_key(&article_id) || self.recent.contains_key(&article_id)
    }

    /// Every muted article with its section (one may be in both maps).
    fn articles(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.base
            .iter()
            .chain(self.recent.iter().filter(|(id, _)| !self.base.contains_key(id)))
            .map(|(&id, &section)| (id, section))
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Mark {
    read: Option<bool>,
    saved: bool,
}

impl Snapshot {
    fn from_rows(rows: store::reading::SnapshotRows, muted: Arc<Muted>) -> Self {
        Snapshot {
            version: rows.version,
            hide_read: rows.hide_read,
            show_copies: rows.show_copies,
            show_muted: rows.show_muted,
            muted,
            horizons: rows.horizons.into_iter().collect(),
            marks: rows
                .marks
                .into_iter()
                .map(|m| {
                    (
                        m.article_id,
                        Mark {
                            read: m.read,
                            saved: m.saved,
                        },
                    )
                })
                .collect(),
        }
    }

    /// The id up to which the reader has read a section as a whole.
    pub fn horizon(&self, section_id: i64) -> i64 {
        self.horizons.get(&section_id).copied().unwrap_or(0)
    }

    pub fn is_read(&self, article_id: i64, section_id: i64) -> bool {
        match self.marks.get(&article_id).and_then(|m| m.read) {
            Some(read) => read,
            None => article_id <= self.horizon(section_id),
        }
    }

    /// Whether the reader's rules keep an article out of their sight: out
    /// of listings, counts, search results and app syncs. Never when they
    /// chose to show what is muted, nor when they saved it themselves.
    pub fn hides(&self, article_id: i64, section_id: i64) -> bool {
        !self.show_muted
            && !self.is_saved(article_id)
            && (self.mutes_section(section_id) || self.muted.contains(article_id))
    }

    /// Whether a section is muted as a whole (and shown none the less when
    /// the reader shows what is muted).
    pub fn mutes_section(&self, section_id: i64) -> bool {
        !self.show_muted && self.muted.sections.contains(&section_id)
    }

    /// Whether an article counts as unread for this reader: not read, and
    /// not out of sight.
    pub fn is_unread(&self, article_id: i64, section_id: i64) -> bool {
        !self.is_read(article_id, section_id) && !self.hides(article_id, section_id)
    }

    pub fn is_saved(&self, article_id: i64) -> bool {
        self.marks.get(&article_id).is_some_and(|m| m.saved)
    }

    /// The articles this reader saved, in no order.
    pub fn saved_ids(&self) -> impl Iterator<Item = i64> + '_ {
        self.marks.iter().filter(|(_, m)| m.saved).map(|(&id, _)| id)
    }

    /// The articles this reader marked read (or unread), whatever their
    /// horizon says, in no order.
    pub fn marked_ids(&self, read: bool) -> impl Iterator<Item = i64> + '_ {
        self.marks
            .iter()
            .filter(move |(_, m)| m.read == Some(read))
            .map(|(&id, _)| id)
    }
}

/// An unread count: `more` when it reached [`COUNT_CAP`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Count {
    pub unread: i64,
    pub more: bool,
}

impl Count {
    /// "12", or "1000+" at the cap.
    pub fn label(&self) -> String {
        if self.more {
            format!("{COUNT_CAP}+")
        } else {
            self.unread.to_string()
        }
    }
}

/// A reader's unread counts per section, and in all.
#[derive(Debug, Default, Clone)]
pub struct Counts {
    pub by_section: HashMap<i64, Count>,
    pub total: Count,
}

struct CachedCounts {
    generation: u64,
    version: i64,
    counts: Arc<Counts>,
}

/// The in-memory side of reading state: every reader's snapshot, and
/// their counts as of the database's last change. A reader's own write
/// drops both, so the next request loads them afresh.
#[derive(Default)]
pub struct Reading {
    snapshots: Mutex<HashMap<i64, Arc<Snapshot>>>,
    counts: Mutex<HashMap<i64, CachedCounts>>,
    muted: Mutex<HashMap<i64, Arc<Muted>>>,
    /// Each reader's turn to load their state or counts.
    turns: Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>,
}

/// What a reader can do to one article.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Read,
    Unread,
    Save,
    Unsave,
}

impl Reading {
    /// A reader's state, from memory while it is at least as new as
    /// `known_version` (from their session or key: another process may
    /// have changed it), else from the database.
    pub async fn snapshot(&self, db: &Db, user_id: i64, known_version: i64) -> Result<Arc<Snapshot>, AppError> {
        let cached = || {
            lock(&self.snapshots)
                .get(&user_id)
                .filter(|found| found.version >= known_version)
                .cloned()
        };
        if let Some(found) = cached() {
            return Ok(found);
        }
        // One load per reader at a time: a page's many requests arriving
        // together after a change wait for it rather than each reading.
        let turn = self.turn(user_id);
        let _turn = turn.lock().await;
        if let Some(found) = cached() {
            return Ok(found);
        }
        let rows = store::reading::snapshot(&db.reader, user_id).await?;
        let muted = self.muted(db, user_id, rows.mutes_version).await?;
        let snapshot = Arc::new(Snapshot::from_rows(rows, muted));
        let mut snapshots = lock(&self.snapshots);
        if snapshots.len() >= MAX_CACHED_READERS {
            snapshots.clear();
        }
        snapshots.insert(user_id, Arc::clone(&snapshot));
        Ok(snapshot)
    }

    /// The lock that makes one request at a time load a reader's state.
    fn turn(&self, user_id: i64) -> Arc<tokio::sync::Mutex<()>> {
        let mut turns = lock(&self.turns);
        if turns.len() >= MAX_CACHED_READERS {
            turns.clear();
        }
        Arc::clone(turns.entry(user_id).or_default())
    }

    /// What a reader's rules mute, as of `version` of their mutes. It can
    /// be large, so it is kept while that version stays: a read or a save
    /// does not read it again, and articles muted as they are placed (which
    /// leaves the version) are read alone, from where placing was.
    async fn muted(&self, db: &Db, user_id: i64, version: i64) -> Result<Arc<Muted>, AppError> {
        let through = store::stories::placed_through(&db.reader).await?;
        let kept = lock(&self.muted)
            .get(&user_id)
            .filter(|m| m.version == version)
            .cloned();
        let muted = match kept {
            Some(kept) => {
                let added = store::reading::muted(&db.reader, user_id, kept.through).await?;
                if added.is_empty() {
                    return Ok(kept);
                }
                let mut recent = kept.recent.clone();
                recent.extend(added);
                let base = if recent.len() > RECENT_MUTES {
                    let mut base = HashMap::clone(&kept.base);
                    base.extend(recent.drain());
                    Arc::new(base)
                } else {
                    Arc::clone(&kept.base)
                };
                Arc::new(Muted {
                    version,
                    through,
                    base,
                    recent,
                    sections: kept.sections.clone(),
                })
            }
            None => Arc::new(Muted {
                version,
                through,
                base: Arc::new(
                    store::reading::muted(&db.reader, user_id, 0)
                        .await?
                        .into_iter()
                        .collect(),
                ),
                recent: HashMap::new(),
                sections: rules::muted_sections(db, user_id).await?.into_iter().collect(),
            }),
        };
        let mut cache = lock(&self.muted);
        if cache.len() >= MAX_CACHED_READERS {
            cache.clear();
        }
        cache.insert(user_id, Arc::clone(&muted));
        Ok(muted)
    }

    /// Forgets what is cached of a reader: after their write, or removal.
    /// After a write to a reader's state: this process reads it afresh,
    /// and so do the other instances on the same database.
    fn changed(&self, db: &Db, user_id: i64) {
        self.forget(user_id);
        db.reading_changed();
    }

    pub fn forget(&self, user_id: i64) {
        lock(&self.snapshots).remove(&user_id);
        lock(&self.counts).remove(&user_id);
    }

    /// Unread counts per section. Each section costs one index walk above
    /// the reader's horizon, bounded by the cap, plus the reader's own
    /// marks; the result is kept until the database or the reader changes.
    pub async fn counts(&self, db: &Db, user_id: i64, known_version: i64) -> Result<Arc<Counts>, AppError> {
        let generation = db.generation();
        let snapshot = self.snapshot(db, user_id, known_version).await?;
        let cached = || {
            lock(&self.counts)
                .get(&user_id)
                .filter(|c| c.generation == generation && c.version == snapshot.version)
                .map(|c| Arc::clone(&c.counts))
        };
        if let Some(counts) = cached() {
            return Ok(counts);
        }
        let turn = self.turn(user_id);
        let _turn = turn.lock().await;
        if let Some(counts) = cached() {
            return Ok(counts);
        }
        let sections = store::sections::list(db).await?;
        // The marks in memory, not the table's: an article just opened is
        // marked here before its write commits.
        let marked_ids: Vec<i64> = snapshot
            .marks
            .iter()
            .filter(|(_, mark)| mark.read.is_some())
            .map(|(&id, _)| id)
            .collect();
        let marked = store::reading::sections_of(&db.reader, &marked_ids).await?;
        let scheduled = store::reading::scheduled(&db.reader).await?;
        // Per section: marks read above the horizon take away from the
        // walk's count, marks unread at or below it add to it.
        let mut read_above: HashMap<i64, i64> = HashMap::new();
        let mut unread_below: HashMap<i64, i64> = HashMap::new();
        for (id, section_id, published) in marked {
            let above = id > snapshot.horizon(section_id);
            match (snapshot.is_unread(id, section_id), above) {
                (false, true) => *read_above.entry(section_id).or_default() += 1,
                (true, false) if published => *unread_below.entry(section_id).or_default() += 1,
                _ => {}
            }
        }
        // Muted articles the walk counts (above the horizon), unless a read
        // mark, counted above, took them out already.
        for (id, section_id) in snapshot.muted.articles() {
            let marked = snapshot.marks.get(&id).is_some_and(|m| m.read.is_some());
            if !marked && id > snapshot.horizon(section_id) && snapshot.hides(id, section_id) {
                *read_above.entry(section_id).or_default() += 1;
            }
        }
        for (id, section_id) in scheduled {
            // Not shown yet: out of the walk's count unless a mark already took it out.
            if id > snapshot.horizon(section_id) && snapshot.is_unread(id, section_id) {
                *read_above.entry(section_id).or_default() += 1;
            }
        }
        let mut counts = Counts::default();
        for section in sections.iter() {
            if snapshot.mutes_section(section.id) {
                counts.by_section.insert(section.id, Count::default());
                continue;
            }
            let taken = read_above.get(&section.id).copied().unwrap_or(0);
            let limit = COUNT_CAP + taken;
            let above =
                store::reading::count_above(&db.reader, section.id, snapshot.horizon(section.id), limit).await?;
            let unread = above - taken + unread_below.get(&section.id).copied().unwrap_or(0);
            let count = Count {
                unread: unread.clamp(0, COUNT_CAP),
                more: above >= limit || unread > COUNT_CAP,
            };
            counts.total.unread += count.unread;
            counts.total.more |= count.more;
            counts.by_section.insert(section.id, count);
        }
        if counts.total.unread > COUNT_CAP {
            counts.total = Count {
                unread: COUNT_CAP,
                more: true,
            };
        }
        let counts = Arc::new(counts);
        let mut cache = lock(&self.counts);
        if cache.len() >= MAX_CACHED_READERS {
            cache.clear();
        }
        cache.insert(
            user_id,
            CachedCounts {
                generation,
                version: snapshot.version,
                counts: Arc::clone(&counts),
            },
        );
        Ok(counts)
    }

    /// Reads, unreads, saves or unsaves one published article; committed
    /// before it returns. NotFound when there is no such article to see.
    pub async fn act(&self, db: &Db, user_id: i64, article_id: i64, action: Action) -> Result<(), AppError> {
        self.act_unless_changed(db, user_id, article_id, action, None).await
    }

    /// `act`, skipped when `expected_mark` is given and the article's read
    /// mark is no longer that (the reader marked it themselves meanwhile).
    async fn act_unless_changed(
        &self,
        db: &Db,
        user_id: i64,
        article_id: i64,
        action: Action,
        expected_mark: Option<Option<bool>>,
    ) -> Result<(), AppError> {
        let now = store::now_unix();
        let result = db
            .writer
            .transaction(async |conn| {
                if let Some(expected) = expected_mark
                    && store::reading::read_mark(conn, user_id, article_id).await? != expected
                {
                    return Ok(());
                }
                if store::reading::published_section(conn, article_id).await?.is_none() {
                    return Err(AppError::NotFound("article"));
                }
                store::reading::bump_version(conn, user_id).await?;
                match action {
                    Action::Read => mark_read(conn, user_id, article_id).await?,
                    Action::Unread => store::reading::set_read(conn, user_id, article_id, false).await?,
                    Action::Save | Action::Unsave => {
                        store::reading::set_saved(conn, user_id, article_id, action == Action::Save, now).await?
                    }
                }
                Ok(())
            })
            .await;
        self.changed(db, user_id);
        result
    }

    /// Does one thing to many articles at once, in one transaction;
    /// ids of articles that do not exist (or are not published yet) are
    /// skipped. Returns how many were acted on.
    pub async fn act_many(&self, db: &Db, user_id: i64, ids: &[i64], action: Action) -> Result<usize, AppError> {
        let now = store::now_unix();
        let result = db
            .writer
            .transaction(async |conn| {
                let mut done = 0;
                for &id in ids {
                    if store::reading::published_section(conn, id).await?.is_none() {
                        continue;
                    }
                    match action {
                        Action::Read => mark_read(conn, user_id, id).await?,
                        Action::Unread => store::reading::set_read(conn, user_id, id, false).await?,
                        Action::Save | Action::Unsave => {
                            store::reading::set_saved(conn, user_id, id, action == Action::Save, now).await?
                        }
                    }
                    done += 1;
                }
                // A request that found nothing to change leaves no trace.
                if done > 0 {
                    store::reading::bump_version(conn, user_id).await?;
                }
                Ok::<_, AppError>(done)
            })
            .await;
        self.changed(db, user_id);
        result
    }

    /// Marks a section (or every section, with None) read up to the
    /// newest article stored by `until` (unix seconds), or up to an
    /// article id.
    pub async fn read_section(
        &self,
        db: &Db,
        user_id: i64,
        section_id: Option<i64>,
        up_to: UpTo,
    ) -> Result<(), AppError> {
        let result = db
            .writer
            .transaction(async |conn| {
                let sections = match section_id {
                    Some(id) if store::reading::section_exists(conn, id).await? => vec![id],
                    Some(_) => return Err(AppError::NotFound("section")),
                    None => store::reading::section_ids(conn).await?,
                };
                store::reading::bump_version(conn, user_id).await?;
                for section in sections {
                    let through = match up_to {
                        UpTo::Article(id) => Some(id),
                        UpTo::Time(time) => store::reading::last_id_stored_by(conn, section, time).await?,
                    };
                    if let Some(through) = through {
                        store::reading::mark_section_read(conn, user_id, section, through).await?;
                    }
                }
                Ok::<_, AppError>(())
            })
            .await;
        self.changed(db, user_id);
        result
    }

    /// Opening an article marks it read: at once in memory, so the page
    /// shows it so, and in the database in the background, so a page view
    /// never waits on the disk. Losing such a mark in a crash costs the
    /// reader one story shown unread again, never data they gave.
    /// `loaded` is the reader's state as the request found it: the copy in
    /// memory may have been dropped since by a write landing meanwhile.
    pub fn opened(self: &Arc<Self>, db: &Db, loaded: &Arc<Snapshot>, user_id: i64, article_id: i64, section_id: i64) {
        let mark = {
            let mut snapshots = lock(&self.snapshots);
            let current = snapshots.get(&user_id).unwrap_or(loaded);
            if current.is_read(article_id, section_id) {
                return;
            }
            let mark = current.marks.get(&article_id).and_then(|m| m.read);
            let mut updated = Snapshot::clone(current);
            updated.marks.entry(article_id).or_default().read = Some(true);
            snapshots.insert(user_id, Arc::new(updated));
            lock(&self.counts).remove(&user_id);
            mark
        };
        let (reading, db) = (Arc::clone(self), db.clone());
        // Should the reader mark it unread before this lands, theirs is the
        // later word: the write is skipped when the article's mark moved on.
        tokio::spawn(async move {
            if let Err(err) = reading
                .act_unless_changed(&db, user_id, article_id, Action::Read, Some(mark))
                .await
                && !matches!(err, AppError::NotFound(_))
            {
                tracing::warn!(%err, user_id, article_id, "could not record an article as read");
            }
        });
    }

    pub async fn set_settings(
        &self,
        db: &Db,
        user_id: i64,
        hide_read: bool,
        show_copies: bool,
        show_muted: bool,
    ) -> Result<(), AppError> {
        let result = db
            .writer
            .transaction(async |conn| {
                store::reading::bump_version(conn, user_id).await?;
                store::reading::set_settings(conn, user_id, hide_read, show_copies, show_muted).await
            })
            .await;
        self.changed(db, user_id);
        Ok(result?)
    }
}

/// Marks an article read, with its near-duplicates (the same wire story
/// from other sources) unless the reader keeps copies unread: every door
/// (pages, the API, Google Reader and Fever apps) marks through here.
async fn mark_read(conn: &mut store::Tx<'_>, user_id: i64, article_id: i64) -> sqlx::Result<()> {
    let mut ids = vec![article_id];
    if !store::reading::shows_copies(conn, user_id).await? {
        ids.extend(
            store::stories::copies(conn, article_id)
                .await?
                .into_iter()
                .filter(|id| *id != article_id),
        );
    }
    for id in ids {
        store::reading::set_read(conn, user_id, id, true).await?;
    }
    Ok(())
}

/// How many stories a filtered listing examines per page at most: a
/// reader who has read nearly everything still gets an answer at once,
/// with a link to continue further back.
const SCAN_LIMIT: u32 = 500;
const SCAN_BATCH: u32 = 100;

/// A page of a listing without the stories this reader has read: the
/// listing's own keyset pages, filtered. The next cursor continues after
/// the last story examined, so a later page neither skips nor repeats.
pub async fn unread_page(
    db: &Db,
    snapshot: &Snapshot,
    scope: store::articles::Scope<'_>,
    mut cursor: Cursor,
    limit: u32,
) -> Result<Page, AppError> {
    let mut items = Vec::new();
    let mut examined = 0;
    loop {
        let page = store::articles::page(&db.reader, scope, cursor, SCAN_BATCH).await?;
        for card in page.items {
            examined += 1;
            cursor = card.cursor();
            if snapshot.is_unread(card.id, card.section_id) {
                items.push(card);
                if items.len() == limit as usize {
                    // More may follow: the next page will tell.
                    return Ok(Page {
                        items,
                        next: Some(cursor),
                    });
                }
            }
        }
        match page.next {
            Some(_) if examined < SCAN_LIMIT => {}
            Some(_) => {
                return Ok(Page {
                    items,
                    next: Some(cursor),
                });
            }
            None => return Ok(Page { items, next: None }),
        }
    }
}

/// How far "mark all read" reaches.
#[derive(Debug, Clone, Copy)]
pub enum UpTo {
    /// Up to and including this article id.
    Article(i64),
    /// Up to the newest article stored at or before this time (unix seconds).
    Time(i64),
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_override_the_horizon() {
        let mut snapshot = Snapshot::default();
        snapshot.horizons.insert(1, 10);
        snapshot.marks.insert(
            5,
            Mark {
                read: Some(false),
                saved: true,
            },
        );
        snapshot.marks.insert(
            12,
            Mark {
                read: Some(true),
                saved: false,
            },
        );
        assert!(snapshot.is_read(4, 1));
        assert!(!snapshot.is_read(5, 1), "marked unread below the horizon");
        assert!(snapshot.is_read(12, 1), "marked read above it");
        assert!(!snapshot.is_read(13, 1));
        assert!(!snapshot.is_read(4, 2), "another section has its own horizon");
        assert!(snapshot.is_saved(5) && !snapshot.is_saved(12));
    }

    #[test]
    fn muted_articles_and_sections_are_out_of_sight_unless_shown() {
        let mut snapshot = Snapshot {
            muted: Arc::new(Muted {
                version: 1,
                through: 9,
                base: Arc::new(HashMap::from([(7, 1)])),
                recent: HashMap::from([(9, 1)]),
                sections: HashSet::from([3]),
            }),
            ..Snapshot::default()
        };
        snapshot.marks.insert(
            9,
            Mark {
                saved: true,
                ..Mark::default()
            },
        );
        assert!(!snapshot.hides(9, 1), "what the reader saved stays in sight");
        assert!(snapshot.hides(7, 1) && !snapshot.is_unread(7, 1));
        assert!(snapshot.hides(8, 3), "in a muted section");
        assert!(!snapshot.hides(8, 1) && snapshot.is_unread(8, 1));
        snapshot.show_muted = true;
        assert!(!snapshot.hides(7, 1) && !snapshot.hides(8, 3));
        assert!(snapshot.is_unread(7, 1));
    }

    #[test]
    fn counts_say_when_they_stopped() {
        assert_eq!(Count { unread: 7, more: false }.label(), "7");
        assert_eq!(
            Count {
                unread: COUNT_CAP,
                more: true
            }
            .label(),
            "1000+"
        );
    }
}
