//! Master/slave replication (RocketMQ's classic HA): brokers with the same brokerName form a
//! group, brokerId 0 is its master (`brokerRole` ASYNC_MASTER or SYNC_MASTER) and the others
//! are slaves (`brokerRole=SLAVE`) holding a byte-identical copy of its CommitLog, from
//! which they build their own ConsumeQueues and IndexFiles and serve pulls and queries.
//!
//! * `frame.rs`: the wire format on the master's `haListenPort`;
//! * `master.rs`: accepting slaves, streaming the CommitLog, their acknowledgements;
//! * `sync_wait.rs`: a SYNC_MASTER's sends waiting for an acknowledgement, in one queue;
//! * `slave.rs`: a slave's connection to its master and the appends;
//! * `metadata.rs`: a slave's periodic copy of topics, groups, offsets and delay progress.
//!
//! Blocking work stays off the tokio workers: appends are memcpys under the CommitLog lock
//! (flushing is the store's `fennec-flush` thread), and a slave's one file creation and
//! its writes of copied metadata run on blocking threads.

mod frame;
mod master;
mod metadata;
mod slave;
mod sync_wait;

pub use master::{HaMaster, SlaveStatus};
pub use metadata::{run as metadata_sync, sync_once as sync_metadata_once};
pub use slave::{HaSlave, SlaveState};
pub use sync_wait::SyncWaiters;

use std::sync::Arc;

use fennec_protocol::message::properties::{find_encoded, keys};
use fennec_store::{BrokerRole, PutMessageResult};

use crate::broker::Broker;

/// A broker's part in its group.
pub enum Ha {
    /// A master: its slaves connect to it.
    Master(Arc<HaMaster>),
    /// A slave: it replicates from its master.
    Slave(Arc<HaSlave>),
}

impl Ha {
    pub fn master(&self) -> Option<&Arc<HaMaster>> {
        match self {
            Ha::Master(m) => Some(m),
            Ha::Slave(_) => None,
        }
    }

    pub fn slave(&self) -> Option<&Arc<HaSlave>> {
        match self {
            Ha::Slave(s) => Some(s),
            Ha::Master(_) => None,
        }
    }
}

/// Whether a message with these encoded properties waits for its store to be durable
/// (`WAIT`, default true).
pub fn waits(properties: &str) -> bool {
    find_encoded(properties, keys::WAIT_STORE_MSG_OK)
        .is_none_or(|v| !v.trim().eq_ignore_ascii_case("false"))
}

impl Broker {
    /// The last step of a put on a SYNC_MASTER: wait until a slave holds it (when `wait`,
    /// the message's WAIT property, asks for durability). Other roles answer at once.
    pub async fn replicated(&self, result: PutMessageResult, wait: bool) -> PutMessageResult {
        match (&self.ha, self.config.store.broker_role) {
            (Ha::Master(m), BrokerRole::SyncMaster) => m.wait_for_slave(result, wait).await,
            _ => result,
        }
    }
}
