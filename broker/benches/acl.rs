//! ACL cost per request: `cargo bench -p fennec-broker --bench acl [-- ITERATIONS]`.
//!
//! Signs a SEND_MESSAGE_V2 as Fennec's producer sends it (the header fields `a`..`m`, a
//! properties string with UNIQ_KEY and WAIT, a 1 KiB body) with the client's
//! [`AclRpcHook`], then checks it as the broker does before dispatch ([`Acl::check`]:
//! account lookup, signature, PUB on the topic). Prints nanoseconds per request for each.
//!
//! Times on a shared machine wander; instruction counts do not. Run the built binary under
//! `valgrind --tool=callgrind` (a few thousand iterations are plenty) and read the inclusive
//! counts of `sign_once` and `check_once` with `callgrind_annotate --inclusive=yes`. Valgrind
//! hides SHA-NI from the program, so under it SHA-1 takes the portable path; compare counts
//! between builds, not with the native times.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

use fennec_broker::acl::Acl;
use fennec_protocol::header::SendMessageRequestHeaderV2;
use fennec_protocol::{RemotingCommand, RequestCode};
use fennec_remoting::{AclRpcHook, RpcHook};

const ACL_FILE: &str = "globalWhiteRemoteAddresses: [10.10.103.*]\naccounts:\n\
    - {accessKey: ops, secretKey: change-me-too, admin: true}\n\
    - {accessKey: app1, secretKey: change-me-1, defaultTopicPerm: DENY, defaultGroupPerm: SUB, \
       topicPerms: [Orders=PUB|SUB, Audit=PUB, Reports=SUB], groupPerms: [OrderConsumers=SUB]}\n";

/// The unsigned request, as the producer builds it.
fn send_request() -> RemotingCommand {
    let header = SendMessageRequestHeaderV2 {
        producer_group: "OrderProducers".to_string(),
        topic: "Orders".to_string(),
        default_topic: "TBW102".to_string(),
        default_topic_queue_nums: 4,
        queue_id: 3,
        sys_flag: 0,
        born_timestamp: 1_767_225_600_123,
        flag: 0,
        properties: Some(
            "UNIQ_KEY\u{1}7F00000100012B4AAC3D1F2E8A0B0000\u{2}WAIT\u{1}true\u{2}".into(),
        ),
        reconsume_times: Some(0),
        unit_mode: Some(false),
        max_reconsume_times: None,
        batch: Some(false),
        broker_name: None,
    };
    RemotingCommand::request_with_header(RequestCode::SEND_MESSAGE_V2, &header)
        .with_body(vec![b'x'; 1024])
}

#[inline(never)]
fn sign_once(hook: &AclRpcHook, broker: SocketAddr, request: &mut RemotingCommand) {
    hook.before_request(broker, request);
}

#[inline(never)]
fn check_once(acl: &Acl, request: &RemotingCommand, client: IpAddr) -> Result<(), String> {
    acl.check(request, client)
}

/// A fresh copy of the unsigned request: what the client hands its hook each time.
#[inline(never)]
fn fresh(unsigned: &RemotingCommand) -> RemotingCommand {
    unsigned.clone()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let iterations: u32 = match std::env::args().skip(1).find(|a| !a.starts_with('-')) {
        Some(n) => n.parse()?,
        None => 200_000,
    };
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("plain_acl.yml");
    std::fs::write(&path, ACL_FILE)?;
    let acl = Acl::load(path)?;
    let hook = AclRpcHook::new("app1", "change-me-1");
    let broker: SocketAddr = (Ipv4Addr::LOCALHOST, 10911).into();
    let client = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let unsigned = send_request();

    let mut signed = fresh(&unsigned);
    sign_once(&hook, broker, &mut signed);
    check_once(&acl, &signed, client)?;

    let started = Instant::now();
    for _ in 0..iterations {
        black_box(fresh(black_box(&unsigned)));
    }
    let copy_ns = started.elapsed().as_nanos() as f64 / f64::from(iterations);

    let started = Instant::now();
    for _ in 0..iterations {
        let mut request = fresh(black_box(&unsigned));
        sign_once(&hook, broker, &mut request);
        black_box(request);
    }
    let sign_ns = started.elapsed().as_nanos() as f64 / f64::from(iterations) - copy_ns;

    let started = Instant::now();
    for _ in 0..iterations {
        check_once(&acl, black_box(&signed), client)?;
    }
    let check_ns = started.elapsed().as_nanos() as f64 / f64::from(iterations);

    println!("SEND_MESSAGE_V2, 1 KiB body, {iterations} iterations");
    println!("sign (client hook)      {sign_ns:8.0} ns");
    println!("check (broker, verify)  {check_ns:8.0} ns");
    Ok(())
}
