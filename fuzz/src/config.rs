//! The configuration-file target: RocketMQ properties text as `broker.conf` and
//! `namesrv.properties`, through the one config mechanism (`fennec_common::config`).

use fennec_broker::BrokerConfig;
use fennec_common::config::{apply_text, ConfigKeys};
use fennec_nameserver::NamesrvConfig;

/// Properties text applied as a broker and as a nameserver configuration. Whatever is
/// accepted shows as values that, applied again, give the same configuration.
pub fn config_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(mut broker) = round_trip::<BrokerConfig>(text) {
        let _ = broker.normalize();
        let _ = broker.validate();
    }
    if let Some(mut namesrv) = round_trip::<NamesrvConfig>(text) {
        let _ = namesrv.apply_properties(text, "fuzz.properties");
    }
}

/// Applies `text` to a default `C`; when it is accepted, the shown values read back without
/// a warning to the same shown values.
fn round_trip<C: ConfigKeys + Default>(text: &str) -> Option<C> {
    let mut config = C::default();
    apply_text(&mut config, text, "fuzz.conf").ok()?;
    let shown = config.to_properties();
    let mut again = C::default();
    let reapplied = apply_text(&mut again, &shown, "shown");
    assert!(
        matches!(&reapplied, Ok(warnings) if warnings.is_empty()),
        "config {shown:?} does not read back: {reapplied:?}"
    );
    assert_eq!(again.to_properties(), shown, "config does not round-trip");
    Some(config)
}
