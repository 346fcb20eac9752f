//! Message and offset requests of [`AdminClient`]: QUERY_MESSAGE, VIEW_MESSAGE_BY_ID,
//! PULL_MESSAGE, SEND_MESSAGE_V2, GET_MIN/MAX_OFFSET, SEARCH_OFFSET_BY_TIMESTAMP and the
//! consumer offset requests.

use bytes::Bytes;
use fennec_common::message::record::decode_records;
use fennec_common::message::MessageExt;
use fennec_common::protocol::header::{
    CommandHeader, GetMaxOffsetRequestHeader, GetMinOffsetRequestHeader, OffsetResponseHeader,
    PullMessageRequestHeader, PullMessageResponseHeader, QueryConsumerOffsetRequestHeader,
    QueryMessageRequestHeader, SearchOffsetRequestHeader, SendMessageRequestHeaderV2,
    SendMessageResponseHeader, UpdateConsumerOffsetRequestHeader, ViewMessageRequestHeader,
    UNIQUE_KEY_QUERY,
};
use fennec_common::remoting::{RemotingCommand, RequestCode, ResponseCode};

use super::client::{check, header, refusal, AdminClient};
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
        let code = RequestCode::QUERY_MESSAGE;
        let mut cmd = RemotingCommand::request_with_header(code, query);
        if unique_key {
            cmd = cmd.with_ext(UNIQUE_KEY_QUERY, "true");
        }
        let reply = self.call_broker(addr, cmd).await?;
        if reply.code == i32::from(ResponseCode::QUERY_NOT_FOUND) {
            return Ok(Vec::new());
        }
        let reply = check(addr, code, reply)?;
        records(addr, &reply.body)
    }

    /// VIEW_MESSAGE_BY_ID: the record at commit log `offset` of the broker at `addr`.
    pub async fn view_message(
        &self,
        addr: &str,
        offset: i64,
        topic: Option<&str>,
    ) -> Result<MessageExt, AdminError> {
        let code = RequestCode::VIEW_MESSAGE_BY_ID;
        let req = ViewMessageRequestHeader {
            offset,
            topic: topic.map(str::to_string),
        };
        let reply = self
            .call_broker(addr, RemotingCommand::request_with_header(code, &req))
            .await?;
        let reply = check(addr, code, reply)?;
        records(addr, &reply.body)?
            .into_iter()
            .next()
            .ok_or_else(|| {
                AdminError::NotFound(format!("{addr} returned no message at offset {offset}"))
            })
    }

    /// PULL_MESSAGE. The request should not suspend: the admin timeout applies.
    pub async fn pull(
        &self,
        addr: &str,
        req: &PullMessageRequestHeader,
    ) -> Result<PullResult, AdminError> {
        let code = RequestCode::PULL_MESSAGE;
        let reply = self
            .call_broker(addr, RemotingCommand::request_with_header(code, req))
            .await?;
        let status = match reply.response_code() {
            Some(ResponseCode::SUCCESS) => PullStatus::Found,
            Some(ResponseCode::PULL_NOT_FOUND) => PullStatus::NoNewMsg,
            Some(ResponseCode::PULL_RETRY_IMMEDIATELY) => PullStatus::NoMatchedMsg,
            Some(ResponseCode::PULL_OFFSET_MOVED) => PullStatus::OffsetIllegal,
            _ => return Err(refusal(addr, code.name(), &reply)),
        };
        let h: PullMessageResponseHeader = header(addr, "PullMessageResponseHeader", &reply)?;
        let messages = if status == PullStatus::Found {
            records(addr, &reply.body)?
        } else {
            Vec::new()
        };
        Ok(PullResult {
            status,
            next_begin_offset: h.next_begin_offset,
            min_offset: h.min_offset,
            max_offset: h.max_offset,
            messages,
        })
    }

    /// SEND_MESSAGE_V2 of one message.
    pub async fn send(
        &self,
        addr: &str,
        req: &SendMessageRequestHeaderV2,
        body: Bytes,
    ) -> Result<(SendStatus, SendMessageResponseHeader), AdminError> {
        let code = RequestCode::SEND_MESSAGE_V2;
        let cmd = RemotingCommand::request_with_header(code, req).with_body(body);
        let reply = self.call_broker(addr, cmd).await?;
        let status = match reply.response_code() {
            Some(ResponseCode::SUCCESS) => SendStatus::SendOk,
            Some(ResponseCode::FLUSH_DISK_TIMEOUT) => SendStatus::FlushDiskTimeout,
            Some(ResponseCode::FLUSH_SLAVE_TIMEOUT) => SendStatus::FlushSlaveTimeout,
            Some(ResponseCode::SLAVE_NOT_AVAILABLE) => SendStatus::SlaveNotAvailable,
            _ => return Err(refusal(addr, code.name(), &reply)),
        };
        let h = header(addr, "SendMessageResponseHeader", &reply)?;
        Ok((status, h))
    }

    /// GET_MIN_OFFSET of one queue.
    pub async fn min_offset(
        &self,
        addr: &str,
        topic: &str,
        queue_id: i32,
    ) -> Result<i64, AdminError> {
        let req = GetMinOffsetRequestHeader {
            topic: topic.to_string(),
            queue_id,
        };
        self.offset_request(addr, RequestCode::GET_MIN_OFFSET, &req)
            .await
    }

    /// GET_MAX_OFFSET of one queue (the next offset to be written).
    pub async fn max_offset(
        &self,
        addr: &str,
        topic: &str,
        queue_id: i32,
    ) -> Result<i64, AdminError> {
        let req = GetMaxOffsetRequestHeader {
            topic: topic.to_string(),
            queue_id,
            committed: None,
        };
        self.offset_request(addr, RequestCode::GET_MAX_OFFSET, &req)
            .await
    }

    /// SEARCH_OFFSET_BY_TIMESTAMP: the first offset stored at or after `timestamp`.
    pub async fn search_offset(
        &self,
        addr: &str,
        topic: &str,
        queue_id: i32,
        timestamp: i64,
    ) -> Result<i64, AdminError> {
        let req = SearchOffsetRequestHeader {
            topic: topic.to_string(),
            queue_id,
            timestamp,
            boundary_type: None,
        };
        self.offset_request(addr, RequestCode::SEARCH_OFFSET_BY_TIMESTAMP, &req)
            .await
    }

    /// QUERY_CONSUMER_OFFSET; `None` when the broker has no offset (QUERY_NOT_FOUND).
    pub async fn consumer_offset(
        &self,
        addr: &str,
        group: &str,
        topic: &str,
        queue_id: i32,
    ) -> Result<Option<i64>, AdminError> {
        let code = RequestCode::QUERY_CONSUMER_OFFSET;
        let req = QueryConsumerOffsetRequestHeader {
            consumer_group: group.to_string(),
            topic: topic.to_string(),
            queue_id,
            set_zero_if_not_found: Some(false),
        };
        let reply = self
            .call_broker(addr, RemotingCommand::request_with_header(code, &req))
            .await?;
        if reply.code == i32::from(ResponseCode::QUERY_NOT_FOUND) {
            return Ok(None);
        }
        let reply = check(addr, code, reply)?;
        let h: OffsetResponseHeader = header(addr, "QueryConsumerOffsetResponseHeader", &reply)?;
        Ok(Some(h.offset))
    }

    /// UPDATE_CONSUMER_OFFSET, sent as a request so the broker's answer is checked.
    pub async fn update_consumer_offset(
        &self,
        addr: &str,
        req: &UpdateConsumerOffsetRequestHeader,
    ) -> Result<(), AdminError> {
        let code = RequestCode::UPDATE_CONSUMER_OFFSET;
        let reply = self
            .call_broker(addr, RemotingCommand::request_with_header(code, req))
            .await?;
        check(addr, code, reply).map(drop)
    }

    async fn offset_request<H: CommandHeader>(
        &self,
        addr: &str,
        code: RequestCode,
        req: &H,
    ) -> Result<i64, AdminError> {
        let reply = self
            .call_broker(addr, RemotingCommand::request_with_header(code, req))
            .await?;
        let reply = check(addr, code, reply)?;
        let h: OffsetResponseHeader = header(addr, "offset", &reply)?;
        Ok(h.offset)
    }
}

/// Decodes the records of a pull, query or view body, decompressing bodies.
fn records(addr: &str, body: &Bytes) -> Result<Vec<MessageExt>, AdminError> {
    decode_records(body, true).map_err(|source| AdminError::BadRecords {
        addr: addr.to_string(),
        source,
    })
}
