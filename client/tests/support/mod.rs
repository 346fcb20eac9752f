//! An in-process stand-in for a name server and brokers, speaking the RocketMQ remoting
//! protocol through common's `RemotingServer` on 127.0.0.1. It keeps messages in memory and
//! implements what the client SDK uses: routes (with `TBW102` auto-creation), sends (single
//! and batch), long-polling pulls with tag filtering, consumer offsets, heartbeats with
//! NOTIFY_CONSUMER_IDS_CHANGED on membership changes, consumer lists, send-back to the retry
//! topic, and unregistration. Tests can make sends or send-backs fail and push
//! RESET_CONSUMER_CLIENT_OFFSET to clients.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use fennec_common::hash::tag_hash;
use fennec_common::message::batch::decode_batch;
use fennec_common::message::msg_id::offset_msg_id;
use fennec_common::message::properties::keys;
use fennec_common::message::{MessageExt, Properties};
use fennec_common::protocol::body::{
    BrokerData, ConsumerListBody, HeartbeatData, MessageQueue, MqMap, QueueData, ResetOffsetBody,
    SubscriptionData, TopicRouteData,
};
use fennec_common::protocol::header::*;
use fennec_common::protocol::topic::{retry_topic, AUTO_CREATE_TOPIC_KEY};
use fennec_common::protocol::{decode_body, encode_body};
use fennec_common::remoting::{
    Channel, RemotingCommand, RemotingServer, RequestCode, RequestProcessor, ResponseCode,
    ServerConfig,
};
use fennec_common::time::now_millis;
use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Decodes a request header, or returns SYSTEM_ERROR from the enclosing function.
macro_rules! header {
    ($req:expr) => {
        match $req.decode_header() {
            Ok(h) => h,
            Err(e) => return error(ResponseCode::SYSTEM_ERROR, &e.to_string()),
        }
    };
}

/// A consumer as the broker knows it.
struct Member {
    channel: Channel,
    subs: Vec<SubscriptionData>,
}

/// Everything a mock broker holds; tests read and tweak it.
#[derive(Default)]
pub struct BrokerState {
    /// Topic to queue count.
    pub topics: BTreeMap<String, i32>,
    pub auto_create: bool,
    pub queues: HashMap<(String, i32), Vec<MessageExt>>,
    next_phys: i64,
    /// (group, topic, queue id) to committed offset.
    pub offsets: HashMap<(String, String, i32), i64>,
    groups: HashMap<String, BTreeMap<String, Member>>,
    /// Answer sends with this code.
    pub fail_sends: Option<i32>,
    /// Answer send-backs with SYSTEM_ERROR.
    pub refuse_send_back: bool,
    pub send_headers: Vec<SendMessageRequestHeaderV2>,
    pub send_backs: usize,
}

pub struct MockBroker {
    pub name: String,
    pub addr: String,
    socket_addr: SocketAddr,
    pub state: Mutex<BrokerState>,
    arrived: Notify,
}

impl MockBroker {
    pub fn create_topic(&self, topic: &str, queues: i32) {
        self.state.lock().topics.insert(topic.to_string(), queues);
    }

    /// Committed offset of a group's queue.
    pub fn offset(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        self.state
            .lock()
            .offsets
            .get(&(group.to_string(), topic.to_string(), queue_id))
            .copied()
    }

    pub fn messages(&self, topic: &str) -> usize {
        self.state
            .lock()
            .queues
            .iter()
            .filter(|((t, _), _)| t == topic)
            .map(|(_, v)| v.len())
            .sum()
    }

    pub fn members(&self, group: &str) -> Vec<String> {
        self.state
            .lock()
            .groups
            .get(group)
            .map(|g| g.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Sends `cmd` to the first member of `group` and returns its answer.
    pub async fn ask_member(&self, group: &str, cmd: RemotingCommand) -> RemotingCommand {
        let channel = self
            .state
            .lock()
            .groups
            .get(group)
            .and_then(|g| g.values().next().map(|m| m.channel.clone()))
            .expect("a member of the group");
        channel
            .request(cmd, Duration::from_secs(3))
            .await
            .expect("an answer from the client")
    }

    /// Sends RESET_CONSUMER_CLIENT_OFFSET to every member of `group`.
    pub async fn reset_offsets(&self, group: &str, topic: &str, offsets: Vec<(MessageQueue, i64)>) {
        let channels: Vec<Channel> = self
            .state
            .lock()
            .groups
            .get(group)
            .map(|g| g.values().map(|m| m.channel.clone()).collect())
            .unwrap_or_default();
        let header = ResetOffsetRequestHeader {
            topic: topic.to_string(),
            group: group.to_string(),
            timestamp: 0,
            is_force: true,
            queue_id: None,
            offset: None,
        };
        let body = ResetOffsetBody {
            offset_table: MqMap(offsets),
        }
        .to_json();
        for ch in channels {
            let cmd = RemotingCommand::request_with_header(
                RequestCode::RESET_CONSUMER_CLIENT_OFFSET,
                &header,
            )
            .with_body(body.clone().into_bytes());
            let _ = ch.oneway(cmd).await;
        }
    }

    fn notify_group(state: &BrokerState, group: &str) {
        let Some(members) = state.groups.get(group) else {
            return;
        };
        for m in members.values() {
            let cmd = RemotingCommand::request_with_header(
                RequestCode::NOTIFY_CONSUMER_IDS_CHANGED,
                &ConsumerGroupRequestHeader {
                    consumer_group: group.to_string(),
                },
            )
            .oneway();
            let ch = m.channel.clone();
            tokio::spawn(async move {
                let _ = ch.send(cmd).await;
            });
        }
    }

    fn store(&self, state: &mut BrokerState, mut msg: MessageExt) -> (i64, String) {
        let queue = state
            .queues
            .entry((msg.topic.clone(), msg.queue_id))
            .or_default();
        msg.queue_offset = queue.len() as i64;
        msg.commit_log_offset = state.next_phys;
        msg.store_timestamp = now_millis();
        msg.store_host = self.socket_addr;
        state.next_phys += 1000;
        let id = offset_msg_id(&msg.store_host, msg.commit_log_offset);
        let offset = msg.queue_offset;
        queue.push(msg);
        (offset, id)
    }

    fn send(&self, channel: &Channel, req: &RemotingCommand) -> RemotingCommand {
        let h: SendMessageRequestHeaderV2 = header!(req);
        let mut state = self.state.lock();
        state.send_headers.push(h.clone());
        if let Some(code) = state.fail_sends {
            return RemotingCommand {
                code,
                remark: Some("mock failure".into()),
                ..RemotingCommand::success()
            };
        }
        if !state.topics.contains_key(&h.topic) {
            if state.auto_create && h.default_topic == AUTO_CREATE_TOPIC_KEY {
                state
                    .topics
                    .insert(h.topic.clone(), h.default_topic_queue_nums.min(8));
            } else {
                return error(ResponseCode::TOPIC_NOT_EXIST, "no such topic");
            }
        }
        let batch_props = Properties::decode(h.properties.as_deref().unwrap_or(""));
        let base = MessageExt {
            topic: h.topic.clone(),
            flag: h.flag,
            queue_id: h.queue_id.max(0),
            sys_flag: h.sys_flag,
            born_timestamp: h.born_timestamp,
            born_host: channel.remote_addr(),
            reconsume_times: h.reconsume_times.unwrap_or(0),
            ..Default::default()
        };
        let msgs: Vec<MessageExt> = if h.batch == Some(true) {
            match decode_batch(&req.body) {
                Ok(items) => items
                    .iter()
                    .map(|it| MessageExt {
                        flag: it.flag,
                        properties: Properties::decode(it.properties),
                        body: Bytes::copy_from_slice(it.body),
                        ..base.clone()
                    })
                    .collect(),
                Err(e) => return error(ResponseCode::MESSAGE_ILLEGAL, &e.to_string()),
            }
        } else {
            vec![MessageExt {
                properties: batch_props.clone(),
                body: req.body.clone(),
                ..base
            }]
        };
        let mut ids = Vec::new();
        let mut first = None;
        for m in msgs {
            let (offset, id) = self.store(&mut state, m);
            first.get_or_insert(offset);
            ids.push(id);
        }
        drop(state);
        self.arrived.notify_waiters();
        let mut resp = RemotingCommand::success()
            .with_ext("msgId", ids.join(","))
            .with_ext("queueId", h.queue_id.max(0).to_string())
            .with_ext("queueOffset", first.unwrap_or(0).to_string())
            .with_ext("MSG_REGION", "DefaultRegion")
            .with_ext("TRACE_ON", "true");
        if let Some(uniq) = batch_props.get(keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX) {
            resp = resp.with_ext("transactionId", uniq);
        }
        resp
    }

    async fn pull(&self, req: &RemotingCommand) -> RemotingCommand {
        let h: PullMessageRequestHeader = header!(req);
        let sub = if h.sys_flag & PULL_FLAG_SUBSCRIPTION != 0 {
            SubscriptionData::from_tag_expression(
                &h.topic,
                h.subscription.as_deref().unwrap_or("*"),
                0,
            )
        } else {
            let state = self.state.lock();
            let found = state.groups.get(&h.consumer_group).and_then(|g| {
                g.values()
                    .flat_map(|m| m.subs.iter())
                    .find(|s| s.topic == h.topic)
                    .cloned()
            });
            match found {
                Some(s) => s,
                None => return error(ResponseCode::SUBSCRIPTION_NOT_EXIST, "no subscription"),
            }
        };
        if h.sys_flag & PULL_FLAG_COMMIT_OFFSET != 0 {
            self.state.lock().offsets.insert(
                (h.consumer_group.clone(), h.topic.clone(), h.queue_id),
                h.commit_offset,
            );
        }
        let hold = if h.sys_flag & PULL_FLAG_SUSPEND != 0 {
            Duration::from_millis(h.suspend_timeout_millis.max(0) as u64)
        } else {
            Duration::ZERO
        };
        let deadline = tokio::time::Instant::now() + hold;
        loop {
            let notified = self.arrived.notified();
            let (body, examined, found, max) = {
                let state = self.state.lock();
                let queue = state
                    .queues
                    .get(&(h.topic.clone(), h.queue_id))
                    .map(Vec::as_slice)
                    .unwrap_or(&[]);
                let max = queue.len() as i64;
                let mut body = Vec::new();
                let (mut examined, mut found) = (0i64, 0);
                for m in queue.iter().skip(h.queue_offset.max(0) as usize) {
                    if found >= h.max_msg_nums {
                        break;
                    }
                    examined += 1;
                    if let (true, Ok(record)) =
                        (sub.matches_tag_code(tag_hash(m.tags())), m.encode())
                    {
                        body.extend(record);
                        found += 1;
                    }
                }
                (body, examined, found, max)
            };
            let header = |code: ResponseCode, next: i64| {
                RemotingCommand::response(code, None)
                    .with_ext("suggestWhichBrokerId", "0")
                    .with_ext("nextBeginOffset", next.to_string())
                    .with_ext("minOffset", "0")
                    .with_ext("maxOffset", max.to_string())
            };
            if h.queue_offset > max {
                return header(ResponseCode::PULL_OFFSET_MOVED, max);
            }
            let next = h.queue_offset + examined;
            if found > 0 {
                return header(ResponseCode::SUCCESS, next).with_body(body);
            }
            if examined > 0 {
                return header(ResponseCode::PULL_RETRY_IMMEDIATELY, next);
            }
            if tokio::time::Instant::now() >= deadline {
                return header(ResponseCode::PULL_NOT_FOUND, next);
            }
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep_until(deadline) => {}
            }
        }
    }

    fn heartbeat(&self, channel: &Channel, req: &RemotingCommand) -> RemotingCommand {
        let hb: HeartbeatData = match decode_body(&req.body) {
            Ok(h) => h,
            Err(e) => return error(ResponseCode::SYSTEM_ERROR, &e.to_string()),
        };
        let mut state = self.state.lock();
        for c in hb.consumer_data_set {
            state.topics.entry(retry_topic(&c.group_name)).or_insert(1);
            let group = state.groups.entry(c.group_name.clone()).or_default();
            let is_new = !group.contains_key(&hb.client_id);
            group.insert(
                hb.client_id.clone(),
                Member {
                    channel: channel.clone(),
                    subs: c.subscription_data_set,
                },
            );
            if is_new {
                Self::notify_group(&state, &c.group_name);
            }
        }
        RemotingCommand::success()
    }

    fn remove_member(&self, group: Option<&str>, matches: impl Fn(&str, &Member) -> bool) {
        let mut state = self.state.lock();
        let mut changed = Vec::new();
        for (name, members) in state.groups.iter_mut() {
            if group.is_some_and(|g| g != name) {
                continue;
            }
            let before = members.len();
            members.retain(|id, m| !matches(id, m));
            if members.len() != before {
                changed.push(name.clone());
            }
        }
        for g in changed {
            Self::notify_group(&state, &g);
        }
    }

    fn send_back(&self, req: &RemotingCommand) -> RemotingCommand {
        let h: ConsumerSendMsgBackRequestHeader = header!(req);
        let mut state = self.state.lock();
        if state.refuse_send_back {
            return error(ResponseCode::SYSTEM_ERROR, "send-back refused");
        }
        let Some(original) = state
            .queues
            .values()
            .flatten()
            .find(|m| m.commit_log_offset == h.offset)
            .cloned()
        else {
            return error(ResponseCode::SYSTEM_ERROR, "no such message");
        };
        let retry = retry_topic(&h.group);
        state.topics.entry(retry.clone()).or_insert(1);
        let mut m = original;
        if m.properties.get(keys::RETRY_TOPIC).is_none() {
            m.properties.insert(keys::RETRY_TOPIC, m.topic.clone());
        }
        m.topic = retry;
        m.queue_id = 0;
        m.reconsume_times += 1;
        state.send_backs += 1;
        self.store(&mut state, m);
        drop(state);
        self.arrived.notify_waiters();
        RemotingCommand::success()
    }

    fn offsets(&self, req: &RemotingCommand) -> RemotingCommand {
        let code = req.request_code_enum();
        let mut state = self.state.lock();
        let offset = match code {
            Some(RequestCode::QUERY_CONSUMER_OFFSET) => {
                let h: QueryConsumerOffsetRequestHeader = header!(req);
                match state.offsets.get(&(h.consumer_group, h.topic, h.queue_id)) {
                    Some(o) => *o,
                    None => return error(ResponseCode::QUERY_NOT_FOUND, "not found"),
                }
            }
            Some(RequestCode::UPDATE_CONSUMER_OFFSET) => {
                let h: UpdateConsumerOffsetRequestHeader = header!(req);
                state
                    .offsets
                    .insert((h.consumer_group, h.topic, h.queue_id), h.commit_offset);
                return RemotingCommand::success();
            }
            Some(RequestCode::GET_MAX_OFFSET) => {
                let h: GetMaxOffsetRequestHeader = header!(req);
                state
                    .queues
                    .get(&(h.topic, h.queue_id))
                    .map_or(0, |q| q.len() as i64)
            }
            Some(RequestCode::GET_MIN_OFFSET) => 0,
            _ => {
                let h: SearchOffsetRequestHeader = header!(req);
                let q = state.queues.entry((h.topic, h.queue_id)).or_default();
                q.iter()
                    .position(|m| m.store_timestamp >= h.timestamp)
                    .unwrap_or(q.len()) as i64
            }
        };
        RemotingCommand::success().with_ext("offset", offset.to_string())
    }
}

fn error(code: ResponseCode, remark: &str) -> RemotingCommand {
    RemotingCommand::response(code, Some(remark.to_string()))
}

impl RequestProcessor for MockBroker {
    async fn process(&self, channel: Channel, req: RemotingCommand) -> Option<RemotingCommand> {
        Some(self.handle(&channel, &req).await)
    }

    fn on_close(&self, channel: &Channel) {
        let closed = channel.clone();
        self.remove_member(None, move |_, m| m.channel == closed);
    }
}

impl MockBroker {
    async fn handle(&self, channel: &Channel, req: &RemotingCommand) -> RemotingCommand {
        match req.request_code_enum() {
            Some(RequestCode::SEND_MESSAGE_V2 | RequestCode::SEND_BATCH_MESSAGE) => {
                self.send(channel, req)
            }
            Some(RequestCode::PULL_MESSAGE) => self.pull(req).await,
            Some(RequestCode::HEART_BEAT) => self.heartbeat(channel, req),
            Some(RequestCode::UNREGISTER_CLIENT) => {
                let h: UnregisterClientRequestHeader = header!(req);
                if let Some(g) = h.consumer_group.as_deref() {
                    self.remove_member(Some(g), |id, _| id == h.client_id);
                }
                RemotingCommand::success()
            }
            Some(RequestCode::GET_CONSUMER_LIST_BY_GROUP) => {
                let h: ConsumerGroupRequestHeader = header!(req);
                let ids = self.members(&h.consumer_group);
                if ids.is_empty() {
                    error(ResponseCode::SYSTEM_ERROR, "no consumer")
                } else {
                    RemotingCommand::success().with_body(encode_body(&ConsumerListBody {
                        consumer_id_list: ids,
                    }))
                }
            }
            Some(RequestCode::CONSUMER_SEND_MSG_BACK) => self.send_back(req),
            Some(
                RequestCode::QUERY_CONSUMER_OFFSET
                | RequestCode::UPDATE_CONSUMER_OFFSET
                | RequestCode::GET_MAX_OFFSET
                | RequestCode::GET_MIN_OFFSET
                | RequestCode::SEARCH_OFFSET_BY_TIMESTAMP,
            ) => self.offsets(req),
            _ => error(ResponseCode::REQUEST_CODE_NOT_SUPPORTED, "not supported"),
        }
    }
}

/// Answers GET_ROUTEINFO_BY_TOPIC from the brokers' topic tables.
struct MockNamesrv {
    brokers: Vec<Arc<MockBroker>>,
}

impl RequestProcessor for MockNamesrv {
    async fn process(&self, _channel: Channel, req: RemotingCommand) -> Option<RemotingCommand> {
        Some(self.route(&req))
    }
}

impl MockNamesrv {
    fn route(&self, req: &RemotingCommand) -> RemotingCommand {
        if req.request_code_enum() != Some(RequestCode::GET_ROUTEINFO_BY_TOPIC) {
            return error(ResponseCode::REQUEST_CODE_NOT_SUPPORTED, "not supported");
        }
        let h: GetRouteInfoRequestHeader = header!(req);
        let mut route = TopicRouteData::default();
        for b in &self.brokers {
            let state = b.state.lock();
            let (queues, perm) = match state.topics.get(&h.topic) {
                Some(n) => (*n, 6),
                None if h.topic == AUTO_CREATE_TOPIC_KEY && state.auto_create => (8, 7),
                None => continue,
            };
            route.broker_datas.push(BrokerData {
                broker_addrs: BTreeMap::from([(0, b.addr.clone())]),
                broker_name: b.name.clone(),
                cluster: "DefaultCluster".into(),
                enable_acting_master: false,
                zone_name: None,
            });
            route.queue_datas.push(QueueData {
                broker_name: b.name.clone(),
                perm,
                read_queue_nums: queues,
                topic_sys_flag: 0,
                write_queue_nums: queues,
            });
        }
        if route.queue_datas.is_empty() {
            error(ResponseCode::TOPIC_NOT_EXIST, "no route")
        } else {
            RemotingCommand::success().with_body(encode_body(&route))
        }
    }
}

/// A name server and brokers, stopped on drop.
pub struct Cluster {
    pub namesrv: String,
    pub brokers: Vec<Arc<MockBroker>>,
    token: CancellationToken,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.token.cancel();
    }
}

async fn bind() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("bound address");
    (listener, addr)
}

impl Cluster {
    /// Brokers named `names`, each hosting `topics` (name, queue count).
    pub async fn start(names: &[&str], topics: &[(&str, i32)]) -> Cluster {
        let token = CancellationToken::new();
        let config = ServerConfig {
            shutdown_grace: Duration::from_millis(100),
            ..Default::default()
        };
        let mut brokers = Vec::new();
        for name in names {
            let (listener, addr) = bind().await;
            let broker = Arc::new(MockBroker {
                name: name.to_string(),
                addr: addr.to_string(),
                socket_addr: addr,
                state: Mutex::new(BrokerState::default()),
                arrived: Notify::new(),
            });
            for (t, n) in topics {
                broker.create_topic(t, *n);
            }
            tokio::spawn(RemotingServer::serve(
                listener,
                broker.clone(),
                config.clone(),
                token.child_token(),
            ));
            brokers.push(broker);
        }
        let (listener, addr) = bind().await;
        tokio::spawn(RemotingServer::serve(
            listener,
            Arc::new(MockNamesrv {
                brokers: brokers.clone(),
            }),
            config,
            token.child_token(),
        ));
        Cluster {
            namesrv: addr.to_string(),
            brokers,
            token,
        }
    }

    pub fn broker(&self, name: &str) -> &Arc<MockBroker> {
        self.brokers
            .iter()
            .find(|b| b.name == name)
            .expect("a broker of that name")
    }
}

/// Polls `cond` until it holds or `secs` pass.
pub async fn eventually(what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
