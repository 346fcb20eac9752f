//! QUERY_CONSUME_QUEUE's answer: raw consume-queue entries of one queue, for admin tools
//! (`mqadmin queryCq`, dead-letter listings) that must read queues consumers may not pull.

use serde::{Deserialize, Serialize};

/// One consume-queue entry: where its record is and its tag hash (the due time in the
/// delay and timer staging topics).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumeQueueData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bit_map: Option<String>,
    #[serde(default)]
    pub eval: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extend_data_json: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg: Option<String>,
    pub physic_offset: i64,
    pub physic_size: i32,
    pub tags_code: i64,
}

/// `{"maxQueueIndex":n,"minQueueIndex":m,"queueData":[...]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryConsumeQueueResponseBody {
    #[serde(default)]
    pub max_queue_index: i64,
    #[serde(default)]
    pub min_queue_index: i64,
    #[serde(default)]
    pub queue_data: Vec<ConsumeQueueData>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode_body;

    #[test]
    fn reads_rocketmq_field_names() {
        let b: QueryConsumeQueueResponseBody = decode_body(
            br#"{"maxQueueIndex":3,"minQueueIndex":1,"queueData":[{"physicOffset":10,"physicSize":200,"tagsCode":7,"eval":false}]}"#,
        )
        .unwrap();
        assert_eq!((b.min_queue_index, b.max_queue_index), (1, 3));
        assert_eq!(b.queue_data[0].physic_offset, 10);
        assert_eq!(b.queue_data[0].physic_size, 200);
    }
}
