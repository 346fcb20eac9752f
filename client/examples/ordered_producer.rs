//! Sends the steps of ten orders to `OrderTopic`, each order's steps to one queue (hash of
//! the order id), so that an orderly consumer sees every order's steps in this order.
//!
//! `NAMESRV_ADDR=127.0.0.1:9876 cargo run -p fennec-client --example ordered_producer`

use fennec_client::{Message, Producer, QueueSelector};

const STEPS: [&str; 4] = ["created", "paid", "shipped", "delivered"];

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let namesrv = std::env::var("NAMESRV_ADDR").unwrap_or_else(|_| "127.0.0.1:9876".into());
    let producer = Producer::builder("ExampleOrderProducerGroup")
        .namesrv_addr(&namesrv)
        .build()?;
    producer.start().await?;
    for step in STEPS {
        for order in 0..10 {
            let id = format!("order-{order}");
            let msg = Message::new("OrderTopic", format!("{id} {step}")).with_keys(&[&id]);
            // One queue per order id; a failed send is not moved to another queue.
            let r = producer
                .send_with_selector(msg, &QueueSelector::by_hash(&id))
                .await?;
            println!(
                "{id} {step}: queue={} offset={}",
                r.message_queue.queue_id, r.queue_offset
            );
        }
    }
    producer.shutdown().await;
    Ok(())
}
