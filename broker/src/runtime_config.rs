//! [`RuntimeConfig`]: the broker settings that UPDATE_BROKER_CONFIG (25) may change while the
//! broker runs. The request body is Java properties text, `key=value` lines; every line is
//! checked before any is applied. Accepted keys, each read again by every request that uses
//! it:
//!
//! | key | effect |
//! |---|---|
//! | `brokerPermission` | 6 read and write, 4 read only, 2 write only, 0 neither: sends and pulls are refused without the bit; topics register with their permission masked by it |
//! | `autoCreateSubscriptionGroup` | unknown consumer groups are created on heartbeat or pull |
//! | `longPollingEnable` | a pull that finds nothing is held until a message arrives |
//! | `notifyConsumerIdsChangedEnable` | group members are told when membership changes |
//!
//! Every other key is a start-up setting: the request is refused, naming the key. Changes
//! are not written back to broker.conf; a restart returns to the file's values.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use fennec_common::properties_file::{self, PropertiesError};
use fennec_protocol::perm::{PERM_READ, PERM_WRITE};

use crate::config::{BrokerConfig, ConfigError};
use fennec_common::config::ConfigKeys;

/// Keys UPDATE_BROKER_CONFIG accepts.
pub const RUNTIME_KEYS: [&str; 4] = [
    "brokerPermission",
    "autoCreateSubscriptionGroup",
    "longPollingEnable",
    "notifyConsumerIdsChangedEnable",
];

/// Why an update was refused; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("unreadable properties: {0}")]
    Syntax(#[source] PropertiesError),
    #[error("the body names no key")]
    Empty,
    #[error("unknown broker config key {0}")]
    Unknown(String),
    #[error(
        "{0} cannot change while the broker runs: edit broker.conf and restart (runtime keys: {keys})",
        keys = RUNTIME_KEYS.join(", ")
    )]
    NotRuntime(String),
    #[error(transparent)]
    Invalid(#[from] ConfigError),
}

/// The live values of the runtime keys; the broker's [`BrokerConfig`] keeps the start-up
/// values.
#[derive(Debug)]
pub struct RuntimeConfig {
    broker_permission: AtomicI32,
    auto_create_subscription_group: AtomicBool,
    long_polling_enable: AtomicBool,
    notify_consumer_ids_changed_enable: AtomicBool,
}

impl RuntimeConfig {
    /// The start-up values of `config`.
    pub fn new(config: &BrokerConfig) -> Self {
        RuntimeConfig {
            broker_permission: AtomicI32::new(config.broker_permission),
            auto_create_subscription_group: AtomicBool::new(config.auto_create_subscription_group),
            long_polling_enable: AtomicBool::new(config.long_polling_enable),
            notify_consumer_ids_changed_enable: AtomicBool::new(
                config.notify_consumer_ids_changed_enable,
            ),
        }
    }

    pub fn broker_permission(&self) -> i32 {
        self.broker_permission.load(Ordering::Relaxed)
    }

    pub fn auto_create_subscription_group(&self) -> bool {
        self.auto_create_subscription_group.load(Ordering::Relaxed)
    }

    pub fn long_polling_enable(&self) -> bool {
        self.long_polling_enable.load(Ordering::Relaxed)
    }

    pub fn notify_consumer_ids_changed_enable(&self) -> bool {
        self.notify_consumer_ids_changed_enable
            .load(Ordering::Relaxed)
    }

    /// Applies the `key=value` lines of `text` if every one of them is a valid runtime
    /// setting; returns the keys given, in order.
    pub fn update(&self, text: &str) -> Result<Vec<String>, UpdateError> {
        let props =
            properties_file::parse(text, "UPDATE_BROKER_CONFIG").map_err(UpdateError::Syntax)?;
        if props.is_empty() {
            return Err(UpdateError::Empty);
        }
        // Parse with the file's rules into a scratch config, so values read the same.
        let mut next = self.snapshot(&BrokerConfig::default());
        for p in &props {
            if !RUNTIME_KEYS.contains(&p.key.as_str()) {
                let known = next.entries().iter().any(|(k, _)| *k == p.key);
                return Err(if known {
                    UpdateError::NotRuntime(p.key.clone())
                } else {
                    UpdateError::Unknown(p.key.clone())
                });
            }
            next.set_key(&p.key, &p.value)?;
        }
        if next.broker_permission & !(PERM_READ | PERM_WRITE) != 0 {
            return Err(UpdateError::Invalid(ConfigError::Invalid {
                key: "brokerPermission".into(),
                value: next.broker_permission.to_string(),
                reason: "must be 6 (read and write), 4 (read), 2 (write) or 0".into(),
            }));
        }
        let keys: Vec<String> = props.into_iter().map(|p| p.key).collect();
        for key in &keys {
            let relaxed = Ordering::Relaxed;
            match key.as_str() {
                "brokerPermission" => self
                    .broker_permission
                    .store(next.broker_permission, relaxed),
                "autoCreateSubscriptionGroup" => self
                    .auto_create_subscription_group
                    .store(next.auto_create_subscription_group, relaxed),
                "longPollingEnable" => self
                    .long_polling_enable
                    .store(next.long_polling_enable, relaxed),
                "notifyConsumerIdsChangedEnable" => self
                    .notify_consumer_ids_changed_enable
                    .store(next.notify_consumer_ids_changed_enable, relaxed),
                _ => {}
            }
        }
        Ok(keys)
    }

    /// `config` with the runtime keys at their live values (what GET_BROKER_CONFIG shows).
    pub fn snapshot(&self, config: &BrokerConfig) -> BrokerConfig {
        BrokerConfig {
            broker_permission: self.broker_permission(),
            auto_create_subscription_group: self.auto_create_subscription_group(),
            long_polling_enable: self.long_polling_enable(),
            notify_consumer_ids_changed_enable: self.notify_consumer_ids_changed_enable(),
            ..config.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_keys_change_and_show() {
        let r = RuntimeConfig::new(&BrokerConfig::default());
        assert_eq!(r.broker_permission(), 6);
        let keys = r
            .update("brokerPermission=4\nlongPollingEnable = false\n")
            .unwrap();
        assert_eq!(keys, ["brokerPermission", "longPollingEnable"]);
        assert_eq!(r.broker_permission(), 4);
        assert!(!r.long_polling_enable());
        assert!(r.auto_create_subscription_group() && r.notify_consumer_ids_changed_enable());
        let shown = r.snapshot(&BrokerConfig::default());
        assert!(shown
            .entries()
            .iter()
            .any(|(k, v)| *k == "brokerPermission" && v == "4"));
        r.update("autoCreateSubscriptionGroup=false\nnotifyConsumerIdsChangedEnable=false")
            .unwrap();
        assert!(!r.auto_create_subscription_group() && !r.notify_consumer_ids_changed_enable());
        assert_eq!(r.broker_permission(), 4, "keys not named stay as they are");
    }

    #[test]
    fn refusals_change_nothing() {
        let r = RuntimeConfig::new(&BrokerConfig::default());
        let refuse = |text: &str| r.update(text).unwrap_err().to_string();
        assert!(refuse("brokerPermission=4\nlistenPort=1").starts_with(
            "listenPort cannot change while the broker runs: edit broker.conf and restart"
        ));
        assert_eq!(refuse("nope=1"), "unknown broker config key nope");
        assert!(refuse("brokerPermission=7").contains("must be 6 (read and write)"));
        assert!(refuse("longPollingEnable=maybe").contains("longPollingEnable"));
        assert!(refuse("=4").starts_with("unreadable properties"));
        assert_eq!(
            refuse("brokerPermission"),
            "invalid value \"\" for brokerPermission: expected an integer"
        );
        assert_eq!(refuse("# only a comment\n"), "the body names no key");
        assert_eq!(r.broker_permission(), 6);
        assert!(r.long_polling_enable());
    }
}
