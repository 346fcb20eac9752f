//! Cluster commands: `clusterList` (brokers, roles, versions and traffic from
//! GET_BROKER_RUNTIME_INFO) and `brokerStatus` (the runtime info table itself).

use std::collections::BTreeMap;

use clap::Args;
use fennec_protocol::body::MASTER_ID;
use futures_util::future::join_all;
use serde::Serialize;

use super::target::{require_some, BrokerOrCluster};
use crate::admin::client::AdminClient;
use crate::admin::error::AdminError;
use crate::admin::output::{key_values, Report, Table};

#[derive(Debug, Clone, Args)]
pub struct ClusterListArgs {
    /// Only this cluster.
    #[arg(short = 'c', long = "clusterName")]
    pub cluster: Option<String>,
    /// Also show yesterday's totals.
    #[arg(short = 'm', long = "moreStats")]
    pub more_stats: bool,
}

/// One broker of `clusterList`.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BrokerRow {
    pub cluster: String,
    pub broker_name: String,
    pub broker_id: i64,
    /// `MASTER` for id 0, else `SLAVE`.
    pub role: String,
    /// The broker's `brokerRole` (ASYNC_MASTER, SYNC_MASTER or SLAVE), when it reports one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broker_role: Option<String>,
    pub addr: String,
    pub version: String,
    pub in_tps: f64,
    pub out_tps: f64,
    pub in_total_today: i64,
    pub out_total_today: i64,
    /// Used share of the commit log's disk, in percent (`commitLogDiskRatio`), when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_used_percent: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_total_yesterday: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out_total_yesterday: Option<i64>,
    /// Why the runtime info is missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl BrokerRow {
    /// Fills the statistics from a runtime info table.
    pub fn apply_runtime_info(&mut self, table: &BTreeMap<String, String>) {
        let num = |k: &str| table.get(k).and_then(|v| v.trim().parse::<i64>().ok());
        let tps = |k: &str| {
            table
                .get(k)
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<f64>().ok())
        };
        self.version = table.get("brokerVersionDesc").cloned().unwrap_or_default();
        self.broker_role = table.get("brokerRole").cloned();
        self.in_tps = tps("putTps").unwrap_or(0.0);
        self.disk_used_percent = tps("commitLogDiskRatio");
        self.out_tps = tps("getTransferedTps")
            .or_else(|| tps("getTransferredTps"))
            .unwrap_or(0.0);
        let today = |now: Option<i64>, morning: Option<i64>| match (now, morning) {
            (Some(n), Some(m)) => (n - m).max(0),
            (Some(n), None) => n,
            _ => 0,
        };
        let yesterday = |morning: Option<i64>, y_morning: Option<i64>| match (morning, y_morning) {
            (Some(m), Some(y)) => Some((m - y).max(0)),
            _ => None,
        };
        let (put_now, put_morning) = (num("msgPutTotalTodayNow"), num("msgPutTotalTodayMorning"));
        let (get_now, get_morning) = (num("msgGetTotalTodayNow"), num("msgGetTotalTodayMorning"));
        self.in_total_today = today(put_now, put_morning);
        self.out_total_today = today(get_now, get_morning);
        self.in_total_yesterday = yesterday(put_morning, num("msgPutTotalYesterdayMorning"));
        self.out_total_yesterday = yesterday(get_morning, num("msgGetTotalYesterdayMorning"));
    }
}

/// `clusterList` result.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterListReport {
    pub brokers: Vec<BrokerRow>,
    #[serde(skip)]
    pub more_stats: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// `clusterList`: every broker of every (or one) cluster with its runtime statistics.
pub async fn cluster_list(
    client: &AdminClient,
    args: &ClusterListArgs,
) -> Result<ClusterListReport, AdminError> {
    let info = client.cluster_info().await?;
    if let Some(c) = &args.cluster {
        if !info.cluster_addr_table.contains_key(c) {
            return Err(AdminError::ClusterNotExist(c.clone()));
        }
    }
    let mut rows = Vec::new();
    for (cluster, names) in &info.cluster_addr_table {
        if args.cluster.as_ref().is_some_and(|c| c != cluster) {
            continue;
        }
        for name in names {
            let Some(bd) = info.broker_addr_table.get(name) else {
                continue;
            };
            for (id, addr) in &bd.broker_addrs {
                rows.push(BrokerRow {
                    cluster: cluster.clone(),
                    broker_name: name.clone(),
                    broker_id: *id,
                    role: if *id == MASTER_ID { "MASTER" } else { "SLAVE" }.to_string(),
                    addr: addr.clone(),
                    ..Default::default()
                });
            }
        }
    }
    let infos = join_all(rows.iter().map(|r| client.broker_runtime_info(&r.addr))).await;
    let mut errors = Vec::new();
    for (row, info) in rows.iter_mut().zip(infos) {
        match info {
            Ok(kv) => row.apply_runtime_info(&kv.table),
            Err(e) => {
                errors.push(e.to_string());
                row.error = Some(e.to_string());
            }
        }
    }
    Ok(ClusterListReport {
        brokers: rows,
        more_stats: args.more_stats,
        errors,
    })
}

impl Report for ClusterListReport {
    fn human(&self, out: &mut String) {
        let mut header = vec![
            "#Cluster Name",
            "#Broker Name",
            "#BID",
            "#Role",
            "#Addr",
            "#Version",
            "#InTPS",
            "#OutTPS",
            "#InTotalToday",
            "#OutTotalToday",
        ];
        if self.more_stats {
            header.extend(["#InTotalYest", "#OutTotalYest"]);
        }
        let mut t = Table::new(&header);
        for r in &self.brokers {
            let stat = |v: String| if r.error.is_some() { String::new() } else { v };
            let mut row = vec![
                r.cluster.clone(),
                r.broker_name.clone(),
                r.broker_id.to_string(),
                r.broker_role.clone().unwrap_or_else(|| r.role.clone()),
                r.addr.clone(),
                if r.error.is_some() {
                    "UNREACHABLE".to_string()
                } else {
                    r.version.clone()
                },
                stat(format!("{:.2}", r.in_tps)),
                stat(format!("{:.2}", r.out_tps)),
                stat(r.in_total_today.to_string()),
                stat(r.out_total_today.to_string()),
            ];
            if self.more_stats {
                let opt = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
                row.push(opt(r.in_total_yesterday));
                row.push(opt(r.out_total_yesterday));
            }
            t.push(row);
        }
        t.render(out);
    }

    fn errors(&self) -> &[String] {
        &self.errors
    }
}

#[derive(Debug, Clone, Args)]
pub struct BrokerStatusArgs {
    #[command(flatten)]
    pub target: BrokerOrCluster,
}

/// One broker's runtime info.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokerStatus {
    pub addr: String,
    pub broker_name: String,
    pub table: BTreeMap<String, String>,
}

/// `brokerStatus` result.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokerStatusReport {
    pub brokers: Vec<BrokerStatus>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// `brokerStatus`: GET_BROKER_RUNTIME_INFO of one broker or every broker of a cluster.
pub async fn broker_status(
    client: &AdminClient,
    args: &BrokerStatusArgs,
) -> Result<BrokerStatusReport, AdminError> {
    let targets = args.target.all(client).await?;
    let results = join_all(targets.iter().map(|t| async move {
        client
            .broker_runtime_info(&t.addr)
            .await
            .map(|kv| BrokerStatus {
                addr: t.addr.clone(),
                broker_name: t.broker_name.clone(),
                table: kv.table,
            })
    }))
    .await;
    let (brokers, errors) = require_some(results)?;
    Ok(BrokerStatusReport { brokers, errors })
}

impl Report for BrokerStatusReport {
    fn human(&self, out: &mut String) {
        if let [one] = self.brokers.as_slice() {
            let pairs: Vec<_> = one.table.iter().collect();
            key_values(&pairs, out);
            return;
        }
        for b in &self.brokers {
            let pairs: Vec<(String, &String)> = b
                .table
                .iter()
                .map(|(k, v)| (format!("{:<22} {k}", b.addr), v))
                .collect();
            key_values(&pairs, out);
        }
    }

    fn errors(&self) -> &[String] {
        &self.errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn runtime_info_keys() {
        let mut r = BrokerRow::default();
        r.apply_runtime_info(&table(&[
            ("brokerVersionDesc", "V4_9_8"),
            ("putTps", "12.50 10.0 9.0"),
            ("getTransferredTps", "3.25 1 1"),
            ("msgPutTotalTodayNow", "1500"),
            ("msgPutTotalTodayMorning", "1000"),
            ("msgPutTotalYesterdayMorning", "400"),
            ("msgGetTotalTodayNow", "70"),
            ("commitLogDiskRatio", "41.5000"),
        ]));
        assert_eq!(r.version, "V4_9_8");
        assert_eq!(r.disk_used_percent, Some(41.5));
        assert_eq!((r.in_tps, r.out_tps), (12.5, 3.25));
        assert_eq!((r.in_total_today, r.out_total_today), (500, 70));
        assert_eq!(
            (r.in_total_yesterday, r.out_total_yesterday),
            (Some(600), None)
        );
        // RocketMQ's historical spelling wins when both are present.
        r.apply_runtime_info(&table(&[
            ("getTransferedTps", "1.0"),
            ("getTransferredTps", "2.0"),
        ]));
        assert_eq!(r.out_tps, 1.0);
    }

    #[test]
    fn cluster_list_renders_and_serializes() {
        let report = ClusterListReport {
            brokers: vec![BrokerRow {
                cluster: "C".into(),
                broker_name: "broker-a".into(),
                role: "MASTER".into(),
                addr: "127.0.0.1:10911".into(),
                version: "V4_9_8".into(),
                in_tps: 1.0,
                ..Default::default()
            }],
            more_stats: false,
            errors: Vec::new(),
        };
        let mut s = String::new();
        report.human(&mut s);
        let lines: Vec<&str> = s.lines().collect();
        assert!(lines[0].starts_with("#Cluster Name  #Broker Name  #BID  #Role"));
        assert!(lines[1].starts_with("C              broker-a         0  MASTER"));
        let v = serde_json::to_value(&report).unwrap();
        assert_eq!(v["brokers"][0]["inTps"], 1.0);
        assert_eq!(v["brokers"][0]["role"], "MASTER");
    }

    #[test]
    fn the_role_column_shows_the_reported_broker_role() {
        let row = |id: i64, role: &str, reported: &str| {
            let mut r = BrokerRow {
                cluster: "C".into(),
                broker_name: "broker-a".into(),
                broker_id: id,
                role: role.into(),
                ..Default::default()
            };
            r.apply_runtime_info(&table(&[("brokerRole", reported)]));
            r
        };
        let report = ClusterListReport {
            brokers: vec![row(0, "MASTER", "SYNC_MASTER"), row(1, "SLAVE", "SLAVE")],
            more_stats: false,
            errors: Vec::new(),
        };
        let mut s = String::new();
        report.human(&mut s);
        let words: Vec<Vec<&str>> = s.lines().map(|l| l.split_whitespace().collect()).collect();
        assert_eq!(words[1][2..4], ["0", "SYNC_MASTER"]);
        assert_eq!(words[2][2..4], ["1", "SLAVE"]);
        let v = serde_json::to_value(&report).unwrap();
        assert_eq!(v["brokers"][0]["brokerRole"], "SYNC_MASTER");
        assert_eq!(v["brokers"][0]["role"], "MASTER");
    }
}
