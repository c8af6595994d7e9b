//! Placing stored articles in stories, after the write path and apart
//! from it: a background worker takes the articles stored since it last
//! looked, in id (arrival) order, and places them a step at a time in
//! transactions of its own.
//!
//! Why not in the write path: placing an article costs several times
//! what storing it does (candidate lookups in three indexes, and their
//! writes), and inside the write path's transaction that cost was paid
//! by every sender while holding the one writer (docs/BENCHMARKS.md,
//! "What placing costs"). Here ingest pays only for storing, and a new
//! article shows as a story of its own until the worker reaches it,
//! normally within a second.
//!
//! Ingest comes first: placing takes the writer only when ingest held it
//! less than half of the last [`SAMPLE`] and is not writing now, and waits
//! no more than [`MAX_YIELD`] a step, so a library under constant load
//! still gets its stories. (Waiting only while an ingest write was in
//! flight was not enough: single POSTs are committed in groups, and a
//! step taken in the moment between two groups held up the next. Waiting
//! for a quiet moment was too much: a steady trickle of posts never gives
//! one. docs/BENCHMARKS.md.)

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, watch};

use super::Features;
use crate::ingest::budget::MemoryBudget;
use crate::store::{self, Db};

/// Articles placed in one transaction: short enough that an ingest write
/// arriving meanwhile waits a quarter of a second at most, long enough
/// that each step's lookups serve many articles.
const STEP: i64 = 200;
/// How long placing watches ingest before taking the writer.
const SAMPLE: Duration = Duration::from_millis(50);
/// The longest placing waits on ingest before taking a step anyway.
const MAX_YIELD: Duration = Duration::from_secs(5);
/// How much of an article's HTML placing reads: a few thousand words,
/// far more than a copy needs to be recognised, while a step of the
/// longest articles stays a few megabytes.
pub const TEXT_BYTES: i64 = 20_000;
/// How long a step waits for room in the memory budget before the worker
/// looks again.
const BUDGET_WAIT: Duration = Duration::from_secs(30);
/// The longest the worker sleeps before looking again: other instances'
/// articles, and anything a wake-up missed.
const MAX_IDLE: Duration = Duration::from_secs(2);
/// How long the worker waits after a failed step.
const AFTER_FAILURE: Duration = Duration::from_secs(5);

/// What the write path tells the worker.
#[derive(Debug, Default)]
pub struct Signals {
    wake: Notify,
    /// Ingest writes waiting for or holding the writer.
    ingest_writes: AtomicUsize,
    /// How long the ingest writes that ended took, in all (microseconds).
    ingest_micros: AtomicU64,
}

impl Signals {
    /// New articles were stored.
    pub fn stored(&self) {
        self.wake.notify_one();
    }

    /// Marks an ingest write in progress (waiting for the writer counts)
    /// until the guard is dropped.
    pub fn ingest_writing(&self) -> IngestWrite<'_> {
        self.ingest_writes.fetch_add(1, Ordering::AcqRel);
        IngestWrite {
            signals: self,
            started: Instant::now(),
        }
    }

    /// Waits until ingest leaves room for a step (see the module's notes).
    async fn room_for_a_step(&self) {
        let waiting = Instant::now();
        loop {
            let before = self.ingest_micros.load(Ordering::Acquire);
            tokio::time::sleep(SAMPLE).await;
            let held = Duration::from_micros(self.ingest_micros.load(Ordering::Acquire).saturating_sub(before));
            let writing = self.ingest_writes.load(Ordering::Acquire) > 0;
            if (!writing && held < SAMPLE / 2) || waiting.elapsed() >= MAX_YIELD {
                return;
            }
        }
    }
}

/// An ingest write in progress (see [`Signals::ingest_writing`]).
pub struct IngestWrite<'a> {
    signals: &'a Signals,
    started: Instant,
}

impl Drop for IngestWrite<'_> {
    fn drop(&mut self) {
        let micros = u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.signals.ingest_micros.fetch_add(micros, Ordering::AcqRel);
        self.signals.ingest_writes.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Places stored articles until shutdown.
pub async fn run(db: Db, memory: MemoryBudget, mut shutdown: watch::Receiver<bool>) {
    loop {
        loop {
            db.placing.room_for_a_step().await;
            match step(&db, &memory).await {
                Ok(0) => break,
                Ok(_) => {}
                Err(err) => {
                    tracing::error!(%err, "cannot place new articles in stories");
                    tokio::select! {
                        () = tokio::time::sleep(AFTER_FAILURE) => {}
                        _ = shutdown.changed() => return,
                    }
                    break;
                }
            }
            if *shutdown.borrow() {
                return;
            }
        }
        tokio::select! {
            () = db.placing.wake.notified() => {}
            () = tokio::time::sleep(MAX_IDLE) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

/// Places the next articles waiting, if any: how many it looked at.
/// Its memory is reserved in `memory`, as every job's is.
pub async fn step(db: &Db, memory: &MemoryBudget) -> anyhow::Result<usize> {
    let from = store::stories::placed_through(&db.reader).await?;
    let waiting = store::stories::unplaced_after(&db.reader, from, STEP, TEXT_BYTES).await?;
    let Some(through) = waiting.last().map(|a| a.id) else {
        return Ok(0);
    };
    // The texts read, their plain text and their features.
    let bytes: usize = waiting
        .iter()
        .map(|a| a.body_html.len() + a.title.len() + a.summary.as_ref().map_or(0, String::len))
        .sum();
    let Some(_room) = memory.reserve(3 * bytes as u64, BUDGET_WAIT).await else {
        anyhow::bail!("no room in the memory budget to place {} articles", waiting.len());
    };
    let looked_at = waiting.len();
    // On the threads that prepare articles for ingest: their memory is
    // given back when the work is over, as a blocking pool thread's is not.
    // Readers' rules see every new article once, as placing does: they
    // act in the same transaction, so neither is done twice or skipped.
    let reader_rules = crate::reading::rules::compiled(db).await?;
    let subjects = match reader_rules.is_empty() {
        true => Vec::new(),
        false => store::reader_rules::subjects(&db.reader, &waiting.iter().map(|a| a.id).collect::<Vec<_>>()).await?,
    };
    let features: Vec<(i64, Features)> =
        crate::ingest::workers::run(move || waiting.iter().map(|a| (a.id, features_of(a))).collect()).await?;
    let now = store::now_unix();
    let (placements, readers_changed) = db
        .writer
        .transaction(async |conn| {
            if !store::stories::take_placing_turn(conn, from).await? {
                return Ok::<_, sqlx::Error>((Vec::new(), false));
            }
            // Deleted (or placed by another door) since they were read.
            let still: std::collections::HashSet<i64> =
                store::stories::still_unplaced(conn, &features.iter().map(|(id, _)| *id).collect::<Vec<_>>())
                    .await?
                    .into_iter()
                    .collect();
            let placing: Vec<(i64, &Features)> = features
                .iter()
                .filter(|(id, _)| still.contains(id))
                .map(|(id, f)| (*id, f))
                .collect();
            let placements = super::place(conn, &placing).await?;
            let placed: Vec<_> = subjects.into_iter().filter(|a| still.contains(&a.id)).collect();
            let readers_changed = crate::reading::rules::act_on_new(conn, &reader_rules, &placed, now).await?;
            store::stories::placed(conn, through).await?;
            Ok((placements, readers_changed))
        })
        .await?;
    if readers_changed {
        db.readers_changed();
    }
    metrics::counter!("gazette_stories_placed_total").increment(placements.len() as u64);
    // An article joining a story changes that story's cards ("also
    // reported by") wherever they are, and may take itself out of lists.
    if placements.iter().any(|p| p.joined) {
        db.changed();
    }
    Ok(looked_at)
}

/// What placing needs of a stored article: what the write path read of
/// it, from what it stored.
fn features_of(article: &store::stories::Unplaced) -> Features {
    let whole_text = super::whole_text(article.summary.as_deref(), &article.body_html);
    Features::new(
        &article.title,
        article.summary.as_deref(),
        &whole_text,
        article.published_at,
        super::source_key(article.source.as_deref(), article.url.as_deref()),
    )
}
