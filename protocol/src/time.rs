//! Wall-clock helpers. RocketMQ timestamps are milliseconds since the Unix epoch.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (0 if the clock is before 1970).
pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A calendar date and time in UTC, precise to the millisecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcDateTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub millis: u32,
}

impl UtcDateTime {
    /// Splits epoch milliseconds into calendar fields (proleptic Gregorian, UTC).
    pub fn from_millis(ms: i64) -> Self {
        let days = ms.div_euclid(86_400_000);
        let rem = ms.rem_euclid(86_400_000);
        let (year, month, day) = civil_from_days(days);
        UtcDateTime {
            year,
            month,
            day,
            hour: (rem / 3_600_000) as u32,
            minute: (rem / 60_000 % 60) as u32,
            second: (rem / 1000 % 60) as u32,
            millis: (rem % 1000) as u32,
        }
    }

    /// Epoch milliseconds of these calendar fields.
    pub fn to_millis(&self) -> i64 {
        let days = days_from_civil(self.year, self.month, self.day);
        days * 86_400_000
            + i64::from(self.hour) * 3_600_000
            + i64::from(self.minute) * 60_000
            + i64::from(self.second) * 1000
            + i64::from(self.millis)
    }

    /// `yyyyMMddHHmmssSSS`, the naming scheme of IndexFiles.
    pub fn compact(&self) -> String {
        format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}{:03}",
            self.year, self.month, self.day, self.hour, self.minute, self.second, self.millis
        )
    }
}

/// Epoch milliseconds of the first instant of the month containing `ms` (UTC).
pub fn start_of_month_millis(ms: i64) -> i64 {
    let t = UtcDateTime::from_millis(ms);
    UtcDateTime {
        day: 1,
        hour: 0,
        minute: 0,
        second: 0,
        millis: 0,
        ..t
    }
    .to_millis()
}

/// Howard Hinnant's `days_from_civil`: days since 1970-01-01 of a Gregorian date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_known_instants() {
        // 2023-11-14T22:13:20.000Z
        let t = UtcDateTime::from_millis(1_700_000_000_000);
        assert_eq!(
            (t.year, t.month, t.day, t.hour, t.minute, t.second),
            (2023, 11, 14, 22, 13, 20)
        );
        assert_eq!(t.compact(), "20231114221320000");
        assert_eq!(t.to_millis(), 1_700_000_000_000);
        assert_eq!(UtcDateTime::from_millis(0).compact(), "19700101000000000");
        // Leap day.
        let leap = UtcDateTime {
            year: 2024,
            month: 2,
            day: 29,
            hour: 0,
            minute: 0,
            second: 0,
            millis: 5,
        };
        assert_eq!(UtcDateTime::from_millis(leap.to_millis()), leap);
    }

    #[test]
    fn month_start() {
        assert_eq!(
            UtcDateTime::from_millis(start_of_month_millis(1_700_000_000_000)).compact(),
            "20231101000000000"
        );
    }
}
