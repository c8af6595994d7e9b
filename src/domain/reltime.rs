//! "17 hrs ago": how old a story is, in the words a news site uses.

use chrono::{DateTime, Utc};

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
