//! The background worker: fetches the pages that are due, a few at a
//! time and each host at its pace, until shutdown. Where several
//! instances share a database, each page is claimed by one of them.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore, watch};
use url::Url;

use super::PageFetcher;
use crate::store::{self, Db};

/// How long a page claimed by this instance stays its: far longer than an
/// attempt takes, short enough that a crashed instance's pages are taken
/// up by another soon after.
pub const LEASE_SECS: i64 = 300;
/// Pages fetched at once, across all hosts: beside the feed poller's own
/// fetches, never in their way.
const CONCURRENCY: usize = 4;
/// The longest the worker sleeps before looking again.
const MAX_IDLE: Duration = Duration::from_secs(5);
/// How soon the worker looks again when pages were due but their hosts'
/// turns had not come.
const PACED: Duration = Duration::from_millis(250);
/// Pages read from the queue at a time.
const BATCH: i64 = 200;

static WAKE: LazyLock<Notify> = LazyLock::new(Notify::new);

/// Tells the worker that pages were asked for.
pub fn wake() {
    WAKE.notify_one();
}

pub async fn run(db: Db, pages: Arc<PageFetcher>, mut shutdown: watch::Receiver<bool>) {
    let slots = Arc::new(Semaphore::new(CONCURRENCY));
    let in_flight: Arc<Mutex<HashSet<i64>>> = Arc::default();
    loop {
        let now = store::now_unix();
        let mut held_back = false;
        match store::page_fetches::due(&db.reader, now, BATCH).await {
            Ok(due) => {
                for job in due {
                    if in_flight
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .contains(&job.article_id)
                    {
                        continue;
                    }
                    let Ok(slot) = slots.clone().try_acquire_owned() else {
                        held_back = true;
                        break;
                    };
                    let host = Url::parse(&job.url)
                        .ok()
                        .and_then(|u| u.host_str().map(str::to_owned))
                        .unwrap_or_default();
                    let Some(turn) = pages.pace.try_turn(&host) else {
                        held_back = true;
                        continue;
                    };
                    let claimed = db
                        .writer
                        .transaction(async |conn| {
                            store::page_fetches::claim(conn, job.article_id, now, LEASE_SECS).await
                        })
                        .await;
                    let job = match claimed {
                        Ok(Some(job)) => job,
                        Ok(None) => continue,
                        Err(err) => {
                            tracing::error!(%err, "cannot claim a page to fetch");
                            break;
                        }
                    };
                    in_flight
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(job.article_id);
                    let (db, pages, in_flight) = (db.clone(), pages.clone(), in_flight.clone());
                    tokio::spawn(async move {
                        if let Err(err) = pages.attempt(&db, &job, turn).await {
                            tracing::error!(article = job.article_id, %err, "cannot record a page fetch");
                        }
                        in_flight
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .remove(&job.article_id);
                        drop(slot);
                        wake();
                    });
                }
            }
            Err(err) => tracing::error!(%err, "cannot read the pages to fetch"),
        }
        let wait = if held_back {
            PACED
        } else {
            match store::page_fetches::next_due_at(&db.reader).await {
                Ok(Some(at)) => {
                    Duration::from_secs((at - store::now_unix()).clamp(0, MAX_IDLE.as_secs() as i64) as u64).max(PACED)
                }
                _ => MAX_IDLE,
            }
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = WAKE.notified() => {}
            _ = shutdown.changed() => return,
        }
    }
}
