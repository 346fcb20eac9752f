//! The process-wide table of running instances by client ID. Clients with the same ID share
//! one instance (RocketMQ's MQClientManager); it stops when the last of them shuts down.
//! With the default instance name every client gets an ID, and so an instance, of its own.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use parking_lot::Mutex;

use super::ClientInstance;
use crate::config::ClientConfig;
use crate::error::ClientError;

struct Entry {
    instance: Arc<ClientInstance>,
    users: usize,
}

static INSTANCES: LazyLock<Mutex<HashMap<String, Entry>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The running instance for `config`'s client ID, started if there is none. Must be called
/// within a tokio runtime. Every call must be matched by one [`release`].
pub(crate) fn acquire(config: &ClientConfig) -> Result<Arc<ClientInstance>, ClientError> {
    let namesrv = config.resolve_namesrv_addrs()?;
    let ip = config.resolve_client_ip(&namesrv);
    let client_id = config.client_id(ip);
    let mut instances = INSTANCES.lock();
    if let Some(entry) = instances.get_mut(&client_id) {
        entry.users += 1;
        return Ok(entry.instance.clone());
    }
    let instance = ClientInstance::new(client_id.clone(), ip, config.clone(), namesrv);
    instance.start();
    instances.insert(
        client_id,
        Entry {
            instance: instance.clone(),
            users: 1,
        },
    );
    Ok(instance)
}

/// Gives up one use of `instance`; the last one stops it.
pub(crate) async fn release(instance: &Arc<ClientInstance>) {
    let last = {
        let mut instances = INSTANCES.lock();
        match instances.get_mut(instance.client_id()) {
            Some(entry) if Arc::ptr_eq(&entry.instance, instance) => {
                entry.users -= 1;
                if entry.users == 0 {
                    instances.remove(instance.client_id());
                    true
                } else {
                    false
                }
            }
            _ => false,
        }
    };
    if last {
        instance.shutdown().await;
    }
}
