//! Consumes `OrderTopic` in order: each queue's messages one at a time, in the order they
//! were sent, by one member of the group at a time (start several to share the queues);
//! Ctrl-C stops it.
//!
//! `NAMESRV_ADDR=127.0.0.1:9876 cargo run -p fennec-client --example ordered_consumer`

use std::time::Duration;

use fennec_client::{ConsumeContext, ConsumeFromWhere, MessageExt, OrderlyResult, PushConsumer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let namesrv = std::env::var("NAMESRV_ADDR").unwrap_or_else(|_| "127.0.0.1:9876".into());
    let consumer = PushConsumer::builder("ExampleOrderConsumerGroup")
        .namesrv_addr(&namesrv)
        .consume_from(ConsumeFromWhere::ConsumeFromFirstOffset)
        // A failing message is retried after 1 s, at most 5 times, then dead-lettered.
        .suspend_current_queue_time(Duration::from_secs(1))
        .max_reconsume_times(5)
        .build()?;
    consumer.subscribe("OrderTopic", "*")?;
    consumer
        .start_orderly(|msgs: Vec<MessageExt>, ctx: ConsumeContext| async move {
            for m in &msgs {
                println!(
                    "queue={} offset={} {}",
                    ctx.message_queue.queue_id,
                    m.queue_offset,
                    String::from_utf8_lossy(&m.body)
                );
            }
            // SuspendCurrentQueueAMoment would hold this queue (only) and retry.
            OrderlyResult::Success
        })
        .await?;
    println!("consuming in order; Ctrl-C to stop");
    tokio::signal::ctrl_c().await?;
    consumer.shutdown().await;
    Ok(())
}
