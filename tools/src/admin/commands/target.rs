//! Flags shared by several commands: `-b brokerAddr` or `-c clusterName` to pick brokers,
//! and the boolean flag form RocketMQ uses (`-o true`; a bare `-o` also means true).

use clap::Args;

use crate::admin::client::AdminClient;
use crate::admin::error::AdminError;
use crate::admin::route::{cluster_addrs, cluster_masters, BrokerTarget};

/// `-b` one broker address, or `-c` every broker of a cluster.
#[derive(Debug, Clone, Args)]
#[group(required = true, multiple = false)]
pub struct BrokerOrCluster {
    /// Broker address, host:port.
    #[arg(short = 'b', long = "brokerAddr")]
    pub broker_addr: Option<String>,
    /// Cluster name.
    #[arg(short = 'c', long = "clusterName")]
    pub cluster: Option<String>,
}

impl BrokerOrCluster {
    /// The broker given with `-b` (its name unknown, left empty), or the masters of the
    /// `-c` cluster.
    pub async fn masters(&self, client: &AdminClient) -> Result<Vec<BrokerTarget>, AdminError> {
        match (&self.broker_addr, &self.cluster) {
            (Some(addr), _) => Ok(vec![BrokerTarget {
                broker_name: String::new(),
                addr: addr.clone(),
            }]),
            (None, Some(cluster)) => {
                let targets = cluster_masters(&client.cluster_info().await?, cluster)?;
                non_empty(targets, cluster)
            }
            (None, None) => Err(missing()),
        }
    }

    /// The broker given with `-b`, or every master and slave of the `-c` cluster.
    pub async fn all(&self, client: &AdminClient) -> Result<Vec<BrokerTarget>, AdminError> {
        match (&self.broker_addr, &self.cluster) {
            (Some(_), _) => self.masters(client).await,
            (None, Some(cluster)) => {
                let info = client.cluster_info().await?;
                let targets = cluster_addrs(&info, cluster)?
                    .into_iter()
                    .map(|(broker_name, _, addr)| BrokerTarget { broker_name, addr })
                    .collect();
                non_empty(targets, cluster)
            }
            (None, None) => Err(missing()),
        }
    }
}

fn non_empty(targets: Vec<BrokerTarget>, cluster: &str) -> Result<Vec<BrokerTarget>, AdminError> {
    if targets.is_empty() {
        Err(AdminError::NotFound(format!(
            "cluster {cluster} has no live broker"
        )))
    } else {
        Ok(targets)
    }
}

fn missing() -> AdminError {
    AdminError::Usage("pass -b brokerAddr or -c clusterName".to_string())
}

/// Splits results into successes and error lines.
pub fn partition<T>(results: Vec<Result<T, AdminError>>) -> (Vec<T>, Vec<String>) {
    let mut ok = Vec::new();
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok(v) => ok.push(v),
            Err(e) => errors.push(e.to_string()),
        }
    }
    (ok, errors)
}

/// Every result, or the failures when any server failed (for changes, which must reach
/// every server).
pub fn all_ok<T>(results: Vec<Result<T, AdminError>>) -> Result<Vec<T>, AdminError> {
    let mut ok = Vec::new();
    let mut failed = Vec::new();
    for r in results {
        match r {
            Ok(v) => ok.push(v),
            Err(e) => failed.push(e),
        }
    }
    if failed.is_empty() {
        Ok(ok)
    } else {
        Err(AdminError::from_many(failed))
    }
}

/// When every server failed, the failure; otherwise the successes and the error lines.
pub fn require_some<T>(
    results: Vec<Result<T, AdminError>>,
) -> Result<(Vec<T>, Vec<String>), AdminError> {
    let all_failed = !results.is_empty() && results.iter().all(Result::is_err);
    if all_failed {
        return Err(AdminError::from_many(
            results.into_iter().filter_map(Result::err).collect(),
        ));
    }
    Ok(partition(results))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn require_some_fails_only_when_all_fail() {
        let e = || AdminError::NotFound("x".into());
        let (ok, errs) = require_some(vec![Ok(1), Err(e())]).unwrap();
        assert_eq!((ok, errs), (vec![1], vec!["x".to_string()]));
        assert!(require_some::<i32>(vec![Err(e()), Err(e())]).is_err());
        let (ok, errs) = require_some::<i32>(Vec::new()).unwrap();
        assert!(ok.is_empty() && errs.is_empty());
    }
}
