//! Reading queues without committing offsets: `consumeMessage` (N messages from a queue
//! range) and `printMsg` (every message of a topic in a time range, optionally filtered by
//! tag). Both pull with the SUBSCRIPTION flag and no suspend, and stream their messages.

use std::collections::BTreeSet;

use clap::{ArgAction, Args};
use fennec_protocol::body::{MessageQueue, TopicRouteData};
use fennec_protocol::header::{PullMessageRequestHeader, PULL_FLAG_SUBSCRIPTION};
use fennec_protocol::message::MessageExt;
use fennec_protocol::topic::TOOLS_CONSUMER_GROUP;

use crate::admin::client::AdminClient;
use crate::admin::error::AdminError;
use crate::admin::message_api::PullStatus;
use crate::admin::message_view::{BodyMode, MessageView};
use crate::admin::route::{readable_queues, route_reader};
use crate::admin::time::parse_timestamp;

/// Subscription expression for every tag.
pub const SUB_ALL: &str = "*";
/// Messages asked for per pull.
const PULL_BATCH: i32 = 32;

/// A PULL_MESSAGE header that reads without committing and without long polling.
pub fn pull_header(
    group: &str,
    mq: &MessageQueue,
    offset: i64,
    max: i32,
    expr: &str,
) -> PullMessageRequestHeader {
    PullMessageRequestHeader {
        consumer_group: group.to_string(),
        topic: mq.topic.clone(),
        queue_id: mq.queue_id,
        queue_offset: offset,
        max_msg_nums: max,
        sys_flag: PULL_FLAG_SUBSCRIPTION,
        commit_offset: 0,
        suspend_timeout_millis: 0,
        subscription: Some(expr.to_string()),
        sub_version: 0,
        expression_type: Some("TAG".to_string()),
        max_msg_bytes: None,
        broker_name: Some(mq.broker_name.clone()),
    }
}

/// A tag expression: `*` (or empty) for all, else tags separated by `||`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagFilter(Option<BTreeSet<String>>);

impl TagFilter {
    pub fn parse(expr: &str) -> Self {
        let expr = expr.trim();
        if expr.is_empty() || expr == SUB_ALL {
            return TagFilter(None);
        }
        TagFilter(Some(
            expr.split("||")
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect(),
        ))
    }

    /// The broker filters on tag hashes; this re-checks the tag itself.
    pub fn matches(&self, tags: Option<&str>) -> bool {
        match &self.0 {
            None => true,
            Some(set) => tags.is_some_and(|t| set.contains(t)),
        }
    }
}

/// Offsets `[start, end)` of one queue, read from `addr` as `group` with tag expression
/// `expr`.
struct QueueScan<'a> {
    addr: &'a str,
    group: &'a str,
    mq: &'a MessageQueue,
    start: i64,
    end: i64,
    expr: &'a str,
}

/// Pulls a queue range, handing each message to `on_msg` until it returns false. Returns
/// whether `on_msg` asked to stop.
async fn drain_queue(
    client: &AdminClient,
    scan: QueueScan<'_>,
    on_msg: &mut dyn FnMut(&MessageExt) -> Result<bool, AdminError>,
) -> Result<bool, AdminError> {
    let QueueScan {
        addr,
        group,
        mq,
        start,
        end,
        expr,
    } = scan;
    let mut offset = start;
    while offset < end {
        let batch = i32::try_from((end - offset).min(i64::from(PULL_BATCH))).unwrap_or(PULL_BATCH);
        let result = client
            .pull(addr, &pull_header(group, mq, offset, batch, expr))
            .await?;
        match result.status {
            PullStatus::Found => {
                for m in &result.messages {
                    if m.queue_offset >= end {
                        return Ok(false);
                    }
                    if !on_msg(m)? {
                        return Ok(true);
                    }
                }
            }
            PullStatus::NoNewMsg => return Ok(false),
            PullStatus::NoMatchedMsg | PullStatus::OffsetIllegal => {}
        }
        if result.next_begin_offset <= offset {
            // No progress possible (an empty queue or an offset the broker cannot move).
            return Ok(false);
        }
        offset = result.next_begin_offset;
    }
    Ok(false)
}

fn reader_addr(route: &TopicRouteData, mq: &MessageQueue) -> Result<String, AdminError> {
    route_reader(route, &mq.broker_name)
        .map(|t| t.addr)
        .ok_or_else(|| AdminError::BrokerNotInRoute {
            broker: mq.broker_name.clone(),
            topic: mq.topic.clone(),
        })
}

#[derive(Debug, Clone, Args)]
pub struct ConsumeMessageArgs {
    /// Topic to read.
    #[arg(short = 't', long = "topic")]
    pub topic: String,
    /// Only this broker group.
    #[arg(short = 'b', long = "brokerName")]
    pub broker_name: Option<String>,
    /// Only this queue (with -b).
    #[arg(short = 'i', long = "queueId", requires = "broker_name")]
    pub queue_id: Option<i32>,
    /// Start offset (with -i; default: each queue's min offset).
    #[arg(short = 'o', long = "offset", requires = "queue_id")]
    pub offset: Option<i64>,
    /// Messages to print.
    #[arg(short = 'c', long = "messageNumber", default_value_t = 128)]
    pub count: usize,
    /// Consumer group to pull as.
    #[arg(short = 'g', long = "consumerGroup", default_value = TOOLS_CONSUMER_GROUP)]
    pub group: String,
    /// Show whole bodies.
    #[arg(long = "full-body")]
    pub full_body: bool,
}

/// `consumeMessage`: hands up to `count` messages to `sink`; returns how many.
pub async fn consume_message(
    client: &AdminClient,
    args: &ConsumeMessageArgs,
    sink: &mut dyn FnMut(MessageView) -> Result<(), AdminError>,
) -> Result<usize, AdminError> {
    let route = client.topic_route(&args.topic).await?;
    let queues: Vec<MessageQueue> = readable_queues(&args.topic, &route)
        .into_iter()
        .filter(|q| {
            args.broker_name
                .as_ref()
                .is_none_or(|b| *b == q.broker_name)
        })
        .filter(|q| args.queue_id.is_none_or(|i| i == q.queue_id))
        .collect();
    if queues.is_empty() {
        return Err(AdminError::NotFound(format!(
            "topic {} has no readable queue matching -b/-i",
            args.topic
        )));
    }
    let mode = if args.full_body {
        BodyMode::Full
    } else {
        BodyMode::Preview
    };
    let mut sent = 0usize;
    for mq in &queues {
        if sent >= args.count {
            break;
        }
        let addr = reader_addr(&route, mq)?;
        let start = match args.offset {
            Some(o) => o,
            None => client.min_offset(&addr, &mq.topic, mq.queue_id).await?,
        };
        let end = client.max_offset(&addr, &mq.topic, mq.queue_id).await?;
        let mut on_msg = |m: &MessageExt| {
            sink(MessageView::new(m, &mq.broker_name, mode))?;
            sent += 1;
            Ok(sent < args.count)
        };
        let scan = QueueScan {
            addr: &addr,
            group: &args.group,
            mq,
            start,
            end,
            expr: SUB_ALL,
        };
        if drain_queue(client, scan, &mut on_msg).await? {
            break;
        }
    }
    Ok(sent)
}

#[derive(Debug, Clone, Args)]
pub struct PrintMsgArgs {
    /// Topic to print.
    #[arg(short = 't', long = "topic")]
    pub topic: String,
    /// Tag expression: `*` or `TagA || TagB`.
    #[arg(short = 's', long = "subExpression", default_value = SUB_ALL)]
    pub sub_expression: String,
    /// Begin timestamp: ms, `now`, or yyyy-MM-dd#HH:mm:ss:SSS (default: the oldest message).
    #[arg(short = 'b', long = "beginTimestamp", value_parser = parse_timestamp)]
    pub begin: Option<i64>,
    /// End timestamp (default: the newest message).
    #[arg(short = 'e', long = "endTimestamp", value_parser = parse_timestamp)]
    pub end: Option<i64>,
    /// Print bodies (default true).
    #[arg(short = 'd', long = "printBody", num_args = 0..=1, default_value_t = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub print_body: bool,
    /// Show whole bodies.
    #[arg(long = "full-body")]
    pub full_body: bool,
    /// Stop after this many messages (for library callers such as the dashboard; no flag).
    #[arg(skip)]
    pub limit: Option<usize>,
}

/// `printMsg`: every message of the topic stored in `[begin, end]` (at most `limit`, queue
/// by queue); returns how many.
pub async fn print_msg(
    client: &AdminClient,
    args: &PrintMsgArgs,
    sink: &mut dyn FnMut(MessageView) -> Result<(), AdminError>,
) -> Result<usize, AdminError> {
    let route = client.topic_route(&args.topic).await?;
    let filter = TagFilter::parse(&args.sub_expression);
    let mode = match (args.print_body, args.full_body) {
        (false, _) => BodyMode::Hidden,
        (true, false) => BodyMode::Preview,
        (true, true) => BodyMode::Full,
    };
    let (begin, end) = (args.begin.unwrap_or(0), args.end.unwrap_or(i64::MAX));
    let mut printed = 0usize;
    for mq in readable_queues(&args.topic, &route) {
        let addr = reader_addr(&route, &mq)?;
        let start = match args.begin {
            Some(b) => {
                client
                    .search_offset(&addr, &mq.topic, mq.queue_id, b)
                    .await?
            }
            None => client.min_offset(&addr, &mq.topic, mq.queue_id).await?,
        };
        let stop = client.max_offset(&addr, &mq.topic, mq.queue_id).await?;
        let mut on_msg = |m: &MessageExt| {
            if filter.matches(m.tags()) && (begin..=end).contains(&m.store_timestamp) {
                sink(MessageView::new(m, &mq.broker_name, mode))?;
                printed += 1;
            }
            Ok(args.limit.is_none_or(|limit| printed < limit))
        };
        let expr = args.sub_expression.trim();
        let expr = if expr.is_empty() { SUB_ALL } else { expr };
        let scan = QueueScan {
            addr: &addr,
            group: TOOLS_CONSUMER_GROUP,
            mq: &mq,
            start,
            end: stop,
            expr,
        };
        if drain_queue(client, scan, &mut on_msg).await? {
            break;
        }
    }
    Ok(printed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_filter() {
        assert!(TagFilter::parse("*").matches(None));
        assert!(TagFilter::parse("").matches(Some("x")));
        let f = TagFilter::parse("TagA || TagB");
        assert!(f.matches(Some("TagA")) && f.matches(Some("TagB")));
        assert!(!f.matches(Some("TagC")) && !f.matches(None));
    }

    #[test]
    fn pull_header_reads_without_committing() {
        let h = pull_header("G", &MessageQueue::new("T", "b", 3), 7, 1, "*");
        assert_eq!(h.sys_flag, PULL_FLAG_SUBSCRIPTION);
        assert_eq!((h.queue_id, h.queue_offset, h.max_msg_nums), (3, 7, 1));
        assert_eq!(h.suspend_timeout_millis, 0);
        assert_eq!(h.subscription.as_deref(), Some("*"));
    }
}
