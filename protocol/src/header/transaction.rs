//! Headers of END_TRANSACTION (37) and CHECK_TRANSACTION_STATE (39).

use crate::command_header;

command_header! {
    /// END_TRANSACTION request (producer to broker, oneway).
    pub struct EndTransactionRequestHeader {
        "topic" => topic: optional String,
        "producerGroup" => producer_group: required String,
        "tranStateTableOffset" => tran_state_table_offset: required i64,
        "commitLogOffset" => commit_log_offset: required i64,
        /// 0 = unknown, 8 = commit, 12 = rollback.
        "commitOrRollback" => commit_or_rollback: required i32,
        "fromTransactionCheck" => from_transaction_check: optional bool,
        "msgId" => msg_id: required String,
        "transactionId" => transaction_id: optional String,
    }
}

command_header! {
    /// CHECK_TRANSACTION_STATE request (broker to producer, oneway).
    pub struct CheckTransactionStateRequestHeader {
        "topic" => topic: optional String,
        "tranStateTableOffset" => tran_state_table_offset: required i64,
        "commitLogOffset" => commit_log_offset: required i64,
        "msgId" => msg_id: optional String,
        "transactionId" => transaction_id: optional String,
        "offsetMsgId" => offset_msg_id: optional String,
        "bname" => broker_name: optional String,
    }
}
