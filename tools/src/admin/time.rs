//! Timestamps as operators type and read them. Input: `now`, milliseconds since the epoch,
//! or RocketMQ's `yyyy-MM-dd#HH:mm:ss:SSS` in local time. Output: local
//! `yyyy-MM-dd HH:mm:ss,SSS`.

use chrono::{Local, NaiveDateTime, TimeZone};
use fennec_protocol::time::now_millis;

/// chrono pattern of RocketMQ's `yyyy-MM-dd#HH:mm:ss:SSS`.
const ARG_FORMAT: &str = "%Y-%m-%d#%H:%M:%S:%3f";
/// chrono pattern of the displayed `yyyy-MM-dd HH:mm:ss,SSS`.
const DISPLAY_FORMAT: &str = "%Y-%m-%d %H:%M:%S,%3f";

/// Parses a timestamp argument in local time (a clap value parser).
pub fn parse_timestamp(s: &str) -> Result<i64, String> {
    parse_timestamp_in(s, now_millis(), &Local)
}

/// Parses `now`, epoch milliseconds, or `yyyy-MM-dd#HH:mm:ss:SSS` in `tz`.
pub fn parse_timestamp_in<Tz: TimeZone>(s: &str, now: i64, tz: &Tz) -> Result<i64, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("now") {
        return Ok(now);
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s
            .parse::<i64>()
            .map_err(|e| format!("timestamp {s:?} is out of range: {e}"));
    }
    let naive = NaiveDateTime::parse_from_str(s, ARG_FORMAT).map_err(|e| {
        format!("timestamp {s:?} is not `now`, milliseconds, or yyyy-MM-dd#HH:mm:ss:SSS ({e})")
    })?;
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|t| t.timestamp_millis())
        .ok_or_else(|| format!("{s} does not exist in the local time zone"))
}

/// Local `yyyy-MM-dd HH:mm:ss,SSS`.
pub fn format_millis(ms: i64) -> String {
    format_millis_in(ms, &Local)
}

/// `yyyy-MM-dd HH:mm:ss,SSS` in `tz`; the raw number if it is out of chrono's range.
pub fn format_millis_in<Tz: TimeZone>(ms: i64, tz: &Tz) -> String
where
    Tz::Offset: std::fmt::Display,
{
    match tz.timestamp_millis_opt(ms).single() {
        Some(t) => t.format(DISPLAY_FORMAT).to_string(),
        None => ms.to_string(),
    }
}

/// [`format_millis`], or `N/A` for 0 (unknown), as RocketMQ prints missing times.
pub fn format_or_na(ms: i64) -> String {
    if ms <= 0 {
        "N/A".to_string()
    } else {
        format_millis(ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{FixedOffset, Utc};

    #[test]
    fn parses_now_millis_and_dates() {
        assert_eq!(parse_timestamp_in("now", 42, &Utc), Ok(42));
        assert_eq!(parse_timestamp_in("NOW", 42, &Utc), Ok(42));
        assert_eq!(
            parse_timestamp_in("1700000000000", 0, &Utc),
            Ok(1_700_000_000_000)
        );
        assert_eq!(
            parse_timestamp_in("2023-11-14#22:13:20:123", 0, &Utc),
            Ok(1_700_000_000_123)
        );
        let cst = FixedOffset::east_opt(8 * 3600).unwrap();
        assert_eq!(
            parse_timestamp_in("2023-11-15#06:13:20:000", 0, &cst),
            Ok(1_700_000_000_000)
        );
        for bad in [
            "",
            "yesterday",
            "2023-11-14 22:13:20",
            "-5",
            "99999999999999999999",
        ] {
            assert!(parse_timestamp_in(bad, 0, &Utc).is_err(), "{bad}");
        }
    }

    #[test]
    fn formats_and_round_trips_locally() {
        assert_eq!(
            format_millis_in(1_700_000_000_123, &Utc),
            "2023-11-14 22:13:20,123"
        );
        let cst = FixedOffset::east_opt(8 * 3600).unwrap();
        assert_eq!(
            format_millis_in(1_700_000_000_000, &cst),
            "2023-11-15 06:13:20,000"
        );
        assert_eq!(format_millis_in(i64::MAX, &Utc), i64::MAX.to_string());
        // Whatever the machine's zone, local parse and format agree.
        let local = format_millis(1_700_000_000_007)
            .replace(' ', "#")
            .replace(',', ":");
        assert_eq!(parse_timestamp(&local), Ok(1_700_000_000_007));
        assert_eq!(format_or_na(0), "N/A");
    }
}
