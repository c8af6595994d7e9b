//! "17 hrs ago": how old a story is, in the words a news site uses.

use chrono::{DateTime, Duration, Utc};

/// Describes `then` relative to `now`: "just now" under a minute, then
/// minutes, hours (under a day), days (under a week), and past that the
/// date itself ("12 Jun 2024"). A time in the future beyond a minute of
/// clock skew also shows its date, since "in 3 hrs" is not news language.
pub fn relative_time(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - then).num_seconds();
    match secs {
        s if s < -60 => short_date(then),
        s if s < 60 => "just now".to_owned(),
        s if s < 3_600 => plural(s / 60, "min"),
        s if s < 86_400 => plural(s / 3_600, "hr"),
        s if s < 7 * 86_400 => plural(s / 86_400, "day"),
        _ => short_date(then),
    }
}

/// The first moment after `now` at which `relative_time(then, ·)` reads
/// differently; a day on, at most, for a time already shown as a date.
pub fn changes_at(then: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
    let secs = (now - then).num_seconds();
    let step = |unit: i64| then + Duration::seconds((secs.div_euclid(unit) + 1) * unit);
    match secs {
        s if s < -60 => then - Duration::seconds(60),
        s if s < 60 => then + Duration::seconds(60),
        s if s < 3_600 => step(60),
        s if s < 86_400 => step(3_600),
        s if s < 7 * 86_400 => step(86_400),
        _ => now + Duration::days(1),
    }
}

/// "12 Jun 2024".
pub fn short_date(time: DateTime<Utc>) -> String {
    time.format("%-d %b %Y").to_string()
}

fn plural(n: i64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit} ago")
    } else {
        format!("{n} {unit}s ago")
    }
}

#[cfg(test)]
mod tests {
    use super::relative_time;
    use chrono::{Duration, TimeZone, Utc};

    fn ago(secs: i64) -> String {
        let now = Utc.with_ymd_and_hms(2024, 6, 13, 12, 0, 0).unwrap();
        relative_time(now - Duration::seconds(secs), now)
    }

    #[test]
    fn a_page_knows_when_its_relative_times_change() {
        let now = Utc.with_ymd_and_hms(2024, 6, 13, 12, 0, 0).unwrap();
        for secs in [
            -3_600,
            -61,
            -30,
            0,
            59,
            60,
            61,
            3_599,
            3_600,
            7_200 + 17,
            86_399,
            86_400,
            6 * 86_400 + 5,
        ] {
            let then = now - Duration::seconds(secs);
            let at = super::changes_at(then, now);
            assert!(at > now, "{secs}");
            let before = at - Duration::seconds(1);
            assert_eq!(
                relative_time(then, before),
                relative_time(then, now),
                "{secs}: changed before {at}"
            );
            assert_ne!(
                relative_time(then, at),
                relative_time(then, now),
                "{secs}: unchanged at {at}"
            );
        }
    }

    #[test]
    fn under_a_minute_is_just_now() {
        assert_eq!(ago(0), "just now");
        assert_eq!(ago(59), "just now");
        assert_eq!(ago(-30), "just now");
    }

    #[test]
    fn minutes_hours_and_days_with_plurals() {
        assert_eq!(ago(60), "1 min ago");
        assert_eq!(ago(119), "1 min ago");
        assert_eq!(ago(120), "2 mins ago");
        assert_eq!(ago(3_599), "59 mins ago");
        assert_eq!(ago(3_600), "1 hr ago");
        assert_eq!(ago(17 * 3_600 + 59), "17 hrs ago");
        assert_eq!(ago(86_399), "23 hrs ago");
        assert_eq!(ago(86_400), "1 day ago");
        assert_eq!(ago(2 * 86_400), "2 days ago");
        assert_eq!(ago(7 * 86_400 - 1), "6 days ago");
    }

    #[test]
    fn a_week_or_more_shows_the_date() {
        assert_eq!(ago(7 * 86_400), "6 Jun 2024");
        assert_eq!(ago(366 * 86_400), "13 Jun 2023");
    }

    #[test]
    fn the_future_shows_the_date() {
        assert_eq!(ago(-2 * 86_400), "15 Jun 2024");
    }
}
