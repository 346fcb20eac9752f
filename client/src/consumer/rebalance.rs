//! Rebalancing: deciding which queues a consumer owns and moving to that set.
//!
//! For each subscribed topic the target is every readable queue when broadcasting, or this
//! consumer's share of them ([`super::allocate::allocate_averagely`]) over the group's
//! members (GET_CONSUMER_LIST_BY_GROUP from a broker hosting the topic) when clustering. A
//! topic whose queues or members cannot be learnt right now keeps its current queues. Queues
//! that leave are stopped, their offset persisted and forgotten; queues that arrive start at
//! [`ConsumerCore::start_offset`]. The consumer kinds differ only in how a queue is started
//! and stopped, which [`QueueOwner`] abstracts.

use std::collections::{BTreeSet, HashSet};

use fennec_protocol::body::{MessageModel, MessageQueue};
use fennec_protocol::topic::is_retry_topic;
use tracing::{info, warn};

use super::allocate::allocate_averagely;
use super::core::ConsumerCore;
use super::runtime::QueueOwner;

/// The queues of `topic` this consumer should own; `None` when that cannot be known now.
pub(crate) async fn target_queues(core: &ConsumerCore, topic: &str) -> Option<Vec<MessageQueue>> {
    let queues = match core.topic_queues(topic).await {
        Ok(q) => q,
        Err(e) => {
            if !is_retry_topic(topic) {
                warn!(group = %core.group, %topic, "no queues to rebalance: {e}");
            }
            return None;
        }
    };
    match core.settings.model {
        MessageModel::Broadcasting => Some(queues),
        MessageModel::Clustering => {
            let addr = core.instance.any_broker_addr(topic)?;
            match core.instance.api().consumer_ids(&addr, &core.group).await {
                Ok(ids) if !ids.is_empty() => {
                    Some(allocate_averagely(core.client_id(), &queues, &ids))
                }
                Ok(_) => None,
                Err(e) => {
                    warn!(group = %core.group, %topic, "cannot list the group's consumers: {e}");
                    None
                }
            }
        }
    }
}

/// What a rebalance decided: the queues to own, and the topics it could decide for.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub(crate) target: BTreeSet<MessageQueue>,
    subscribed: HashSet<String>,
    decided: HashSet<String>,
}

impl Plan {
    /// Whether an owned queue outside the target may be given up: its topic is no longer
    /// subscribed, or its topic's share was decided.
    pub(crate) fn may_drop(&self, mq: &MessageQueue) -> bool {
        !self.subscribed.contains(&mq.topic) || self.decided.contains(&mq.topic)
    }
}

/// The queues of every subscribed topic this consumer should own.
pub(crate) async fn plan(core: &ConsumerCore) -> Plan {
    let mut plan = Plan {
        subscribed: core.subscriptions.topics().into_iter().collect(),
        ..Plan::default()
    };
    for topic in &plan.subscribed {
        if let Some(queues) = target_queues(core, topic).await {
            plan.decided.insert(topic.clone());
            plan.target.extend(queues);
        }
    }
    plan
}

/// One rebalance of every subscribed topic.
pub(crate) async fn rebalance<O: QueueOwner>(core: &ConsumerCore, owner: &mut O) {
    let plan = plan(core).await;
    apply(core, owner, &plan.target, |mq| plan.may_drop(mq)).await;
}

/// Moves `owner` to `target`: owned queues outside it for which `may_drop` holds are given
/// up (stopped, their offset committed, then [`QueueOwner::released`]), queues of `target`
/// not owned yet are started.
pub(crate) async fn apply<O: QueueOwner>(
    core: &ConsumerCore,
    owner: &mut O,
    target: &BTreeSet<MessageQueue>,
    may_drop: impl Fn(&MessageQueue) -> bool,
) {
    let owned: BTreeSet<MessageQueue> = owner.owned().into_iter().collect();
    for mq in owned
        .iter()
        .filter(|mq| !target.contains(*mq) && may_drop(mq))
    {
        owner.release_queue(mq).await;
        if let Err(e) = core.offsets.persist(mq).await {
            warn!(group = %core.group, %mq, "offset commit of a released queue failed: {e}");
        }
        core.offsets.remove(mq);
        owner.released(mq).await;
        info!(group = %core.group, %mq, "queue released");
    }
    for mq in target.iter().filter(|mq| !owned.contains(*mq)) {
        match core.start_offset(mq).await {
            Ok(offset) => {
                info!(group = %core.group, %mq, offset, "queue assigned");
                owner.start_queue(mq.clone(), offset);
            }
            Err(e) => {
                warn!(group = %core.group, %mq, "no start offset; retrying at the next rebalance: {e}")
            }
        }
    }
}
