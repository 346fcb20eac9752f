//! Wall-clock helpers. RocketMQ timestamps are milliseconds since the Unix epoch; calendar
//! arithmetic is chrono's.

use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Datelike, TimeZone, Utc};

/// Milliseconds since the Unix epoch (0 if the clock is before 1970).
pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Epoch milliseconds of the first instant of the month containing `ms` (UTC); what the
/// UNIQ_KEY message id counts its time from.
pub fn start_of_month_millis(ms: i64) -> i64 {
    let Some(t) = DateTime::<Utc>::from_timestamp_millis(ms) else {
        return ms;
    };
    Utc.with_ymd_and_hms(t.year(), t.month(), 1, 0, 0, 0)
        .single()
        .map_or(ms, |m| m.timestamp_millis())
}

/// `yyyyMMddHHmmssSSS` of `ms` in UTC.
pub fn compact_utc(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms).map_or_else(
        || ms.to_string(),
        |t| t.format("%Y%m%d%H%M%S%3f").to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_start_and_compact_form() {
        // 2023-11-14T22:13:20.000Z
        assert_eq!(compact_utc(1_700_000_000_000), "20231114221320000");
        assert_eq!(compact_utc(0), "19700101000000000");
        assert_eq!(
            compact_utc(start_of_month_millis(1_700_000_000_005)),
            "20231101000000000"
        );
        // The leap day's month.
        let leap = Utc
            .with_ymd_and_hms(2024, 2, 29, 0, 0, 0)
            .unwrap()
            .timestamp_millis()
            + 5;
        assert_eq!(
            compact_utc(start_of_month_millis(leap)),
            "20240201000000000"
        );
    }
}
