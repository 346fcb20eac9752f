//! The JSON endpoints: each runs an `mqadmin` command function (the same typed requests,
//! the same merging of brokers' answers) and returns its report. See the crate docs for the
//! list.

use std::sync::Arc;

use axum::extract::{Form, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use fennec_tools::admin::commands::cluster::{cluster_list, ClusterListArgs};
use fennec_tools::admin::commands::group::{reset_offset_by_time, ResetOffsetByTimeArgs};
use fennec_tools::admin::commands::message::{
    query_msg_by_id, query_msg_by_key, MessagesReport, QueryMsgByIdArgs, QueryMsgByKeyArgs,
};
use fennec_tools::admin::commands::producer::{producer_connection, ProducerConnectionArgs};
use fennec_tools::admin::commands::progress::{
    consumer_progress, group_progress, ConsumerProgressArgs,
};
use fennec_tools::admin::commands::pull::{print_msg, PrintMsgArgs, SUB_ALL};
use fennec_tools::admin::commands::target::BrokerOrCluster;
use fennec_tools::admin::commands::topic::{
    delete_topic, topic_list, topic_route, topic_status, update_topic, DeleteTopicArgs, TopicArgs,
    TopicListArgs, UpdateTopicArgs,
};
use fennec_tools::admin::route::all_masters;
use fennec_tools::admin::time::parse_timestamp;
use fennec_tools::admin::AdminClient;
use futures_util::future::join_all;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::ApiError;

type Admin = State<Arc<AdminClient>>;
type Reply = Result<Response, ApiError>;

/// Messages a lookup by key returns at most.
const MAX_MESSAGES: usize = 64;

/// The JSON routes, asking the cluster through `client`.
pub fn routes(client: Arc<AdminClient>) -> Router {
    Router::new()
        .route("/api/cluster", get(cluster))
        .route("/api/topics", get(topics))
        .route("/api/topic", get(topic))
        .route("/api/topic/create", post(create_topic))
        .route("/api/topic/delete", post(remove_topic))
        .route("/api/groups", get(groups))
        .route("/api/group", get(group))
        .route("/api/group/reset", post(reset_offset))
        .route("/api/producers", get(producers))
        .route("/api/message/key", get(message_by_key))
        .route("/api/message/id", get(message_by_id))
        .route("/api/message/range", get(messages_in_range))
        .with_state(client)
}

/// `value` as a JSON response.
fn json<T: Serialize>(value: &T) -> Reply {
    let body = serde_json::to_string(value).map_err(|e| ApiError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        message: format!("cannot encode the answer as JSON: {e}"),
    })?;
    Ok(([(CONTENT_TYPE, "application/json")], body).into_response())
}

async fn cluster(State(admin): Admin) -> Reply {
    let args = ClusterListArgs {
        cluster: None,
        more_stats: false,
    };
    json(&cluster_list(&admin, &args).await?)
}

async fn topics(State(admin): Admin) -> Reply {
    json(&topic_list(&admin, &TopicListArgs { cluster: true }).await?)
}

#[derive(Debug, Deserialize)]
struct TopicQuery {
    topic: String,
}

async fn topic(State(admin): Admin, Query(q): Query<TopicQuery>) -> Reply {
    let args = TopicArgs { topic: q.topic };
    let (status, route) = tokio::join!(topic_status(&admin, &args), topic_route(&admin, &args));
    json(&json!({ "status": status?, "route": route? }))
}

#[derive(Debug, Deserialize)]
struct CreateTopic {
    topic: String,
    cluster: String,
    queues: i32,
}

async fn create_topic(State(admin): Admin, Form(f): Form<CreateTopic>) -> Reply {
    let args = UpdateTopicArgs {
        target: BrokerOrCluster {
            broker_addr: None,
            cluster: Some(f.cluster),
        },
        topic: f.topic,
        read_queue_nums: f.queues,
        write_queue_nums: f.queues,
        perm: 6,
        order: false,
    };
    json(&update_topic(&admin, &args).await?)
}

#[derive(Debug, Deserialize)]
struct DeleteTopic {
    topic: String,
    cluster: String,
    /// The topic's name typed again: a deletion is never one click away.
    #[serde(default)]
    confirm: String,
}

async fn remove_topic(State(admin): Admin, Form(f): Form<DeleteTopic>) -> Reply {
    if f.confirm != f.topic {
        return Err(ApiError::bad_request(format!(
            "deleting topic {} needs confirm={} (the topic's name typed again)",
            f.topic, f.topic
        )));
    }
    let args = DeleteTopicArgs {
        topic: f.topic,
        cluster: f.cluster,
    };
    json(&delete_topic(&admin, &args).await?)
}

async fn groups(State(admin): Admin) -> Reply {
    let args = ConsumerProgressArgs {
        group: None,
        topic: None,
    };
    json(&consumer_progress(&admin, &args).await?)
}

#[derive(Debug, Deserialize)]
struct GroupQuery {
    group: String,
}

/// The group's lag per queue and its online clients (from the first master that has any).
async fn group(State(admin): Admin, Query(q): Query<GroupQuery>) -> Reply {
    let progress = group_progress(&admin, &q.group, None).await?;
    let masters = all_masters(&admin.cluster_info().await?);
    let connections = join_all(
        masters
            .iter()
            .map(|t| admin.consumer_connection(&t.addr, &q.group)),
    )
    .await;
    let clients = connections
        .into_iter()
        .filter_map(|c| c.ok().flatten())
        .find(|c| !c.connection_set.is_empty());
    json(&json!({ "progress": progress, "connection": clients }))
}

#[derive(Debug, Deserialize)]
struct ProducersQuery {
    group: String,
    topic: String,
}

async fn producers(State(admin): Admin, Query(q): Query<ProducersQuery>) -> Reply {
    let args = ProducerConnectionArgs {
        group: q.group,
        topic: q.topic,
    };
    json(&producer_connection(&admin, &args).await?)
}

#[derive(Debug, Deserialize)]
struct ResetOffset {
    group: String,
    topic: String,
    /// `now`, milliseconds since the epoch, or `yyyy-MM-dd#HH:mm:ss:SSS` (local time).
    timestamp: String,
}

async fn reset_offset(State(admin): Admin, Form(f): Form<ResetOffset>) -> Reply {
    let timestamp = parse_timestamp(&f.timestamp)
        .map_err(|e| ApiError::bad_request(format!("timestamp {:?}: {e}", f.timestamp)))?;
    let args = ResetOffsetByTimeArgs {
        group: f.group,
        topic: f.topic,
        timestamp,
        force: true,
    };
    json(&reset_offset_by_time(&admin, &args).await?)
}

#[derive(Debug, Deserialize)]
struct KeyQuery {
    topic: String,
    key: String,
}

async fn message_by_key(State(admin): Admin, Query(q): Query<KeyQuery>) -> Reply {
    let args = QueryMsgByKeyArgs {
        topic: q.topic,
        key: q.key,
        begin: None,
        end: None,
        max: MAX_MESSAGES,
        full_body: true,
    };
    json(&query_msg_by_key(&admin, &args).await?)
}

#[derive(Debug, Deserialize)]
struct IdQuery {
    id: String,
    #[serde(default)]
    topic: Option<String>,
}

async fn message_by_id(State(admin): Admin, Query(q): Query<IdQuery>) -> Reply {
    let args = QueryMsgByIdArgs {
        msg_id: q.id,
        topic: q.topic.filter(|t| !t.is_empty()),
    };
    json(&query_msg_by_id(&admin, &args).await?)
}

#[derive(Debug, Deserialize)]
struct RangeQuery {
    topic: String,
    /// `now`, milliseconds since the epoch, or `yyyy-MM-dd#HH:mm:ss:SSS`; empty: the oldest.
    #[serde(default)]
    begin: String,
    /// As `begin`; empty: the newest.
    #[serde(default)]
    end: String,
}

/// A timestamp field that may be left empty.
fn optional_time(field: &str, value: &str) -> Result<Option<i64>, ApiError> {
    match value.trim() {
        "" => Ok(None),
        v => parse_timestamp(v)
            .map(Some)
            .map_err(|e| ApiError::bad_request(format!("{field} {v:?}: {e}"))),
    }
}

/// The messages of a topic stored between two times (printMsg), at most [`MAX_MESSAGES`].
async fn messages_in_range(State(admin): Admin, Query(q): Query<RangeQuery>) -> Reply {
    let args = PrintMsgArgs {
        topic: q.topic,
        sub_expression: SUB_ALL.to_string(),
        begin: optional_time("begin", &q.begin)?,
        end: optional_time("end", &q.end)?,
        print_body: true,
        full_body: true,
        limit: Some(MAX_MESSAGES),
    };
    // printMsg's message sink is a plain `dyn FnMut`, so its future is not Send (axum's
    // handlers must be): it runs on a blocking-pool thread that drives it to completion.
    let handle = tokio::runtime::Handle::current();
    let scan = tokio::task::spawn_blocking(move || {
        handle.block_on(async move {
            let mut messages = Vec::new();
            print_msg(&admin, &args, &mut |m| {
                messages.push(m);
                Ok(())
            })
            .await
            .map(|_| messages)
        })
    });
    let messages = scan.await.map_err(|e| ApiError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        message: format!("the message scan stopped: {e}"),
    })??;
    json(&MessagesReport {
        messages,
        errors: Vec::new(),
        detail: false,
    })
}
