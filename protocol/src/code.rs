//! Request codes, response codes, language codes and serialize types of the RocketMQ remoting
//! protocol. Numbers are wire values; names are RocketMQ's, so logs read like a Java broker's.

/// Declares a `#[repr(i32)]` enum with `TryFrom<i32>` and a `name()` that returns the
/// RocketMQ constant name.
macro_rules! code_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($variant:ident = $value:expr,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(i32)]
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        $vis enum $name { $($variant = $value,)* }

        impl $name {
            /// The RocketMQ constant name of this code.
            pub fn name(self) -> &'static str {
                match self { $(Self::$variant => stringify!($variant),)* }
            }
        }

        impl TryFrom<i32> for $name {
            type Error = i32;
            fn try_from(v: i32) -> Result<Self, i32> {
                match v { $(x if x == $value => Ok(Self::$variant),)* other => Err(other) }
            }
        }

        impl From<$name> for i32 {
            fn from(c: $name) -> i32 { c as i32 }
        }
    };
}

code_enum! {
    /// Every request code in the protocol reference (§2.1).
    pub enum RequestCode {
        SEND_MESSAGE = 10,
        PULL_MESSAGE = 11,
        QUERY_MESSAGE = 12,
        QUERY_BROKER_OFFSET = 13,
        QUERY_CONSUMER_OFFSET = 14,
        UPDATE_CONSUMER_OFFSET = 15,
        UPDATE_AND_CREATE_TOPIC = 17,
        GET_ALL_TOPIC_CONFIG = 21,
        UPDATE_BROKER_CONFIG = 25,
        GET_BROKER_CONFIG = 26,
        GET_BROKER_RUNTIME_INFO = 28,
        SEARCH_OFFSET_BY_TIMESTAMP = 29,
        GET_MAX_OFFSET = 30,
        GET_MIN_OFFSET = 31,
        GET_EARLIEST_MSG_STORETIME = 32,
        VIEW_MESSAGE_BY_ID = 33,
        HEART_BEAT = 34,
        UNREGISTER_CLIENT = 35,
        CONSUMER_SEND_MSG_BACK = 36,
        END_TRANSACTION = 37,
        GET_CONSUMER_LIST_BY_GROUP = 38,
        CHECK_TRANSACTION_STATE = 39,
        NOTIFY_CONSUMER_IDS_CHANGED = 40,
        LOCK_BATCH_MQ = 41,
        UNLOCK_BATCH_MQ = 42,
        GET_ALL_CONSUMER_OFFSET = 43,
        GET_ALL_DELAY_OFFSET = 45,
        PUT_KV_CONFIG = 100,
        GET_KV_CONFIG = 101,
        DELETE_KV_CONFIG = 102,
        REGISTER_BROKER = 103,
        UNREGISTER_BROKER = 104,
        GET_ROUTEINFO_BY_TOPIC = 105,
        GET_BROKER_CLUSTER_INFO = 106,
        UPDATE_AND_CREATE_SUBSCRIPTIONGROUP = 200,
        GET_ALL_SUBSCRIPTIONGROUP_CONFIG = 201,
        GET_TOPIC_STATS_INFO = 202,
        GET_CONSUMER_CONNECTION_LIST = 203,
        GET_PRODUCER_CONNECTION_LIST = 204,
        WIPE_WRITE_PERM_OF_BROKER = 205,
        GET_ALL_TOPIC_LIST_FROM_NAMESERVER = 206,
        DELETE_SUBSCRIPTIONGROUP = 207,
        GET_CONSUME_STATS = 208,
        DELETE_TOPIC_IN_BROKER = 215,
        DELETE_TOPIC_IN_NAMESRV = 216,
        REGISTER_TOPIC_IN_NAMESRV = 217,
        GET_KVLIST_BY_NAMESPACE = 219,
        RESET_CONSUMER_CLIENT_OFFSET = 220,
        GET_CONSUMER_STATUS_FROM_CLIENT = 221,
        INVOKE_BROKER_TO_RESET_OFFSET = 222,
        GET_TOPICS_BY_CLUSTER = 224,
        GET_CONSUMER_RUNNING_INFO = 307,
        CONSUME_MESSAGE_DIRECTLY = 309,
        SEND_MESSAGE_V2 = 310,
        // Not in the reference; RocketMQ 4.x RequestCode.GET_NAMESRV_CONFIG.
        GET_NAMESRV_CONFIG = 319,
        QUERY_DATA_VERSION = 322,
        SEND_BATCH_MESSAGE = 320,
        QUERY_CONSUME_QUEUE = 321,
        SEND_REPLY_MESSAGE = 324,
        SEND_REPLY_MESSAGE_V2 = 325,
        PUSH_REPLY_MESSAGE_TO_CLIENT = 326,
        ADD_WRITE_PERM_OF_BROKER = 327,
        LITE_PULL_MESSAGE = 361,
        BROKER_HEARTBEAT = 904,
    }
}

code_enum! {
    /// Response codes (§2.2).
    pub enum ResponseCode {
        SUCCESS = 0,
        SYSTEM_ERROR = 1,
        SYSTEM_BUSY = 2,
        REQUEST_CODE_NOT_SUPPORTED = 3,
        TRANSACTION_FAILED = 4,
        FLUSH_DISK_TIMEOUT = 10,
        SLAVE_NOT_AVAILABLE = 11,
        FLUSH_SLAVE_TIMEOUT = 12,
        MESSAGE_ILLEGAL = 13,
        SERVICE_NOT_AVAILABLE = 14,
        VERSION_NOT_SUPPORTED = 15,
        NO_PERMISSION = 16,
        TOPIC_NOT_EXIST = 17,
        TOPIC_EXIST_ALREADY = 18,
        PULL_NOT_FOUND = 19,
        PULL_RETRY_IMMEDIATELY = 20,
        PULL_OFFSET_MOVED = 21,
        QUERY_NOT_FOUND = 22,
        SUBSCRIPTION_PARSE_FAILED = 23,
        SUBSCRIPTION_NOT_EXIST = 24,
        SUBSCRIPTION_NOT_LATEST = 25,
        SUBSCRIPTION_GROUP_NOT_EXIST = 26,
        FILTER_DATA_NOT_EXIST = 27,
        FILTER_DATA_NOT_LATEST = 28,
        INVALID_PARAMETER = 29,
        TRANSACTION_SHOULD_COMMIT = 200,
        TRANSACTION_SHOULD_ROLLBACK = 201,
        TRANSACTION_STATE_UNKNOW = 202,
        NO_BUYER_ID = 204,
        NOT_IN_CURRENT_UNIT = 205,
        CONSUMER_NOT_ONLINE = 206,
        CONSUME_MSG_TIMEOUT = 207,
        NO_MESSAGE = 208,
        FLOW_CONTROL = 215,
        NOT_LEADER_FOR_QUEUE = 501,
        ILLEGAL_OPERATION = 604,
        GO_AWAY = 1500,
    }
}

code_enum! {
    /// Implementation language of the peer; JSON headers carry the name, binary headers the
    /// number.
    pub enum LanguageCode {
        JAVA = 0,
        CPP = 1,
        DOTNET = 2,
        PYTHON = 3,
        DELPHI = 4,
        ERLANG = 5,
        RUBY = 6,
        OTHER = 7,
        HTTP = 8,
        GO = 9,
        PHP = 10,
        OMS = 11,
        RUST = 12,
        NODE_JS = 13,
    }
}

impl LanguageCode {
    /// Parses a JSON `language` name; unknown names become [`LanguageCode::OTHER`].
    pub fn from_name(name: &str) -> LanguageCode {
        (0..=13)
            .filter_map(|n| LanguageCode::try_from(n).ok())
            .find(|l| l.name() == name)
            .unwrap_or(LanguageCode::OTHER)
    }

    /// Maps a binary-header byte; unknown numbers become [`LanguageCode::OTHER`].
    pub fn from_byte(b: u8) -> LanguageCode {
        LanguageCode::try_from(i32::from(b)).unwrap_or(LanguageCode::OTHER)
    }
}

/// How a command's header is serialized: the top byte of the frame's header-length word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SerializeType {
    /// fastjson text header (type 0), what Java clients send by default.
    #[default]
    Json,
    /// The compact ROCKETMQ binary header (type 1).
    RocketMq,
}

impl SerializeType {
    /// The wire byte.
    pub fn code(self) -> u8 {
        match self {
            SerializeType::Json => 0,
            SerializeType::RocketMq => 1,
        }
    }

    /// The `serializeTypeCurrentRPC` name.
    pub fn name(self) -> &'static str {
        match self {
            SerializeType::Json => "JSON",
            SerializeType::RocketMq => "ROCKETMQ",
        }
    }

    /// Parses the wire byte.
    pub fn from_code(b: u8) -> Option<SerializeType> {
        match b {
            0 => Some(SerializeType::Json),
            1 => Some(SerializeType::RocketMq),
            _ => None,
        }
    }
}

/// Names a request or response code for logs: the constant name, or the number if unknown.
pub fn describe_request_code(code: i32) -> String {
    match RequestCode::try_from(code) {
        Ok(c) => c.name().to_string(),
        Err(n) => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        assert_eq!(RequestCode::try_from(310), Ok(RequestCode::SEND_MESSAGE_V2));
        assert_eq!(i32::from(RequestCode::REGISTER_BROKER), 103);
        assert_eq!(RequestCode::try_from(99_999), Err(99_999));
        assert_eq!(
            ResponseCode::try_from(17),
            Ok(ResponseCode::TOPIC_NOT_EXIST)
        );
        assert_eq!(ResponseCode::GO_AWAY.name(), "GO_AWAY");
    }

    #[test]
    fn languages() {
        assert_eq!(LanguageCode::from_name("CPP"), LanguageCode::CPP);
        assert_eq!(LanguageCode::from_name("NODE_JS"), LanguageCode::NODE_JS);
        assert_eq!(LanguageCode::from_name("KLINGON"), LanguageCode::OTHER);
        assert_eq!(LanguageCode::from_byte(12), LanguageCode::RUST);
        assert_eq!(LanguageCode::from_byte(200), LanguageCode::OTHER);
    }
}
