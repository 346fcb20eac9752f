//! Message and offset requests of [`AdminClient`]: QUERY_MESSAGE, VIEW_MESSAGE_BY_ID,
//! PULL_MESSAGE, SEND_MESSAGE_V2, GET_MIN/MAX_OFFSET, SEARCH_OFFSET_BY_TIMESTAMP and the
//! consumer offset requests.

use bytes::Bytes;
use fennec_protocol::header::{
    GetMaxOffsetRequestHeader, GetMinOffsetRequestHeader, PullMessageRequestHeader,
    QueryConsumerOffsetRequestHeader, QueryMessageRequestHeader, SearchOffsetRequestHeader,
    SendMessageRequestHeaderV2, SendMessageResponseHeader, UpdateConsumerOffsetRequestHeader,
    ViewMessageRequestHeader,
};
use fennec_protocol::message::record::decode_records;
use fennec_protocol::message::MessageExt;
use fennec_protocol::request::pull;
use fennec_protocol::request::query::QueryMessage;
use fennec_protocol::request::send::SendMessage;
use fennec_remoting::ResponseCode;

use super::client::AdminClient;
use super::error::AdminError;

/// What a pull found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PullStatus {
    /// Messages came back.
    Found,
    /// Nothing at or after the offset yet (PULL_NOT_FOUND).
    NoNewMsg,
    /// Messages exist but none matched the filter (PULL_RETRY_IMMEDIATELY).
    NoMatchedMsg,
    /// The offset is out of range (PULL_OFFSET_MOVED); continue from `next_begin_offset`.
    OffsetIllegal,
}

/// The outcome of one PULL_MESSAGE.
#[derive(Debug, Clone)]
pub struct PullResult {
    pub status: PullStatus,
    pub next_begin_offset: i64,
    pub min_offset: i64,
    pub max_offset: i64,
    pub messages: Vec<MessageExt>,
}

/// Store outcome of an accepted send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SendStatus {
    SendOk,
    FlushDiskTimeout,
    FlushSlaveTimeout,
    SlaveNotAvailable,
}

impl AdminClient {
    /// QUERY_MESSAGE: messages of `topic` whose index key hashes like `key` (the broker may
    /// return hash-slot neighbours; callers filter). QUERY_NOT_FOUND yields an empty list.
    pub async fn query_message(
        &self,
        addr: &str,
        query: &QueryMessageRequestHeader,
        unique_key: bool,
    ) -> Result<Vec<MessageExt>, AdminError> {
        let request = QueryMessage {
            header: query.clone(),
            unique_key,
        };
        let body = self.broker(addr, &request).await?;
        records(addr, &body)
    }

    /// VIEW_MESSAGE_BY_ID: the record at commit log `offset` of the broker at `addr`.
    pub async fn view_message(
        &self,
        addr: &str,
        offset: i64,
        topic: Option<&str>,
    ) -> Result<MessageExt, AdminError> {
        let request = ViewMessageRequestHeader {
            offset,
            topic: topic.map(str::to_string),
        };
        let body = self.broker(addr, &request).await?;
        records(addr, &body)?.into_iter().next().ok_or_else(|| {
            AdminError::NotFound(format!("{addr} returned no message at offset {offset}"))
        })
    }

    /// PULL_MESSAGE. The request should not suspend: the admin timeout applies.
    pub async fn pull(
        &self,
        addr: &str,
        req: &PullMessageRequestHeader,
    ) -> Result<PullResult, AdminError> {
        let reply = self.broker(addr, req).await?;
        let status = match reply.status {
            pull::PullStatus::Found => PullStatus::Found,
            pull::PullStatus::NoNewMsg => PullStatus::NoNewMsg,
            pull::PullStatus::NoMatchedMsg => PullStatus::NoMatchedMsg,
            pull::PullStatus::OffsetIllegal => PullStatus::OffsetIllegal,
        };
        Ok(PullResult {
            status,
            next_begin_offset: reply.header.next_begin_offset,
            min_offset: reply.header.min_offset,
            max_offset: reply.header.max_offset,
            messages: records(addr, &reply.body)?,
        })
    }

    /// SEND_MESSAGE_V2 of one message.
    pub async fn send(
        &self,
        addr: &str,
        req: &SendMessageRequestHeaderV2,
        body: Bytes,
    ) -> Result<(SendStatus, SendMessageResponseHeader), AdminError> {
        let request = SendMessage {
            header: req.clone(),
            body,
        };
        let reply = self.broker(addr, &request).await?;
        let status = match reply.code {
            ResponseCode::FLUSH_DISK_TIMEOUT => SendStatus::FlushDiskTimeout,
            ResponseCode::FLUSH_SLAVE_TIMEOUT => SendStatus::FlushSlaveTimeout,
            ResponseCode::SLAVE_NOT_AVAILABLE => SendStatus::SlaveNotAvailable,
            _ => SendStatus::SendOk,
        };
        Ok((status, reply.header))
    }

    /// GET_MIN_OFFSET of one queue.
    pub async fn min_offset(
        &self,
        addr: &str,
        topic: &str,
        queue_id: i32,
    ) -> Result<i64, AdminError> {
        let request = GetMinOffsetRequestHeader {
            topic: topic.to_string(),
            queue_id,
        };
        self.broker(addr, &request).await
    }

    /// GET_MAX_OFFSET of one queue (the next offset to be written).
    pub async fn max_offset(
        &self,
        addr: &str,
        topic: &str,
        queue_id: i32,
    ) -> Result<i64, AdminError> {
        let request = GetMaxOffsetRequestHeader {
            topic: topic.to_string(),
            queue_id,
            committed: None,
        };
        self.broker(addr, &request).await
    }

    /// SEARCH_OFFSET_BY_TIMESTAMP: the first offset stored at or after `timestamp`.
    pub async fn search_offset(
        &self,
        addr: &str,
        topic: &str,
        queue_id: i32,
        timestamp: i64,
    ) -> Result<i64, AdminError> {
        let request = SearchOffsetRequestHeader {
            topic: topic.to_string(),
            queue_id,
            timestamp,
            boundary_type: None,
        };
        self.broker(addr, &request).await
    }

    /// QUERY_CONSUMER_OFFSET; `None` when the broker has no offset (QUERY_NOT_FOUND).
    pub async fn consumer_offset(
        &self,
        addr: &str,
        group: &str,
        topic: &str,
        queue_id: i32,
    ) -> Result<Option<i64>, AdminError> {
        let request = QueryConsumerOffsetRequestHeader {
            consumer_group: group.to_string(),
            topic: topic.to_string(),
            queue_id,
            set_zero_if_not_found: Some(false),
        };
        self.broker(addr, &request).await
    }

    /// UPDATE_CONSUMER_OFFSET, sent as a request so the broker's answer is checked.
    pub async fn update_consumer_offset(
        &self,
        addr: &str,
        req: &UpdateConsumerOffsetRequestHeader,
    ) -> Result<(), AdminError> {
        self.broker(addr, req).await
    }
}

/// Decodes the records of a pull, query or view body, decompressing bodies.
fn records(addr: &str, body: &Bytes) -> Result<Vec<MessageExt>, AdminError> {
    decode_records(body, true).map_err(|source| AdminError::BadRecords {
        addr: addr.to_string(),
        source,
    })
}
