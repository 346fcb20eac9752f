//! Targets for the remoting layer: frames (`fennec_protocol::frame`), the JSON and binary header
//! forms, and typed headers read from `extFields`.

use bytes::BytesMut;
use fennec_protocol::frame::encode_to_vec;
use fennec_protocol::frame::{self, DEFAULT_MAX_FRAME};
use fennec_protocol::header::*;
use fennec_protocol::{ExtFields, RemotingCommand};

/// What a byte stream decodes to: the commands before the first error, and that error.
type Decoded = (Vec<RemotingCommand>, Option<String>);

/// Decodes frames from `chunks` fed one after another, as a socket delivers them.
fn decode_stream(chunks: &[&[u8]]) -> Decoded {
    let mut buf = BytesMut::new();
    let mut commands = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match frame::decode(&mut buf, DEFAULT_MAX_FRAME) {
                Ok(Some(cmd)) => commands.push(cmd),
                Ok(None) => break,
                Err(e) => return (commands, Some(e.to_string())),
            }
        }
    }
    (commands, None)
}

/// Every decoded command re-encodes to a frame that decodes to the same command.
fn assert_round_trips(commands: &[RemotingCommand]) {
    for cmd in commands {
        let again = decode_stream(&[&encode_to_vec(cmd)]);
        assert_eq!(again, (vec![cmd.clone()], None), "re-encoded frame differs");
    }
}

/// Frames back to back: decoding them whole or split in two gives the same commands and the
/// same error, and every command round-trips.
pub fn frame(data: &[u8]) {
    let whole = decode_stream(&[data]);
    let (head, tail) = data.split_at(data.len() / 2);
    assert_eq!(decode_stream(&[head, tail]), whole, "split decode differs");
    assert_round_trips(&whole.0);
}

/// Wraps `header` in a frame of serialize type `serialize` with a one-byte body.
fn framed(serialize: u8, header: &[u8]) -> Vec<u8> {
    let mut wire = Vec::with_capacity(header.len() + 9);
    let total = (4 + header.len() + 1) as u32;
    wire.extend_from_slice(&total.to_be_bytes());
    wire.extend_from_slice(&(u32::from(serialize) << 24 | header.len() as u32).to_be_bytes());
    wire.extend_from_slice(header);
    wire.push(b'B');
    wire
}

/// Decodes `header` as a header of serialize type `serialize` and checks the round trip.
fn header(serialize: u8, header: &[u8]) -> Option<RemotingCommand> {
    if header.len() > 0x00FF_FFFF {
        return None;
    }
    let (mut commands, _) = decode_stream(&[&framed(serialize, header)]);
    assert_round_trips(&commands);
    commands.pop()
}

/// The JSON header form (serialize type 0).
pub fn header_json(data: &[u8]) {
    header(0, data);
}

/// The ROCKETMQ binary header form (serialize type 1).
pub fn header_binary(data: &[u8]) {
    header(1, data);
}

/// Reads every typed header from `fields`; a header that reads writes back fields that read to
/// the same header.
fn check_header<H: CommandHeader + PartialEq + std::fmt::Debug>(fields: &ExtFields) {
    if let Ok(h) = H::read_from(fields) {
        let mut written = ExtFields::new();
        h.write_to(&mut written);
        assert_eq!(
            H::read_from(&written),
            Ok(h),
            "typed header does not round-trip"
        );
    }
}

macro_rules! check_headers {
    ($fields:expr; $($header:ty),*) => {
        $( check_header::<$header>($fields); )*
    };
}

/// JSON headers carrying the fields of each typed header at its default values (seeds).
macro_rules! default_headers {
    ($unit:expr; $($header:ty),*) => {
        vec![$( json_header_of(stringify!($header), &<$header>::default()) ),*]
    };
}

/// Calls `$m!($arg; H1, H2, ...)` with every typed header the protocol defines.
macro_rules! with_all_headers {
    ($m:ident!($arg:expr)) => {
        $m!($arg;
            CreateTopicRequestHeader, TopicRequestHeader, DeleteSubscriptionGroupRequestHeader,
            GetBrokerConfigResponseHeader, UnregisterClientRequestHeader,
            ConsumerGroupRequestHeader, GetProducerConnectionListRequestHeader,
            GetConsumeStatsRequestHeader, ResetOffsetRequestHeader, GetConsumerStatusRequestHeader,
            GetConsumerRunningInfoRequestHeader, ConsumeMessageDirectlyRequestHeader,
            GetRouteInfoRequestHeader, RegisterBrokerRequestHeader, RegisterBrokerResponseHeader,
            UnregisterBrokerRequestHeader, QueryDataVersionResponseHeader,
            DeleteTopicFromNamesrvRequestHeader, RegisterTopicRequestHeader,
            PutKvConfigRequestHeader, KvConfigKeyRequestHeader, GetKvConfigResponseHeader,
            GetKvListByNamespaceRequestHeader, BrokerNameRequestHeader,
            WipeWritePermResponseHeader, AddWritePermResponseHeader,
            GetTopicsByClusterRequestHeader, BrokerHeartbeatRequestHeader,
            QueryConsumerOffsetRequestHeader, OffsetResponseHeader,
            UpdateConsumerOffsetRequestHeader, GetMaxOffsetRequestHeader,
            GetMinOffsetRequestHeader, SearchOffsetRequestHeader,
            GetEarliestMsgStoretimeRequestHeader, GetEarliestMsgStoretimeResponseHeader,
            PullMessageRequestHeader, PullMessageResponseHeader, QueryMessageRequestHeader,
            QueryMessageResponseHeader, ViewMessageRequestHeader, SendMessageRequestHeader,
            SendMessageRequestHeaderV2, SendMessageResponseHeader,
            ConsumerSendMsgBackRequestHeader, EndTransactionRequestHeader,
            CheckTransactionStateRequestHeader)
    };
}

/// The JSON header of a request carrying `header`, named after the header type.
fn json_header_of<H: CommandHeader>(name: &str, header: &H) -> (String, Vec<u8>) {
    let mut cmd = RemotingCommand::request_code(0);
    cmd.opaque = 1;
    header.write_to(&mut cmd.ext_fields);
    (name.to_string(), header_bytes(&cmd))
}

/// The header bytes of `cmd`'s frame (without the length words and the body).
pub(crate) fn header_bytes(cmd: &RemotingCommand) -> Vec<u8> {
    let wire = encode_to_vec(cmd);
    let header_len = u32::from_be_bytes([wire[4], wire[5], wire[6], wire[7]]) & 0x00FF_FFFF;
    wire[8..8 + header_len as usize].to_vec()
}

/// One seed per typed header: its fields at their default values.
pub(crate) fn typed_header_seeds() -> Vec<(String, Vec<u8>)> {
    with_all_headers!(default_headers!(()))
}

/// A JSON header whose `extFields` are read as every typed header the protocol defines.
pub fn typed_header(data: &[u8]) {
    let Some(cmd) = header(0, data) else {
        return;
    };
    with_all_headers!(check_headers!(&cmd.ext_fields));
}
