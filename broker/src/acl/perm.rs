//! Permissions of `plain_acl.yml` (`DENY`, `PUB`, `SUB`, `PUB|SUB`) and RocketMQ's rule for
//! whether an owned permission grants a needed one.

use std::fmt;

/// A permission as bits, RocketMQ's values: DENY 1, ANY 2, PUB 4, SUB 8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Perm(u8);

impl Perm {
    pub const DENY: Perm = Perm(1);
    pub const ANY: Perm = Perm(2);
    pub const PUB: Perm = Perm(4);
    pub const SUB: Perm = Perm(8);
    pub const PUB_SUB: Perm = Perm(4 | 8);

    /// `DENY`, `PUB`, `SUB`, `PUB|SUB` or `SUB|PUB`.
    pub fn parse(text: &str) -> Result<Perm, String> {
        match text.trim() {
            "DENY" => Ok(Perm::DENY),
            "PUB" => Ok(Perm::PUB),
            "SUB" => Ok(Perm::SUB),
            "PUB|SUB" | "SUB|PUB" => Ok(Perm::PUB_SUB),
            other => Err(format!(
                "unknown permission {other:?} (expected DENY, PUB, SUB or PUB|SUB)"
            )),
        }
    }

    /// Whether owning `self` grants `needed` (RocketMQ's `Permission.checkPermission`): DENY
    /// grants nothing, ANY is granted by PUB or SUB.
    pub fn grants(self, needed: Perm) -> bool {
        if self.0 & Perm::DENY.0 != 0 {
            return false;
        }
        if needed.0 & Perm::ANY.0 != 0 {
            return self.0 & (Perm::PUB.0 | Perm::SUB.0) != 0;
        }
        needed.0 & self.0 != 0
    }
}

impl fmt::Display for Perm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match *self {
            Perm::DENY => "DENY",
            Perm::ANY => "ANY",
            Perm::PUB => "PUB",
            Perm::SUB => "SUB",
            Perm::PUB_SUB => "PUB|SUB",
            _ => "?",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_like_rocketmq() {
        assert!(Perm::PUB_SUB.grants(Perm::PUB));
        assert!(Perm::SUB.grants(Perm::SUB));
        assert!(!Perm::SUB.grants(Perm::PUB));
        assert!(!Perm::DENY.grants(Perm::SUB));
        assert!(Perm::PUB.grants(Perm::ANY));
        assert_eq!(Perm::parse(" SUB|PUB ").unwrap(), Perm::PUB_SUB);
        assert!(Perm::parse("ANY").is_err());
        assert_eq!(Perm::PUB_SUB.to_string(), "PUB|SUB");
    }
}
