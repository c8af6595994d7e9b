//! What Gazette asks of its allocator (mimalloc, chosen in `main.rs`): to
//! give freed memory back to the system at once while work in flight holds
//! much of the memory budget, and once a burst of work is over, to give
//! back what its threads still hold.
//!
//! mimalloc gives freed pages back a second after they are freed, and only
//! when the allocator is next busy. That second is worth keeping while the
//! budget has room: a page given back at once costs a system call, and the
//! next allocation a page fault (batch ingest of short articles ran at
//! 0.80x with a purge delay of 0, 0.91-0.94x with mimalloc's second).
//! Under pressure it is not: the memory of finished work was still held
//! while the budget let the next work in (the test's burst took 60-69 MiB
//! above idle under its 64 MiB budget, 40 MiB with no delay). And a server
//! that went idle after a burst kept what the burst had freed (140 MB a
//! minute later), hence [`give_back`] once the work is over.

use std::sync::atomic::{AtomicBool, Ordering};

/// mimalloc's `mi_option_purge_delay` (its place in `mi_option_e`,
/// mimalloc.h; libmimalloc-sys names only the older options).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// mimalloc's own purge delay, in milliseconds.
const RELAXED_PURGE_DELAY: std::ffi::c_long = 1000;

/// Whether the purge delay follows the budget's pressure: not when the
/// environment's `MIMALLOC_PURGE_DELAY` decides, nor in a process that did
/// not choose mimalloc (the tests).
static FOLLOWS_PRESSURE: AtomicBool = AtomicBool::new(false);

/// Called once at start by the server, which uses mimalloc.
pub fn configure() {
    let chosen_by_environment = std::env::var_os("MIMALLOC_PURGE_DELAY").is_some();
    FOLLOWS_PRESSURE.store(!chosen_by_environment, Ordering::Relaxed);
}

/// Freed pages go back at once while `pressed`, a second after otherwise.
pub fn set_pressure(pressed: bool) {
    if FOLLOWS_PRESSURE.load(Ordering::Relaxed) {
        let delay = if pressed { 0 } else { RELAXED_PURGE_DELAY };
        // SAFETY: sets one integer in mimalloc's option table, which it
        // reads atomically; no pointer is involved.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, delay) };
    }
}

/// Gives back to the system what the calling thread's heap holds free
/// (empty pages a thread keeps for its next allocations) and what every
/// thread freed and mimalloc has not yet given back. Call it on each
/// thread that did the work.
pub fn give_back() {
    // SAFETY: mi_collect takes no pointer; it walks the calling thread's
    // heap and the arenas under mimalloc's own locks, and is safe to call
    // from any thread at any time (a no-op where nothing is free).
    unsafe { libmimalloc_sys::mi_collect(true) };
}
