//! What Gazette asks of its allocator (mimalloc, chosen in `main.rs`): to
//! give memory back to the system as soon as it is freed, and once a burst
//! of work is over, to give back what its threads still hold.
//!
//! mimalloc gives freed pages back a second after they are freed, and only
//! when the allocator is next busy: a server that went idle after a burst
//! kept what the burst had freed (140 MB a minute after four batches and
//! eight feeds), and during a burst the memory of finished work was still
//! held while the budget let the next work in (the test's burst went from
//! 42 to 60-69 MiB above idle, past its 64 MiB budget). Giving pages back
//! at once costs the writer some speed (batch ingest of short articles
//! 0.88x against 0.91-0.94x with mimalloc's delay; docs/BENCHMARKS.md):
//! the budget's bound comes first.

/// mimalloc's `mi_option_purge_delay` (its place in `mi_option_e`,
/// mimalloc.h; libmimalloc-sys names only the older options).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Freed memory goes back to the system at once. The environment's
/// `MIMALLOC_PURGE_DELAY`, if set, is left to decide.
pub fn configure() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets one integer in mimalloc's option table, which it
        // reads atomically; no pointer is involved.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
    }
}

/// Gives back to the system what the calling thread's heap holds free
/// (empty pages a thread keeps for its next allocations). Call it on each
/// thread that did the work.
pub fn give_back() {
    // SAFETY: mi_collect takes no pointer; it walks the calling thread's
    // heap and the arenas under mimalloc's own locks, and is safe to call
    // from any thread at any time (a no-op where nothing is free).
    unsafe { libmimalloc_sys::mi_collect(true) };
}
