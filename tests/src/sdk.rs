//! SDK clients for tests: a started [`Producer`] pointed at a test cluster's nameserver.

use fennec_client::Producer;

/// A producer of `group`, started against the nameserver at `namesrv`.
///
/// # Panics
/// When the producer cannot be built or started.
pub async fn producer(namesrv: &str, group: &str) -> Producer {
    let p = Producer::builder(group)
        .namesrv_addr(namesrv)
        .build()
        .expect("producer");
    p.start().await.expect("start producer");
    p
}
