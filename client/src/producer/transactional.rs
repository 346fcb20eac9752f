//! [`TransactionProducer`]: sends messages tied to local transactions (RocketMQ's
//! TransactionMQProducer).
//!
//! [`TransactionProducer::send_in_transaction`] sends a half message (TRAN_MSG=true, PGROUP,
//! sysflag PREPARED; consumers do not see it yet), runs the listener's
//! `execute_local_transaction`, then tells the broker the outcome with END_TRANSACTION
//! (oneway). The group's checker answers the broker's CHECK_TRANSACTION_STATE with the
//! listener's `check_local_transaction`, on the connection the check came on. When the
//! END_TRANSACTION cannot be sent, or the outcome is `Unknown`, the broker's check-back
//! decides: nothing here ever picks an outcome the listener did not give.
//!
//! ```no_run
//! use fennec_client::{BlockingTransactionListener, LocalTransactionState, Message, MessageExt, Producer, SendResult};
//!
//! # async fn run() -> Result<(), fennec_client::ClientError> {
//! let listener = BlockingTransactionListener::new(
//!     |_: &Message, _: &SendResult| LocalTransactionState::Commit,
//!     |_: &MessageExt| LocalTransactionState::Commit,
//! );
//! let producer = Producer::builder("OrderTx").namesrv_addr("127.0.0.1:9876").build_transactional(listener)?;
//! producer.start().await?;
//! let r = producer.send_in_transaction(Message::new("Orders", "order 42")).await?;
//! println!("{} -> {:?}", r.send_result.msg_id, r.local_state);
//! # Ok(())
//! # }
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use fennec_protocol::header::{CheckTransactionStateRequestHeader, EndTransactionRequestHeader};
use fennec_protocol::message::msg_id::decode_offset_msg_id;
use fennec_protocol::message::properties::keys;
use fennec_protocol::message::{sysflag, Message, MessageExt};
use fennec_protocol::topic::AUTO_CREATE_TOPIC_KEY;
use fennec_remoting::{Channel, SerializeType};
use tokio::sync::Semaphore;
use tracing::{debug, warn};

use super::handle::Producer;
use super::sender::Sender;
use super::settings::ProducerSettings;
use super::tx_listener::{DynTransactionListener, LocalTransactionState};
use super::{SendResult, SendStatus};
use crate::api::oneway_on;
use crate::error::ClientError;
use crate::instance::TransactionChecker;

/// Checks answered at once per producer; more wait.
const CHECKS_AT_ONCE: usize = 16;
/// Checks waiting beyond which new ones are dropped (the broker asks again).
const CHECKS_QUEUED_MAX: usize = 2000;

/// What a transactional send did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionSendResult {
    /// Where the half message was stored; `msg_id` is the transaction id.
    pub send_result: SendResult,
    /// What the local transaction said (Rollback, without running it, when the half
    /// message was stored with a flush or replication caveat).
    pub local_state: LocalTransactionState,
}

/// A producer whose messages are committed or rolled back with local transactions.
pub struct TransactionProducer {
    producer: Producer,
    listener: Arc<dyn DynTransactionListener>,
}

impl std::fmt::Debug for TransactionProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransactionProducer")
            .field("producer", &self.producer)
            .finish_non_exhaustive()
    }
}

impl TransactionProducer {
    pub(super) fn new(
        settings: ProducerSettings,
        listener: Arc<dyn DynTransactionListener>,
    ) -> Self {
        let checker = Arc::new(Checker {
            group: settings.group.clone(),
            listener: listener.clone(),
            serialize_type: settings.client.serialize_type,
            running: Arc::new(Semaphore::new(CHECKS_AT_ONCE)),
            queued: Arc::new(AtomicUsize::new(0)),
        });
        TransactionProducer {
            producer: Producer::new(settings, Some(checker)),
            listener,
        }
    }

    pub fn group(&self) -> &str {
        self.producer.group()
    }

    /// The client ID, once started.
    pub fn client_id(&self) -> Option<String> {
        self.producer.client_id()
    }

    /// Joins the client instance; from then on the brokers may ask this producer about any
    /// transaction of its group. So that they can before its first send, it learns the
    /// brokers of `TBW102` (those that let producers create topics) and heartbeats them, as
    /// RocketMQ's producers do; it heartbeats every broker of the topics it sends to too.
    pub async fn start(&self) -> Result<(), ClientError> {
        self.producer.start().await?;
        let instance = &self.producer.sender()?.instance;
        match instance.update_route(AUTO_CREATE_TOPIC_KEY).await {
            Ok(true) => instance.heartbeat_all().await,
            Ok(false) => debug!(
                "no {AUTO_CREATE_TOPIC_KEY} route: brokers learn of this producer on its sends"
            ),
            Err(e) => debug!("route of {AUTO_CREATE_TOPIC_KEY} not fetched: {e}"),
        }
        Ok(())
    }

    /// Waits for sends in flight, then leaves the group.
    pub async fn shutdown(&self) {
        self.producer.shutdown().await
    }

    /// The producer for plain (non-transactional) sends of the same group.
    pub fn producer(&self) -> &Producer {
        &self.producer
    }

    /// Sends `msg` as a half message, runs the local transaction and ends it. An error
    /// means the half message was not stored and the local transaction did not run (with
    /// [`ClientError::may_be_stored`], a half message may exist anyway: the broker will
    /// check it, and `check_local_transaction` should then answer Rollback).
    pub async fn send_in_transaction(
        &self,
        mut msg: Message,
    ) -> Result<TransactionSendResult, ClientError> {
        let sender = self.producer.sender()?;
        let group = &self.producer.settings().group;
        // As RocketMQ's clients do: a transactional message is never delayed.
        msg.properties.remove(keys::DELAY_TIME_LEVEL);
        msg.properties.insert(keys::TRANSACTION_PREPARED, "true");
        msg.properties.insert(keys::PRODUCER_GROUP, group.clone());
        let mut local = msg.clone();
        let mut out = self.producer.prepare(&sender, msg)?;
        out.sys_flag |= sysflag::TRANSACTION_PREPARED_TYPE;
        local
            .properties
            .insert(keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX, out.msg_id.clone());
        let sent = sender.send(&out).await?;
        if let Some(id) = &sent.transaction_id {
            local.properties.insert(keys::TRANSACTION_ID, id.clone());
        }
        let local_state = if sent.status == SendStatus::SendOk {
            self.listener.execute(&local, &sent).await
        } else {
            warn!(msg_id = %sent.msg_id, status = ?sent.status, "half message stored with a caveat; rolling back");
            LocalTransactionState::Rollback
        };
        if let Err(e) = self.end(&sender, &sent, &out.topic, local_state).await {
            warn!(msg_id = %sent.msg_id, state = ?local_state, "END_TRANSACTION not sent; the broker's check will settle it: {e}");
        }
        Ok(TransactionSendResult {
            send_result: sent,
            local_state,
        })
    }

    /// Tells the broker that stored `sent` the outcome (nothing for Unknown).
    async fn end(
        &self,
        sender: &Sender,
        sent: &SendResult,
        topic: &str,
        state: LocalTransactionState,
    ) -> Result<(), ClientError> {
        let Some(header) = end_header(
            &self.producer.settings().group,
            state,
            EndTarget {
                topic,
                tran_state_table_offset: sent.queue_offset,
                commit_log_offset: decode_offset_msg_id(&sent.offset_msg_id)
                    .map_err(|e| ClientError::InvalidMessage(e.to_string()))?
                    .1,
                msg_id: &sent.msg_id,
                transaction_id: sent.transaction_id.as_deref(),
                from_check: false,
            },
        ) else {
            return Ok(());
        };
        let addr = sender.instance.master_addr(&sent.message_queue).await?;
        sender.instance.api().call_oneway(&addr, &header).await
    }
}

/// The half message an END_TRANSACTION names.
struct EndTarget<'a> {
    topic: &'a str,
    tran_state_table_offset: i64,
    commit_log_offset: i64,
    msg_id: &'a str,
    transaction_id: Option<&'a str>,
    from_check: bool,
}

/// The END_TRANSACTION header for `state`; `None` for Unknown, which is not sent.
fn end_header(
    group: &str,
    state: LocalTransactionState,
    t: EndTarget<'_>,
) -> Option<EndTransactionRequestHeader> {
    let commit_or_rollback = match state {
        LocalTransactionState::Commit => sysflag::TRANSACTION_COMMIT_TYPE,
        LocalTransactionState::Rollback => sysflag::TRANSACTION_ROLLBACK_TYPE,
        LocalTransactionState::Unknown => return None,
    };
    Some(EndTransactionRequestHeader {
        topic: Some(t.topic.to_string()),
        producer_group: group.to_string(),
        tran_state_table_offset: t.tran_state_table_offset,
        commit_log_offset: t.commit_log_offset,
        commit_or_rollback,
        from_transaction_check: Some(t.from_check),
        msg_id: t.msg_id.to_string(),
        transaction_id: t.transaction_id.map(str::to_string),
    })
}

/// Answers the brokers' checks for one transaction producer group.
struct Checker {
    group: String,
    listener: Arc<dyn DynTransactionListener>,
    serialize_type: SerializeType,
    running: Arc<Semaphore>,
    queued: Arc<AtomicUsize>,
}

impl TransactionChecker for Checker {
    fn check(&self, channel: Channel, header: CheckTransactionStateRequestHeader, msg: MessageExt) {
        if self.queued.fetch_add(1, Ordering::Relaxed) >= CHECKS_QUEUED_MAX {
            self.queued.fetch_sub(1, Ordering::Relaxed);
            debug!(group = %self.group, "too many transaction checks waiting; this one is dropped");
            return;
        }
        let (running, queued) = (self.running.clone(), self.queued.clone());
        let (listener, group, serialize_type) = (
            self.listener.clone(),
            self.group.clone(),
            self.serialize_type,
        );
        tokio::spawn(async move {
            let permit = running.acquire_owned().await;
            queued.fetch_sub(1, Ordering::Relaxed);
            if permit.is_err() {
                return;
            }
            let state = listener.check(&msg).await;
            let msg_id = header
                .msg_id
                .clone()
                .unwrap_or_else(|| msg.id().to_string());
            let target = EndTarget {
                topic: &msg.topic,
                tran_state_table_offset: header.tran_state_table_offset,
                commit_log_offset: header.commit_log_offset,
                msg_id: &msg_id,
                transaction_id: header.transaction_id.as_deref(),
                from_check: true,
            };
            let Some(end) = end_header(&group, state, target) else {
                debug!(%msg_id, "transaction still unknown after a check");
                return;
            };
            if let Err(e) = oneway_on(&channel, &end, serialize_type).await {
                warn!(%msg_id, broker = %channel.remote_addr(), "END_TRANSACTION after a check not sent: {e}");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_headers_say_commit_rollback_or_nothing() {
        let target = || EndTarget {
            topic: "T",
            tran_state_table_offset: 3,
            commit_log_offset: 4096,
            msg_id: "U",
            transaction_id: Some("U"),
            from_check: true,
        };
        let commit = end_header("PG", LocalTransactionState::Commit, target()).unwrap();
        assert_eq!(commit.commit_or_rollback, 8);
        assert_eq!(
            (commit.tran_state_table_offset, commit.commit_log_offset),
            (3, 4096)
        );
        assert_eq!(commit.from_transaction_check, Some(true));
        let rollback = end_header("PG", LocalTransactionState::Rollback, target()).unwrap();
        assert_eq!(rollback.commit_or_rollback, 12);
        assert!(end_header("PG", LocalTransactionState::Unknown, target()).is_none());
    }
}
