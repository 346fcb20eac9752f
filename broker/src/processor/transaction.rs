//! END_TRANSACTION (37, oneway): a producer's outcome for a half message. The half record
//! at `commitLogOffset` must be in the half topic at `tranStateTableOffset` and belong to
//! `producerGroup` (else SYSTEM_ERROR). Commit stores the message in its real queue, then
//! an op message; rollback stores the op message only; 0 (unknown) changes nothing. A half
//! message that already has an outcome (a duplicate, a late answer to a check, a message
//! given up) is left as it is.

use fennec_protocol::header::EndTransactionRequestHeader;
use fennec_protocol::message::properties::keys;
use fennec_protocol::message::record::parse_record;
use fennec_protocol::message::sysflag;
use fennec_protocol::topic::TRANS_HALF_TOPIC;
use fennec_remoting::{Channel, RemotingCommand, ResponseCode};
use tracing::{debug, error, warn};

use super::send::status_code;
use crate::broker::Broker;
use crate::error::{Handled, Reject};
use crate::transaction::records;

pub async fn end_transaction(b: &Broker, channel: &Channel, req: RemotingCommand) -> Handled {
    let h: EndTransactionRequestHeader = req.decode_header()?;
    let result = end(b, &h).await;
    if let Err(reject) = &result {
        // The request is oneway: nobody reads the answer, so say it here.
        warn!(
            remote = %channel.remote_addr(),
            group = %h.producer_group,
            offset = h.tran_state_table_offset,
            commit_log_offset = h.commit_log_offset,
            "END_TRANSACTION refused: {}", reject.remark
        );
    }
    result
}

async fn end(b: &Broker, h: &EndTransactionRequestHeader) -> Handled {
    let commit = match h.commit_or_rollback {
        sysflag::TRANSACTION_COMMIT_TYPE => true,
        sysflag::TRANSACTION_ROLLBACK_TYPE => false,
        _ => {
            debug!(offset = h.tran_state_table_offset, from_check = ?h.from_transaction_check, "transaction state unknown; it will be checked");
            return Ok(RemotingCommand::success());
        }
    };
    let record = b.store.message_at(h.commit_log_offset).ok_or_else(|| {
        Reject::new(
            ResponseCode::SYSTEM_ERROR,
            format!(
                "no half message at commit log offset {}",
                h.commit_log_offset
            ),
        )
    })?;
    let half = parse_record(&record).map_err(|e| {
        Reject::new(
            ResponseCode::SYSTEM_ERROR,
            format!(
                "unreadable record at commit log offset {}: {e}",
                h.commit_log_offset
            ),
        )
    })?;
    let mismatch = if half.topic() != TRANS_HALF_TOPIC {
        Some(format!(
            "the record is in topic {}, not a half message",
            half.topic()
        ))
    } else if half.queue_offset() != h.tran_state_table_offset {
        Some(format!(
            "the half message is at queue offset {}, not {}",
            half.queue_offset(),
            h.tran_state_table_offset
        ))
    } else if half.property(keys::PRODUCER_GROUP) != Some(h.producer_group.as_str()) {
        Some(format!(
            "the half message belongs to producer group {:?}",
            half.property(keys::PRODUCER_GROUP).unwrap_or_default()
        ))
    } else {
        None
    };
    if let Some(why) = mismatch {
        return Err(Reject::new(ResponseCode::SYSTEM_ERROR, why));
    }
    let offset = half.queue_offset();
    if !b.transactions.begin_resolve(offset) {
        debug!(
            offset,
            commit, "half message already resolved; END_TRANSACTION ignored"
        );
        return Ok(RemotingCommand::success());
    }
    if commit {
        let committed_topic;
        let stored = match records::committed(&half, &record, b.store_host) {
            Ok(msg) => {
                committed_topic = msg.topic.clone();
                b.store.put_message(msg).await
            }
            Err(why) => {
                b.transactions.abort_resolve(offset);
                return Err(Reject::new(ResponseCode::SYSTEM_ERROR, why));
            }
        };
        if stored.append.is_none() {
            b.transactions.abort_resolve(offset);
            let why = stored
                .remark
                .unwrap_or_else(|| format!("{:?}", stored.status));
            return Err(Reject::new(
                status_code(stored.status),
                format!("committed message not stored: {why}"),
            ));
        }
        let traffic = b.topics.traffic(&committed_topic);
        if let (Some(append), Some(traffic)) = (&stored.append, traffic) {
            b.stats.add_put(&traffic, 1, append.wrote_bytes as u64);
        }
    }
    let op = records::op(offset, b.store_host);
    let stored = b.store.put_message(op).await;
    if stored.append.is_none() {
        let why = stored
            .remark
            .unwrap_or_else(|| format!("{:?}", stored.status));
        if !commit {
            b.transactions.abort_resolve(offset);
            return Err(Reject::new(
                status_code(stored.status),
                format!("rollback not stored: {why}"),
            ));
        }
        // The committed message is stored: this broker will not commit it again, but after
        // a restart a check may ask, and a second commit would deliver it twice.
        error!(
            offset,
            "op message of a committed transaction not stored: {why}"
        );
    }
    Ok(RemotingCommand::success())
}
