//! Broker registration requests: REGISTER_BROKER, UNREGISTER_BROKER, QUERY_DATA_VERSION,
//! BROKER_HEARTBEAT, WIPE_WRITE_PERM_OF_BROKER and ADD_WRITE_PERM_OF_BROKER.
//!
//! REGISTER_BROKER carries a RegisterBrokerBody (JSON) whose CRC32 & 0x7FFFFFFF is checked
//! when the header's `bodyCrc32` is non-zero. The reply header names a slave's master and its
//! HA address; the reply body is the `ORDER_TOPIC_CONFIG` KV namespace as a KVTable
//! (`{"table":{topic:"broker-a:4"}}`, empty when unset).

use std::time::{Duration, Instant};

use fennec_protocol::body::{DataVersion, KvTable, RegisterBrokerBody};
use fennec_protocol::hash::body_crc;
use fennec_protocol::header::{
    AddWritePermResponseHeader, BrokerHeartbeatRequestHeader, BrokerNameRequestHeader,
    QueryDataVersionResponseHeader, RegisterBrokerRequestHeader, RegisterBrokerResponseHeader,
    UnregisterBrokerRequestHeader, WipeWritePermResponseHeader,
};
use fennec_protocol::{decode_body, encode_body};
use fennec_remoting::{Channel, RemotingCommand};

use super::NamesrvProcessor;
use crate::error::NamesrvError;
use crate::kv_config::ORDER_TOPIC_CONFIG;
use crate::route_info::BrokerRegistration;

/// Extension field with the broker's zone (RocketMQ 5.x).
const ZONE_NAME: &str = "__ZONE_NAME";

impl NamesrvProcessor {
    pub(super) fn register_broker(
        &self,
        channel: &Channel,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, NamesrvError> {
        let header: RegisterBrokerRequestHeader = request.decode_header()?;
        if header.compressed == Some(true) {
            return Err(NamesrvError::CompressedRegistration);
        }
        if let Some(expected) = header.body_crc32.filter(|crc| *crc != 0) {
            let actual = body_crc(&request.body);
            if actual != expected {
                return Err(NamesrvError::BodyCrc { expected, actual });
            }
        }
        // An empty body registers the broker with no topics at version 0.
        let body: RegisterBrokerBody = if request.body.is_empty() {
            RegisterBrokerBody::default()
        } else {
            decode_body(&request.body).map_err(|source| NamesrvError::Body {
                what: "REGISTER_BROKER",
                source,
            })?
        };
        let heartbeat_timeout = header
            .heartbeat_timeout_millis
            .and_then(|ms| u64::try_from(ms).ok())
            .filter(|ms| *ms > 0)
            .map(Duration::from_millis);
        let result = self.route.register(
            BrokerRegistration {
                cluster_name: header.cluster_name,
                broker_addr: header.broker_addr,
                broker_name: header.broker_name,
                broker_id: header.broker_id,
                ha_server_addr: header.ha_server_addr,
                zone_name: request.ext(ZONE_NAME).map(str::to_string),
                heartbeat_timeout,
                topic_config: body.topic_config_serialize_wrapper,
                channel: channel.clone(),
            },
            Instant::now(),
        )?;
        if let Some(refused) = result.topics_refused {
            return Err(refused.into());
        }
        let order_topics = KvTable {
            table: self.kv.namespace(ORDER_TOPIC_CONFIG).unwrap_or_default(),
        };
        Ok(RemotingCommand::success()
            .with_header(&RegisterBrokerResponseHeader {
                ha_server_addr: result.ha_server_addr,
                master_addr: result.master_addr,
            })
            .with_body(encode_body(&order_topics)))
    }

    pub(super) fn unregister_broker(
        &self,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, NamesrvError> {
        let header: UnregisterBrokerRequestHeader = request.decode_header()?;
        self.route.unregister(
            &header.cluster_name,
            &header.broker_addr,
            &header.broker_name,
        );
        Ok(RemotingCommand::success())
    }

    /// The broker asks whether its dataVersion is the one registered here (if not, it
    /// registers again); the question counts as a heartbeat.
    pub(super) fn query_data_version(
        &self,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, NamesrvError> {
        let header: UnregisterBrokerRequestHeader = request.decode_header()?;
        let version: DataVersion =
            decode_body(&request.body).map_err(|source| NamesrvError::Body {
                what: "QUERY_DATA_VERSION",
                source,
            })?;
        let (changed, known) = self.route.query_data_version(
            &header.cluster_name,
            &header.broker_addr,
            &version,
            Instant::now(),
        );
        let mut response =
            RemotingCommand::success().with_header(&QueryDataVersionResponseHeader { changed });
        if let Some(known) = known {
            response = response.with_body(encode_body(&known));
        }
        Ok(response)
    }

    pub(super) fn broker_heartbeat(
        &self,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, NamesrvError> {
        let header: BrokerHeartbeatRequestHeader = request.decode_header()?;
        self.route
            .heartbeat(&header.cluster_name, &header.broker_addr, Instant::now());
        Ok(RemotingCommand::success())
    }

    /// WIPE_WRITE_PERM_OF_BROKER (`add == false`) and ADD_WRITE_PERM_OF_BROKER.
    pub(super) fn set_write_perm(
        &self,
        request: &RemotingCommand,
        add: bool,
    ) -> Result<RemotingCommand, NamesrvError> {
        let header: BrokerNameRequestHeader = request.decode_header()?;
        let count = self.route.set_write_perm(&header.broker_name, add);
        let response = RemotingCommand::success();
        Ok(if add {
            response.with_header(&AddWritePermResponseHeader {
                add_topic_count: count,
            })
        } else {
            response.with_header(&WipeWritePermResponseHeader {
                wipe_topic_count: count,
            })
        })
    }
}
