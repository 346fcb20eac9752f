//! White-list entries of `plain_acl.yml` (`globalWhiteRemoteAddresses`, an account's
//! `whiteRemoteAddress`), with RocketMQ's forms:
//!
//! | entry | matches |
//! |---|---|
//! | `*` or `*.*.*.*` | every address |
//! | `1.2.3.4`, `::1` | that address |
//! | `192.168.0.*`, `192.168.*` | every address of the prefix (missing octets are `*`) |
//! | `192.168.1.1-10`, `10.1-3.*` | octets in the inclusive range |
//! | `192.168.1.{1,2,5}` | the listed last octets |
//! | `1.2.3.4,1.2.3.5` | any of the comma-separated entries |
//!
//! An empty entry matches nothing.

use std::net::{IpAddr, Ipv4Addr};

/// One octet of an IPv4 pattern: an inclusive range (`*` is 0-255).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Octet {
    low: u8,
    high: u8,
}

/// A parsed white-list entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressPattern {
    Any,
    Exact(IpAddr),
    V4([Octet; 4]),
    AnyOf(Vec<AddressPattern>),
}

impl AddressPattern {
    /// Parses one entry; `Ok(None)` for an empty one. The error says what is wrong with it.
    pub fn parse(entry: &str) -> Result<Option<AddressPattern>, String> {
        let entry = entry.trim();
        if entry.is_empty() {
            return Ok(None);
        }
        if entry == "*" || entry == "*.*.*.*" {
            return Ok(Some(AddressPattern::Any));
        }
        if let Ok(ip) = entry.parse::<IpAddr>() {
            return Ok(Some(AddressPattern::Exact(ip.to_canonical())));
        }
        if let Some((prefix, rest)) = entry.split_once('{') {
            let list = rest
                .strip_suffix('}')
                .ok_or_else(|| format!("{entry:?}: a '{{' list must end the entry with '}}'"))?;
            let any = list
                .split(',')
                .map(|last| parse_v4(&format!("{prefix}{}", last.trim()), entry))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(Some(AddressPattern::AnyOf(any)));
        }
        if entry.contains(',') {
            let any = entry
                .split(',')
                .filter_map(|part| AddressPattern::parse(part).transpose())
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(Some(AddressPattern::AnyOf(any)));
        }
        parse_v4(entry, entry).map(Some)
    }

    /// Whether `ip` is covered.
    pub fn matches(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        match self {
            AddressPattern::Any => true,
            AddressPattern::Exact(exact) => *exact == ip,
            AddressPattern::V4(octets) => match ip {
                IpAddr::V4(v4) => v4
                    .octets()
                    .iter()
                    .zip(octets)
                    .all(|(o, range)| (range.low..=range.high).contains(o)),
                IpAddr::V6(_) => false,
            },
            AddressPattern::AnyOf(any) => any.iter().any(|p| p.matches(ip)),
        }
    }
}

/// `a.b.c.d` where each part is `n`, `n-m` or `*`; fewer than four parts when the last is `*`.
fn parse_v4(text: &str, entry: &str) -> Result<AddressPattern, String> {
    let bad = |why: &str| format!("{entry:?} is not a white-list address: {why}");
    let parts: Vec<&str> = text.split('.').map(str::trim).collect();
    if parts.len() > 4 || (parts.len() < 4 && parts.last() != Some(&"*")) {
        return Err(bad("expected four octets, or a prefix ending in '*'"));
    }
    let mut octets = [Octet { low: 0, high: 255 }; 4];
    for (slot, part) in octets.iter_mut().zip(&parts) {
        let number = |s: &str| {
            s.trim()
                .parse::<u8>()
                .map_err(|_| bad("an octet is not 0-255"))
        };
        *slot = match part.split_once('-') {
            _ if *part == "*" => Octet { low: 0, high: 255 },
            Some((low, high)) => {
                let (low, high) = (number(low)?, number(high)?);
                if low > high {
                    return Err(bad("a range must go upwards"));
                }
                Octet { low, high }
            }
            None => {
                let n = number(part)?;
                Octet { low: n, high: n }
            }
        };
    }
    // A pattern without wildcard is one address.
    if octets.iter().all(|o| o.low == o.high) {
        let [a, b, c, d] = octets.map(|o| o.low);
        return Ok(AddressPattern::Exact(IpAddr::V4(Ipv4Addr::new(a, b, c, d))));
    }
    Ok(AddressPattern::V4(octets))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(entry: &str, ip: &str) -> bool {
        AddressPattern::parse(entry)
            .unwrap()
            .is_some_and(|p| p.matches(ip.parse().unwrap()))
    }

    #[test]
    fn rocketmq_forms() {
        assert!(matches("*", "10.1.2.3"));
        assert!(matches("*.*.*.*", "::1"));
        assert!(matches("192.168.0.*", "192.168.0.77"));
        assert!(!matches("192.168.0.*", "192.168.1.77"));
        assert!(matches("192.168.*", "192.168.200.1"));
        assert!(matches("1.2.3.1-10", "1.2.3.10"));
        assert!(!matches("1.2.3.1-10", "1.2.3.11"));
        assert!(matches("10.1-3.*", "10.2.9.9"));
        assert!(matches("192.168.1.{1,2,5}", "192.168.1.5"));
        assert!(!matches("192.168.1.{1,2,5}", "192.168.1.3"));
        assert!(matches("1.2.3.4,127.0.0.1", "127.0.0.1"));
        assert!(matches("127.0.0.1", "::ffff:127.0.0.1"));
        assert!(matches("::1", "::1"));
        assert!(!matches("", "127.0.0.1"));
        for bad in ["1.2.3", "1.2.3.300", "1.2.3.9-2", "a.b.c.d", "1.2.{3"] {
            assert!(AddressPattern::parse(bad).is_err(), "{bad}");
        }
    }
}
