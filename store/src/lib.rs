//! The broker's message store (RocketMQ's DefaultMessageStore), usable without a network.
//!
//! On disk, under `storePathRootDir`:
//! ```text
//! commitlog/<20-digit start offset>       every message of every topic, one log
//! consumequeue/<topic>/<queueId>/<offset> 20-byte entries per topic queue
//! index/<yyyyMMddHHmmssSSS>               hash index of KEYS and UNIQ_KEY (local time)
//! config/                                 broker JSON (written by the broker), and the
//!                                         delivery progress: delayOffset.json, timercheck
//! timerwheel  timerlog/<first offset>     timers by due slot (see `schedule/`)
//! checkpoint  abort  lock
//! ```
//! Appends go through [`MessageStore::put_message`]; each appender then builds the consume
//! queues and index from the log (the `fennec-dispatch` thread when that needs a new file,
//! see `dispatch.rs`); the `fennec-schedule` thread delivers delayed and
//! timer messages when due; reads return zero-copy records. A slave's store appends the
//! bytes its master replicates (`replica.rs`).

mod allocate;
mod append;
mod checkpoint;
mod clean;
mod commit_log;
mod config;
mod consume_queue;
mod cq_flush;
mod dispatch;
mod entry_check;
mod error;
mod flush;
mod growth;
mod health;
mod index;
mod index_file;
mod mapped_file;
mod mapped_file_queue;
mod message;
mod message_store;
mod open;
mod put_result;
mod queue_offsets;
mod queue_table;
mod read;
mod recovery;
mod replica;
mod schedule;
mod stats;
mod store_lock;
mod wakeup;

pub use checkpoint::CheckpointData;
pub use config::{BrokerRole, DiskUsageProbe, FlushDiskType, StoreConfig};
pub use consume_queue::{CqEntry, CQ_ENTRY_SIZE};
pub use dispatch::ArrivalListener;
pub use error::StoreError;
pub use mapped_file::{MappedFile, MappedFileWriter};
pub use message::{BatchEntry, StoreBatch, StoreMessage};
pub use message_store::MessageStore;
pub use put_result::{AppendResult, PendingPut, PutMessageResult, PutMessageStatus};
pub use read::{BoundaryType, GetMessageResult, GetMessageStatus, QueryMessageResult};
pub use recovery::RecoveryReport;
pub use replica::{ReplicaError, Replicated};
pub use schedule::{DelayLevels, DeliveryStats};
pub use stats::StoreStats;
