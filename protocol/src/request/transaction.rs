//! Transactions: END_TRANSACTION (a producer tells the broker the outcome of a half message,
//! oneway) and CHECK_TRANSACTION_STATE (a broker asks a producer of the half message's group
//! for that outcome, oneway, on the producer's own connection; the body is the stored
//! record with its real topic and queue).

use bytes::Bytes;

use super::{done, header_requests, with_header, ReplyError, Request};
use crate::header::{CheckTransactionStateRequestHeader, EndTransactionRequestHeader};
use crate::{RemotingCommand, RequestCode};

/// CHECK_TRANSACTION_STATE (broker to producer, oneway).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckTransactionState {
    pub header: CheckTransactionStateRequestHeader,
    /// The half message as a stored record, with its real topic and queue id.
    pub record: Bytes,
}

impl Request for CheckTransactionState {
    const CODE: RequestCode = RequestCode::CHECK_TRANSACTION_STATE;
    type Reply = ();
    fn to_command(&self) -> RemotingCommand {
        with_header(Self::CODE, &self.header).with_body(self.record.clone())
    }
    fn decode_reply(reply: RemotingCommand) -> Result<(), ReplyError> {
        done(reply)
    }
}

header_requests! {
    // The outcome of a half message: commitOrRollback 8 commits, 12 rolls back, 0 says
    // nothing (the broker will ask again).
    EndTransactionRequestHeader => END_TRANSACTION, (), done;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::tests::{fields, over_the_wire};

    #[test]
    fn end_and_check_carry_their_headers() {
        let end = EndTransactionRequestHeader {
            topic: Some("T".into()),
            producer_group: "PG".into(),
            tran_state_table_offset: 7,
            commit_log_offset: 4096,
            commit_or_rollback: 8,
            from_transaction_check: Some(false),
            msg_id: "UNIQ".into(),
            transaction_id: Some("UNIQ".into()),
        };
        let cmd = over_the_wire(&end.to_command());
        assert_eq!(cmd.code, 37);
        let mut got = fields(&cmd);
        got.sort();
        assert_eq!(
            got,
            [
                ("commitLogOffset", "4096"),
                ("commitOrRollback", "8"),
                ("fromTransactionCheck", "false"),
                ("msgId", "UNIQ"),
                ("producerGroup", "PG"),
                ("topic", "T"),
                ("tranStateTableOffset", "7"),
                ("transactionId", "UNIQ"),
            ]
        );
        let check = CheckTransactionState {
            header: CheckTransactionStateRequestHeader {
                tran_state_table_offset: 7,
                commit_log_offset: 4096,
                msg_id: Some("UNIQ".into()),
                ..Default::default()
            },
            record: Bytes::from_static(b"rec"),
        };
        let cmd = over_the_wire(&check.to_command());
        assert_eq!(cmd.code, 39);
        assert_eq!(&cmd.body[..], b"rec");
        let back: CheckTransactionStateRequestHeader = cmd.decode_header().unwrap();
        assert_eq!(back, check.header);
    }
}
