//! When to poll a feed next: pure arithmetic, so the rules are testable.

use std::time::Duration;

/// New subscriptions poll every 15 minutes unless told otherwise.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(15 * 60);
/// The slowest a failing feed is polled: once a day, never dropped.
pub const MAX_BACKOFF: Duration = Duration::from_secs(24 * 3600);
/// Consecutive failures after which a feed is shown as failing.
pub const FAILING_AFTER: i64 = 5;

/// After a successful poll: the feed's interval, unless the server (Cache-
/// Control, Expires) or the feed (RSS ttl) asked for longer; with ±10%
/// jitter so feeds added together do not poll together for ever.
pub fn after_success(interval: Duration, floors: &[Option<Duration>], jitter: f64) -> Duration {
    let wait = floors
        .iter()
        .flatten()
        .copied()
        .fold(interval, Duration::max)
        .min(MAX_BACKOFF);
    wait.mul_f64(1.0 + 0.2 * (jitter.clamp(0.0, 1.0) - 0.5))
}

/// After a failure: what a 429 or 503 asked for, else exponential back-off
/// from the interval, doubling per consecutive failure, capped at a day.
pub fn after_failure(interval: Duration, failures: i64, retry_after: Option<Duration>) -> Duration {
    if let Some(wait) = retry_after {
        return wait.clamp(Duration::from_secs(1), MAX_BACKOFF);
    }
    let exponent = failures.clamp(0, 20) as u32;
    interval.saturating_mul(2u32.saturating_pow(exponent)).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_respects_floors_and_jitters() {
        let fifteen = Duration::from_secs(900);
        assert_eq!(after_success(fifteen, &[None], 0.5), fifteen);
        assert_eq!(
            after_success(fifteen, &[Some(Duration::from_secs(3600)), None], 0.5),
            Duration::from_secs(3600)
        );
        assert_eq!(
            after_success(fifteen, &[Some(Duration::from_secs(60))], 0.5),
            fifteen,
            "a floor never shortens"
        );
        assert_eq!(after_success(fifteen, &[], 0.0), Duration::from_secs(810));
        assert_eq!(after_success(fifteen, &[], 1.0), Duration::from_secs(990));
    }

    #[test]
    fn failures_back_off_exponentially_to_a_cap() {
        let minute = Duration::from_secs(60);
        assert_eq!(after_failure(minute, 1, None), Duration::from_secs(120));
        assert_eq!(after_failure(minute, 3, None), Duration::from_secs(480));
        assert_eq!(after_failure(minute, 40, None), MAX_BACKOFF);
        assert_eq!(
            after_failure(minute, 3, Some(Duration::from_secs(30))),
            Duration::from_secs(30)
        );
    }
}
