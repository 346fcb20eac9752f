//! Sends ten messages with tags and keys to `TopicTest`.
//!
//! `NAMESRV_ADDR=127.0.0.1:9876 cargo run -p fennec-client --example producer`

use fennec_client::{Message, Producer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let namesrv = std::env::var("NAMESRV_ADDR").unwrap_or_else(|_| "127.0.0.1:9876".into());
    let producer = Producer::builder("ExampleProducerGroup")
        .namesrv_addr(&namesrv)
        .build()?;
    producer.start().await?;
    for i in 0..10 {
        let tag = if i % 2 == 0 { "TagA" } else { "TagB" };
        let msg = Message::new("TopicTest", format!("Hello Fennec {i}"))
            .with_tags(tag)
            .with_keys(&[format!("KEY{i}")]);
        let r = producer.send(msg).await?;
        println!(
            "{:?} msgId={} queue={} offset={}",
            r.status, r.msg_id, r.message_queue.queue_id, r.queue_offset
        );
    }
    producer.shutdown().await;
    Ok(())
}
