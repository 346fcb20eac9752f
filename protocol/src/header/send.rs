//! Headers of SEND_MESSAGE (10), SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320) and
//! CONSUMER_SEND_MSG_BACK (36).

use crate::command_header;

command_header! {
    /// SEND_MESSAGE request, with Java's long field names.
    pub struct SendMessageRequestHeader {
        "producerGroup" => producer_group: required String,
        "topic" => topic: required String,
        "defaultTopic" => default_topic: required String,
        "defaultTopicQueueNums" => default_topic_queue_nums: required i32,
        /// Negative: the broker picks a queue.
        "queueId" => queue_id: required i32,
        "sysFlag" => sys_flag: required i32,
        "bornTimestamp" => born_timestamp: required i64,
        "flag" => flag: required i32,
        "properties" => properties: optional String,
        "reconsumeTimes" => reconsume_times: optional i32,
        "unitMode" => unit_mode: optional bool,
        "batch" => batch: optional bool,
        "maxReconsumeTimes" => max_reconsume_times: optional i32,
        "bname" => broker_name: optional String,
    }
}

command_header! {
    /// SEND_MESSAGE_V2 / SEND_BATCH_MESSAGE request: the same fields under one-letter keys.
    pub struct SendMessageRequestHeaderV2 {
        "a" => producer_group: required String,
        "b" => topic: required String,
        "c" => default_topic: required String,
        "d" => default_topic_queue_nums: required i32,
        "e" => queue_id: required i32,
        "f" => sys_flag: required i32,
        "g" => born_timestamp: required i64,
        "h" => flag: required i32,
        "i" => properties: optional String,
        "j" => reconsume_times: optional i32,
        "k" => unit_mode: optional bool,
        "l" => max_reconsume_times: optional i32,
        "m" => batch: optional bool,
        "n" => broker_name: optional String,
    }
}

impl From<SendMessageRequestHeaderV2> for SendMessageRequestHeader {
    fn from(v2: SendMessageRequestHeaderV2) -> Self {
        SendMessageRequestHeader {
            producer_group: v2.producer_group,
            topic: v2.topic,
            default_topic: v2.default_topic,
            default_topic_queue_nums: v2.default_topic_queue_nums,
            queue_id: v2.queue_id,
            sys_flag: v2.sys_flag,
            born_timestamp: v2.born_timestamp,
            flag: v2.flag,
            properties: v2.properties,
            reconsume_times: v2.reconsume_times,
            unit_mode: v2.unit_mode,
            batch: v2.batch,
            max_reconsume_times: v2.max_reconsume_times,
            broker_name: v2.broker_name,
        }
    }
}

impl From<SendMessageRequestHeader> for SendMessageRequestHeaderV2 {
    fn from(v1: SendMessageRequestHeader) -> Self {
        SendMessageRequestHeaderV2 {
            producer_group: v1.producer_group,
            topic: v1.topic,
            default_topic: v1.default_topic,
            default_topic_queue_nums: v1.default_topic_queue_nums,
            queue_id: v1.queue_id,
            sys_flag: v1.sys_flag,
            born_timestamp: v1.born_timestamp,
            flag: v1.flag,
            properties: v1.properties,
            reconsume_times: v1.reconsume_times,
            unit_mode: v1.unit_mode,
            batch: v1.batch,
            max_reconsume_times: v1.max_reconsume_times,
            broker_name: v1.broker_name,
        }
    }
}

command_header! {
    /// Reply to a send.
    pub struct SendMessageResponseHeader {
        /// Offset msgId; comma-joined for a batch.
        "msgId" => msg_id: required String,
        "queueId" => queue_id: required i32,
        /// The first queue offset, for a batch.
        "queueOffset" => queue_offset: required i64,
        /// The UNIQ_KEY, on every success.
        "transactionId" => transaction_id: optional String,
        "batchUniqId" => batch_uniq_id: optional String,
        "MSG_REGION" => msg_region: optional String,
        "TRACE_ON" => trace_on: optional String,
    }
}

command_header! {
    /// CONSUMER_SEND_MSG_BACK: a consumer returns a message for later redelivery.
    pub struct ConsumerSendMsgBackRequestHeader {
        /// Commit log offset of the message.
        "offset" => offset: required i64,
        "group" => group: required String,
        /// 0 = broker default, negative = dead-letter queue.
        "delayLevel" => delay_level: required i32,
        "originMsgId" => origin_msg_id: optional String,
        "originTopic" => origin_topic: optional String,
        "unitMode" => unit_mode: optional bool,
        "maxReconsumeTimes" => max_reconsume_times: optional i32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::CommandHeader;
    use crate::ExtFields;

    #[test]
    fn v2_uses_one_letter_keys_and_converts() {
        let v2 = SendMessageRequestHeaderV2 {
            producer_group: "PG".into(),
            topic: "T".into(),
            default_topic: "TBW102".into(),
            default_topic_queue_nums: 4,
            queue_id: 0,
            sys_flag: 0,
            born_timestamp: 1_700_000_000_000,
            flag: 0,
            properties: Some("TAGS\u{1}A\u{2}".into()),
            reconsume_times: Some(0),
            unit_mode: Some(false),
            max_reconsume_times: None,
            batch: Some(false),
            broker_name: Some("broker-a".into()),
        };
        let mut f = ExtFields::new();
        v2.write_to(&mut f);
        let keys: Vec<&str> = f.iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "m", "n"]
        );
        let v1: SendMessageRequestHeader =
            SendMessageRequestHeaderV2::read_from(&f).unwrap().into();
        assert_eq!(v1.topic, "T");
        assert_eq!(SendMessageRequestHeaderV2::from(v1), v2);
    }
}
