//! [`DelayLevels`]: the `messageDelayLevel` table. Level `n` (1-based, the `DELAY` property)
//! waits the n-th delay; a level above the table's size waits the longest (RocketMQ clamps
//! the same way). Delays are numbers with a unit: `s`, `m`, `h`, `d` as in RocketMQ, and `ms`
//! as a Fennec extension (tests use short levels).

use fennec_common::config::ConfigValue;

/// RocketMQ's default table.
pub const DEFAULT_DELAY_LEVELS: &str = "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h";

/// Most levels: SCHEDULE_TOPIC_XXXX has one queue per level.
const MAX_LEVELS: usize = 64;

/// The delay of every level, in ms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DelayLevels {
    text: String,
    delays_ms: Vec<i64>,
}

impl Default for DelayLevels {
    fn default() -> Self {
        match DelayLevels::parse(DEFAULT_DELAY_LEVELS) {
            Ok(levels) => levels,
            // The default is a constant that parses (tested below).
            Err(_) => DelayLevels {
                text: DEFAULT_DELAY_LEVELS.to_string(),
                delays_ms: vec![1000],
            },
        }
    }
}

impl DelayLevels {
    /// Parses `1s 5s 10s ...`; every delay must be positive.
    pub fn parse(text: &str) -> Result<DelayLevels, String> {
        let mut delays_ms = Vec::new();
        for token in text.split_whitespace() {
            let split = token
                .find(|c: char| !c.is_ascii_digit())
                .ok_or_else(|| format!("delay {token:?} has no unit (s, m, h, d or ms)"))?;
            let (number, unit) = token.split_at(split);
            let n: i64 = number
                .parse()
                .map_err(|_| format!("delay {token:?} does not start with a number"))?;
            let unit_ms = match unit {
                "ms" => 1,
                "s" => 1000,
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                _ => return Err(format!("delay {token:?} has an unknown unit {unit:?}")),
            };
            let ms = n
                .checked_mul(unit_ms)
                .filter(|ms| *ms > 0)
                .ok_or_else(|| format!("delay {token:?} must be positive and under 2^63 ms"))?;
            delays_ms.push(ms);
        }
        if delays_ms.is_empty() {
            return Err("no delay levels".to_string());
        }
        if delays_ms.len() > MAX_LEVELS {
            return Err(format!("more than {MAX_LEVELS} delay levels"));
        }
        Ok(DelayLevels {
            text: text.split_whitespace().collect::<Vec<_>>().join(" "),
            delays_ms,
        })
    }

    /// Number of levels (the highest level).
    pub fn count(&self) -> i32 {
        self.delays_ms.len() as i32
    }

    /// `level` clamped to `1..=count`.
    pub fn clamp(&self, level: i32) -> i32 {
        level.clamp(1, self.count())
    }

    /// The delay of `level` (clamped), in ms.
    pub fn delay_ms(&self, level: i32) -> i64 {
        self.delays_ms[(self.clamp(level) - 1) as usize]
    }
}

impl ConfigValue for DelayLevels {
    fn parse_value(s: &str) -> Result<Self, String> {
        DelayLevels::parse(s)
    }
    fn show(&self) -> String {
        self.text.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rocketmq_tables_and_clamps() {
        let d = DelayLevels::default();
        assert_eq!(d.count(), 18);
        assert_eq!(d.delay_ms(1), 1000);
        assert_eq!(d.delay_ms(2), 5000);
        assert_eq!(d.delay_ms(3), 10_000);
        assert_eq!(d.delay_ms(18), 7_200_000);
        assert_eq!(d.delay_ms(40), 7_200_000, "clamped to the last level");
        assert_eq!(d.show(), DEFAULT_DELAY_LEVELS);
        let short = DelayLevels::parse(" 100ms  2s 1d ").unwrap();
        assert_eq!(short.count(), 3);
        assert_eq!(short.delay_ms(1), 100);
        assert_eq!(short.delay_ms(3), 86_400_000);
        assert_eq!(short.show(), "100ms 2s 1d");
        for bad in ["", "5", "s", "5x", "0s", "-1s", "99999999999999999999s"] {
            assert!(DelayLevels::parse(bad).is_err(), "{bad:?}");
        }
    }
}
