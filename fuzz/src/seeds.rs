//! The seed corpus: real frames, headers, bodies, records and files, made with the project's
//! own encoders or copied from the protocol reference's worked examples. `tests/seeds.rs`
//! writes them to `fuzz/seeds/<target>/` (run it with `--ignored` after a format change).

use std::net::SocketAddr;

use bytes::Bytes;
use fennec_protocol::frame::encode_to_vec;
use fennec_protocol::header::SendMessageRequestHeaderV2;
use fennec_protocol::message::batch::encode_batch;
use fennec_protocol::message::compression::compress;
use fennec_protocol::message::record::{encode_record, RecordFields, BLANK_MAGIC};
use fennec_protocol::message::{sysflag, Message};
use fennec_protocol::{LanguageCode, RemotingCommand};

use crate::json::{BODIES, FILES};
use crate::remoting::{header_bytes, typed_header_seeds};
use crate::Target;

/// One seed: target, file name, content.
pub type Seed = (&'static str, String, Vec<u8>);

const PROPS: &str = "UNIQ_KEY\u{1}C0A8000A1F9012345678000000640001\u{2}WAIT\u{1}true\u{2}TAGS\u{1}TagA\u{2}CLUSTER\u{1}DefaultCluster\u{2}";

const MQ: &str = r#"{"brokerName":"broker-a","queueId":0,"topic":"T"}"#;

const HEARTBEAT: &str = r#"{"clientID":"10.0.0.5@4242#88123456789","heartbeatFingerprint":0,"withoutSub":false,"producerDataSet":[{"groupName":"PG"},{"groupName":"CLIENT_INNER_PRODUCER"}],"consumerDataSet":[{"groupName":"CG","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","unitMode":false,"subscriptionDataSet":[{"topic":"T","subString":"TagA","tagsSet":["TagA"],"codeSet":[2598919],"subVersion":1700000000000,"expressionType":"TAG","classFilterMode":false},{"topic":"%RETRY%CG","subString":"*","tagsSet":[],"codeSet":[],"subVersion":"1700000000000"}]}]}"#;

const TOPIC_CONFIG: &str = r#"{"topicName":"T","readQueueNums":4,"writeQueueNums":4,"perm":6,"topicFilterType":"SINGLE_TAG","topicSysFlag":0,"order":false,"attributes":{}}"#;

const GROUP_CONFIG: &str = r#"{"brokerId":0,"consumeBroadcastEnable":true,"consumeEnable":true,"consumeFromMinEnable":true,"consumeMessageOrderly":false,"groupName":"CG","notifyConsumerIdsChangedEnable":true,"retryMaxTimes":16,"retryQueueNums":1,"whichBrokerWhenConsumeSlowly":1}"#;

const CONNECTION: &str =
    r#"{"clientAddr":"10.0.0.5:50000","clientId":"10.0.0.5@4242","language":"JAVA","version":479}"#;

/// JSON of each body type, standard or fastjson as Java writes it.
fn body_json() -> Vec<(&'static str, String)> {
    let dv = r#"{"counter":3,"stateVersion":0,"timestamp":1700000000000}"#;
    let route = r#"{"brokerDatas":[{"brokerAddrs":{0:"10.0.0.2:10911",1:"10.0.0.3:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#;
    vec![
        ("HeartbeatData", HEARTBEAT.to_string()),
        ("RegisterBrokerBody", format!(r#"{{"filterServerList":[],"topicConfigSerializeWrapper":{{"dataVersion":{dv},"topicConfigTable":{{"T":{TOPIC_CONFIG}}}}}}}"#)),
        ("TopicRouteData", route.to_string()),
        ("TopicRouteData", route.replace("{0:", "{\"0\":").replace(",1:", ",\"1\":")),
        ("ClusterInfo", r#"{"brokerAddrTable":{"broker-a":{"brokerAddrs":{0:"10.0.0.2:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"}},"clusterAddrTable":{"DefaultCluster":["broker-a"]}}"#.to_string()),
        ("TopicList", r#"{"topicList":["T","%RETRY%CG"]}"#.to_string()),
        ("KvTable", r#"{"table":{"brokerVersionDesc":"V4_9_8","putTps":"0.0"}}"#.to_string()),
        ("ConsumerListBody", r#"{"consumerIdList":["10.0.0.5@4242"]}"#.to_string()),
        ("LockBatchRequestBody", format!(r#"{{"consumerGroup":"CG","clientId":"cid","onlyThisBroker":false,"mqSet":[{MQ}]}}"#)),
        ("LockBatchResponseBody", format!(r#"{{"lockOKMQSet":[{MQ}]}}"#)),
        ("ConsumerConnection", format!(r#"{{"connectionSet":[{CONNECTION}],"consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","subscriptionTable":{{"T":{{"classFilterMode":false,"codeSet":[],"expressionType":"TAG","subString":"*","subVersion":1700000000000,"tagsSet":[],"topic":"T"}}}}}}"#)),
        ("ProducerConnection", format!(r#"{{"connectionSet":[{CONNECTION}]}}"#)),
        ("SubscriptionGroupConfig", GROUP_CONFIG.to_string()),
        ("DataVersion", dv.to_string()),
        ("QueueData", r#"{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}"#.to_string()),
        ("ConsumeStats", format!(r#"{{"consumeTps":1.5,"offsetTable":{{{MQ}:{{"brokerOffset":10,"consumerOffset":4,"lastTimestamp":1700000000000,"pullOffset":5}}}}}}"#)),
        ("TopicStatsTable", format!(r#"{{"offsetTable":{{{MQ}:{{"lastUpdateTimestamp":1700000000000,"maxOffset":10,"minOffset":0}}}},"topicPutTps":0.5}}"#)),
        ("ResetOffsetBody", format!(r#"{{"offsetTable":{{{MQ}:42}}}}"#)),
        ("MqMap", format!(r#"{{{MQ}:5}}"#)),
    ]
}

/// Content of each JSON file read at start, as Java RocketMQ writes it.
fn file_json() -> Vec<(&'static str, String)> {
    vec![
        (
            "topics.json",
            format!(
                r#"{{"dataVersion":{{"counter":1,"stateVersion":0,"timestamp":1700000000000}},"topicConfigTable":{{"T":{TOPIC_CONFIG}}}}}"#
            ),
        ),
        (
            "subscriptionGroup.json",
            format!(
                r#"{{"subscriptionGroupTable":{{"CG":{GROUP_CONFIG}}},"forbiddenTable":{{}},"dataVersion":{{"counter":1,"timestamp":1700000000000}}}}"#
            ),
        ),
        (
            "consumerOffset.json",
            r#"{"offsetTable":{"T@CG":{0:12,1:40}}}"#.to_string(),
        ),
        (
            "kvConfig.json",
            r#"{"configTable":{"ORDER_TOPIC_CONFIG":{"TopicA":"broker-a:4"}}}"#.to_string(),
        ),
        ("offsets.json", format!(r#"{{"offsetTable":{{{MQ}:42}}}}"#)),
    ]
}

/// `json` prefixed with the selector byte of `name` in `table`.
fn selected(table: &[Target], name: &str, json: &str) -> Vec<u8> {
    let index = table.iter().position(|t| t.name == name).unwrap_or(0);
    let mut out = vec![index as u8];
    out.extend_from_slice(json.as_bytes());
    out
}

/// The SEND_MESSAGE_V2 request of the reference's worked example.
fn send_v2() -> RemotingCommand {
    let header = SendMessageRequestHeaderV2 {
        producer_group: "PG".into(),
        topic: "T".into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        born_timestamp: 1_700_000_000_000,
        properties: Some(PROPS.into()),
        reconsume_times: Some(0),
        unit_mode: Some(false),
        batch: Some(false),
        broker_name: Some("broker-a".into()),
        ..Default::default()
    };
    let mut cmd = RemotingCommand::request_code(310).with_header(&header);
    cmd.language = LanguageCode::JAVA;
    cmd.version = 479;
    cmd.opaque = 1;
    cmd.with_body(Bytes::from_static(b"Hi"))
}

fn commands() -> Vec<(&'static str, RemotingCommand)> {
    let route = RemotingCommand::request_code(105).with_ext("topic", "T");
    let reply = RemotingCommand::request_code(0)
        .with_ext("queueId", "3")
        .with_ext("msgId", "C0A8000200002A9F0000000000000000")
        .answer(&send_v2());
    let mut reply = reply;
    reply.remark = Some("ok".into());
    let heartbeat = RemotingCommand::request_code(34).with_body(HEARTBEAT.as_bytes().to_vec());
    vec![
        ("send_v2", send_v2()),
        ("route", route),
        ("reply", reply),
        ("heartbeat", heartbeat),
    ]
}

fn record_bytes(topic: &str, born: &str, body: &[u8], sys_flag: i32) -> Vec<u8> {
    let born_host: SocketAddr = born
        .parse()
        .unwrap_or_else(|_| SocketAddr::from(([0; 4], 0)));
    let fields = RecordFields {
        queue_id: 0,
        flag: 0,
        queue_offset: 0,
        physical_offset: 0,
        sys_flag,
        born_timestamp: 1_700_000_000_000,
        born_host,
        store_timestamp: 1_700_000_000_123,
        store_host: SocketAddr::from(([192, 168, 0, 2], 10911)),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body,
        topic,
        properties: PROPS.as_bytes(),
    };
    let mut out = Vec::new();
    let _ = encode_record(&fields, &mut out);
    out
}

/// Every seed of every target.
pub fn all() -> Vec<Seed> {
    let mut seeds: Vec<Seed> = Vec::new();
    let mut add = |target: &'static str, name: &str, data: Vec<u8>| {
        seeds.push((target, name.to_string(), data));
    };
    let mut both = Vec::new();
    for (name, cmd) in commands() {
        for (form, cmd) in [("json", cmd.clone()), ("binary", cmd.binary())] {
            let target = if form == "json" {
                "header_json"
            } else {
                "header_binary"
            };
            add(target, name, header_bytes(&cmd));
            add("frame", &format!("{name}_{form}"), encode_to_vec(&cmd));
            both.extend(encode_to_vec(&cmd));
        }
    }
    add("frame", "all_back_to_back", both);
    add(
        "typed_header",
        "SendMessageRequestHeaderV2_reference",
        header_bytes(&send_v2()),
    );
    for (name, header) in typed_header_seeds() {
        add("typed_header", &name, header);
    }
    for (i, (name, json)) in body_json().into_iter().enumerate() {
        add(
            "body",
            &format!("{name}_{i}"),
            selected(BODIES, name, &json),
        );
        add("fastjson", &format!("{name}_{i}"), json.into_bytes());
    }
    for (name, json) in file_json() {
        add("json_file", name, selected(FILES, name, &json));
        add("fastjson", name, json.into_bytes());
    }
    let v1 = record_bytes("T", "192.168.0.10:54321", b"Hi", 0);
    let zipped = compress(&[b'x'; 5000]).unwrap_or_default();
    let mut two = v1.clone();
    two.extend(record_bytes(
        "T",
        "192.168.0.10:54321",
        &zipped,
        sysflag::COMPRESSED,
    ));
    add("record", "reference_v1", v1);
    add(
        "record",
        "v2_ipv6",
        record_bytes(&"t".repeat(200), "[::1]:1234", b"body", 0),
    );
    add("record", "two_with_compressed_body", two);
    let mut blank = 100i32.to_be_bytes().to_vec();
    blank.extend_from_slice(&BLANK_MAGIC.to_be_bytes());
    add("record", "blank", blank);
    let batch = vec![
        Message::new("T", "one").with_tags("A"),
        Message {
            flag: 7,
            ..Message::new("T", "")
        },
        Message::new("T", vec![0u8; 300]).with_keys(&["k1", "k2"]),
    ];
    add("batch", "three", encode_batch(&batch).to_vec());
    add("properties", "reference", PROPS.into());
    add(
        "properties",
        "empty_and_duplicates",
        "A\u{1}\u{2}\u{1}B\u{2}C\u{1}D\u{2}junk\u{2}C\u{1}E\u{1}F\u{2}".into(),
    );
    add(
        "msg_id",
        "offset_v4",
        "C0A8000200002A9F00000000000000B3".into(),
    );
    add(
        "msg_id",
        "offset_v6",
        "FE800000000000000000000000000001000027CF000000000000002A".into(),
    );
    add(
        "msg_id",
        "uniq_key",
        "c0a8000a1f9012345678000000640001".into(),
    );
    add(
        "compression",
        "zlib_default",
        [&[0u8][..], &zipped].concat(),
    );
    add(
        "compression",
        "zlib_explicit",
        [&[3u8][..], &compress(PROPS.as_bytes()).unwrap_or_default()].concat(),
    );
    add("config_file", "broker.conf", "# comment\n! also\n\nbrokerClusterName = DefaultCluster\nbrokerName=broker-a\nbrokerId=0\nlistenPort:10911\nnamesrvAddr=a:1;b:2\nstorePathRootDir=~/store\nflushDiskType=ASYNC_FLUSH\nbrokerRole=ASYNC_MASTER\nautoCreateTopicEnable=true\n".into());
    add("config_file", "namesrv.properties", "listenPort=9876\nbindAddress=0.0.0.0\nkvConfigPath=/tmp/kvConfig.json\nscanNotActiveBrokerInterval=5000\nbrokerChannelExpiredTime=120000\norderMessageEnable=false\n".into());
    seeds
}
