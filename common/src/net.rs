//! Addresses: local address discovery (what brokers advertise and clients put in their ids)
//! and `host:port` lists as RocketMQ configurations write them.

use std::net::{IpAddr, Ipv4Addr, UdpSocket};

/// The IPv4 address this host uses for outbound traffic, found by "connecting" a UDP socket
/// (no packet is sent); 127.0.0.1 when the host has no route.
pub fn local_ip() -> IpAddr {
    let probe = || -> std::io::Result<IpAddr> {
        let s = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
        s.connect((Ipv4Addr::new(10, 254, 254, 254), 9))?;
        Ok(s.local_addr()?.ip())
    };
    match probe() {
        Ok(ip) if !ip.is_unspecified() => ip,
        _ => IpAddr::V4(Ipv4Addr::LOCALHOST),
    }
}

/// Splits a `;`-separated address list (RocketMQ's `namesrvAddr`), dropping blanks.
pub fn split_addr_list(list: &str) -> Vec<String> {
    list.split(';')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect()
}

/// [`split_addr_list`], checking that each entry is `host:port`; the error names the first
/// bad entry.
pub fn parse_addr_list(list: &str) -> Result<Vec<String>, String> {
    let addrs = split_addr_list(list);
    for a in &addrs {
        let ok = a
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        if !ok {
            return Err(format!("{a:?} is not host:port"));
        }
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_some_address() {
        assert!(!local_ip().is_unspecified());
    }

    #[test]
    fn address_lists() {
        assert_eq!(
            parse_addr_list(" 10.0.0.1:9876; ;ns.example:9876;").unwrap(),
            ["10.0.0.1:9876", "ns.example:9876"]
        );
        assert_eq!(
            parse_addr_list("garbage").unwrap_err(),
            "\"garbage\" is not host:port"
        );
        assert!(parse_addr_list("a:1;b:99999").is_err());
        assert!(parse_addr_list(":1").is_err());
    }
}
