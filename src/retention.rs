//! Retention: an optional policy that deletes old articles, run by the
//! server on a schedule. Deletions go through the same path as the API's,
//! so they leave tombstones (a feed or scraper re-sending an expired story
//! does not bring it back) and the search index follows through triggers.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::watch;

use crate::store::{self, Db};

/// Rows deleted per transaction: short transactions keep ingest flowing
/// while a large backlog is swept.
const SWEEP_BATCH: u32 = 500;

/// How long articles are kept: site-wide, with per-section overrides.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub default_days: Option<u32>,
    pub section_days: HashMap<String, u32>,
}

impl Policy {
    pub fn is_active(&self) -> bool {
        self.default_days.is_some() || !self.section_days.is_empty()
    }

    fn days_for(&self, section_slug: &str) -> Option<u32> {
        self.section_days.get(section_slug).copied().or(self.default_days)
    }
}

/// Deletes every article older than its section's limit; returns how many.
pub async fn sweep(db: &Db, policy: &Policy, now: i64) -> anyhow::Result<u64> {
    let mut deleted = 0u64;
    'sections: for section in store::sections::list(db).await?.iter() {
        let Some(days) = policy.days_for(&section.slug) else {
            continue;
        };
        let before = now - i64::from(days) * 86_400;
        loop {
            let ids = db
                .writer
                .transaction(async |conn| {
                    // Another instance on the same database sweeping now
                    // has this batch in hand; it will finish the sweep.
                    if !store::site::take_turn(conn, store::site::Job::Retention).await? {
                        return Ok(None);
                    }
                    let ids = store::articles::ids_published_before(conn, section.id, before, SWEEP_BATCH).await?;
                    for id in &ids {
                        store::articles::delete(conn, *id, now).await?;
                    }
                    Ok::<_, sqlx::Error>(Some(ids))
                })
                .await?;
            let Some(ids) = ids else {
                break 'sections;
            };
            db.changed();
            deleted += ids.len() as u64;
            if ids.len() < SWEEP_BATCH as usize {
                break;
            }
        }
    }
    if deleted > 0 {
        metrics::counter!("gazette_retention_deleted_total").increment(deleted);
        tracing::info!(deleted, "retention sweep deleted old articles");
    }
    Ok(deleted)
}

/// Sweeps at start-up and then every `interval`, until shutdown.
pub async fn run(db: Db, policy: Policy, interval: Duration, mut shutdown: watch::Receiver<bool>) {
    loop {
        if let Err(err) = sweep(&db, &policy, store::now_unix()).await {
            tracing::error!(%err, "retention sweep failed; will retry at the next interval");
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => return,
        }
    }
}
