//! The background scheduler: polls feeds as they fall due, a bounded
//! number at once, until shutdown. Feeds due at start-up are polled first
//! thing; a broken feed only delays itself.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Semaphore, watch};

use super::fetch::Fetcher;
use crate::store::{self, Db};

/// The longest the scheduler sleeps before looking again, so a feed added
/// through the API or CLI is picked up soon.
const MAX_IDLE: Duration = Duration::from_secs(5);

/// How long a feed claimed by this instance stays its (on PostgreSQL):
/// far longer than a poll takes (fetch timeouts included), short enough
/// that a crashed instance's feeds are polled by another soon after.
const LEASE_SECS: i64 = 300;

pub async fn run(db: Db, fetcher: Arc<Fetcher>, concurrency: usize, mut shutdown: watch::Receiver<bool>) {
    let slots = Arc::new(Semaphore::new(concurrency.max(1)));
    let in_flight: Arc<Mutex<HashSet<i64>>> = Arc::default();
    loop {
        let now = store::now_unix();
        let claimed = db
            .writer
            .transaction(async |conn| store::feeds::claim_due(conn, now, 100, LEASE_SECS).await)
            .await;
        match claimed {
            Ok(due) => {
                for feed in due {
                    if !in_flight.lock().unwrap_or_else(|p| p.into_inner()).insert(feed.id) {
                        continue;
                    }
                    let Ok(permit) = slots.clone().acquire_owned().await else {
                        return;
                    };
                    let (db, fetcher, in_flight) = (db.clone(), fetcher.clone(), in_flight.clone());
                    tokio::spawn(async move {
                        if let Err(err) = super::poll(&db, &fetcher, &feed).await {
                            tracing::error!(feed = feed.id, %err, "feed poll failed");
                        }
                        in_flight.lock().unwrap_or_else(|p| p.into_inner()).remove(&feed.id);
                        drop(permit);
                    });
                }
            }
            Err(err) => tracing::error!(%err, "cannot read due feeds"),
        }
        let wait = match store::feeds::next_due_at(&db.reader).await {
            Ok(Some(at)) => Duration::from_secs((at - store::now_unix()).clamp(1, MAX_IDLE.as_secs() as i64) as u64),
            _ => MAX_IDLE,
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => return,
        }
    }
}
