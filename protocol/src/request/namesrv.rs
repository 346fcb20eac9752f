//! Nameserver requests: routes, cluster and topic lists, broker registration, KV config.

use bytes::Bytes;

use super::{done, header_requests, reply_body, reply_header, success, with_header};
use super::{ReplyError, Request};
use crate::body::{
    ClusterInfo, DataVersion, KvTable, RegisterBrokerBody, TopicList, TopicRouteData,
};
use crate::encode_body;
use crate::hash::body_crc;
use crate::header::{
    BrokerNameRequestHeader, DeleteTopicFromNamesrvRequestHeader, GetKvConfigResponseHeader,
    GetKvListByNamespaceRequestHeader, GetRouteInfoRequestHeader, GetTopicsByClusterRequestHeader,
    KvConfigKeyRequestHeader, PutKvConfigRequestHeader, QueryDataVersionResponseHeader,
    RegisterBrokerRequestHeader, RegisterBrokerResponseHeader, RegisterTopicRequestHeader,
    UnregisterBrokerRequestHeader, WipeWritePermResponseHeader,
};
use crate::{RemotingCommand, RequestCode, ResponseCode};

header_requests! {
    GetRouteInfoRequestHeader => GET_ROUTEINFO_BY_TOPIC, Option<TopicRouteData>, |reply: RemotingCommand| {
        if reply.code == i32::from(ResponseCode::TOPIC_NOT_EXIST) {
            return Ok(None);
        }
        reply_body(reply, "TopicRouteData").map(Some)
    };
    DeleteTopicFromNamesrvRequestHeader => DELETE_TOPIC_IN_NAMESRV, (), done;
    PutKvConfigRequestHeader => PUT_KV_CONFIG, (), done;
    GetKvListByNamespaceRequestHeader => GET_KVLIST_BY_NAMESPACE, KvTable, |r| reply_body(r, "KVTable");
    UnregisterBrokerRequestHeader => UNREGISTER_BROKER, (), done;
    GetTopicsByClusterRequestHeader => GET_TOPICS_BY_CLUSTER, TopicList, |r| reply_body(r, "TopicList");
}

/// Declares requests with neither header nor body.
macro_rules! bare_requests {
    ($($(#[$meta:meta])* $name:ident => $code:ident, $reply:ty, $decode:expr;)*) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct $name;

        impl Request for $name {
            const CODE: RequestCode = RequestCode::$code;
            type Reply = $reply;
            fn to_command(&self) -> RemotingCommand {
                RemotingCommand::request(Self::CODE)
            }
            fn decode_reply(reply: RemotingCommand) -> Result<$reply, ReplyError> {
                ($decode)(reply)
            }
        }
    )*};
}
pub(crate) use bare_requests;

bare_requests! {
    /// GET_BROKER_CLUSTER_INFO.
    GetBrokerClusterInfo => GET_BROKER_CLUSTER_INFO, ClusterInfo, |r| reply_body(r, "ClusterInfo");
    /// GET_ALL_TOPIC_LIST_FROM_NAMESERVER.
    GetAllTopicList => GET_ALL_TOPIC_LIST_FROM_NAMESERVER, TopicList, |r| reply_body(r, "TopicList");
    /// GET_NAMESRV_CONFIG: the configuration as `key=value` lines.
    GetNamesrvConfig => GET_NAMESRV_CONFIG, String, properties_text;
}

/// The body of a SUCCESS answer as `key=value` text.
pub(crate) fn properties_text(reply: RemotingCommand) -> Result<String, ReplyError> {
    let reply = success(reply)?;
    Ok(String::from_utf8_lossy(&reply.body).into_owned())
}

/// GET_KV_CONFIG: the value, `None` when the key is not set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetKvConfig(pub KvConfigKeyRequestHeader);

impl Request for GetKvConfig {
    const CODE: RequestCode = RequestCode::GET_KV_CONFIG;
    type Reply = Option<String>;
    fn to_command(&self) -> RemotingCommand {
        with_header(Self::CODE, &self.0)
    }
    fn decode_reply(reply: RemotingCommand) -> Result<Option<String>, ReplyError> {
        if reply.code == i32::from(ResponseCode::QUERY_NOT_FOUND) {
            return Ok(None);
        }
        let reply = success(reply)?;
        Ok(reply_header::<GetKvConfigResponseHeader>(&reply, "GET_KV_CONFIG")?.value)
    }
}

/// DELETE_KV_CONFIG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteKvConfig(pub KvConfigKeyRequestHeader);

impl Request for DeleteKvConfig {
    const CODE: RequestCode = RequestCode::DELETE_KV_CONFIG;
    type Reply = ();
    fn to_command(&self) -> RemotingCommand {
        with_header(Self::CODE, &self.0)
    }
    fn decode_reply(reply: RemotingCommand) -> Result<(), ReplyError> {
        done(reply)
    }
}

/// REGISTER_BROKER: the broker's identity and topics; `bodyCrc32` is set from the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterBroker {
    pub header: RegisterBrokerRequestHeader,
    pub body: RegisterBrokerBody,
}

impl Request for RegisterBroker {
    const CODE: RequestCode = RequestCode::REGISTER_BROKER;
    type Reply = RegisterBrokerResponseHeader;
    fn to_command(&self) -> RemotingCommand {
        let body: Bytes = encode_body(&self.body);
        let header = RegisterBrokerRequestHeader {
            body_crc32: Some(body_crc(&body)),
            ..self.header.clone()
        };
        with_header(Self::CODE, &header).with_body(body)
    }
    fn decode_reply(reply: RemotingCommand) -> Result<RegisterBrokerResponseHeader, ReplyError> {
        reply_header(&success(reply)?, "REGISTER_BROKER")
    }
}

/// QUERY_DATA_VERSION: whether the nameserver holds another data version of the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryDataVersion {
    pub header: UnregisterBrokerRequestHeader,
    pub version: DataVersion,
}

impl Request for QueryDataVersion {
    const CODE: RequestCode = RequestCode::QUERY_DATA_VERSION;
    type Reply = bool;
    fn to_command(&self) -> RemotingCommand {
        with_header(Self::CODE, &self.header).with_body(encode_body(&self.version))
    }
    fn decode_reply(reply: RemotingCommand) -> Result<bool, ReplyError> {
        let reply = success(reply)?;
        Ok(reply_header::<QueryDataVersionResponseHeader>(&reply, "QUERY_DATA_VERSION")?.changed)
    }
}

/// REGISTER_TOPIC_IN_NAMESRV: sets a topic's queues (only `queueDatas` is read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterTopic {
    pub topic: String,
    pub route: TopicRouteData,
}

impl Request for RegisterTopic {
    const CODE: RequestCode = RequestCode::REGISTER_TOPIC_IN_NAMESRV;
    type Reply = ();
    fn to_command(&self) -> RemotingCommand {
        let header = RegisterTopicRequestHeader {
            topic: self.topic.clone(),
        };
        with_header(Self::CODE, &header).with_body(encode_body(&self.route))
    }
    fn decode_reply(reply: RemotingCommand) -> Result<(), ReplyError> {
        done(reply)
    }
}

/// WIPE_WRITE_PERM_OF_BROKER: the number of topics whose write permission was removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WipeWritePerm(pub BrokerNameRequestHeader);

impl Request for WipeWritePerm {
    const CODE: RequestCode = RequestCode::WIPE_WRITE_PERM_OF_BROKER;
    type Reply = i32;
    fn to_command(&self) -> RemotingCommand {
        with_header(Self::CODE, &self.0)
    }
    fn decode_reply(reply: RemotingCommand) -> Result<i32, ReplyError> {
        let reply = success(reply)?;
        Ok(
            reply_header::<WipeWritePermResponseHeader>(&reply, "WIPE_WRITE_PERM")?
                .wipe_topic_count,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::tests::{fields, over_the_wire};

    #[test]
    fn route_reply_outcomes() {
        let req = GetRouteInfoRequestHeader {
            topic: "T".into(),
            accept_standard_json_only: Some(true),
        };
        let cmd = over_the_wire(&req.to_command());
        assert_eq!(cmd.code, 105);
        assert_eq!(
            fields(&cmd),
            [("acceptStandardJsonOnly", "true"), ("topic", "T")]
        );
        let none = RemotingCommand::response(ResponseCode::TOPIC_NOT_EXIST, None);
        assert_eq!(GetRouteInfoRequestHeader::decode_reply(none).unwrap(), None);
        let legacy = RemotingCommand::success().with_body(
            r#"{"brokerDatas":[{"brokerAddrs":{0:"a:1"},"brokerName":"b","cluster":"c"}],"queueDatas":[]}"#,
        );
        let route = GetRouteInfoRequestHeader::decode_reply(legacy)
            .unwrap()
            .unwrap();
        assert_eq!(route.broker_datas[0].broker_addrs[&0], "a:1");
        let busy = RemotingCommand::response(ResponseCode::SYSTEM_BUSY, Some("later".into()));
        let e = GetRouteInfoRequestHeader::decode_reply(busy).unwrap_err();
        assert_eq!(e.code(), Some(2));
        assert_eq!(e.to_string(), "SYSTEM_BUSY (2): later");
    }

    #[test]
    fn register_broker_sets_the_body_crc() {
        let req = RegisterBroker {
            header: RegisterBrokerRequestHeader {
                broker_name: "b".into(),
                broker_addr: "h:1".into(),
                cluster_name: "c".into(),
                ha_server_addr: String::new(),
                broker_id: 0,
                ..Default::default()
            },
            body: RegisterBrokerBody::default(),
        };
        let cmd = req.to_command();
        assert_eq!(
            cmd.ext("bodyCrc32"),
            Some(body_crc(&cmd.body).to_string().as_str())
        );
        let reply = RemotingCommand::success().with_ext("masterAddr", "m:1");
        assert_eq!(
            RegisterBroker::decode_reply(reply)
                .unwrap()
                .master_addr
                .as_deref(),
            Some("m:1")
        );
    }
}
