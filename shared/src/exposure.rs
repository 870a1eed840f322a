//! What "open to the world" means for a security-group ingress rule, and the pure planner that
//! turns the rules of some groups (plus exemptions) into a plan of revocations.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::plan::{Action, Exemption, ExemptionMatch, Plan, Trigger};

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
        matches!(self.ip_protocol.as_str(), "-1" | "all")
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
    if !rule.source.is_world() {
        return None;
    }
    if rule.allows_all_traffic() {
        return Some(format!("allows all traffic from {}", rule.source));
    }
    let covered: Vec<String> =
        sensitive.iter().filter(|p| rule.covers_tcp_port(p.port)).map(|p| format!("{} ({})", p.port, p.name)).collect();
    if covered.is_empty() {
        return None;
    }
    Some(format!("{} from {} covers {}", rule.ports_label(), rule.source, covered.join(", ")))
}

/// The pure planner: current rules of the groups in scope, exemptions and policy → a plan.
///
/// Every world-open rule that covers a sensitive port (or allows all traffic) is revoked by its
/// rule id unless a live exemption names its group or the rule itself. Everything else is left
/// exactly as it is.
pub fn plan_exposure_remediation(
    trigger: Trigger,
    rules: &[IngressRule],
    exemptions: &[Exemption],
    sensitive: &[SensitivePort],
    now: DateTime<Utc>,
) -> Plan {
    let mut plan = Plan::new(trigger);
    let mut groups: Vec<&str> = rules.iter().map(|r| r.group_id.as_str()).collect();
    groups.sort_unstable();
    groups.dedup();
    plan.groups_checked = groups.len();
    plan.rules_checked = rules.len();

    for rule in rules {
        let Some(reason) = exposure_reason(rule, sensitive) else { continue };
        let matching: Vec<&Exemption> = exemptions.iter().filter(|e| e.applies_to(rule)).collect();
        if let Some(live) = matching.iter().find(|e| e.is_live(now)) {
            plan.exempted.push(ExemptionMatch { rule: rule.clone(), reason, exemption: (*live).clone() });
            continue;
        }
        plan.expired_exemptions_ignored.extend(matching.into_iter().cloned());
        plan.actions.push(Action::RevokeIngressRule { rule: rule.clone(), reason });
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{ExemptionTarget, TriggerKind};
    use chrono::Duration;

    fn ports() -> Vec<SensitivePort> {
        vec![SensitivePort::new(11434), SensitivePort::new(22)]
    }

    fn rule(id: &str, proto: &str, from: i32, to: i32, source: RuleSource) -> IngressRule {
        IngressRule {
            group_id: "sg-0123456789abcdef0".into(),
            rule_id: id.into(),
            ip_protocol: proto.into(),
            from_port: from,
            to_port: to,
            source,
            description: None,
            tags: BTreeMap::new(),
        }
    }

    fn v4(c: &str) -> RuleSource {
        RuleSource::CidrIpv4(c.into())
    }
    fn v6(c: &str) -> RuleSource {
        RuleSource::CidrIpv6(c.into())
    }

    fn trigger() -> Trigger {
        Trigger::new(
            "evt-1",
            TriggerKind::ScheduledSweep { rule: "sweep".into() },
            "2026-11-26T12:00:00Z".parse().unwrap(),
        )
    }

    fn now() -> DateTime<Utc> {
        "2026-11-26T12:00:00Z".parse().unwrap()
    }

    fn revoked_ids(plan: &Plan) -> Vec<String> {
        plan.revocations().map(|r| r.rule_id.clone()).collect()
    }

    #[test]
    fn world_open_sensitive_ports_are_exposures_in_ipv4_and_ipv6() {
        let p = ports();
        assert!(exposure_reason(&rule("a", "tcp", 11434, 11434, v4("0.0.0.0/0")), &p).is_some());
        assert!(exposure_reason(&rule("b", "tcp", 22, 22, v6("::/0")), &p).is_some());
        assert!(exposure_reason(&rule("c", "tcp", 0, 65535, v4("0.0.0.0/0")), &p)
            .unwrap()
            .contains("11434 (Ollama API), 22 (SSH)"));
        assert!(exposure_reason(&rule("d", "tcp", 11000, 12000, v6("::/0")), &p).is_some());
        assert!(exposure_reason(&rule("e", "6", 20, 30, v4("0.0.0.0/0")), &p).is_some());
        assert!(exposure_reason(&rule("f", "tcp", -1, -1, v4("0.0.0.0/0")), &p).is_some());
    }

    #[test]
    fn all_traffic_from_the_world_is_an_exposure_whatever_the_ports() {
        let reason = exposure_reason(&rule("a", "-1", -1, -1, v6("::/0")), &ports()).unwrap();
        assert_eq!(reason, "allows all traffic from ::/0");
    }

    #[test]
    fn legitimate_rules_are_not_exposures() {
        let p = ports();
        for r in [
            rule("a", "tcp", 443, 443, v4("0.0.0.0/0")),
            rule("b", "tcp", 11434, 11434, v4("10.0.0.0/8")),
            rule("c", "tcp", 22, 22, v6("2001:db8::/32")),
            rule("d", "udp", 22, 22, v4("0.0.0.0/0")),
            rule("e", "tcp", 11435, 12000, v4("0.0.0.0/0")),
            rule("f", "tcp", 23, 11433, v4("0.0.0.0/0")),
            rule("g", "-1", -1, -1, RuleSource::SecurityGroup("sg-1".into())),
            rule("h", "tcp", 22, 22, RuleSource::PrefixList("pl-1".into())),
            rule("i", "icmp", -1, -1, v4("0.0.0.0/0")),
        ] {
            assert_eq!(exposure_reason(&r, &p), None, "{r}");
        }
    }

    #[test]
    fn sensitive_ports_are_configurable() {
        let only_rdp = vec![SensitivePort::new(3389)];
        assert_eq!(exposure_reason(&rule("a", "tcp", 22, 22, v4("0.0.0.0/0")), &only_rdp), None);
        assert!(exposure_reason(&rule("b", "tcp", 3389, 3389, v4("0.0.0.0/0")), &only_rdp).is_some());
    }

    #[test]
    fn plan_revokes_exactly_the_offending_rules() {
        let rules = vec![
            rule("sgr-ollama", "tcp", 11434, 11434, v4("0.0.0.0/0")),
            rule("sgr-https", "tcp", 443, 443, v4("0.0.0.0/0")),
            rule("sgr-ssh6", "tcp", 22, 22, v6("::/0")),
            rule("sgr-vpc", "tcp", 11434, 11434, v4("10.0.0.0/16")),
            rule("sgr-all", "-1", -1, -1, v4("0.0.0.0/0")),
        ];
        let plan = plan_exposure_remediation(trigger(), &rules, &[], &ports(), now());
        assert_eq!(revoked_ids(&plan), vec!["sgr-ollama", "sgr-ssh6", "sgr-all"]);
        assert_eq!(plan.rules_checked, 5);
        assert_eq!(plan.groups_checked, 1);
        assert!(plan.exempted.is_empty());
    }

    #[test]
    fn nothing_to_do_is_an_empty_plan() {
        let rules = vec![rule("sgr-https", "tcp", 443, 443, v4("0.0.0.0/0"))];
        let plan = plan_exposure_remediation(trigger(), &rules, &[], &ports(), now());
        assert!(plan.is_empty());
    }

    fn exemption(target: ExemptionTarget, expires: DateTime<Utc>) -> Exemption {
        Exemption {
            group_id: "sg-0123456789abcdef0".into(),
            target,
            granted_by: "alice@example.com".into(),
            reason: "public demo endpoint".into(),
            created_at: now() - Duration::days(1),
            expires_at: expires,
        }
    }

    #[test]
    fn a_live_rule_exemption_protects_that_rule_only() {
        let rules = vec![
            rule("sgr-ollama", "tcp", 11434, 11434, v4("0.0.0.0/0")),
            rule("sgr-ssh", "tcp", 22, 22, v4("0.0.0.0/0")),
        ];
        let ex = exemption(ExemptionTarget::Rule("sgr-ollama".into()), now() + Duration::hours(1));
        let plan = plan_exposure_remediation(trigger(), &rules, &[ex], &ports(), now());
        assert_eq!(revoked_ids(&plan), vec!["sgr-ssh"]);
        assert_eq!(plan.exempted.len(), 1);
        assert_eq!(plan.exempted[0].rule.rule_id, "sgr-ollama");
    }

    #[test]
    fn a_live_group_exemption_protects_every_rule_of_the_group() {
        let rules = vec![
            rule("sgr-ollama", "tcp", 11434, 11434, v4("0.0.0.0/0")),
            rule("sgr-ssh", "tcp", 22, 22, v4("0.0.0.0/0")),
        ];
        let ex = exemption(ExemptionTarget::Group, now() + Duration::hours(1));
        let plan = plan_exposure_remediation(trigger(), &rules, &[ex], &ports(), now());
        assert!(plan.is_empty());
        assert_eq!(plan.exempted.len(), 2);
    }

    #[test]
    fn an_expired_exemption_protects_nothing_and_is_reported() {
        let rules = vec![rule("sgr-ollama", "tcp", 11434, 11434, v4("0.0.0.0/0"))];
        let ex = exemption(ExemptionTarget::Rule("sgr-ollama".into()), now() - Duration::seconds(1));
        let plan = plan_exposure_remediation(trigger(), &rules, &[ex], &ports(), now());
        assert_eq!(revoked_ids(&plan), vec!["sgr-ollama"]);
        assert_eq!(plan.expired_exemptions_ignored.len(), 1);
    }

    #[test]
    fn an_exemption_for_another_group_protects_nothing() {
        let rules = vec![rule("sgr-ollama", "tcp", 11434, 11434, v4("0.0.0.0/0"))];
        let mut ex = exemption(ExemptionTarget::Group, now() + Duration::hours(1));
        ex.group_id = "sg-other".into();
        let plan = plan_exposure_remediation(trigger(), &rules, &[ex], &ports(), now());
        assert_eq!(revoked_ids(&plan), vec!["sgr-ollama"]);
    }
}
