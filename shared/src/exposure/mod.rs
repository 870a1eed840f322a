//! What "open to the world" means for a security-group ingress rule, and the pure planner that
//! turns the rules of some groups (plus exemptions) into a plan of revocations.

pub mod executor;
pub mod notification;
pub mod plan;
pub mod ports;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// `sg-` followed by 8 or 17 hex digits, as EC2 issues them.
pub fn is_security_group_id(s: &str) -> bool {
    s.strip_prefix("sg-").is_some_and(|hex| (8..=17).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Where an ingress rule lets traffic come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleSource {
    CidrIpv4(String),
    CidrIpv6(String),
    PrefixList(String),
    SecurityGroup(String),
}

impl RuleSource {
    /// The whole IPv4 or IPv6 internet.
    pub fn is_world(&self) -> bool {
        match self {
            RuleSource::CidrIpv4(cidr) => cidr.trim() == "0.0.0.0/0",
            RuleSource::CidrIpv6(cidr) => cidr.trim() == "::/0",
            RuleSource::PrefixList(_) | RuleSource::SecurityGroup(_) => false,
        }
    }
}

impl fmt::Display for RuleSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleSource::CidrIpv4(c) | RuleSource::CidrIpv6(c) => f.write_str(c),
            RuleSource::PrefixList(p) => write!(f, "prefix list {p}"),
            RuleSource::SecurityGroup(g) => write!(f, "group {g}"),
        }
    }
}

/// One security-group ingress rule, complete enough to be restored exactly as it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngressRule {
    pub group_id: String,
    pub rule_id: String,
    /// As EC2 reports it: `tcp`, `udp`, `icmp`, `icmpv6`, `-1` (all) or a protocol number.
    pub ip_protocol: String,
    /// `-1` when the protocol has no ports (all traffic, ICMP "all types").
    pub from_port: i32,
    pub to_port: i32,
    pub source: RuleSource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

impl IngressRule {
    pub fn allows_all_traffic(&self) -> bool {
        self.ip_protocol == "-1" || self.ip_protocol.eq_ignore_ascii_case("all")
    }

    /// The one definition of exposure, for the remediator and the Config rule alike: open to
    /// the whole internet, and either all traffic or TCP covering `port`.
    pub fn exposes(&self, port: u16) -> bool {
        self.source.is_world() && self.covers_tcp_port(port)
    }

    fn is_tcp(&self) -> bool {
        matches!(self.ip_protocol.to_ascii_lowercase().as_str(), "tcp" | "6")
    }

    fn covers_tcp_port(&self, port: u16) -> bool {
        if self.allows_all_traffic() {
            return true;
        }
        // A tcp rule with -1 ports is "all tcp ports" in the older API.
        self.is_tcp()
            && ((self.from_port == -1 && self.to_port == -1)
                || (self.from_port <= i32::from(port) && i32::from(port) <= self.to_port))
    }

    /// `tcp 11434`, `tcp 0-65535`, `all traffic`.
    pub fn ports_label(&self) -> String {
        if self.allows_all_traffic() {
            "all traffic".to_string()
        } else if self.from_port == self.to_port {
            format!("{} {}", self.ip_protocol, self.from_port)
        } else {
            format!("{} {}-{}", self.ip_protocol, self.from_port, self.to_port)
        }
    }
}

impl fmt::Display for IngressRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} from {}", self.rule_id, self.ports_label(), self.source)
    }
}

/// A TCP port that must never be reachable from the whole internet, with a name for humans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SensitivePort {
    pub port: u16,
    pub name: String,
}

impl SensitivePort {
    pub fn new(port: u16) -> Self {
        let name = match port {
            11434 => "Ollama API",
            22 => "SSH",
            3389 => "RDP",
            8080 => "HTTP alt",
            _ => "sensitive port",
        };
        Self { port, name: name.to_string() }
    }
}

/// Why a rule is an exposure, or `None` when it is not one.
pub fn exposure_reason(rule: &IngressRule, sensitive: &[SensitivePort]) -> Option<String> {
    if rule.source.is_world() && rule.allows_all_traffic() {
        return Some(format!("allows all traffic from {}", rule.source));
    }
    let covered: Vec<String> =
        sensitive.iter().filter(|p| rule.exposes(p.port)).map(|p| format!("{} ({})", p.port, p.name)).collect();
    if covered.is_empty() {
        return None;
    }
    Some(format!("{} from {} covers {}", rule.ports_label(), rule.source, covered.join(", ")))
}
