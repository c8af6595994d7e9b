//! Background upkeep of the search index: merging the segments that every
//! commit adds, a small step at a time, so no ingest pays for a big merge.

use std::time::Duration;

use tokio::sync::watch;

use crate::store::{self, Db};

/// How often to look for work when there was none.
const IDLE_INTERVAL: Duration = Duration::from_secs(1);
/// Between steps while there is work: the writer is free for ingests most
/// of the time.
const BUSY_INTERVAL: Duration = Duration::from_millis(20);

pub async fn run(db: Db, mut shutdown: watch::Receiver<bool>) {
    let mut merged_at = None;
    loop {
        let generation = db.generation();
        let busy = if merged_at == Some(generation) {
            false
        } else {
            match store::search::merge_step(&db.writer).await {
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
