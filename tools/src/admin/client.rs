//! [`AdminClient`]: a remoting client plus the nameserver list, with one typed async method
//! per request the admin tool sends. Nameserver requests try each nameserver in order until
//! one answers; broker requests go to the address given. Non-success answers become
//! [`AdminError::Response`] (code, remark and address), REQUEST_CODE_NOT_SUPPORTED becomes
//! [`AdminError::NotSupported`].
//!
//! This file holds the plumbing and the nameserver requests; `broker_api.rs` and
//! `message_api.rs` add the broker requests. Integration tests use this type directly.

use std::time::Duration;

use fennec_common::protocol::body::{ClusterInfo, TopicList, TopicRouteData};
use fennec_common::protocol::decode_body;
use fennec_common::protocol::header::{
    CommandHeader, DeleteTopicFromNamesrvRequestHeader, GetRouteInfoRequestHeader,
    PutKvConfigRequestHeader,
};
use fennec_common::remoting::{RemotingClient, RemotingCommand, RequestCode, ResponseCode};
use serde::de::DeserializeOwned;

use super::error::{remoting_reason, AdminError};

/// Default per-request timeout (RocketMQ's admin default).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(3000);

/// Splits a `;`-separated nameserver list, dropping blanks.
pub fn parse_namesrv_list(s: &str) -> Vec<String> {
    s.split(';')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect()
}

/// The admin tool's connection to a cluster.
#[derive(Debug, Clone)]
pub struct AdminClient {
    remoting: RemotingClient,
    namesrv: Vec<String>,
    timeout: Duration,
}

impl AdminClient {
    /// A client for the given nameservers (may be empty for broker-only commands).
    pub fn new(namesrv: Vec<String>, timeout: Duration) -> Self {
        AdminClient {
            remoting: RemotingClient::default(),
            namesrv,
            timeout,
        }
    }

    pub fn namesrv_addrs(&self) -> &[String] {
        &self.namesrv
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Closes every connection.
    pub async fn shutdown(&self) {
        self.remoting.shutdown().await;
    }

    /// Sends `cmd` to the first nameserver that answers; returns its address and reply.
    pub async fn call_namesrv(
        &self,
        cmd: RemotingCommand,
    ) -> Result<(String, RemotingCommand), AdminError> {
        let mut last = None;
        for addr in &self.namesrv {
            match self.remoting.invoke(addr, cmd.clone(), self.timeout).await {
                Ok(reply) => return Ok((addr.clone(), reply)),
                Err(source) => {
                    tracing::debug!(%addr, "nameserver failed: {source}");
                    last = Some(source);
                }
            }
        }
        match last {
            Some(source) => Err(AdminError::Unreachable {
                role: "nameserver",
                addr: self.namesrv.join(";"),
                reason: remoting_reason(&source),
                source,
            }),
            None => Err(AdminError::NoNamesrv),
        }
    }

    /// Sends `cmd` to one nameserver (for requests every nameserver must see).
    pub async fn call_one_namesrv(
        &self,
        addr: &str,
        cmd: RemotingCommand,
    ) -> Result<RemotingCommand, AdminError> {
        self.call(addr, "nameserver", cmd).await
    }

    /// Sends `cmd` to a broker.
    pub async fn call_broker(
        &self,
        addr: &str,
        cmd: RemotingCommand,
    ) -> Result<RemotingCommand, AdminError> {
        self.call(addr, "broker", cmd).await
    }

    async fn call(
        &self,
        addr: &str,
        role: &'static str,
        cmd: RemotingCommand,
    ) -> Result<RemotingCommand, AdminError> {
        self.remoting
            .invoke(addr, cmd, self.timeout)
            .await
            .map_err(|source| AdminError::Unreachable {
                role,
                addr: addr.to_string(),
                reason: remoting_reason(&source),
                source,
            })
    }

    /// GET_ROUTEINFO_BY_TOPIC; TOPIC_NOT_EXIST becomes [`AdminError::TopicNotExist`].
    pub async fn topic_route(&self, topic: &str) -> Result<TopicRouteData, AdminError> {
        let header = GetRouteInfoRequestHeader {
            topic: topic.to_string(),
            accept_standard_json_only: Some(true),
        };
        let cmd =
            RemotingCommand::request_with_header(RequestCode::GET_ROUTEINFO_BY_TOPIC, &header);
        let (addr, reply) = self.call_namesrv(cmd).await?;
        if reply.code == i32::from(ResponseCode::TOPIC_NOT_EXIST) {
            return Err(AdminError::TopicNotExist(topic.to_string()));
        }
        let reply = check(&addr, RequestCode::GET_ROUTEINFO_BY_TOPIC, reply)?;
        body(&addr, "TopicRouteData", &reply)
    }

    /// GET_BROKER_CLUSTER_INFO.
    pub async fn cluster_info(&self) -> Result<ClusterInfo, AdminError> {
        let cmd = RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO);
        let (addr, reply) = self.call_namesrv(cmd).await?;
        let reply = check(&addr, RequestCode::GET_BROKER_CLUSTER_INFO, reply)?;
        body(&addr, "ClusterInfo", &reply)
    }

    /// GET_ALL_TOPIC_LIST_FROM_NAMESERVER.
    pub async fn topic_list(&self) -> Result<TopicList, AdminError> {
        let cmd = RemotingCommand::request(RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER);
        let (addr, reply) = self.call_namesrv(cmd).await?;
        let reply = check(
            &addr,
            RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
            reply,
        )?;
        body(&addr, "TopicList", &reply)
    }

    /// DELETE_TOPIC_IN_NAMESRV to every nameserver; fails if any of them fails.
    pub async fn delete_topic_in_namesrv(
        &self,
        topic: &str,
        cluster: Option<&str>,
    ) -> Result<(), AdminError> {
        let header = DeleteTopicFromNamesrvRequestHeader {
            topic: topic.to_string(),
            cluster_name: cluster.map(str::to_string),
        };
        self.every_namesrv(RequestCode::DELETE_TOPIC_IN_NAMESRV, &header)
            .await
    }

    /// PUT_KV_CONFIG to every nameserver.
    pub async fn put_kv_config(
        &self,
        namespace: &str,
        key: &str,
        value: &str,
    ) -> Result<(), AdminError> {
        let header = PutKvConfigRequestHeader {
            namespace: namespace.to_string(),
            key: key.to_string(),
            value: value.to_string(),
        };
        self.every_namesrv(RequestCode::PUT_KV_CONFIG, &header)
            .await
    }

    async fn every_namesrv<H: CommandHeader>(
        &self,
        code: RequestCode,
        header: &H,
    ) -> Result<(), AdminError> {
        if self.namesrv.is_empty() {
            return Err(AdminError::NoNamesrv);
        }
        let mut errors = Vec::new();
        for addr in &self.namesrv {
            let cmd = RemotingCommand::request_with_header(code, header);
            let result = self
                .call_one_namesrv(addr, cmd)
                .await
                .and_then(|reply| check(addr, code, reply));
            if let Err(e) = result {
                errors.push(e);
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(AdminError::from_many(errors))
        }
    }

    /// GET_NAMESRV_CONFIG from one nameserver: its `key=value` lines.
    pub async fn namesrv_config(&self, addr: &str) -> Result<Vec<(String, String)>, AdminError> {
        let code = RequestCode::GET_NAMESRV_CONFIG;
        let reply = self
            .call_one_namesrv(addr, RemotingCommand::request(code))
            .await?;
        let reply = check(addr, code, reply)?;
        Ok(parse_properties(&String::from_utf8_lossy(&reply.body)))
    }
}

/// Passes a SUCCESS reply through; turns anything else into an error naming `addr`.
pub fn check(
    addr: &str,
    request: RequestCode,
    reply: RemotingCommand,
) -> Result<RemotingCommand, AdminError> {
    check_named(addr, request.name(), reply)
}

/// [`check`] for a request known only by name.
pub fn check_named(
    addr: &str,
    request: &str,
    reply: RemotingCommand,
) -> Result<RemotingCommand, AdminError> {
    if reply.code == i32::from(ResponseCode::SUCCESS) {
        Ok(reply)
    } else {
        Err(refusal(addr, request, &reply))
    }
}

/// The error for a reply that is not what `request` needed.
pub fn refusal(addr: &str, request: &str, reply: &RemotingCommand) -> AdminError {
    if reply.code == i32::from(ResponseCode::REQUEST_CODE_NOT_SUPPORTED) {
        AdminError::NotSupported {
            addr: addr.to_string(),
            request: request.to_string(),
            command: None,
        }
    } else {
        AdminError::Response {
            addr: addr.to_string(),
            request: request.to_string(),
            code: reply.code,
            remark: reply.remark_str().to_string(),
        }
    }
}

/// Parses a JSON body (fastjson quirks included).
pub fn body<T: DeserializeOwned>(
    addr: &str,
    what: &'static str,
    reply: &RemotingCommand,
) -> Result<T, AdminError> {
    decode_body(&reply.body).map_err(|source| AdminError::BadBody {
        addr: addr.to_string(),
        what,
        source,
    })
}

/// Parses a typed reply header.
pub fn header<H: CommandHeader>(
    addr: &str,
    what: &'static str,
    reply: &RemotingCommand,
) -> Result<H, AdminError> {
    reply
        .decode_header()
        .map_err(|source| AdminError::BadHeader {
            addr: addr.to_string(),
            what,
            source,
        })
}

/// `key=value` lines (Java properties as RocketMQ writes them), in their order; lines
/// without `=` and `#` comments are skipped.
pub fn parse_properties(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namesrv_list_and_properties() {
        assert_eq!(
            parse_namesrv_list(" a:1; ;b:2;"),
            vec!["a:1".to_string(), "b:2".to_string()]
        );
        assert!(parse_namesrv_list("").is_empty());
        assert_eq!(
            parse_properties("# c\nbrokerName=broker-a\nflushDiskType = ASYNC_FLUSH\njunk\n"),
            vec![
                ("brokerName".to_string(), "broker-a".to_string()),
                ("flushDiskType".to_string(), "ASYNC_FLUSH".to_string())
            ]
        );
    }

    #[test]
    fn check_maps_codes() {
        let ok = RemotingCommand::success();
        assert!(check("a", RequestCode::GET_BROKER_CONFIG, ok).is_ok());
        let ns = RemotingCommand::response(ResponseCode::REQUEST_CODE_NOT_SUPPORTED, None);
        assert!(matches!(
            check("a", RequestCode::GET_BROKER_CONFIG, ns),
            Err(AdminError::NotSupported { .. })
        ));
        let err = RemotingCommand::response(ResponseCode::SYSTEM_ERROR, Some("x".into()));
        let e = check("a", RequestCode::GET_BROKER_CONFIG, err).unwrap_err();
        assert_eq!(e.response_code(), Some(1));
    }

    #[tokio::test]
    async fn unreachable_nameserver_is_named() {
        let client = AdminClient::new(vec!["127.0.0.1:1".into()], Duration::from_secs(2));
        let e = client.topic_route("T").await.unwrap_err();
        assert!(
            e.to_string()
                .starts_with("cannot reach nameserver 127.0.0.1:1: "),
            "{e}"
        );
        let none = AdminClient::new(Vec::new(), Duration::from_secs(1));
        assert!(matches!(
            none.cluster_info().await,
            Err(AdminError::NoNamesrv)
        ));
    }
}
