//! Consumes `TopicTest` from the first offset and prints every message; Ctrl-C stops it.
//!
//! `NAMESRV_ADDR=127.0.0.1:9876 cargo run -p fennec-client --example consumer`

use fennec_client::{ConsumeContext, ConsumeFromWhere, ConsumeResult, MessageExt, PushConsumer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let namesrv = std::env::var("NAMESRV_ADDR").unwrap_or_else(|_| "127.0.0.1:9876".into());
    let consumer = PushConsumer::builder("ExampleConsumerGroup")
        .namesrv_addr(&namesrv)
        .consume_from(ConsumeFromWhere::ConsumeFromFirstOffset)
        .build()?;
    consumer.subscribe("TopicTest", "*")?;
    consumer
        .start(|msgs: Vec<MessageExt>, _: ConsumeContext| async move {
            for m in &msgs {
                println!(
                    "msgId={} tags={:?} keys={:?} queue={} offset={} body={}",
                    m.id(),
                    m.tags(),
                    m.keys(),
                    m.queue_id,
                    m.queue_offset,
                    String::from_utf8_lossy(&m.body)
                );
            }
            ConsumeResult::Success
        })
        .await?;
    println!("consuming; Ctrl-C to stop");
    tokio::signal::ctrl_c().await?;
    consumer.shutdown().await;
    Ok(())
}
