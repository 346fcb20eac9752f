//! Every mqadmin sub-command end to end against an in-process fake nameserver+broker (one
//! remoting server answering both roles' request codes from a small in-memory store). It
//! checks the wire side (headers, fastjson bodies, records) and the command logic; the
//! tests against the real nameserver and broker processes live in the workspace `tests/`.

#![cfg(test)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use clap::Parser;
use fennec_common::message::{MessageExt, Properties};
use fennec_common::protocol::body::*;
use fennec_common::protocol::encode_body;
use fennec_common::protocol::header::*;
use fennec_common::remoting::{
    Channel, RemotingCommand, RemotingServer, RequestCode as Rc, RequestProcessor, ResponseCode,
    ServerConfig,
};
use fennec_common::time::now_millis;
use fennec_tools::admin::cli::{run, Cli, Outcome};
use fennec_tools::admin::AdminError;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

const QUEUES: i32 = 2;

struct Fake {
    addr: String,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    msgs: Vec<MessageExt>,
    next_commit: i64,
    offsets: HashMap<i32, i64>,
    online: bool,
    config: BTreeMap<String, String>,
}

fn ok(body: impl Into<Bytes>) -> RemotingCommand {
    RemotingCommand::success().with_body(body)
}

fn code(c: ResponseCode) -> RemotingCommand {
    RemotingCommand::response(c, Some(format!("fake says {}", c.name())))
}

impl Fake {
    fn route(&self, topic: &str) -> Option<TopicRouteData> {
        (topic == "T" || topic == "%RETRY%G").then(|| TopicRouteData {
            broker_datas: vec![BrokerData {
                broker_addrs: BTreeMap::from([(0, self.addr.clone())]),
                broker_name: "broker-a".into(),
                cluster: "C".into(),
                ..Default::default()
            }],
            queue_datas: vec![QueueData {
                broker_name: "broker-a".into(),
                perm: 6,
                read_queue_nums: QUEUES,
                write_queue_nums: QUEUES,
                topic_sys_flag: 0,
            }],
            ..Default::default()
        })
    }

    fn queue(st: &State, q: i32) -> Vec<&MessageExt> {
        st.msgs.iter().filter(|m| m.queue_id == q).collect()
    }

    fn records<'a>(msgs: impl Iterator<Item = &'a MessageExt>) -> Vec<u8> {
        msgs.flat_map(|m| m.encode().unwrap()).collect()
    }

    fn handle(&self, req: &RemotingCommand) -> RemotingCommand {
        let mut st = self.state.lock().unwrap();
        let Ok(c) = Rc::try_from(req.code) else {
            return code(ResponseCode::REQUEST_CODE_NOT_SUPPORTED);
        };
        match c {
            Rc::GET_ROUTEINFO_BY_TOPIC => {
                let h: GetRouteInfoRequestHeader = req.decode_header().unwrap();
                match self.route(&h.topic) {
                    Some(r) => ok(encode_body(&r)),
                    None => code(ResponseCode::TOPIC_NOT_EXIST),
                }
            }
            Rc::GET_BROKER_CLUSTER_INFO => ok(encode_body(&ClusterInfo {
                broker_addr_table: BTreeMap::from([(
                    "broker-a".into(),
                    self.route("T").unwrap().broker_datas.remove(0),
                )]),
                cluster_addr_table: BTreeMap::from([(
                    "C".into(),
                    BTreeSet::from(["broker-a".into()]),
                )]),
            })),
            Rc::GET_ALL_TOPIC_LIST_FROM_NAMESERVER => ok(encode_body(&TopicList {
                broker_addr: None,
                topic_list: BTreeSet::from(["T".into(), "%RETRY%G".into()]),
            })),
            Rc::UPDATE_AND_CREATE_TOPIC
            | Rc::DELETE_TOPIC_IN_BROKER
            | Rc::DELETE_TOPIC_IN_NAMESRV
            | Rc::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP => RemotingCommand::success(),
            Rc::PUT_KV_CONFIG => {
                let h: PutKvConfigRequestHeader = req.decode_header().unwrap();
                st.config
                    .insert(format!("{}/{}", h.namespace, h.key), h.value);
                RemotingCommand::success()
            }
            Rc::SEND_MESSAGE_V2 => {
                let h: SendMessageRequestHeaderV2 = req.decode_header().unwrap();
                let props = Properties::decode(h.properties.as_deref().unwrap_or(""));
                let store_host: SocketAddr = self.addr.parse().unwrap();
                let mut m = MessageExt {
                    topic: h.topic,
                    properties: props,
                    body: req.body.clone(),
                    sys_flag: h.sys_flag,
                    queue_id: h.queue_id,
                    queue_offset: Fake::queue(&st, h.queue_id).len() as i64,
                    commit_log_offset: st.next_commit,
                    born_timestamp: h.born_timestamp,
                    born_host: "127.0.0.1:5555".parse().unwrap(),
                    store_timestamp: now_millis() + st.msgs.len() as i64,
                    store_host,
                    ..Default::default()
                };
                m.store_size = m.encode().unwrap().len() as i32;
                m.msg_id =
                    fennec_common::message::msg_id::offset_msg_id(&store_host, m.commit_log_offset);
                st.next_commit += i64::from(m.store_size);
                let reply = SendMessageResponseHeader {
                    msg_id: m.msg_id.clone(),
                    queue_id: m.queue_id,
                    queue_offset: m.queue_offset,
                    transaction_id: m.properties.get("UNIQ_KEY").map(str::to_string),
                    ..Default::default()
                };
                st.msgs.push(m);
                RemotingCommand::success().with_header(&reply)
            }
            Rc::QUERY_MESSAGE => {
                // Every message of the topic, as if they all shared the key's hash slot.
                let h: QueryMessageRequestHeader = req.decode_header().unwrap();
                let hits: Vec<_> = st.msgs.iter().filter(|m| m.topic == h.topic).collect();
                if hits.is_empty() {
                    return code(ResponseCode::QUERY_NOT_FOUND);
                }
                ok(Fake::records(hits.into_iter()))
            }
            Rc::VIEW_MESSAGE_BY_ID => {
                let h: ViewMessageRequestHeader = req.decode_header().unwrap();
                match st.msgs.iter().find(|m| m.commit_log_offset == h.offset) {
                    Some(m) => ok(m.encode().unwrap()),
                    None => code(ResponseCode::SYSTEM_ERROR),
                }
            }
            Rc::PULL_MESSAGE => {
                let h: PullMessageRequestHeader = req.decode_header().unwrap();
                assert_eq!(
                    h.sys_flag & PULL_FLAG_COMMIT_OFFSET,
                    0,
                    "tools never commit"
                );
                let q = Fake::queue(&st, h.queue_id);
                let found: Vec<_> = q
                    .iter()
                    .filter(|m| m.queue_offset >= h.queue_offset)
                    .take(h.max_msg_nums as usize)
                    .copied()
                    .collect();
                let next = found.last().map_or(h.queue_offset, |m| m.queue_offset + 1);
                let header = PullMessageResponseHeader {
                    next_begin_offset: next,
                    max_offset: q.len() as i64,
                    ..Default::default()
                };
                let reply = if found.is_empty() {
                    code(ResponseCode::PULL_NOT_FOUND)
                } else {
                    ok(Fake::records(found.into_iter()))
                };
                reply.with_header(&header)
            }
            Rc::GET_MAX_OFFSET | Rc::GET_MIN_OFFSET | Rc::SEARCH_OFFSET_BY_TIMESTAMP => {
                let q = req.ext("queueId").unwrap().parse().unwrap();
                let ts: i64 = req.ext("timestamp").map_or(0, |t| t.parse().unwrap());
                let queue = Fake::queue(&st, q);
                let offset = match c {
                    Rc::GET_MIN_OFFSET => 0,
                    Rc::GET_MAX_OFFSET => queue.len() as i64,
                    _ => queue
                        .iter()
                        .find(|m| m.store_timestamp >= ts)
                        .map_or(queue.len() as i64, |m| m.queue_offset),
                };
                RemotingCommand::success().with_header(&OffsetResponseHeader { offset })
            }
            Rc::QUERY_CONSUMER_OFFSET => {
                let q: i32 = req.ext("queueId").unwrap().parse().unwrap();
                match st.offsets.get(&q) {
                    Some(o) => {
                        RemotingCommand::success().with_header(&OffsetResponseHeader { offset: *o })
                    }
                    None => code(ResponseCode::QUERY_NOT_FOUND),
                }
            }
            Rc::UPDATE_CONSUMER_OFFSET => {
                let h: UpdateConsumerOffsetRequestHeader = req.decode_header().unwrap();
                st.offsets.insert(h.queue_id, h.commit_offset);
                RemotingCommand::success()
            }
            Rc::GET_CONSUME_STATS => {
                let table = (0..QUEUES)
                    .map(|q| {
                        let w = OffsetWrapper {
                            broker_offset: Fake::queue(&st, q).len() as i64,
                            consumer_offset: st.offsets.get(&q).copied().unwrap_or(0),
                            last_timestamp: 0,
                            pull_offset: 0,
                        };
                        (MessageQueue::new("T", "broker-a", q), w)
                    })
                    .collect();
                let stats = ConsumeStats {
                    consume_tps: 2.5,
                    offset_table: MqMap(table),
                };
                ok(stats.to_json())
            }
            Rc::INVOKE_BROKER_TO_RESET_OFFSET if !st.online => {
                code(ResponseCode::CONSUMER_NOT_ONLINE)
            }
            Rc::INVOKE_BROKER_TO_RESET_OFFSET => {
                let table = (0..QUEUES)
                    .map(|q| (MessageQueue::new("T", "broker-a", q), 0))
                    .collect();
                for q in 0..QUEUES {
                    st.offsets.insert(q, 0);
                }
                ok(ResetOffsetBody {
                    offset_table: MqMap(table),
                }
                .to_json())
            }
            Rc::GET_CONSUMER_CONNECTION_LIST if !st.online => {
                code(ResponseCode::CONSUMER_NOT_ONLINE)
            }
            Rc::GET_CONSUMER_CONNECTION_LIST => ok(encode_body(&ConsumerConnection {
                connection_set: vec![Connection::default(), Connection::default()],
                ..Default::default()
            })),
            Rc::GET_ALL_SUBSCRIPTIONGROUP_CONFIG => ok(encode_body(&SubscriptionGroupWrapper {
                subscription_group_table: BTreeMap::from([
                    ("G".into(), SubscriptionGroupConfig::named("G")),
                    (
                        "TOOLS_CONSUMER".into(),
                        SubscriptionGroupConfig::named("TOOLS_CONSUMER"),
                    ),
                ]),
                ..Default::default()
            })),
            Rc::GET_BROKER_RUNTIME_INFO => ok(encode_body(&KvTable {
                table: BTreeMap::from([
                    ("brokerVersionDesc".into(), "V4_9_8".into()),
                    ("putTps".into(), "4.0 3.0 2.0".into()),
                    ("getTransferredTps".into(), "1.5 1 1".into()),
                    ("msgPutTotalTodayNow".into(), st.msgs.len().to_string()),
                ]),
            })),
            Rc::GET_TOPIC_STATS_INFO => {
                let table = (0..QUEUES)
                    .map(|q| {
                        let n = Fake::queue(&st, q).len() as i64;
                        let o = TopicOffset {
                            last_update_timestamp: 0,
                            max_offset: n,
                            min_offset: 0,
                        };
                        (MessageQueue::new("T", "broker-a", q), o)
                    })
                    .collect();
                ok(TopicStatsTable {
                    offset_table: MqMap(table),
                    topic_put_tps: 0.0,
                }
                .to_json())
            }
            Rc::GET_BROKER_CONFIG => {
                let text: String = st
                    .config
                    .iter()
                    .map(|(k, v)| format!("{k}={v}\n"))
                    .collect();
                ok(text)
            }
            Rc::UPDATE_BROKER_CONFIG => {
                let body = String::from_utf8(req.body.to_vec()).unwrap();
                for (k, v) in body.lines().filter_map(|l| l.split_once('=')) {
                    st.config.insert(k.into(), v.into());
                }
                RemotingCommand::success()
            }
            _ => code(ResponseCode::REQUEST_CODE_NOT_SUPPORTED),
        }
    }
}

struct Processor(Arc<Fake>);

impl RequestProcessor for Processor {
    async fn process(&self, _channel: Channel, req: RemotingCommand) -> Option<RemotingCommand> {
        Some(self.0.handle(&req))
    }
}

struct Cluster {
    fake: Arc<Fake>,
    stop: CancellationToken,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn start() -> Cluster {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let fake = Arc::new(Fake {
        addr,
        state: Mutex::new(State::default()),
    });
    fake.state
        .lock()
        .unwrap()
        .config
        .insert("brokerName".into(), "broker-a".into());
    let stop = CancellationToken::new();
    tokio::spawn(RemotingServer::serve(
        listener,
        Arc::new(Processor(fake.clone())),
        ServerConfig::default(),
        stop.clone(),
    ));
    Cluster { fake, stop }
}

impl Cluster {
    /// Runs `mqadmin -n <fake> <line>`; returns stdout and the outcome.
    async fn mq(&self, line: &str) -> Result<(String, Outcome), AdminError> {
        let args = format!("mqadmin -n {} {line}", self.fake.addr);
        let cli = Cli::try_parse_from(args.split_whitespace()).unwrap();
        let mut out = Vec::new();
        let outcome = run(&cli, &mut out).await?;
        Ok((String::from_utf8(out).unwrap(), outcome))
    }

    async fn json(&self, line: &str) -> Value {
        let (out, outcome) = self.mq(&format!("--json {line}")).await.unwrap();
        assert_eq!(outcome, Outcome::Done, "{line}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{line}: {e}: {out}"))
    }
}

#[tokio::test]
async fn messages_send_query_and_read() {
    let c = start().await;
    let mut sent = Vec::new();
    for (i, keys) in ["k1", "k2", "k1"].iter().enumerate() {
        let r = c
            .json(&format!(
                "sendMessage -t T -p body-{i} -k {keys} -c Tag{i} -b broker-a -i {}",
                i % 2
            ))
            .await;
        assert_eq!(r["sendStatus"], "SEND_OK");
        sent.push(r);
    }
    assert_eq!(sent[2]["queueOffset"], 1);

    let r = c.json("queryMsgByKey -t T -k k1").await;
    let ids: Vec<&str> = r["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["msgId"].as_str().unwrap())
        .collect();
    let expected = [
        sent[2]["msgId"].as_str().unwrap(),
        sent[0]["msgId"].as_str().unwrap(),
    ];
    assert_eq!(ids, expected, "only exact key matches, newest first");
    let (table, _) = c.mq("queryMsgByKey -t T -k k1 -m 1").await.unwrap();
    assert_eq!(table.lines().count(), 2);
    assert!(table.contains("body-2"));

    let by_offset_id = c
        .json(&format!(
            "queryMsgById -i {}",
            sent[1]["offsetMsgId"].as_str().unwrap()
        ))
        .await;
    assert_eq!(by_offset_id["messages"][0]["body"], "body-1");
    let by_uniq = c
        .json(&format!(
            "queryMsgById -t T -i {}",
            sent[1]["msgId"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        by_uniq["messages"][0]["offsetMsgId"],
        sent[1]["offsetMsgId"]
    );
    let e = c
        .mq("queryMsgById -t T -i 0A0000010000270F0000000000000000")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("not found"), "{e}");
    let (detail, _) = c
        .mq(&format!(
            "queryMsgById -t T -i {}",
            sent[0]["msgId"].as_str().unwrap()
        ))
        .await
        .unwrap();
    assert!(detail.contains("Keys:") && detail.contains("body-0"));

    let r = c.json("queryMsgByOffset -t T -b broker-a -i 0 -o 1").await;
    assert_eq!(r["messages"][0]["body"], "body-2");
    assert!(c
        .mq("queryMsgByOffset -t T -b broker-a -i 0 -o 9")
        .await
        .is_err());

    let r = c.json("consumeMessage -t T -c 2").await;
    assert_eq!(r.as_array().unwrap().len(), 2);
    let r = c.json("consumeMessage -t T -b broker-a -i 1").await;
    assert_eq!(r[0]["body"], "body-1");
    let r = c.json("printMsg -t T -s Tag0||Tag2").await;
    let bodies: Vec<&str> = r
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["body-0", "body-2"]);
    let r = c.json("printMsg -t T -d false").await;
    assert_eq!(r.as_array().unwrap().len(), 3);
    assert!(r[0].get("body").is_none());

    let e = c.mq("queryMsgByKey -t Nope -k k1").await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "topic Nope does not exist (no route on the nameservers)"
    );
}

#[tokio::test]
async fn groups_progress_and_reset() {
    let c = start().await;
    for i in 0..4 {
        c.mq(&format!(
            "sendMessage -t T -p m{i} -b broker-a -i {}",
            i % 2
        ))
        .await
        .unwrap();
    }
    c.fake.state.lock().unwrap().offsets.insert(0, 1);
    let r = c.json("consumerProgress -g G").await;
    assert_eq!(r["diffTotal"], 3);
    assert_eq!(r["consumeTps"], 2.5);
    assert_eq!(r["queues"][0]["diff"], 1);
    let (text, _) = c.mq("consumerProgress -g G -t T").await.unwrap();
    assert!(text.contains("Consume Diff Total: 3"));

    let r = c.json("consumerProgress").await;
    assert_eq!(
        r,
        serde_json::json!([{"group": "G", "count": 0, "consumeType": "", "messageModel": "",
        "consumeTps": 2.5, "diffTotal": 3}])
    );

    // Offline group: offsets are searched by time (2100-01-01: after every message) and
    // committed directly.
    let r = c.json("resetOffsetByTime -g G -t T -s 4102444800000").await;
    assert_eq!(r["offlineBrokers"], serde_json::json!(["broker-a"]));
    assert_eq!(
        r["queues"],
        serde_json::json!([
        {"brokerName": "broker-a", "queueId": 0, "offset": 2},
        {"brokerName": "broker-a", "queueId": 1, "offset": 2}])
    );
    assert_eq!(c.json("consumerProgress -g G").await["diffTotal"], 0);

    // Online group: the broker's reply (fastjson object keys) lists the new offsets.
    c.fake.state.lock().unwrap().online = true;
    let r = c.json("resetOffsetByTime -g G -t T -s 0").await;
    assert_eq!(r["offlineBrokers"], serde_json::json!([]));
    assert_eq!(r["queues"][1]["offset"], 0);
    assert_eq!(c.json("consumerProgress").await[0]["count"], 2);

    let r = c.json("updateSubGroup -c C -g G -r 3").await;
    assert_eq!(r["config"]["retryMaxTimes"], 3);
    assert_eq!(r["brokers"][0].as_str(), Some(c.fake.addr.as_str()));
}

#[tokio::test]
async fn topics_cluster_and_config() {
    let c = start().await;
    let r = c.json("updateTopic -c C -t T2 -r 4 -w 4").await;
    assert_eq!(r["topicConfig"]["readQueueNums"], 4);
    assert!(c.mq("updateTopic -c Nope -t T2").await.is_err());
    let r = c
        .json(&format!("updateTopic -b {} -t T3 -w 2 -o", c.fake.addr))
        .await;
    assert_eq!(r["orderConf"], "broker-a:2");
    let kv = c
        .fake
        .state
        .lock()
        .unwrap()
        .config
        .get("ORDER_TOPIC_CONFIG/T3")
        .cloned();
    assert_eq!(kv.as_deref(), Some("broker-a:2"));
    let (text, _) = c.mq("deleteTopic -t T2 -c C").await.unwrap();
    assert!(text.contains("delete topic [T2] from cluster [C] success."));

    let r = c.json("topicList -c").await;
    assert_eq!(r, serde_json::json!([{"topic": "T", "cluster": "C"}]));
    let r = c.json("topicRoute -t T").await;
    assert_eq!(r["brokerDatas"][0]["brokerName"], "broker-a");
    let r = c.json("topicStatus -t T").await;
    assert_eq!(r["queues"].as_array().unwrap().len(), 2);

    let r = c.json("clusterList").await;
    assert_eq!(r["brokers"][0]["role"], "MASTER");
    assert_eq!(r["brokers"][0]["outTps"], 1.5);
    let (text, _) = c.mq("clusterList").await.unwrap();
    assert!(text.contains("V4_9_8"));
    let r = c.json(&format!("brokerStatus -b {}", c.fake.addr)).await;
    assert_eq!(r["brokers"][0]["table"]["putTps"], "4.0 3.0 2.0");

    c.json("updateBrokerConfig -c C -k flushDiskType -v SYNC_FLUSH")
        .await;
    let r = c.json("getBrokerConfig -c C").await;
    assert_eq!(r[0]["config"]["flushDiskType"], "SYNC_FLUSH");

    let e = c.mq("getNamesrvConfig").await.unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{} does not support getNamesrvConfig (GET_NAMESRV_CONFIG)",
            c.fake.addr
        )
    );
}
