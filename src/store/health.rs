//! Whether writes are failing, and why: a full disk or a failing disk is
//! a condition of the server, reported once per episode in the log, all
//! along in /readyz and /metrics, and cleared by the first write that
//! needed fresh space and committed: a new article, or the write probe.
//! (A small update may still fit in a full database; it proves nothing.)

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use sqlx::error::DatabaseError;

/// A failure of the storage rather than of the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// SQLITE_FULL: the disk is full, or the database reached the size
    /// limit it was given; on PostgreSQL, disk_full (53100).
    Full,
    /// SQLITE_IOERR (a failed write or fsync among them), SQLITE_CORRUPT,
    /// SQLITE_NOTADB or SQLITE_CANTOPEN: the storage misbehaved; on
    /// PostgreSQL, io_error (58030), data_corrupted or index_corrupted.
    Io,
}

// SQLite's primary result codes (the low byte of an extended code).
const SQLITE_IOERR: i32 = 10;
const SQLITE_CORRUPT: i32 = 11;
const SQLITE_FULL: i32 = 13;
const SQLITE_CANTOPEN: i32 = 14;
const SQLITE_NOTADB: i32 = 26;

impl Fault {
    /// The storage fault behind a database error, if it is one.
    pub fn of(err: &sqlx::Error) -> Option<Fault> {
        let sqlx::Error::Database(err) = err else {
            return None;
        };
        Fault::of_code(err.as_ref())
    }

    fn of_code(err: &dyn DatabaseError) -> Option<Fault> {
        if err.try_downcast_ref::<sqlx::postgres::PgDatabaseError>().is_some() {
            // SQLSTATE classes 53 (insufficient resources), 58 (system
            // error) and XX (internal error, data corruption among them).
            return match err.code()?.as_ref() {
                "53100" => Some(Fault::Full),
                "58030" | "XX001" | "XX002" => Some(Fault::Io),
                _ => None,
            };
        }
        let code: i32 = err.code()?.parse().ok()?;
        match code & 0xff {
            SQLITE_FULL => Some(Fault::Full),
            SQLITE_IOERR | SQLITE_CORRUPT | SQLITE_CANTOPEN | SQLITE_NOTADB => Some(Fault::Io),
            _ => None,
        }
    }

    /// The label used in metrics and logs.
    pub fn label(self) -> &'static str {
        match self {
            Fault::Full => "disk_full",
            Fault::Io => "io_error",
        }
    }
}

/// The state of the write path.
#[derive(Default)]
pub struct WriteHealth {
    /// True while `failing` holds an episode: a commit checks only this.
    any: AtomicBool,
    failing: Mutex<Option<Failing>>,
}

/// An episode of failing writes.
#[derive(Debug, Clone)]
pub struct Failing {
    pub fault: Fault,
    /// When the episode began, as unix seconds.
    pub since: i64,
    started: Instant,
    /// Writes refused during it.
    pub failures: u64,
}

impl WriteHealth {
    /// Records a write refused by the storage. The first of an episode is
    /// logged; the rest are only counted.
    pub fn failed(&self, fault: Fault, detail: &dyn std::fmt::Display) {
        metrics::counter!("gazette_storage_write_failures_total", "fault" => fault.label()).increment(1);
        let mut failing = self.lock();
        match &mut *failing {
            Some(episode) if episode.fault == fault => episode.failures += 1,
            _ => {
                tracing::error!(
                    fault = fault.label(),
                    error = %detail,
                    "writes are failing: new articles are refused (507/503) until this clears; \
                     everything acknowledged before is stored, and reads keep working"
                );
                *failing = Some(Failing {
                    fault,
                    since: super::now_unix(),
                    started: Instant::now(),
                    failures: 1,
                });
                self.any.store(true, Ordering::Release);
                metrics::gauge!("gazette_storage_writes_failing").set(1.0);
            }
        }
    }

    /// Records a commit that needed fresh space and succeeded, ending an
    /// episode if one was on.
    pub fn succeeded(&self) {
        if !self.any.load(Ordering::Acquire) {
            return;
        }
        let mut failing = self.lock();
        if let Some(episode) = failing.take() {
            self.any.store(false, Ordering::Release);
            metrics::gauge!("gazette_storage_writes_failing").set(0.0);
            tracing::info!(
                fault = episode.fault.label(),
                refused = episode.failures,
                after_secs = episode.started.elapsed().as_secs(),
                "writes work again"
            );
        }
    }

    /// The current episode of failing writes, if any.
    pub fn failing(&self) -> Option<Failing> {
        if !self.any.load(Ordering::Acquire) {
            return None;
        }
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Failing>> {
        self.failing.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
