//! `producerConnection`: the producers of a group connected to the masters serving a topic
//! (GET_PRODUCER_CONNECTION_LIST to each), as RocketMQ's command.

use clap::Args;
use futures_util::future::join_all;
use serde::Serialize;

use crate::admin::client::AdminClient;
use crate::admin::error::AdminError;
use crate::admin::output::{Report, Table};
use crate::admin::route::route_masters;

#[derive(Debug, Clone, Args)]
pub struct ProducerConnectionArgs {
    /// Producer group.
    #[arg(short = 'g', long = "producerGroup")]
    pub group: String,
    /// A topic the group sends to: its masters are asked.
    #[arg(short = 't', long = "topic")]
    pub topic: String,
}

/// One producer connection.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ProducerRow {
    pub broker_name: String,
    pub client_id: String,
    pub client_addr: String,
    pub language: String,
    pub version: i32,
}

/// `producerConnection` result.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProducerConnectionReport {
    pub group: String,
    pub producers: Vec<ProducerRow>,
    /// Masters that have no producer of the group say so with an error; they are listed here.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// `producerConnection`: every master of the topic's route, asked at once.
pub async fn producer_connection(
    client: &AdminClient,
    args: &ProducerConnectionArgs,
) -> Result<ProducerConnectionReport, AdminError> {
    let masters = route_masters(&client.topic_route(&args.topic).await?);
    let answers = join_all(
        masters
            .iter()
            .map(|t| client.producer_connection(&t.addr, &args.group)),
    )
    .await;
    let mut producers = Vec::new();
    let mut errors = Vec::new();
    for (target, answer) in masters.iter().zip(answers) {
        match answer {
            Ok(c) => producers.extend(c.connection_set.into_iter().map(|c| ProducerRow {
                broker_name: target.broker_name.clone(),
                client_id: c.client_id,
                client_addr: c.client_addr,
                language: c.language,
                version: c.version,
            })),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if producers.is_empty() {
        return Err(AdminError::NotFound(format!(
            "no producer of group {} is connected to the masters of {}{}",
            args.group,
            args.topic,
            if errors.is_empty() {
                String::new()
            } else {
                format!(" ({})", errors.join("; "))
            }
        )));
    }
    Ok(ProducerConnectionReport {
        group: args.group.clone(),
        producers,
        errors,
    })
}

impl Report for ProducerConnectionReport {
    fn human(&self, out: &mut String) {
        let mut t = Table::new(&[
            "#broker",
            "#clientId",
            "#clientAddr",
            "#language",
            "#version",
        ]);
        for p in &self.producers {
            t.push(vec![
                p.broker_name.clone(),
                p.client_id.clone(),
                p.client_addr.clone(),
                p.language.clone(),
                p.version.to_string(),
            ]);
        }
        t.render(out);
    }

    fn errors(&self) -> &[String] {
        &self.errors
    }
}
