//! What "open to the world" means for a security-group ingress rule, and the pure planner that
//! turns the rules of some groups (plus exemptions) into a plan of revocations.

pub mod address_space;
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
    /// The addresses this source lets in: its CIDR, a prefix list's entries (from `lists`;
    /// none while unresolved), nothing for a group.
    fn cidrs<'a>(&'a self, lists: &'a PrefixLists) -> Vec<&'a str> {
        match self {
            RuleSource::CidrIpv4(c) | RuleSource::CidrIpv6(c) => vec![c.as_str()],
            RuleSource::PrefixList(id) => lists.get(id).into_iter().flatten().map(String::as_str).collect(),
            RuleSource::SecurityGroup(_) => Vec::new(),
        }
    }
}

/// The entries (CIDRs) of managed prefix lists, by id.
pub type PrefixLists = BTreeMap<String, Vec<String>>;

/// A network interface with several groups: their rules let traffic in together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedInterface {
    pub interface_id: String,
    pub group_ids: Vec<String>,
}

/// What rules are judged with besides themselves: the entries of the prefix lists they name,
/// and the interfaces on which several groups are attached together.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleContext {
    pub prefix_lists: PrefixLists,
    pub shared_interfaces: Vec<SharedInterface>,
}

impl RuleContext {
    pub fn with_lists(prefix_lists: PrefixLists) -> Self {
        Self { prefix_lists, ..Self::default() }
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

    fn is_tcp(&self) -> bool {
        matches!(self.ip_protocol.to_ascii_lowercase().as_str(), "tcp" | "6")
    }

    /// TCP `port` (or all traffic) is let in, from wherever the source says.
    pub fn covers_tcp_port(&self, port: u16) -> bool {
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

/// What counts as exposed: the sensitive ports, and how much of the public internet (a share of
/// the IPv4 or IPv6 space, 0–1) a group may let in on one of them.
#[derive(Debug, Clone, PartialEq)]
pub struct ExposureDefinition {
    pub sensitive_ports: Vec<SensitivePort>,
    pub max_public_share: f64,
}

impl ExposureDefinition {
    /// The rule lets in a sensitive port (or all traffic): only such a rule can be an exposure,
    /// whatever its source.
    pub fn concerns(&self, rule: &IngressRule) -> bool {
        rule.allows_all_traffic() || self.sensitive_ports.iter().any(|p| rule.covers_tcp_port(p.port))
    }
}

/// A /10 of public IPv4 is over it; a /11, or any company's ranges, are under it.
pub const DEFAULT_MAX_PUBLIC_SHARE: f64 = 0.001;

/// A rule that exposes what it should not, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Exposed {
    pub rule: IngressRule,
    pub reason: String,
    /// The sensitive ports it exposes.
    pub ports: Vec<u16>,
    /// It lets all traffic in.
    pub all_traffic: bool,
}

/// The one definition of exposure, for the remediator and the Config rule alike. Per pool of
/// rules that let traffic in together — one group's, and all the groups' on one interface —
/// and per sensitive port (and for "all traffic"), the sources of every rule that lets that
/// port in are taken together; when they cover more than `max_public_share` of the public IPv4
/// or IPv6 space, the largest of them are exposures, as many as it takes to bring the rest
/// under the share — `0.0.0.0/0` alone, both halves of a split (in one group or in two on one
/// interface), all of 256 /8s — while an office /32 in the same group stays. Prefix lists count
/// with their entries.
pub fn exposed_rules(rules: &[IngressRule], context: &RuleContext, definition: &ExposureDefinition) -> Vec<Exposed> {
    use address_space::{public_share, Family};
    let lists = &context.prefix_lists;
    let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, r) in rules.iter().enumerate() {
        groups.entry(r.group_id.as_str()).or_default().push(i);
    }
    // Each group alone, then each distinct set of two or more groups sharing an interface.
    let mut pools: Vec<(Vec<usize>, String)> =
        groups.values().map(|members| (members.clone(), "the group's other rules".to_string())).collect();
    let mut seen: Vec<Vec<&str>> = Vec::new();
    for interface in &context.shared_interfaces {
        let mut set: Vec<&str> =
            interface.group_ids.iter().map(String::as_str).filter(|g| groups.contains_key(g)).collect();
        set.sort_unstable();
        set.dedup();
        if set.len() < 2 || seen.contains(&set) {
            continue;
        }
        let members = set.iter().flat_map(|g| groups[g].iter().copied()).collect();
        let label = format!("the rules of {} on interface {}", set.join(" and "), interface.interface_id);
        seen.push(set);
        pools.push((members, label));
    }
    // Per rule: what it exposes (`None`: all traffic) and, when it is exposed only with others,
    // how much.
    let mut hits: BTreeMap<usize, (Vec<Option<u16>>, Option<String>)> = BTreeMap::new();
    let targets: Vec<(String, Option<u16>)> = std::iter::once(("all traffic".to_string(), None))
        .chain(definition.sensitive_ports.iter().map(|p| (format!("{} ({})", p.port, p.name), Some(p.port))))
        .collect();
    for (members, with) in &pools {
        for (_, port) in &targets {
            let lets_in = |r: &IngressRule| match port {
                None => r.allows_all_traffic(),
                Some(p) => r.covers_tcp_port(*p),
            };
            for family in [Family::V4, Family::V6] {
                let mut open: Vec<(usize, Vec<&str>, f64)> = members
                    .iter()
                    .map(|&i| (i, &rules[i]))
                    .filter(|(_, r)| lets_in(r))
                    .map(|(i, r)| {
                        let cidrs = r.source.cidrs(lists);
                        let share = public_share(family, cidrs.iter().copied());
                        (i, cidrs, share)
                    })
                    .filter(|(_, _, share)| *share > 0.0)
                    .collect();
                let together = |open: &[(usize, Vec<&str>, f64)]| {
                    public_share(family, open.iter().flat_map(|(_, c, _)| c.iter().copied()))
                };
                let total = together(&open);
                if total <= definition.max_public_share {
                    continue;
                }
                open.sort_by(|a, b| b.2.total_cmp(&a.2));
                while !open.is_empty() && together(&open) > definition.max_public_share {
                    let (i, _, share) = open.remove(0);
                    let hit = hits.entry(i).or_default();
                    if !hit.0.contains(port) {
                        hit.0.push(*port);
                    }
                    if share <= definition.max_public_share && hit.1.is_none() {
                        hit.1 = Some(format!(
                            "with {with} {:.1}% of the public {} internet",
                            total * 100.0,
                            family.label()
                        ));
                    }
                }
            }
        }
    }
    hits.into_iter()
        .map(|(i, (hit, together))| {
            let rule = &rules[i];
            let all_traffic = hit.contains(&None);
            let ports: Vec<u16> = hit.iter().flatten().copied().collect();
            let mut reason = if all_traffic {
                format!("allows all traffic from {}", rule.source)
            } else {
                let labels: Vec<&str> = targets
                    .iter()
                    .filter(|(_, p)| p.is_some_and(|p| ports.contains(&p)))
                    .map(|(l, _)| l.as_str())
                    .collect();
                format!("{} from {} covers {}", rule.ports_label(), rule.source, labels.join(", "))
            };
            if let Some(t) = together {
                reason.push_str(&format!(" ({t})"));
            }
            Exposed { rule: rule.clone(), reason, ports, all_traffic }
        })
        .collect()
}
