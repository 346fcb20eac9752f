//! The `mqadmin` command line: RocketMQ's sub-command names and short flags (clap derive),
//! global `-n/--namesrvAddr` (or `NAMESRV_ADDR`), `--json`, `--timeout-ms`, and the ACL
//! and TLS flags of [`SecurityArgs`], and
//! [`run`], which executes one parsed command and prints its result.

use std::io::Write;
use std::time::Duration;

use clap::{Parser, Subcommand};

use super::client::AdminClient;
use super::commands::cluster::{self, BrokerStatusArgs, ClusterListArgs};
use super::commands::config::{self, GetBrokerConfigArgs, UpdateBrokerConfigArgs};
use super::commands::dlq::{self, QueryDlqMsgArgs, ResendDlqMsgArgs};
use super::commands::group::{self, ResetOffsetByTimeArgs, UpdateSubGroupArgs};
use super::commands::message::{self, QueryMsgByIdArgs, QueryMsgByKeyArgs, QueryMsgByOffsetArgs};
use super::commands::producer::{self, ProducerConnectionArgs};
use super::commands::progress::{self, ConsumerProgressArgs};
use super::commands::pull::{self, ConsumeMessageArgs, PrintMsgArgs};
use super::commands::send::{self, SendMessageArgs};
use super::commands::topic::{self, DeleteTopicArgs, TopicArgs, TopicListArgs, UpdateTopicArgs};
use super::error::AdminError;
use super::message_view::MessageView;
use super::output::{Format, Printer, Report};
use crate::security::SecurityArgs;

/// `mqadmin [global flags] <command> [flags]`.
#[derive(Debug, Parser)]
#[command(
    name = "mqadmin",
    version,
    about = "Fennec admin tool: RocketMQ's mqadmin commands and flags",
    propagate_version = true
)]
pub struct Cli {
    /// Nameserver addresses, `host:port;host:port`.
    #[arg(
        short = 'n',
        long = "namesrvAddr",
        env = "NAMESRV_ADDR",
        global = true,
        default_value = "127.0.0.1:9876"
    )]
    pub namesrv_addr: String,
    /// Print one JSON document instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// Timeout of each request, in milliseconds.
    #[arg(long = "timeout-ms", default_value_t = 3000, global = true)]
    pub timeout_ms: u64,
    #[command(flatten)]
    pub security: SecurityArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// The sub-commands, named as in RocketMQ.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create or update a topic on a broker (-b) or every master of a cluster (-c).
    #[command(name = "updateTopic")]
    UpdateTopic(UpdateTopicArgs),
    /// Delete a topic from every master of a cluster and from the nameservers.
    #[command(name = "deleteTopic")]
    DeleteTopic(DeleteTopicArgs),
    /// List the topics the nameservers know.
    #[command(name = "topicList")]
    TopicList(TopicListArgs),
    /// Print a topic's route.
    #[command(name = "topicRoute")]
    TopicRoute(TopicArgs),
    /// Min/max offset and last update time of every queue of a topic.
    #[command(name = "topicStatus")]
    TopicStatus(TopicArgs),
    /// Brokers, roles, addresses, versions and traffic.
    #[command(name = "clusterList")]
    ClusterList(ClusterListArgs),
    /// A broker's runtime statistics.
    #[command(name = "brokerStatus")]
    BrokerStatus(BrokerStatusArgs),
    /// Create or update a subscription (consumer) group.
    #[command(name = "updateSubGroup")]
    UpdateSubGroup(UpdateSubGroupArgs),
    /// A group's offsets and lag per queue, or a summary of every group.
    #[command(name = "consumerProgress")]
    ConsumerProgress(ConsumerProgressArgs),
    /// The producers of a group connected to the masters of a topic.
    #[command(name = "producerConnection")]
    ProducerConnection(ProducerConnectionArgs),
    /// Move a group's offsets on a topic to a point in time.
    #[command(name = "resetOffsetByTime")]
    ResetOffsetByTime(ResetOffsetByTimeArgs),
    /// Find messages by key.
    #[command(name = "queryMsgByKey")]
    QueryMsgByKey(QueryMsgByKeyArgs),
    /// Find a message by offset msgId or UNIQ_KEY.
    #[command(name = "queryMsgById")]
    QueryMsgById(QueryMsgByIdArgs),
    /// Show the message at a queue offset.
    #[command(name = "queryMsgByOffset")]
    QueryMsgByOffset(QueryMsgByOffsetArgs),
    /// Send one message.
    #[command(name = "sendMessage")]
    SendMessage(SendMessageArgs),
    /// Print messages from a queue range without committing offsets.
    #[command(name = "consumeMessage")]
    ConsumeMessage(ConsumeMessageArgs),
    /// Print every message of a topic in a time range.
    #[command(name = "printMsg")]
    PrintMsg(PrintMsgArgs),
    /// List a consumer group's dead letters (topic %DLQ%GROUP).
    #[command(name = "queryDlqMsg")]
    QueryDlqMsg(QueryDlqMsgArgs),
    /// Send one of a group's dead letters back to its original topic.
    #[command(name = "resendDlqMsg")]
    ResendDlqMsg(ResendDlqMsgArgs),
    /// Print broker configuration.
    #[command(name = "getBrokerConfig")]
    GetBrokerConfig(GetBrokerConfigArgs),
    /// Change one broker configuration key.
    #[command(name = "updateBrokerConfig")]
    UpdateBrokerConfig(UpdateBrokerConfigArgs),
    /// Print every nameserver's configuration.
    #[command(name = "getNamesrvConfig")]
    GetNamesrvConfig,
}

impl Command {
    /// The sub-command name as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Command::UpdateTopic(_) => "updateTopic",
            Command::DeleteTopic(_) => "deleteTopic",
            Command::TopicList(_) => "topicList",
            Command::TopicRoute(_) => "topicRoute",
            Command::TopicStatus(_) => "topicStatus",
            Command::ClusterList(_) => "clusterList",
            Command::BrokerStatus(_) => "brokerStatus",
            Command::UpdateSubGroup(_) => "updateSubGroup",
            Command::ConsumerProgress(_) => "consumerProgress",
            Command::ProducerConnection(_) => "producerConnection",
            Command::ResetOffsetByTime(_) => "resetOffsetByTime",
            Command::QueryMsgByKey(_) => "queryMsgByKey",
            Command::QueryMsgById(_) => "queryMsgById",
            Command::QueryMsgByOffset(_) => "queryMsgByOffset",
            Command::SendMessage(_) => "sendMessage",
            Command::ConsumeMessage(_) => "consumeMessage",
            Command::PrintMsg(_) => "printMsg",
            Command::QueryDlqMsg(_) => "queryDlqMsg",
            Command::ResendDlqMsg(_) => "resendDlqMsg",
            Command::GetBrokerConfig(_) => "getBrokerConfig",
            Command::UpdateBrokerConfig(_) => "updateBrokerConfig",
            Command::GetNamesrvConfig => "getNamesrvConfig",
        }
    }
}

/// How a command that printed its result ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every server answered.
    Done,
    /// Results were printed, but these servers failed (exit non-zero).
    Partial(Vec<String>),
}

/// Runs one command, writing its result to `out`.
pub async fn run<W: Write>(cli: &Cli, out: W) -> Result<Outcome, AdminError> {
    let namesrv = fennec_common::net::parse_addr_list(&cli.namesrv_addr)
        .map_err(|e| AdminError::Usage(format!("-n/--namesrvAddr: {e}")))?;
    let security = cli.security.resolve().map_err(AdminError::Usage)?;
    let client = AdminClient::with_config(
        namesrv,
        Duration::from_millis(cli.timeout_ms.max(1)),
        security.remoting_config(),
    );
    let format = if cli.json {
        Format::Json
    } else {
        Format::Human
    };
    let mut printer = Printer::new(out, format);
    let result = dispatch(&client, &cli.command, &mut printer)
        .await
        .map_err(|e| e.in_command(cli.command.name()));
    client.shutdown().await;
    let mut out = printer.into_inner();
    let flushed = out.flush().map_err(AdminError::Output);
    let outcome = result?;
    flushed?;
    Ok(outcome)
}

async fn dispatch<W: Write>(
    client: &AdminClient,
    command: &Command,
    p: &mut Printer<W>,
) -> Result<Outcome, AdminError> {
    match command {
        Command::UpdateTopic(a) => emit(p, &topic::update_topic(client, a).await?),
        Command::DeleteTopic(a) => emit(p, &topic::delete_topic(client, a).await?),
        Command::TopicList(a) => emit(p, &topic::topic_list(client, a).await?),
        Command::TopicRoute(a) => emit(p, &topic::topic_route(client, a).await?),
        Command::TopicStatus(a) => emit(p, &topic::topic_status(client, a).await?),
        Command::ClusterList(a) => emit(p, &cluster::cluster_list(client, a).await?),
        Command::BrokerStatus(a) => emit(p, &cluster::broker_status(client, a).await?),
        Command::UpdateSubGroup(a) => emit(p, &group::update_sub_group(client, a).await?),
        Command::ConsumerProgress(a) => emit(p, &progress::consumer_progress(client, a).await?),
        Command::ProducerConnection(a) => emit(p, &producer::producer_connection(client, a).await?),
        Command::ResetOffsetByTime(a) => emit(p, &group::reset_offset_by_time(client, a).await?),
        Command::QueryMsgByKey(a) => emit(p, &message::query_msg_by_key(client, a).await?),
        Command::QueryMsgById(a) => emit(p, &message::query_msg_by_id(client, a).await?),
        Command::QueryMsgByOffset(a) => emit(p, &message::query_msg_by_offset(client, a).await?),
        Command::SendMessage(a) => emit(p, &send::send_message(client, a).await?),
        Command::ConsumeMessage(a) => {
            let mut sink = |v: MessageView| p.item(&v).map_err(AdminError::Output);
            let result = pull::consume_message(client, a, &mut sink).await;
            stream_end(p, result)
        }
        Command::PrintMsg(a) => {
            let mut sink = |v: MessageView| p.item(&v).map_err(AdminError::Output);
            let result = pull::print_msg(client, a, &mut sink).await;
            stream_end(p, result)
        }
        Command::QueryDlqMsg(a) => emit(p, &dlq::query_dlq_msg(client, a).await?),
        Command::ResendDlqMsg(a) => emit(p, &dlq::resend_dlq_msg(client, a).await?),
        Command::GetBrokerConfig(a) => emit(p, &config::get_broker_config(client, a).await?),
        Command::UpdateBrokerConfig(a) => emit(p, &config::update_broker_config(client, a).await?),
        Command::GetNamesrvConfig => emit(p, &config::get_namesrv_config(client).await?),
    }
}

fn emit<W: Write, R: Report>(p: &mut Printer<W>, report: &R) -> Result<Outcome, AdminError> {
    p.report(report).map_err(AdminError::Output)?;
    if report.errors().is_empty() {
        Ok(Outcome::Done)
    } else {
        Ok(Outcome::Partial(report.errors().to_vec()))
    }
}

/// Closes a streamed list, also after a failure, so JSON output stays one document.
fn stream_end<W: Write>(
    p: &mut Printer<W>,
    result: Result<usize, AdminError>,
) -> Result<Outcome, AdminError> {
    let closed = p.finish_list().map_err(AdminError::Output);
    result?;
    closed?;
    Ok(Outcome::Done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    fn parse(line: &str) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(line.split_whitespace())
    }

    #[test]
    fn rocketmq_command_lines_parse() {
        let cli =
            parse("mqadmin updateTopic -n 127.0.0.1:9876 -c DefaultCluster -t T -r 4").unwrap();
        assert_eq!(cli.namesrv_addr, "127.0.0.1:9876");
        let Command::UpdateTopic(a) = &cli.command else {
            panic!("{cli:?}")
        };
        let flags = (a.read_queue_nums, a.write_queue_nums, a.perm, a.order);
        assert_eq!(flags, (4, 8, 6, false));
        assert_eq!(cli.command.name(), "updateTopic");

        let line = "mqadmin --json resetOffsetByTime -g G -t T -s 2023-11-14#22:13:20:000 -f false";
        let cli = parse(line).unwrap();
        let Command::ResetOffsetByTime(a) = &cli.command else {
            panic!("{cli:?}")
        };
        assert!(!a.force && cli.json);
        assert_eq!(cli.timeout_ms, 3000);

        let cli = parse("mqadmin printMsg -t T -d false --timeout-ms 50").unwrap();
        let Command::PrintMsg(a) = &cli.command else {
            panic!("{cli:?}")
        };
        assert!(!a.print_body);
        assert_eq!(cli.timeout_ms, 50);

        assert!(parse("mqadmin queryMsgByKey -t T").is_err());
        assert!(parse("mqadmin resetOffsetByTime -g G -t T -s yesterday").is_err());
        assert!(parse("mqadmin nosuchCommand").is_err());
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("queryMsgByKey") && help.contains("consumerProgress"));
    }

    #[tokio::test]
    async fn unreachable_nameserver_fails_with_its_address() {
        let cli =
            Cli::try_parse_from(["mqadmin", "-n", "127.0.0.1:1", "topicRoute", "-t", "T"]).unwrap();
        let mut out = Vec::new();
        let err = run(&cli, &mut out).await.unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot reach nameserver 127.0.0.1:1: "),
            "{err}"
        );
        assert!(out.is_empty());
    }
}
