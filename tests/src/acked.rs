//! Acknowledged sends for crash tests: producers that send until their broker dies, noting
//! where every SEND_OK message was stored, and the check that each is still there (on the
//! restarted broker, or on a slave).

use std::collections::BTreeMap;
use std::sync::Arc;

use fennec_client::{Message, Producer, SendStatus};
use fennec_remoting::RemotingClient;
use parking_lot::Mutex;
use tokio::task::JoinHandle;

use crate::broker_api::read_queue;

/// (queue id, queue offset) -> body of every send acknowledged as SEND_OK.
pub type Acked = Arc<Mutex<BTreeMap<(i32, i64), String>>>;

/// Starts `producers` producers that send `t<n>-<i>` bodies to `topic` one at a time, with
/// no retries, until a send fails; each SEND_OK goes into `acked`, other statuses (stored
/// but not acknowledged as durable) are left out.
///
/// # Panics
/// (In the tasks) when a producer cannot be built or started.
pub fn send_until_failure(
    namesrv: &str,
    topic: &str,
    producers: usize,
    acked: &Acked,
) -> Vec<JoinHandle<()>> {
    (0..producers)
        .map(|t| {
            let (ns, topic, acked) = (namesrv.to_string(), topic.to_string(), acked.clone());
            tokio::spawn(async move {
                let p = Producer::builder(format!("{topic}Producer{t}"))
                    .namesrv_addr(&ns)
                    .retry_times(0)
                    .build()
                    .expect("producer");
                p.start().await.expect("start");
                for i in 0.. {
                    let body = format!("t{t}-{i}");
                    match p.send(Message::new(&topic, body.clone())).await {
                        Ok(r) if r.status == SendStatus::SendOk => {
                            acked
                                .lock()
                                .insert((r.message_queue.queue_id, r.queue_offset), body);
                        }
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
                p.shutdown().await;
            })
        })
        .collect()
}

/// Checks that every acknowledged message is stored at its queue offset with its body on
/// the broker at `broker`, and that the offsets of queues `0..queues` are contiguous from 0.
///
/// # Panics
/// When one is missing or changed, or a queue has a gap.
pub async fn assert_acked_stored(
    admin: &RemotingClient,
    broker: &str,
    (topic, queues): (&str, i32),
    acked: &Acked,
) {
    let acked = acked.lock().clone();
    let mut stored = BTreeMap::new();
    for queue_id in 0..queues {
        for m in read_queue(admin, broker, topic, queue_id).await {
            stored.insert(
                (queue_id, m.queue_offset),
                String::from_utf8_lossy(&m.body).into_owned(),
            );
        }
    }
    for (at, body) in &acked {
        assert_eq!(
            stored.get(at),
            Some(body),
            "acknowledged message at {at:?} lost or changed on {broker}"
        );
    }
    for queue_id in 0..queues {
        let offsets: Vec<i64> = stored
            .keys()
            .filter(|(q, _)| *q == queue_id)
            .map(|(_, o)| *o)
            .collect();
        assert!(
            offsets.iter().enumerate().all(|(i, o)| *o == i as i64),
            "queue {queue_id} of {topic} on {broker} has gaps"
        );
    }
}
