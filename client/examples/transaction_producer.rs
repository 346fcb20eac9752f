//! Sends three orders to `TransactionTopic`, each tied to a local transaction kept in an
//! in-memory "database": `order-1` commits, `order-2` fails and rolls back, and `order-3`
//! answers Unknown because its local transaction is still running; it finishes a moment
//! later, and the broker's check-back then learns that it committed. The program waits for
//! that check (the broker checks every `transactionCheckInterval`, 60 s by default, for
//! half messages older than `transactionTimeOut`, 6 s) and exits.
//!
//! `NAMESRV_ADDR=127.0.0.1:9876 cargo run -p fennec-client --example transaction_producer`
//! (then `--example consumer` with `TopicTest` changed, or `mqadmin consumeMessage -t
//! TransactionTopic`, shows order-1 and order-3 only).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use fennec_client::{
    LocalTransactionState, Message, MessageExt, Producer, SendResult, TransactionListener,
};
use parking_lot::Mutex;
use tokio::sync::Notify;

/// What the local database knows about each transaction, by transaction id (`msg_id`).
#[derive(Default)]
struct Orders {
    committed: Mutex<HashMap<String, bool>>,
    checked: Notify,
}

/// The producer's listener: it runs and looks up local transactions in `Orders`.
struct OrderTransactions(Arc<Orders>);

impl TransactionListener for OrderTransactions {
    async fn execute_local_transaction(
        &self,
        msg: &Message,
        sent: &SendResult,
    ) -> LocalTransactionState {
        let order = String::from_utf8_lossy(&msg.body).into_owned();
        let id = sent.msg_id.clone();
        match order.as_str() {
            "order-2" => {
                // The insert failed: nothing to publish.
                self.0.committed.lock().insert(id, false);
                LocalTransactionState::Rollback
            }
            "order-3" => {
                // Still running: commit it in the background and let the broker ask later.
                let orders = self.0.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    orders.committed.lock().insert(id, true);
                });
                LocalTransactionState::Unknown
            }
            _ => {
                self.0.committed.lock().insert(id, true);
                LocalTransactionState::Commit
            }
        }
    }

    async fn check_local_transaction(&self, msg: &MessageExt) -> LocalTransactionState {
        let state = match self.0.committed.lock().get(msg.id()) {
            Some(true) => LocalTransactionState::Commit,
            Some(false) => LocalTransactionState::Rollback,
            // Never heard of it: the local transaction did not happen.
            None => LocalTransactionState::Rollback,
        };
        println!(
            "broker checked {} ({}): {state:?}",
            msg.id(),
            String::from_utf8_lossy(&msg.body)
        );
        self.0.checked.notify_one();
        state
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let namesrv = std::env::var("NAMESRV_ADDR").unwrap_or_else(|_| "127.0.0.1:9876".into());
    let orders = Arc::new(Orders::default());
    let producer = Producer::builder("ExampleTransactionGroup")
        .namesrv_addr(&namesrv)
        .build_transactional(OrderTransactions(orders.clone()))?;
    producer.start().await?;
    for order in ["order-1", "order-2", "order-3"] {
        let r = producer
            .send_in_transaction(Message::new("TransactionTopic", order).with_keys(&[order]))
            .await?;
        println!(
            "{order}: msgId={} local transaction {:?}",
            r.send_result.msg_id, r.local_state
        );
    }
    println!("waiting for the broker to check order-3 ...");
    if tokio::time::timeout(Duration::from_secs(120), orders.checked.notified())
        .await
        .is_err()
    {
        println!("no check within 120 s; the broker will still ask later");
    }
    producer.shutdown().await;
    Ok(())
}
