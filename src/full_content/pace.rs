//! Politeness towards the sites whose pages are fetched: at most two
//! pages of one host at a time, a pause between the starts of two fetches
//! from it, and the wait a host asked for (`Retry-After` on a 429 or 503)
//! kept before it is asked again. A feed of 200 new entries is fetched at
//! its site's pace, while pages of other sites go ahead.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Pages of one host fetched at once.
const PER_HOST: usize = 2;
/// The longest wait a host may ask for and be obeyed: past it, its pages
/// are tried again (and fail again, with back-off) rather than parked.
const MAX_HOST_WAIT: Duration = Duration::from_secs(3600);
/// Hosts remembered before the idle ones are forgotten.
const REMEMBERED: usize = 1024;

#[derive(Debug)]
struct Host {
    running: usize,
    next_start: Instant,
}

/// Each host's turn to be fetched from.
#[derive(Debug)]
pub struct HostPace {
    pace: Duration,
    hosts: Arc<Mutex<HashMap<String, Host>>>,
}

/// A fetch from a host in progress: given back when finished (or dropped).
#[derive(Debug)]
pub struct Turn {
    hosts: Arc<Mutex<HashMap<String, Host>>>,
    host: String,
    finished: bool,
}

impl HostPace {
    /// A pause of `pace` between the starts of two fetches from one host.
    pub fn new(pace: Duration) -> Self {
        HostPace {
            pace,
            hosts: Arc::default(),
        }
    }

    /// A turn at `host`, if it is its turn now.
    pub fn try_turn(&self, host: &str) -> Option<Turn> {
        self.turn_or_wait(host).ok()
    }

    /// A turn at `host`, once it is its turn.
    pub async fn wait_turn(&self, host: &str) -> Turn {
        loop {
            match self.turn_or_wait(host) {
                Ok(turn) => return turn,
                Err(wait) => tokio::time::sleep(wait.clamp(Duration::from_millis(10), Duration::from_secs(1))).await,
            }
        }
    }

    fn turn_or_wait(&self, host: &str) -> Result<Turn, Duration> {
        let now = Instant::now();
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        if hosts.len() > REMEMBERED {
            hosts.retain(|_, h| h.running > 0 || h.next_start > now);
        }
        let entry = hosts.entry(host.to_owned()).or_insert(Host {
            running: 0,
            next_start: now,
        });
        if entry.running >= PER_HOST {
            return Err(self.pace.max(Duration::from_millis(50)));
        }
        if entry.next_start > now {
            return Err(entry.next_start - now);
        }
        entry.running += 1;
        entry.next_start = now + self.pace;
        Ok(Turn {
            hosts: Arc::clone(&self.hosts),
            host: host.to_owned(),
            finished: false,
        })
    }
}

impl Turn {
    /// Ends the fetch; the host asked for `retry_after` before the next.
    pub fn finish(mut self, retry_after: Option<Duration>) {
        self.release(retry_after);
    }

    fn release(&mut self, retry_after: Option<Duration>) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(host) = hosts.get_mut(&self.host) {
            host.running = host.running.saturating_sub(1);
            if let Some(wait) = retry_after {
                host.next_start = host.next_start.max(Instant::now() + wait.min(MAX_HOST_WAIT));
            }
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.release(None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_at_a_time_per_host_at_its_pace_and_others_unaffected() {
        let pace = HostPace::new(Duration::ZERO);
        let a = pace.try_turn("a.test").unwrap();
        let b = pace.try_turn("a.test").unwrap();
        assert!(pace.try_turn("a.test").is_none(), "a third fetch from one host waits");
        assert!(pace.try_turn("b.test").is_some(), "another host does not");
        a.finish(None);
        assert!(pace.try_turn("a.test").is_some());
        drop(b);

        let slow = HostPace::new(Duration::from_secs(60));
        let first = slow.try_turn("a.test").unwrap();
        first.finish(None);
        assert!(slow.try_turn("a.test").is_none(), "the next start waits for the pace");
    }

    #[test]
    fn a_hosts_retry_after_is_kept() {
        let pace = HostPace::new(Duration::ZERO);
        pace.try_turn("a.test").unwrap().finish(Some(Duration::from_secs(120)));
        assert!(pace.try_turn("a.test").is_none());
        assert!(pace.try_turn("b.test").is_some());
    }
}
