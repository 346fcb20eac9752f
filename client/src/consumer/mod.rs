//! Consumers: [`PushConsumer`] (a listener is called with what arrives, concurrently or, with
//! an [`OrderlyListener`], queue by queue in order) and [`PullConsumer`] (the application
//! polls).
//!
//! Both own a set of queues, chosen by rebalancing (clustering: the group shares the
//! queues; broadcasting: every member reads all) or, for the pull consumer, by assignment.
//! Each owned queue has a long-polling pull task. Offsets are committed to the brokers when
//! clustering and to a local file when broadcasting.

mod allocate;
mod consume;
mod core;
mod listener;
mod lite_pull;
mod lite_state;
mod offset_file;
mod offset_store;
mod options;
mod orderly_consume;
mod orderly_listener;
mod orderly_queue;
mod orderly_state;
mod process_queue;
mod pull;
mod push;
mod push_state;
mod queue_lock;
mod rebalance;
mod runtime;
mod start_offset;
mod subscription;

pub use listener::{Blocking, ConsumeContext, ConsumeResult, MessageListener};
pub use lite_pull::{PullConsumer, PullConsumerBuilder};
pub use offset_file::parse as parse_offset_file;
pub use orderly_listener::{OrderlyListener, OrderlyResult};
pub use push::{PushConsumer, PushConsumerBuilder};
