//! Configuration commands: `getBrokerConfig` (GET_BROKER_CONFIG), `updateBrokerConfig`
//! (UPDATE_BROKER_CONFIG with a `key=value` body) and `getNamesrvConfig`
//! (GET_NAMESRV_CONFIG). A server that answers REQUEST_CODE_NOT_SUPPORTED is reported as
//! `<server> does not support <command> (<REQUEST>)`.

use std::collections::BTreeMap;

use clap::Args;
use futures_util::future::join_all;
use serde::Serialize;

use super::target::{all_ok, BrokerOrCluster};
use crate::admin::client::AdminClient;
use crate::admin::error::AdminError;
use crate::admin::output::Report;

#[derive(Debug, Clone, Args)]
pub struct GetBrokerConfigArgs {
    #[command(flatten)]
    pub target: BrokerOrCluster,
}

/// One server's configuration.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerConfig {
    pub addr: String,
    pub config: BTreeMap<String, String>,
}

/// `getBrokerConfig` / `getNamesrvConfig` result.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct ConfigReport(pub Vec<ServerConfig>);

/// `getBrokerConfig`: one broker or every broker (masters and slaves) of a cluster.
pub async fn get_broker_config(
    client: &AdminClient,
    args: &GetBrokerConfigArgs,
) -> Result<ConfigReport, AdminError> {
    let targets = args.target.all(client).await?;
    let results = join_all(targets.iter().map(|t| async move {
        client
            .broker_config(&t.addr)
            .await
            .map(|config| ServerConfig {
                addr: t.addr.clone(),
                config: config.into_iter().collect(),
            })
    }))
    .await;
    // Any failure fails the command: a partial configuration dump misleads.
    all_ok(results).map(ConfigReport)
}

/// `getNamesrvConfig`: every nameserver's configuration.
pub async fn get_namesrv_config(client: &AdminClient) -> Result<ConfigReport, AdminError> {
    if client.namesrv_addrs().is_empty() {
        return Err(AdminError::NoNamesrv);
    }
    let results = join_all(client.namesrv_addrs().iter().map(|addr| async move {
        client
            .namesrv_config(addr)
            .await
            .map(|config| ServerConfig {
                addr: addr.clone(),
                config: config.into_iter().collect(),
            })
    }))
    .await;
    all_ok(results).map(ConfigReport)
}

impl Report for ConfigReport {
    fn human(&self, out: &mut String) {
        for server in &self.0 {
            out.push_str(&format!("============{}============\n", server.addr));
            for (k, v) in &server.config {
                out.push_str(&format!("{k:<50}=  {v}\n"));
            }
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct UpdateBrokerConfigArgs {
    #[command(flatten)]
    pub target: BrokerOrCluster,
    /// Configuration key.
    #[arg(short = 'k', long = "key")]
    pub key: String,
    /// New value.
    #[arg(short = 'v', long = "value")]
    pub value: String,
}

/// What `updateBrokerConfig` changed.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateBrokerConfigReport {
    pub brokers: Vec<String>,
    pub key: String,
    pub value: String,
}

/// `updateBrokerConfig`: UPDATE_BROKER_CONFIG on one broker or every broker of a cluster.
pub async fn update_broker_config(
    client: &AdminClient,
    args: &UpdateBrokerConfigArgs,
) -> Result<UpdateBrokerConfigReport, AdminError> {
    if args.key.contains(['=', '\n']) || args.value.contains('\n') {
        return Err(AdminError::Usage(
            "the key may not contain '=' or a newline, the value no newline".into(),
        ));
    }
    let targets = args.target.all(client).await?;
    let results = join_all(
        targets
            .iter()
            .map(|t| client.update_broker_config(&t.addr, &args.key, &args.value)),
    )
    .await;
    all_ok(results)?;
    Ok(UpdateBrokerConfigReport {
        brokers: targets.into_iter().map(|t| t.addr).collect(),
        key: args.key.clone(),
        value: args.value.clone(),
    })
}

impl Report for UpdateBrokerConfigReport {
    fn human(&self, out: &mut String) {
        for b in &self.brokers {
            out.push_str(&format!(
                "update broker config success, {b} {}={}\n",
                self.key, self.value
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_report_shapes() {
        let r = ConfigReport(vec![ServerConfig {
            addr: "b:1".into(),
            config: BTreeMap::from([("z".into(), "1".into()), ("a".into(), "2".into())]),
        }]);
        let mut s = String::new();
        r.human(&mut s);
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines[0], "============b:1============");
        assert!(lines[1].starts_with("a ") && lines[1].ends_with("=  2"));
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v[0]["config"]["z"], "1");
    }
}
