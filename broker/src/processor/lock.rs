//! Queue locks of ordered consumption: LOCK_BATCH_MQ (41) locks (or renews) queues for a
//! client of a consumer group and answers the set actually granted; UNLOCK_BATCH_MQ (42)
//! releases the client's own locks and always succeeds. The table is
//! [`crate::queue_locks::QueueLocks`]; [`client_left`] releases a departing client's locks.
//!
//! Pulls do not consult the locks (nor do they in RocketMQ): an orderly consumer pulls only
//! the queues it locked, and the lock is what keeps two members of a group off one queue.

use fennec_protocol::body::{LockBatchRequestBody, LockBatchResponseBody};
use fennec_protocol::{decode_body, encode_body};
use fennec_remoting::{RemotingCommand, ResponseCode};
use tracing::info;

use crate::broker::Broker;
use crate::error::{Handled, Reject};

/// The request body, with its group and client id present.
fn lock_body(req: &RemotingCommand, request: &str) -> Result<LockBatchRequestBody, Reject> {
    let body: LockBatchRequestBody =
        decode_body(&req.body).map_err(|e| Reject::bad_body(request, &e))?;
    if body.consumer_group.is_empty() || body.client_id.is_empty() {
        return Err(Reject::new(
            ResponseCode::SYSTEM_ERROR,
            format!("{request} body: consumerGroup and clientId are required"),
        ));
    }
    Ok(body)
}

pub fn lock_batch(b: &Broker, req: &RemotingCommand) -> Handled {
    let body = lock_body(req, "LOCK_BATCH_MQ")?;
    let granted = b
        .queue_locks
        .try_lock(&body.consumer_group, &body.client_id, &body.mq_set);
    Ok(
        RemotingCommand::success().with_body(encode_body(&LockBatchResponseBody {
            lock_ok_mq_set: granted,
        })),
    )
}

pub fn unlock_batch(b: &Broker, req: &RemotingCommand) -> Handled {
    let body = lock_body(req, "UNLOCK_BATCH_MQ")?;
    b.queue_locks
        .unlock(&body.consumer_group, &body.client_id, &body.mq_set);
    Ok(RemotingCommand::success())
}

/// `client_id` is no longer a member of `group` (unregistered, disconnected or expired):
/// its queue locks go unless another connection of the same client id is still a member.
pub fn client_left(b: &Broker, group: &str, client_id: &str) {
    if b.consumers
        .client_ids(group)
        .iter()
        .any(|id| id == client_id)
    {
        return;
    }
    let released = b.queue_locks.release_client(group, client_id);
    if released > 0 {
        info!(
            group,
            client_id, released, "queue locks of a departed consumer released"
        );
    }
}
