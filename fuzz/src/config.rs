//! The configuration-file target: RocketMQ properties text as `broker.conf` and
//! `namesrv.properties`.

use fennec_broker::BrokerConfig;
use fennec_common::properties_file;
use fennec_nameserver::NamesrvConfig;

/// Properties text applied as a broker and as a nameserver configuration. Whatever is
/// accepted shows as values that, applied again, give the same configuration.
pub fn config_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(properties) = properties_file::parse(text, "fuzz.conf") {
        let mut broker = BrokerConfig::default();
        let applied = properties
            .iter()
            .all(|p| broker.set(&p.key, &p.value).is_ok());
        if applied {
            let _ = broker.validate();
            let mut again = BrokerConfig::default();
            for (key, value) in broker.entries() {
                assert!(
                    matches!(again.set(key, &value), Ok(true)),
                    "broker config {key}={value:?} does not read back"
                );
            }
            assert_eq!(again, broker, "broker config does not round-trip");
        }
    }
    let mut namesrv = NamesrvConfig::default();
    if namesrv.apply_properties(text, "fuzz.properties").is_ok() {
        let shown = namesrv.to_properties();
        let mut again = NamesrvConfig::default();
        let reapplied = again.apply_properties(&shown, "shown");
        assert!(
            matches!(&reapplied, Ok(unknown) if unknown.is_empty()),
            "namesrv config {shown:?} does not read back: {reapplied:?}"
        );
        assert_eq!(
            again.to_properties(),
            shown,
            "namesrv config does not round-trip"
        );
    }
}
