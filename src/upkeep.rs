//! Background upkeep: merging the search index's segments that every
//! commit adds, a small step at a time, so no ingest pays for a big merge;
//! and, while writes are failing, probing every few seconds for when they
//! work again, so /readyz and the log recover without waiting for a client;
//! and when a scheduled article falls due, telling the caches, since the
//! site changes then without any write; and, apart, counting the search
//! index's words when the library has changed enough since the last count.

use std::time::Duration;

use tokio::sync::watch;

use crate::store::{self, Db};

/// How often to look for work when there was none.
const IDLE_INTERVAL: Duration = Duration::from_secs(1);
/// Between steps while there is work: the writer is free for ingests most
/// of the time.
const BUSY_INTERVAL: Duration = Duration::from_millis(20);
/// Between write probes while writes are failing.
const PROBE_INTERVAL: Duration = Duration::from_secs(5);

pub async fn run(db: Db, mut shutdown: watch::Receiver<bool>) {
    let mut merged_at = None;
    let mut probed_at = std::time::Instant::now();
    let mut schedule = Schedule::default();
    loop {
        schedule.check(&db).await;
        if db.writer.health().failing().is_some() && probed_at.elapsed() >= PROBE_INTERVAL {
            probed_at = std::time::Instant::now();
            // Its outcome is recorded by the writer's health; nothing to add.
            let _ = db.writer.probe().await;
        }
        let generation = db.generation();
        let busy = if merged_at == Some(generation) {
            false
        } else {
            match db.writer.transaction(store::search::merge_step).await {
                Ok(true) => true,
                Ok(false) => {
                    merged_at = Some(generation);
                    false
                }
                Err(err) => {
                    tracing::warn!(%err, "search index merge failed; will retry");
                    false
                }
            }
        };
        let pause = if busy { BUSY_INTERVAL } else { IDLE_INTERVAL };
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// When the next scheduled article falls due. Looked up again after every
/// change and every minute (another process, `gazette import`, may have
/// scheduled one); checked every pass, so an article appears within about
/// a second of its time.
#[derive(Default)]
struct Schedule {
    looked_up_at: Option<(u64, i64)>,
    next_due: Option<i64>,
}

impl Schedule {
    async fn check(&mut self, db: &Db) {
        let version = (db.generation(), store::current_minute());
        if self.looked_up_at != Some(version) {
            match store::articles::next_scheduled(&db.reader).await {
                Ok(next_due) => {
                    self.next_due = next_due;
                    self.looked_up_at = Some(version);
                }
                Err(err) => tracing::warn!(%err, "cannot read the next scheduled article; will retry"),
            }
        }
        if self.next_due.is_some_and(|due| store::now_unix() >= due) {
            // Published now: every cached page is stale, as after a write.
            db.changed();
            self.next_due = None;
        }
    }
}

/// The counts are made again when the library has grown or shrunk by this
/// share since, or after a day with any change: a search's cost is judged
/// on them, and a word's share of the library moves slowly.
const TERMS_DRIFT: f64 = 0.10;
const TERMS_MAX_AGE_SECS: i64 = 86_400;

/// Words in fewer articles than this share of the library (and than
/// [`TERMS_MIN_FLOOR`]) are not kept: they cost a search little, and most
/// of the index's words are such.
const TERMS_FLOOR_SHARE: i64 = 20_000;
const TERMS_MIN_FLOOR: i64 = 8;

/// Counts the search index's words (see `store::search::count_terms`)
/// whenever they are stale, looking every `interval`, until `shutdown`.
pub async fn count_terms(db: Db, interval: Duration, mut shutdown: watch::Receiver<bool>) {
    if !store::search::keeps_term_counts(&db.reader) {
        return;
    }
    loop {
        if let Err(err) = count_terms_if_stale(&db).await {
            tracing::warn!(%err, "counting the search index's words failed; will retry");
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Counts the words if the counts are stale; true when it counted.
pub async fn count_terms_if_stale(db: &Db) -> Result<bool, crate::error::AppError> {
    let articles = store::search::indexed_articles(&db.reader).await?;
    let now = store::now_unix();
    let stale = match store::search::terms_counted_at(&db.reader).await? {
        None => articles > 0,
        Some((counted, at)) => {
            let drift = (articles - counted).abs() as f64 / counted.max(1) as f64;
            drift > TERMS_DRIFT || (now - at > TERMS_MAX_AGE_SECS && articles != counted)
        }
    };
    if !stale {
        return Ok(false);
    }
    let floor = (articles / TERMS_FLOOR_SHARE).max(TERMS_MIN_FLOOR);
    let started = std::time::Instant::now();
    let terms = store::search::count_terms(&db.reader, floor).await?;
    let read = started.elapsed();
    db.writer
        .transaction(async |conn| store::search::save_term_counts(conn, &terms, articles, floor, now).await)
        .await?;
    tracing::info!(
        articles,
        words = terms.len(),
        floor,
        read_ms = read.as_millis() as u64,
        "counted the search index's words"
    );
    Ok(true)
}
