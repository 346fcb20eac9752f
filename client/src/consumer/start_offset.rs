//! Where a consumer starts reading a queue it was just given (RocketMQ's
//! computePullFromWhere): the group's committed offset when the broker (or the local offset
//! file) has one; otherwise it depends on `ConsumeFromWhere`:
//!
//! | consume from | ordinary topic | retry topic |
//! |---|---|---|
//! | LAST_OFFSET (and the deprecated variants) | GET_MAX_OFFSET | 0 |
//! | FIRST_OFFSET | 0 | 0 |
//! | TIMESTAMP | SEARCH_OFFSET_BY_TIMESTAMP | GET_MAX_OFFSET |

use fennec_protocol::body::ConsumeFromWhere;
use fennec_protocol::topic::is_retry_topic;

/// The decision, before any request is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StartPlan {
    /// Start at this offset.
    At(i64),
    /// Start at the queue's max offset, the next message to arrive.
    MaxOffset,
    /// Start at the first message stored at or after this time (ms).
    Timestamp(i64),
}

/// Plans the start of a queue of `topic` given the committed offset (`None`: the group has
/// none), the configured policy and timestamp.
pub(crate) fn plan_start(
    committed: Option<i64>,
    from: ConsumeFromWhere,
    timestamp: i64,
    topic: &str,
) -> StartPlan {
    if let Some(offset) = committed.filter(|o| *o >= 0) {
        return StartPlan::At(offset);
    }
    let retry = is_retry_topic(topic);
    match from {
        ConsumeFromWhere::ConsumeFromFirstOffset => StartPlan::At(0),
        ConsumeFromWhere::ConsumeFromTimestamp if retry => StartPlan::MaxOffset,
        ConsumeFromWhere::ConsumeFromTimestamp => StartPlan::Timestamp(timestamp),
        ConsumeFromWhere::ConsumeFromLastOffset
        | ConsumeFromWhere::ConsumeFromLastOffsetAndFromMinWhenBootFirst
        | ConsumeFromWhere::ConsumeFromMinOffset
        | ConsumeFromWhere::ConsumeFromMaxOffset => {
            if retry {
                StartPlan::At(0)
            } else {
                StartPlan::MaxOffset
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConsumeFromWhere::*;

    #[test]
    fn committed_offset_wins() {
        for from in [
            ConsumeFromLastOffset,
            ConsumeFromFirstOffset,
            ConsumeFromTimestamp,
        ] {
            assert_eq!(plan_start(Some(42), from, 7, "T"), StartPlan::At(42));
            assert_eq!(plan_start(Some(0), from, 7, "%RETRY%G"), StartPlan::At(0));
        }
    }

    #[test]
    fn without_committed_offset() {
        assert_eq!(
            plan_start(None, ConsumeFromLastOffset, 7, "T"),
            StartPlan::MaxOffset
        );
        assert_eq!(
            plan_start(None, ConsumeFromLastOffset, 7, "%RETRY%G"),
            StartPlan::At(0)
        );
        assert_eq!(
            plan_start(None, ConsumeFromMaxOffset, 7, "T"),
            StartPlan::MaxOffset
        );
        assert_eq!(
            plan_start(None, ConsumeFromFirstOffset, 7, "T"),
            StartPlan::At(0)
        );
        assert_eq!(
            plan_start(None, ConsumeFromFirstOffset, 7, "%RETRY%G"),
            StartPlan::At(0)
        );
        assert_eq!(
            plan_start(None, ConsumeFromTimestamp, 1_700_000_000_000, "T"),
            StartPlan::Timestamp(1_700_000_000_000)
        );
        assert_eq!(
            plan_start(None, ConsumeFromTimestamp, 7, "%RETRY%G"),
            StartPlan::MaxOffset
        );
        // A negative value is no offset.
        assert_eq!(
            plan_start(Some(-1), ConsumeFromFirstOffset, 7, "T"),
            StartPlan::At(0)
        );
    }
}
