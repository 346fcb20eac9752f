//! Local address discovery, for the addresses brokers advertise and clients put in their ids.

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

#[cfg(test)]
mod tests {
    #[test]
    fn finds_some_address() {
        assert!(!super::local_ip().is_unspecified());
    }
}
