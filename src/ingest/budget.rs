//! The memory that work in flight may take: batches being decoded,
//! prepared and written, and feed documents being parsed and stored,
//! reserve their share before they start and wait their turn when the
//! budget is spent, so concurrent work cannot add up past what a small
//! machine has.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The budget is counted in units of this many bytes (a semaphore's
/// permits are a `u32`).
const UNIT: u64 = 64 * 1024;

/// Steps of a batch in memory at once: one being read and one queued,
/// one on each preparing thread, one being written.
const STEPS_IN_FLIGHT: u64 = 3 + super::workers::WORKERS as u64;

/// What a step holds per byte of its input: the decoded article, then its
/// rendered HTML, its search text, its compressed body and the JSON the
/// store writes, which repeats the HTML.
const STEP_COST_PER_BYTE: u64 = 4;

/// What any write of articles holds besides its steps: the statements'
/// copies of their JSON, the writer's page cache and the search index's
/// pending terms.
const WRITE_COST: u64 = 8 * 1024 * 1024;

/// Memory that storing a batch of `body` bytes takes: its body, which it
/// holds to the end, its steps in flight (all of a small batch, a few of a
/// large one) and the write. Measured on 27 MB batches of long articles:
/// about 50 MB above idle (docs/BENCHMARKS.md "Memory under the limits").
pub fn batch_cost(body: u64) -> u64 {
    body + steps_cost(body)
}

/// Memory that parsing a feed document of `document` bytes and storing its
/// entries takes: the document and the parsed feed, then its entries
/// stored as a batch's steps are.
pub fn document_cost(document: u64) -> u64 {
    2 * document + steps_cost(document)
}

/// Memory that finding the story on a web page of `page` bytes takes: the
/// page parsed twice (dom_smoothie's tree and trafilatura's) with their
/// text, measured at up to 27 times the page's size on a page of 10 MB of
/// paragraphs (docs/BENCHMARKS.md, "Extraction as Gazette does it").
pub fn page_cost(page: u64) -> u64 {
    28 * page
}

fn steps_cost(input: u64) -> u64 {
    WRITE_COST + input.min(STEPS_IN_FLIGHT * super::STEP_BYTES as u64) * STEP_COST_PER_BYTE
}

/// How long a batch waits for room before it is refused with 503.
pub const BATCH_WAIT: Duration = Duration::from_secs(20);

/// How long the budget stays wholly unspent before the memory the work
/// freed is given back: long enough that a sender's next batch, a moment
/// later, finds its pages still there.
const GIVE_BACK_AFTER: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct MemoryBudget(Arc<Budget>);

struct Budget {
    units: Arc<Semaphore>,
    total: u32,
    give_back_planned: AtomicBool,
    /// Whether work holds more than half the budget, as last told to the
    /// allocator.
    pressed: Mutex<bool>,
}

/// Room reserved in the budget, given back when dropped.
#[derive(Debug)]
pub struct Reserved {
    units: Option<OwnedSemaphorePermit>,
    budget: MemoryBudget,
}

impl Drop for Reserved {
    fn drop(&mut self) {
        drop(self.units.take());
        self.budget.follow_pressure();
        if self.budget.is_unspent() {
            self.budget.plan_give_back();
        }
    }
}

impl std::fmt::Debug for MemoryBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryBudget")
            .field("free_units", &self.0.units.available_permits())
            .field("total_units", &self.0.total)
            .finish()
    }
}

impl MemoryBudget {
    pub fn new(bytes: u64) -> Self {
        let total = u32::try_from((bytes / UNIT).max(1)).unwrap_or(u32::MAX >> 4);
        MemoryBudget(Arc::new(Budget {
            units: Arc::new(Semaphore::new(total as usize)),
            total,
            give_back_planned: AtomicBool::new(false),
            pressed: Mutex::new(false),
        }))
    }

    /// Tells the allocator whether work in flight holds more than half the
    /// budget: then what it frees goes back at once (see
    /// [`crate::allocator`]).
    fn follow_pressure(&self) {
        let mut pressed = self.0.pressed.lock().unwrap_or_else(|p| p.into_inner());
        let used = self.0.total as usize - self.0.units.available_permits();
        let now = used * 2 > self.0.total as usize;
        if now != *pressed {
            *pressed = now;
            crate::allocator::set_pressure(now);
        }
    }

    fn is_unspent(&self) -> bool {
        self.0.units.available_permits() == self.0.total as usize
    }

    /// The last work in flight ended: unless more starts within
    /// [`GIVE_BACK_AFTER`], the memory it freed goes back to the system,
    /// from the preparing threads that did most of the work and from this
    /// one (see [`crate::allocator`]).
    fn plan_give_back(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.0.give_back_planned.swap(true, Ordering::AcqRel) {
            return;
        }
        let budget = self.clone();
        runtime.spawn(async move {
            tokio::time::sleep(GIVE_BACK_AFTER).await;
            budget.0.give_back_planned.store(false, Ordering::Release);
            if budget.is_unspent() {
                if let Err(err) = super::workers::run_on_each(crate::allocator::give_back).await {
                    tracing::warn!(%err, "could not give memory back from the preparing threads");
                }
                crate::allocator::give_back();
                metrics::counter!("gazette_memory_given_back_total").increment(1);
            }
        });
    }

    /// Reserves `bytes` (the whole budget at most: larger work runs alone),
    /// waiting up to `wait` for room; `None` if none came.
    pub async fn reserve(&self, bytes: u64, wait: Duration) -> Option<Reserved> {
        let units = u32::try_from(bytes.div_ceil(UNIT))
            .unwrap_or(u32::MAX)
            .clamp(1, self.0.total);
        let acquire = Arc::clone(&self.0.units).acquire_many_owned(units);
        match tokio::time::timeout(wait, acquire).await {
            Ok(Ok(permit)) => {
                self.follow_pressure();
                Some(Reserved {
                    units: Some(permit),
                    budget: self.clone(),
                })
            }
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
        let pressed = |budget: &MemoryBudget| *budget.0.pressed.lock().unwrap();
        let first = budget.reserve(6 * UNIT, Duration::ZERO).await.expect("room");
        assert!(pressed(&budget), "more than half the budget is held");
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
        assert!(!pressed(&budget), "the budget is unspent again");
        // Larger than the whole budget: runs alone rather than never.
        assert!(budget.reserve(100 * UNIT, Duration::from_secs(1)).await.is_some());
    }
}
