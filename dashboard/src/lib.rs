//! Fennec's web dashboard: what rocketmq-dashboard users look at most, served by the
//! `mqdashboard` binary (`-n` nameservers) and by `mqbroker --with-namesrv` on its metrics
//! port.
//!
//! The page is static (HTML, CSS and a little JavaScript compiled into the binary, so it works
//! offline) and reads JSON endpoints. Every endpoint runs one of `mqadmin`'s command functions
//! (`fennec_tools::admin::commands`) and returns its report as JSON, so the dashboard and
//! `mqadmin --json` show the same figures from the same typed requests:
//!
//! | endpoint | mqadmin command |
//! |---|---|
//! | `GET /api/cluster` | `clusterList` (plus the disk use it reports) |
//! | `GET /api/topics` | `topicList -c` |
//! | `GET /api/topic?topic=` | `topicStatus` and `topicRoute` |
//! | `POST /api/topic/create` (`topic`, `cluster`, `queues`) | `updateTopic -c` |
//! | `POST /api/topic/delete` (`topic`, `cluster`, `confirm` = the topic's name) | `deleteTopic` |
//! | `GET /api/groups` | `consumerProgress` |
//! | `GET /api/group?group=` | `consumerProgress -g` and `consumerConnection` |
//! | `POST /api/group/reset` (`group`, `topic`, `timestamp`) | `resetOffsetByTime` |
//! | `GET /api/producers?group=&topic=` | `producerConnection` |
//! | `GET /api/message/key?topic=&key=` | `queryMsgByKey` |
//! | `GET /api/message/id?id=[&topic=]` | `queryMsgById` |
//! | `GET /api/message/range?topic=[&begin=][&end=]` | `printMsg` (at most 64 messages) |
//!
//! Failures answer `{"error": "..."}` with 400 (bad input), 404 (no such topic, group or
//! message) or 502 (a broker or nameserver failed).
//!
//! * [`api`]: the JSON handlers;
//! * [`assets`]: the page, its script and style sheet.

pub mod api;
pub mod assets;
mod error;

use std::sync::Arc;

use axum::Router;
use fennec_tools::admin::AdminClient;

pub use error::ApiError;

/// The dashboard's routes (page and JSON endpoints), asking the cluster through `client`.
pub fn router(client: AdminClient) -> Router {
    api::routes(Arc::new(client)).merge(assets::routes())
}
