//! [`RouteLimits`]: the bounds of the route table (`maxBrokers`, `maxTopics`, `maxClusters`)
//! and [`LimitExceeded`], the refusal a registration gets beyond them.
//!
//! A broker or cluster beyond its limit is refused whole: nothing of the registration is
//! kept. Topics beyond `maxTopics` are left out of an otherwise accepted registration (the
//! broker stays alive and keeps its known topics) and the broker is told with an error
//! reply; it is asked to register in full again next time, when room may have been freed.

use std::fmt;

fennec_common::config_struct! {
    /// Bounds of the route table.
    #[derive(Copy, PartialEq, Eq)]
    pub struct RouteLimits {
        /// Registered broker processes (addresses). Default 10000 (Fennec's key).
        "maxBrokers" => max_brokers: usize = 10_000,
        /// Topics with a route. Default 500000 (Fennec's key).
        "maxTopics" => max_topics: usize = 500_000,
        /// Clusters. Default 1000 (Fennec's key).
        "maxClusters" => max_clusters: usize = 1_000,
    }
}

/// Which table is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteTable {
    Brokers,
    Topics,
    Clusters,
}

impl RouteTable {
    /// The config key of its limit.
    pub fn key(self) -> &'static str {
        match self {
            RouteTable::Brokers => "maxBrokers",
            RouteTable::Topics => "maxTopics",
            RouteTable::Clusters => "maxClusters",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            RouteTable::Brokers => "broker",
            RouteTable::Topics => "topic",
            RouteTable::Clusters => "cluster",
        }
    }
}

/// A registration, or part of one, refused because a table is full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitExceeded {
    pub table: RouteTable,
    pub limit: usize,
    /// What was refused: the first few names.
    pub refused: Vec<String>,
    /// How many were refused in all.
    pub count: usize,
}

/// Names shown in the message; the rest are counted.
const NAMES_SHOWN: usize = 5;

impl LimitExceeded {
    pub fn new(table: RouteTable, limit: usize) -> Self {
        LimitExceeded {
            table,
            limit,
            refused: Vec::new(),
            count: 0,
        }
    }

    /// Adds one refused name.
    pub fn refuse(&mut self, name: &str) {
        if self.refused.len() < NAMES_SHOWN {
            self.refused.push(name.to_string());
        }
        self.count += 1;
    }
}

impl fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let noun = self.table.noun();
        write!(
            f,
            "name server route table full: {} {noun}(s) refused ({}",
            self.count,
            self.refused.join(", ")
        )?;
        if self.count > self.refused.len() {
            write!(f, ", ...")?;
        }
        write!(
            f,
            "): it holds at most {} {noun}s; raise {} in the name server config",
            self.limit,
            self.table.key()
        )
    }
}

impl std::error::Error for LimitExceeded {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_what_the_limit_and_the_key() {
        let mut e = LimitExceeded::new(RouteTable::Topics, 3);
        for i in 0..7 {
            e.refuse(&format!("T{i}"));
        }
        assert_eq!(
            e.to_string(),
            "name server route table full: 7 topic(s) refused (T0, T1, T2, T3, T4, ...): \
             it holds at most 3 topics; raise maxTopics in the name server config"
        );
        let mut e = LimitExceeded::new(RouteTable::Brokers, 1);
        e.refuse("broker-b@h:2");
        assert!(e.to_string().contains("1 broker(s) refused (broker-b@h:2)"));
        assert!(e
            .to_string()
            .ends_with("raise maxBrokers in the name server config"));
    }
}
