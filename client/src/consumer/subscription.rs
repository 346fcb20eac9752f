//! [`Subscriptions`]: a consumer's topic subscriptions with their tag filters, shared by the
//! consumer handle (which adds to them) and its running state (which pulls and heartbeats
//! with them). A tag expression is `*` (everything) or tags joined by `||`.

use std::collections::BTreeMap;
use std::sync::Arc;

use fennec_protocol::body::SubscriptionData;
use fennec_protocol::time::now_millis;
use fennec_protocol::topic::validate_topic;
use parking_lot::Mutex;

use crate::error::ClientError;

/// Topic to subscription.
#[derive(Debug, Default)]
pub(crate) struct Subscriptions {
    table: Mutex<BTreeMap<String, Arc<SubscriptionData>>>,
}

impl Subscriptions {
    /// Subscribes to `topic` with a tag expression, replacing an earlier subscription.
    pub(crate) fn subscribe(&self, topic: &str, expression: &str) -> Result<(), ClientError> {
        validate_topic(topic).map_err(ClientError::Config)?;
        if expression.contains('\u{1}') || expression.contains('\u{2}') {
            return Err(ClientError::Config(format!(
                "tag expression {expression:?} contains control characters"
            )));
        }
        let sub = SubscriptionData::from_tag_expression(topic, expression, now_millis());
        self.table.lock().insert(topic.to_string(), Arc::new(sub));
        Ok(())
    }

    pub(crate) fn unsubscribe(&self, topic: &str) -> bool {
        self.table.lock().remove(topic).is_some()
    }

    pub(crate) fn get(&self, topic: &str) -> Option<Arc<SubscriptionData>> {
        self.table.lock().get(topic).cloned()
    }

    pub(crate) fn topics(&self) -> Vec<String> {
        self.table.lock().keys().cloned().collect()
    }

    /// Every subscription, for a heartbeat.
    pub(crate) fn all(&self) -> Vec<SubscriptionData> {
        self.table.lock().values().map(|s| (**s).clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribe_parses_and_validates() {
        let subs = Subscriptions::default();
        subs.subscribe("T", "TagA || TagB").unwrap();
        subs.subscribe("U", "*").unwrap();
        let t = subs.get("T").unwrap();
        assert!(t.matches_tag(Some("TagB")));
        assert!(!t.matches_tag(Some("TagC")));
        assert!(!t.matches_tag(None));
        assert!(subs.get("U").unwrap().is_all());
        assert_eq!(subs.topics(), vec!["T", "U"]);
        assert!(subs.subscribe("bad topic", "*").is_err());
        assert!(subs.subscribe("T", "A\u{1}").is_err());
        assert!(subs.unsubscribe("U"));
        assert_eq!(subs.all().len(), 1);
    }
}
