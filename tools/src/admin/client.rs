//! [`AdminClient`]: a remoting client plus the nameserver list. Requests are the typed
//! requests of `fennec_protocol::request`, sent with [`AdminClient::namesrv`] (each
//! nameserver in order until one answers) or [`AdminClient::broker`]; a few methods add what
//! the commands need on top. Refusals become [`AdminError::Response`] (code, remark and
//! address), REQUEST_CODE_NOT_SUPPORTED becomes [`AdminError::NotSupported`].
//!
//! This file holds the plumbing and the nameserver requests; `broker_api.rs` and
//! `message_api.rs` add the broker requests. Integration tests use this type directly.

use std::time::Duration;

use fennec_protocol::body::{ClusterInfo, TopicList, TopicRouteData};
use fennec_protocol::header::{
    DeleteTopicFromNamesrvRequestHeader, GetRouteInfoRequestHeader, PutKvConfigRequestHeader,
};
use fennec_protocol::request::namesrv::{GetAllTopicList, GetBrokerClusterInfo, GetNamesrvConfig};
use fennec_protocol::request::{ReplyError, Request};
use fennec_remoting::{CallError, NotSupported, RemotingClient, ResponseCode};

use super::error::{remoting_reason, AdminError};

/// Default per-request timeout (RocketMQ's admin default).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(3000);

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
        Self::with_config(namesrv, timeout, fennec_remoting::ClientConfig::default())
    }

    /// [`new`](Self::new) with connection settings (TLS, request signing).
    pub fn with_config(
        namesrv: Vec<String>,
        timeout: Duration,
        config: fennec_remoting::ClientConfig,
    ) -> Self {
        AdminClient {
            remoting: RemotingClient::new(std::sync::Arc::new(NotSupported), config),
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

    /// Sends `request` to the first nameserver that answers; returns its address and the
    /// decoded answer. Only an unreachable nameserver makes it try the next one.
    pub async fn namesrv<R: Request>(&self, request: &R) -> Result<(String, R::Reply), AdminError> {
        let mut last = None;
        for addr in &self.namesrv {
            match self.remoting.call(addr, request, self.timeout).await {
                Ok(reply) => return Ok((addr.clone(), reply)),
                Err(CallError::Remoting(source)) => {
                    tracing::debug!(%addr, "nameserver failed: {source}");
                    last = Some(source);
                }
                Err(e) => return Err(admin_error("nameserver", addr, e)),
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

    /// Sends `request` to one nameserver (for requests every nameserver must see).
    pub async fn one_namesrv<R: Request>(
        &self,
        addr: &str,
        request: &R,
    ) -> Result<R::Reply, AdminError> {
        self.call(addr, "nameserver", request).await
    }

    /// Sends `request` to a broker.
    pub async fn broker<R: Request>(
        &self,
        addr: &str,
        request: &R,
    ) -> Result<R::Reply, AdminError> {
        self.call(addr, "broker", request).await
    }

    async fn call<R: Request>(
        &self,
        addr: &str,
        role: &'static str,
        request: &R,
    ) -> Result<R::Reply, AdminError> {
        self.remoting
            .call(addr, request, self.timeout)
            .await
            .map_err(|e| admin_error(role, addr, e))
    }

    /// GET_ROUTEINFO_BY_TOPIC; TOPIC_NOT_EXIST becomes [`AdminError::TopicNotExist`].
    pub async fn topic_route(&self, topic: &str) -> Result<TopicRouteData, AdminError> {
        let request = GetRouteInfoRequestHeader {
            topic: topic.to_string(),
            accept_standard_json_only: Some(true),
        };
        self.namesrv(&request)
            .await?
            .1
            .ok_or_else(|| AdminError::TopicNotExist(topic.to_string()))
    }

    /// GET_BROKER_CLUSTER_INFO.
    pub async fn cluster_info(&self) -> Result<ClusterInfo, AdminError> {
        Ok(self.namesrv(&GetBrokerClusterInfo).await?.1)
    }

    /// GET_ALL_TOPIC_LIST_FROM_NAMESERVER.
    pub async fn topic_list(&self) -> Result<TopicList, AdminError> {
        Ok(self.namesrv(&GetAllTopicList).await?.1)
    }

    /// DELETE_TOPIC_IN_NAMESRV to every nameserver; fails if any of them fails.
    pub async fn delete_topic_in_namesrv(
        &self,
        topic: &str,
        cluster: Option<&str>,
    ) -> Result<(), AdminError> {
        let request = DeleteTopicFromNamesrvRequestHeader {
            topic: topic.to_string(),
            cluster_name: cluster.map(str::to_string),
        };
        self.every_namesrv(&request).await
    }

    /// PUT_KV_CONFIG to every nameserver.
    pub async fn put_kv_config(
        &self,
        namespace: &str,
        key: &str,
        value: &str,
    ) -> Result<(), AdminError> {
        let request = PutKvConfigRequestHeader {
            namespace: namespace.to_string(),
            key: key.to_string(),
            value: value.to_string(),
        };
        self.every_namesrv(&request).await
    }

    async fn every_namesrv<R: Request<Reply = ()>>(&self, request: &R) -> Result<(), AdminError> {
        if self.namesrv.is_empty() {
            return Err(AdminError::NoNamesrv);
        }
        let mut errors = Vec::new();
        for addr in &self.namesrv {
            if let Err(e) = self.one_namesrv(addr, request).await {
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
        let text = self.one_namesrv(addr, &GetNamesrvConfig).await?;
        Ok(parse_properties(&text))
    }
}

/// A failed typed call to the `role` at `addr` as an [`AdminError`].
pub fn admin_error(role: &'static str, addr: &str, e: CallError) -> AdminError {
    let addr = addr.to_string();
    match e {
        CallError::Remoting(source) => AdminError::Unreachable {
            role,
            reason: remoting_reason(&source),
            addr,
            source,
        },
        CallError::Reply {
            request, source, ..
        } => match source {
            ReplyError::Refused { code, .. }
                if code == i32::from(ResponseCode::REQUEST_CODE_NOT_SUPPORTED) =>
            {
                AdminError::NotSupported {
                    addr,
                    request: request.to_string(),
                    command: None,
                }
            }
            ReplyError::Refused { code, remark } => AdminError::Response {
                addr,
                request: request.to_string(),
                code,
                remark,
            },
            ReplyError::Header { what, source } => AdminError::BadHeader { addr, what, source },
            ReplyError::Body { what, source } => AdminError::BadBody { addr, what, source },
        },
    }
}

/// The `key=value` pairs of a configuration answer (Java properties text, read with the
/// servers' own parser), in their order.
pub fn parse_properties(text: &str) -> Vec<(String, String)> {
    fennec_common::properties_file::parse(text, "configuration answer")
        .map(|props| props.into_iter().map(|p| (p.key, p.value)).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use fennec_remoting::RemotingCommand;

    #[test]
    fn namesrv_list_and_properties() {
        assert_eq!(
            parse_properties("# c\nbrokerName=broker-a\nflushDiskType = ASYNC_FLUSH\n"),
            vec![
                ("brokerName".to_string(), "broker-a".to_string()),
                ("flushDiskType".to_string(), "ASYNC_FLUSH".to_string())
            ]
        );
    }

    #[test]
    fn refusals_map_to_errors() {
        let refusal = |code: ResponseCode| CallError::Reply {
            addr: "a".into(),
            request: "GET_BROKER_CONFIG",
            source: ReplyError::refused(&RemotingCommand::response(code, Some("x".into()))),
        };
        assert!(matches!(
            admin_error(
                "broker",
                "a",
                refusal(ResponseCode::REQUEST_CODE_NOT_SUPPORTED)
            ),
            AdminError::NotSupported { .. }
        ));
        let e = admin_error("broker", "a", refusal(ResponseCode::SYSTEM_ERROR));
        assert_eq!(e.response_code(), Some(1));
        assert_eq!(
            e.to_string(),
            "a refused GET_BROKER_CONFIG: SYSTEM_ERROR (1): x"
        );
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
