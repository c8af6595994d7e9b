//! The memory that work in flight may take: batches being decoded,
//! prepared and written reserve their share before they start, and wait
//! their turn when the budget is spent, so concurrent batches cannot add
//! up past what a small machine has.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The budget is counted in units of this many bytes (a semaphore's
/// permits are a `u32`).
const UNIT: u64 = 64 * 1024;

/// What reading, preparing and writing a batch costs in memory, as a
/// multiple of its request body, with a margin: measured on 27 MB batches
/// of long articles (one batch took 53 MB above idle: the body, and two or
/// three steps of prepared articles; docs/BENCHMARKS.md "Memory under the
/// limits").
pub const BATCH_COST_PER_BYTE: u64 = 3;

/// How long a batch waits for room before it is refused with 503.
pub const BATCH_WAIT: Duration = Duration::from_secs(20);

#[derive(Clone)]
pub struct MemoryBudget {
    units: Arc<Semaphore>,
    total: u32,
}

/// Room reserved in the budget, given back when dropped.
#[derive(Debug)]
pub struct Reserved(#[allow(dead_code)] OwnedSemaphorePermit);

impl MemoryBudget {
    pub fn new(bytes: u64) -> Self {
        let total = u32::try_from((bytes / UNIT).max(1)).unwrap_or(u32::MAX >> 4);
        MemoryBudget {
            units: Arc::new(Semaphore::new(total as usize)),
            total,
        }
    }

    /// Reserves `bytes` (the whole budget at most: larger work runs alone),
    /// waiting up to `wait` for room; `None` if none came.
    pub async fn reserve(&self, bytes: u64, wait: Duration) -> Option<Reserved> {
        let units = u32::try_from(bytes.div_ceil(UNIT))
            .unwrap_or(u32::MAX)
            .clamp(1, self.total);
        let acquire = Arc::clone(&self.units).acquire_many_owned(units);
        match tokio::time::timeout(wait, acquire).await {
            Ok(Ok(permit)) => Some(Reserved(permit)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_past_the_budget_waits_for_room_and_gives_up_in_time() {
        let budget = MemoryBudget::new(10 * UNIT);
        let first = budget.reserve(6 * UNIT, Duration::ZERO).await.expect("room");
        assert!(
            budget.reserve(6 * UNIT, Duration::from_millis(20)).await.is_none(),
            "no room while the first holds its share"
        );
        let small = budget.reserve(4 * UNIT, Duration::ZERO).await;
        assert!(small.is_some(), "what fits goes at once");
        drop(small);
        let waiting = {
            let budget = budget.clone();
            tokio::spawn(async move { budget.reserve(6 * UNIT, Duration::from_secs(5)).await.is_some() })
        };
        drop(first);
        assert!(waiting.await.unwrap(), "room given back is taken by the one waiting");
        // Larger than the whole budget: runs alone rather than never.
        assert!(budget.reserve(100 * UNIT, Duration::from_secs(1)).await.is_some());
    }
}
