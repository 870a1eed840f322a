//! The data every part of Warden shares: what triggered a remediation, the plan made for it,
//! and the records kept of it. All of it is serde so it can be stored, shown, and replayed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::exposure::{exposed_rules, Exposed, ExposureDefinition, IngressRule, RuleContext, RuleSource};

/// The pure planner: current rules of the groups in scope (with the rules of the groups that
/// share an interface with them, and prefix lists resolved), exemptions and the definition of
/// exposure → a plan.
///
/// Every rule that exposes a sensitive port ([`exposed_rules`]: alone or with the group's other
/// rules, by the share of the internet they let in) is revoked by its rule id unless a live
/// exemption names its group or the rule itself. Everything else is left exactly as it is.
pub fn plan_exposure_remediation(
    trigger: Trigger,
    rules: &[IngressRule],
    context: &RuleContext,
    exemptions: &[Exemption],
    definition: &ExposureDefinition,
    now: DateTime<Utc>,
) -> Plan {
    let mut plan = Plan::new(trigger);
    let mut groups: Vec<&str> = rules.iter().map(|r| r.group_id.as_str()).collect();
    groups.sort_unstable();
    groups.dedup();
    plan.groups_checked = groups.len();
    plan.rules_checked = rules.len();

    for exposed in exposed_rules(rules, context, definition) {
        let naming: Vec<&Exemption> = exemptions.iter().filter(|e| e.names(&exposed.rule)).collect();
        if let Some(live) = naming.iter().find(|e| e.is_live(now) && e.covers(&exposed)) {
            let Exposed { rule, reason, .. } = exposed;
            plan.exempted.push(ExemptionMatch { rule, reason, exemption: (*live).clone() });
            continue;
        }
        for e in naming {
            if !e.is_live(now) {
                plan.expired_exemptions_ignored.push(e.clone());
            } else if !plan.stale_exemptions_ignored.contains(e) {
                // Live, but for the rule as it was or for other ports: the rule was changed since.
                plan.stale_exemptions_ignored.push(e.clone());
            }
        }
        let Exposed { rule, reason, .. } = exposed;
        plan.actions.push(Action::RevokeIngressRule { rule, reason });
    }
    plan
}

/// What caused a remediation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trigger {
    /// The EventBridge event id: the idempotency key.
    pub event_id: String,
    pub event_time: DateTime<Utc>,
    pub kind: TriggerKind,
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
}

impl Trigger {
    pub fn new(event_id: impl Into<String>, kind: TriggerKind, event_time: DateTime<Utc>) -> Self {
        Self { event_id: event_id.into(), event_time, kind, account: None, region: None }
    }

    /// The security groups this trigger asks about (`None`: every group).
    pub fn scope(&self) -> Option<&[String]> {
        match &self.kind {
            TriggerKind::CloudTrail { group_ids, .. } | TriggerKind::ConfigCompliance { group_ids, .. } => {
                Some(group_ids)
            }
            TriggerKind::ScheduledSweep { .. } => None,
        }
    }

    /// A remediation id derived from the event, so a redelivered event maps to the same record.
    pub fn remediation_id(&self) -> String {
        let digest = Sha256::digest(self.event_id.as_bytes());
        let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
        format!("rem-{}-{hex}", self.event_time.format("%Y%m%dT%H%M%SZ"))
    }

    /// One line for humans: "CloudTrail AuthorizeSecurityGroupIngress by arn:… from 203.0.113.7".
    pub fn describe(&self) -> String {
        match &self.kind {
            TriggerKind::CloudTrail { event_name, actor, source_ip, .. } => {
                let mut s = format!("CloudTrail {event_name}");
                if let Some(a) = actor {
                    s.push_str(&format!(" by {a}"));
                }
                if let Some(ip) = source_ip {
                    s.push_str(&format!(" from {ip}"));
                }
                s
            }
            TriggerKind::ConfigCompliance { rule_name, .. } => {
                format!("AWS Config rule {rule_name} reported NON_COMPLIANT")
            }
            TriggerKind::ScheduledSweep { rule } => format!("scheduled sweep ({rule})"),
        }
    }

    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            TriggerKind::CloudTrail { .. } => "cloudtrail",
            TriggerKind::ConfigCompliance { .. } => "config",
            TriggerKind::ScheduledSweep { .. } => "sweep",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TriggerKind {
    /// "AWS API Call via CloudTrail" for a call that changed ingress rules.
    CloudTrail { event_name: String, group_ids: Vec<String>, actor: Option<String>, source_ip: Option<String> },
    /// "Config Rules Compliance Change" to NON_COMPLIANT for a security group.
    ConfigCompliance { rule_name: String, group_ids: Vec<String> },
    /// "Scheduled Event": the backstop sweep over every group.
    ScheduledSweep { rule: String },
}

/// One step of a plan. New capabilities add variants; the executor is the only place that
/// turns them into AWS calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    RevokeIngressRule { rule: IngressRule, reason: String },
}

impl Action {
    pub fn describe(&self) -> String {
        match self {
            Action::RevokeIngressRule { rule, reason } => {
                format!("revoke {} on {}: {reason}", rule.rule_id, rule.group_id)
            }
        }
    }
}

/// A rule that would have been revoked but is protected by a live exemption.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExemptionMatch {
    pub rule: IngressRule,
    pub reason: String,
    pub exemption: Exemption,
}

/// The plan for one trigger: pure data, stored before anything is changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub trigger: Trigger,
    pub actions: Vec<Action>,
    pub exempted: Vec<ExemptionMatch>,
    pub expired_exemptions_ignored: Vec<Exemption>,
    /// Live exemptions that name an offending rule but not what it is now: granted for the rule
    /// before it was changed, or for other ports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stale_exemptions_ignored: Vec<Exemption>,
    pub groups_checked: usize,
    pub rules_checked: usize,
    /// Offending rules left out of this plan to keep its record within DynamoDB's item size;
    /// the next part of the same remediation takes them.
    #[serde(default)]
    pub left_for_next_part: usize,
}

impl Plan {
    pub fn new(trigger: Trigger) -> Self {
        Self {
            trigger,
            actions: Vec::new(),
            exempted: Vec::new(),
            expired_exemptions_ignored: Vec::new(),
            stale_exemptions_ignored: Vec::new(),
            groups_checked: 0,
            rules_checked: 0,
            left_for_next_part: 0,
        }
    }

    /// Keep at most `max` actions, whole groups first (a group's rules are revoked in one call),
    /// and return the rest as the plan of the next part (`None`: everything fits).
    pub fn split_off(&mut self, max: usize) -> Option<Plan> {
        if self.actions.len() <= max {
            return None;
        }
        let group_of = |a: &Action| match a {
            Action::RevokeIngressRule { rule, .. } => rule.group_id.clone(),
        };
        let mut keep = 0;
        while keep < self.actions.len() {
            let group = group_of(&self.actions[keep]);
            let end =
                self.actions[keep..].iter().position(|a| group_of(a) != group).map_or(self.actions.len(), |n| keep + n);
            if end > max && keep > 0 {
                break;
            }
            keep = end.min(max);
            if keep == max {
                break;
            }
        }
        let mut rest = Plan::new(self.trigger.clone());
        rest.actions = self.actions.split_off(keep);
        self.left_for_next_part = rest.actions.len();
        Some(rest)
    }

    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    pub fn revocations(&self) -> impl Iterator<Item = &IngressRule> {
        self.actions.iter().map(|a| match a {
            Action::RevokeIngressRule { rule, .. } => rule,
        })
    }
}

/// What an exemption covers within its group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "rule_id", rename_all = "snake_case")]
pub enum ExemptionTarget {
    Group,
    Rule(String),
}

/// A rule as an exemption was granted for it: what it lets in, from where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleSpec {
    pub ip_protocol: String,
    pub from_port: i32,
    pub to_port: i32,
    pub source: RuleSource,
}

impl RuleSpec {
    pub fn of(rule: &IngressRule) -> Self {
        Self {
            ip_protocol: rule.ip_protocol.to_ascii_lowercase(),
            from_port: rule.from_port,
            to_port: rule.to_port,
            source: rule.source.clone(),
        }
    }
}

/// A time-boxed, attributed permission to keep an exposed rule. Data in DynamoDB, never a tag.
/// It is bound to what it was granted for: a rule exemption to the rule as it was (changed
/// since — other ports, protocol or source — it no longer protects), a group exemption to the
/// ports it names (never all traffic). An exemption recorded without either protects nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exemption {
    pub group_id: String,
    pub target: ExemptionTarget,
    /// Rule exemptions: the rule as it was when exempted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granted_for: Option<RuleSpec>,
    /// Group exemptions: the sensitive ports they cover.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<u16>,
    pub granted_by: String,
    pub reason: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl Exemption {
    /// It names this rule: its group, or the rule by id.
    pub fn names(&self, rule: &IngressRule) -> bool {
        self.group_id == rule.group_id
            && match &self.target {
                ExemptionTarget::Group => true,
                ExemptionTarget::Rule(id) => *id == rule.rule_id,
            }
    }

    /// It covers this exposure as the rule is now.
    pub fn covers(&self, exposed: &Exposed) -> bool {
        self.names(&exposed.rule)
            && match &self.target {
                ExemptionTarget::Rule(_) => self.granted_for.as_ref() == Some(&RuleSpec::of(&exposed.rule)),
                ExemptionTarget::Group => {
                    !exposed.all_traffic
                        && !self.ports.is_empty()
                        && exposed.ports.iter().all(|p| self.ports.contains(p))
                }
            }
    }

    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        now < self.expires_at
    }

    pub fn target_label(&self) -> String {
        match &self.target {
            ExemptionTarget::Group => {
                let ports: Vec<String> = self.ports.iter().map(u16::to_string).collect();
                format!("{} ports {}", self.group_id, if ports.is_empty() { "none".into() } else { ports.join(",") })
            }
            ExemptionTarget::Rule(id) => format!("{} rule {id}", self.group_id),
        }
    }
}

/// Lifecycle of a remediation record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemediationStatus {
    /// Claimed and being applied (with a lease, so a crash can be resumed).
    Executing,
    /// Every action applied.
    Completed,
    /// Some actions failed; the record says which. A redelivery resumes it.
    Partial,
    /// Nothing to do: the groups were already safe (or every offender is exempt).
    NoOp,
    /// Planned and recorded, nothing changed (dry-run mode).
    DryRun,
    /// An undo is running.
    Undoing,
    /// Every revoked rule was restored.
    Undone,
    /// The undo restored some rules but not all; running it again retries the rest.
    UndoPartial,
}

impl RemediationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Executing => "executing",
            Self::Completed => "completed",
            Self::Partial => "partial",
            Self::NoOp => "no_op",
            Self::DryRun => "dry_run",
            Self::Undoing => "undoing",
            Self::Undone => "undone",
            Self::UndoPartial => "undo_partial",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "executing" => Self::Executing,
            "completed" => Self::Completed,
            "partial" => Self::Partial,
            "no_op" => Self::NoOp,
            "dry_run" => Self::DryRun,
            "undoing" => Self::Undoing,
            "undone" => Self::Undone,
            "undo_partial" => Self::UndoPartial,
            _ => return None,
        })
    }
}

/// The audit record of one remediation: the plan, the raw event, and where it stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemediationRecord {
    pub id: String,
    pub status: RemediationStatus,
    pub plan: Plan,
    /// The triggering event exactly as delivered (truncated if huge).
    pub event: String,
    pub dry_run: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// While `Executing`/`Undoing`: nobody else may take it over before this instant.
    pub lease_until: Option<DateTime<Utc>>,
    pub notified: bool,
    pub undo_requested_by: Option<String>,
}

/// What happened to one action (or one undo of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Written before the AWS call: if we crash, resume knows the call may have happened.
    Started,
    /// Revoked by this remediation.
    Done,
    /// The rule was already gone when we tried (revoked by someone else in between).
    AlreadyAbsent,
    Failed,
    /// Undo: the rule is back.
    Restored,
    /// Undo: the same rule was already present.
    AlreadyPresent,
    RestoreFailed,
}

/// One recorded step of a remediation, in plan order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    pub index: usize,
    pub action: Action,
    pub status: StepStatus,
    #[serde(default)]
    pub error: Option<String>,
    /// Undo: the id EC2 gave the restored rule.
    #[serde(default)]
    pub restored_rule_id: Option<String>,
    pub at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remediation_id_is_stable_per_event_and_distinct_across_events() {
        let t = "2026-11-26T12:00:01Z".parse().unwrap();
        let a = Trigger::new("e-1", TriggerKind::ScheduledSweep { rule: "r".into() }, t);
        let b = Trigger::new("e-2", TriggerKind::ScheduledSweep { rule: "r".into() }, t);
        assert_eq!(a.remediation_id(), a.clone().remediation_id());
        assert_ne!(a.remediation_id(), b.remediation_id());
        assert!(a.remediation_id().starts_with("rem-20261126T120001Z-"));
    }

    fn revoke(group: &str, rule: &str) -> Action {
        Action::RevokeIngressRule {
            rule: crate::exposure::IngressRule {
                group_id: group.into(),
                rule_id: rule.into(),
                ip_protocol: "tcp".into(),
                from_port: 22,
                to_port: 22,
                source: crate::exposure::RuleSource::CidrIpv4("0.0.0.0/0".into()),
                description: None,
                tags: Default::default(),
            },
            reason: "test".into(),
        }
    }

    #[test]
    fn splitting_keeps_whole_groups_and_hands_the_rest_to_the_next_part() {
        let t = Trigger::new(
            "e",
            TriggerKind::ScheduledSweep { rule: "r".into() },
            "2026-11-26T12:00:00Z".parse().unwrap(),
        );
        let mut plan = Plan::new(t);
        plan.actions = vec![revoke("a", "1"), revoke("a", "2"), revoke("b", "3"), revoke("b", "4"), revoke("c", "5")];
        let mut small = plan.clone();
        let rest = small.split_off(3).expect("a rest");
        assert_eq!(small.actions.len(), 2, "group b does not fit whole: it waits");
        assert_eq!(small.left_for_next_part, 3);
        assert_eq!(rest.actions, plan.actions[2..], "the rest is the next part's plan, in order");
        assert_eq!(rest.left_for_next_part, 0);
        let mut tiny = plan.clone();
        let rest = tiny.split_off(1).expect("a rest");
        assert_eq!(tiny.actions.len(), 1, "a group larger than the limit is split");
        assert_eq!(tiny.left_for_next_part, 4);
        assert_eq!(rest.actions.len(), 4);
        let mut all = plan.clone();
        assert!(all.split_off(10).is_none());
        assert_eq!((all.actions.len(), all.left_for_next_part), (5, 0));
    }

    #[test]
    fn status_names_round_trip() {
        for s in [
            RemediationStatus::Executing,
            RemediationStatus::Completed,
            RemediationStatus::Partial,
            RemediationStatus::NoOp,
            RemediationStatus::DryRun,
            RemediationStatus::Undoing,
            RemediationStatus::Undone,
            RemediationStatus::UndoPartial,
        ] {
            assert_eq!(RemediationStatus::parse(s.as_str()), Some(s));
        }
    }
}

#[cfg(test)]
mod planner_tests {
    use std::collections::BTreeMap;

    use chrono::Duration;

    use super::*;
    use crate::exposure::{IngressRule, PrefixLists, RuleSource, SensitivePort, SharedInterface};

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

    fn definition() -> ExposureDefinition {
        ExposureDefinition { sensitive_ports: ports(), max_public_share: crate::exposure::DEFAULT_MAX_PUBLIC_SHARE }
    }

    #[test]
    fn only_rules_on_sensitive_ports_or_all_traffic_concern_the_definition() {
        let d = definition();
        let list = || RuleSource::PrefixList("pl-0123456789abcdef0".into());
        assert!(d.concerns(&rule("a", "tcp", 11434, 11434, list())));
        assert!(d.concerns(&rule("b", "tcp", 0, 65535, list())));
        assert!(d.concerns(&rule("c", "-1", -1, -1, list())));
        assert!(d.concerns(&rule("d", "tcp", -1, -1, list())), "all tcp ports, older API");
        assert!(!d.concerns(&rule("e", "tcp", 443, 443, list())));
        assert!(!d.concerns(&rule("f", "udp", 22, 22, list())));
    }

    /// Why one rule alone is an exposure.
    fn reason_of(rule: &IngressRule, sensitive: &[SensitivePort]) -> Option<String> {
        let definition = ExposureDefinition { sensitive_ports: sensitive.to_vec(), ..definition() };
        exposed_rules(std::slice::from_ref(rule), &RuleContext::default(), &definition).pop().map(|e| e.reason)
    }

    fn revoked_ids(plan: &Plan) -> Vec<String> {
        plan.revocations().map(|r| r.rule_id.clone()).collect()
    }

    #[test]
    fn world_open_sensitive_ports_are_exposures_in_ipv4_and_ipv6() {
        let p = ports();
        assert!(reason_of(&rule("a", "tcp", 11434, 11434, v4("0.0.0.0/0")), &p).is_some());
        assert!(reason_of(&rule("b", "tcp", 22, 22, v6("::/0")), &p).is_some());
        assert!(reason_of(&rule("c", "tcp", 0, 65535, v4("0.0.0.0/0")), &p)
            .unwrap()
            .contains("11434 (Ollama API), 22 (SSH)"));
        assert!(reason_of(&rule("d", "tcp", 11000, 12000, v6("::/0")), &p).is_some());
        assert!(reason_of(&rule("e", "6", 20, 30, v4("0.0.0.0/0")), &p).is_some());
        assert!(reason_of(&rule("f", "tcp", -1, -1, v4("0.0.0.0/0")), &p).is_some());
    }

    #[test]
    fn all_traffic_from_the_world_is_an_exposure_whatever_the_ports() {
        let reason = reason_of(&rule("a", "-1", -1, -1, v6("::/0")), &ports()).unwrap();
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
            assert_eq!(reason_of(&r, &p), None, "{r}");
        }
    }

    #[test]
    fn sensitive_ports_are_configurable() {
        let only_rdp = vec![SensitivePort::new(3389)];
        assert_eq!(reason_of(&rule("a", "tcp", 22, 22, v4("0.0.0.0/0")), &only_rdp), None);
        assert!(reason_of(&rule("b", "tcp", 3389, 3389, v4("0.0.0.0/0")), &only_rdp).is_some());
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
        let plan = plan_exposure_remediation(trigger(), &rules, &RuleContext::default(), &[], &definition(), now());
        assert_eq!(revoked_ids(&plan), vec!["sgr-ollama", "sgr-ssh6", "sgr-all"]);
        assert_eq!(plan.rules_checked, 5);
        assert_eq!(plan.groups_checked, 1);
        assert!(plan.exempted.is_empty());
    }

    #[test]
    fn the_internet_split_into_pieces_is_still_the_internet() {
        let plan_of = |rules: &[IngressRule], context: &RuleContext| {
            revoked_ids(&plan_exposure_remediation(trigger(), rules, context, &[], &definition(), now()))
        };
        // Two halves, each under the share alone? No: each half is half the internet.
        let halves = [
            rule("sgr-low", "tcp", 11434, 11434, v4("0.0.0.0/1")),
            rule("sgr-high", "tcp", 11434, 11434, v4("128.0.0.0/1")),
        ];
        assert_eq!(plan_of(&halves, &RuleContext::default()), ["sgr-low", "sgr-high"]);
        // All of global unicast IPv6.
        assert_eq!(plan_of(&[rule("sgr-v6", "tcp", 22, 22, v6("2000::/3"))], &RuleContext::default()), ["sgr-v6"]);
        // 256 /11s, each well under the share alone, together a quarter of the internet; the
        // office's /32 in the same group stays.
        let mut pieces: Vec<IngressRule> = (0..256)
            .map(|i| rule(&format!("sgr-{i}"), "tcp", 0, 65535, v4(&format!("{}.{}.0.0/11", 64 + i / 8, (i % 8) * 32))))
            .collect();
        pieces.push(rule("sgr-office", "tcp", 22, 22, v4("81.2.69.10/32")));
        let revoked = plan_of(&pieces, &RuleContext::default());
        assert!(!revoked.contains(&"sgr-office".to_string()), "the office stays");
        assert!(revoked.len() > 200, "enough of the pieces go that the rest is under the share: {}", revoked.len());
        let kept: Vec<&str> = pieces
            .iter()
            .filter(|r| !revoked.contains(&r.rule_id))
            .flat_map(|r| match &r.source {
                RuleSource::CidrIpv4(c) => Some(c.as_str()),
                _ => None,
            })
            .collect();
        let left = crate::exposure::address_space::public_share(crate::exposure::address_space::Family::V4, kept);
        assert!(left <= crate::exposure::DEFAULT_MAX_PUBLIC_SHARE, "{left}");
        // A prefix list that holds the whole internet, resolved.
        let lists = RuleContext::with_lists(PrefixLists::from([(
            "pl-0123456789abcdef0".to_string(),
            vec!["0.0.0.0/0".to_string()],
        )]));
        let by_list = [rule("sgr-pl", "tcp", 11434, 11434, RuleSource::PrefixList("pl-0123456789abcdef0".into()))];
        assert_eq!(plan_of(&by_list, &lists), ["sgr-pl"]);
        assert!(plan_of(&by_list, &RuleContext::default()).is_empty(), "unresolved, it is not judged");
        // The reason says it was the rules together.
        let plan = plan_exposure_remediation(trigger(), &pieces, &RuleContext::default(), &[], &definition(), now());
        let Action::RevokeIngressRule { reason, .. } = &plan.actions[0];
        assert!(
            reason.contains("with the group's other rules") && reason.contains("of the public IPv4 internet"),
            "{reason}"
        );
    }

    #[test]
    fn each_group_is_judged_on_its_own_rules() {
        let mut other = rule("sgr-b", "tcp", 11434, 11434, v4("128.0.0.0/2"));
        other.group_id = "sg-other".into();
        let rules = [rule("sgr-a", "tcp", 11434, 11434, v4("81.0.0.0/12")), other];
        let plan = plan_exposure_remediation(trigger(), &rules, &RuleContext::default(), &[], &definition(), now());
        assert_eq!(revoked_ids(&plan), ["sgr-b"], "a /12 (0.03%) is under the share; a /2 is not");
    }

    #[test]
    fn groups_on_one_interface_are_judged_together() {
        // Each group under the share alone, over it together on one interface.
        let in_group = |id: &str, group: &str, cidr: &str| {
            let mut r = rule(id, "tcp", 11434, 11434, v4(cidr));
            r.group_id = group.into();
            r
        };
        // A /11 is about 0.06% of the public IPv4 space: under the 0.1% share alone, over it
        // with another; the office's /32 stays whatever happens.
        let rules = [
            in_group("sgr-a", "sg-aaaaaaaa", "64.0.0.0/11"),
            in_group("sgr-b", "sg-bbbbbbbb", "96.0.0.0/11"),
            in_group("sgr-c", "sg-cccccccc", "160.0.0.0/11"),
            in_group("sgr-office", "sg-dddddddd", "81.2.69.10/32"),
        ];
        let apart = plan_exposure_remediation(trigger(), &rules, &RuleContext::default(), &[], &definition(), now());
        assert!(apart.is_empty(), "each group alone is under the share");
        let shared = RuleContext {
            shared_interfaces: vec![SharedInterface {
                interface_id: "eni-0123456789abcdef0".into(),
                group_ids: vec!["sg-aaaaaaaa".into(), "sg-bbbbbbbb".into(), "sg-cccccccc".into(), "sg-dddddddd".into()],
            }],
            ..RuleContext::default()
        };
        let together = plan_exposure_remediation(trigger(), &rules, &shared, &[], &definition(), now());
        let revoked = revoked_ids(&together);
        assert!(!revoked.is_empty() && !revoked.contains(&"sgr-office".to_string()), "{revoked:?}");
        let Action::RevokeIngressRule { reason, .. } = &together.actions[0];
        assert!(reason.contains("on interface eni-0123456789abcdef0"), "{reason}");
        // An interface with one of the groups only changes nothing.
        let alone = RuleContext {
            shared_interfaces: vec![SharedInterface {
                interface_id: "eni-1".into(),
                group_ids: vec!["sg-aaaaaaaa".into(), "sg-unknown0".into()],
            }],
            ..RuleContext::default()
        };
        assert!(plan_exposure_remediation(trigger(), &rules, &alone, &[], &definition(), now()).is_empty());
    }

    #[test]
    fn nothing_to_do_is_an_empty_plan() {
        let rules = vec![rule("sgr-https", "tcp", 443, 443, v4("0.0.0.0/0"))];
        let plan = plan_exposure_remediation(trigger(), &rules, &RuleContext::default(), &[], &definition(), now());
        assert!(plan.is_empty());
    }

    /// An exemption as `warden exempt add` records it: a rule's bound to the rule as it is in
    /// `rules`, a group's to 11434 and 22.
    fn exemption(target: ExemptionTarget, expires: DateTime<Utc>) -> Exemption {
        let granted_for = match &target {
            ExemptionTarget::Rule(id) => Some(RuleSpec::of(&rule(id, "tcp", 11434, 11434, v4("0.0.0.0/0")))),
            ExemptionTarget::Group => None,
        };
        let ports = if granted_for.is_none() { vec![11434, 22] } else { Vec::new() };
        Exemption {
            group_id: "sg-0123456789abcdef0".into(),
            target,
            granted_for,
            ports,
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
        let plan = plan_exposure_remediation(trigger(), &rules, &RuleContext::default(), &[ex], &definition(), now());
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
        let plan = plan_exposure_remediation(trigger(), &rules, &RuleContext::default(), &[ex], &definition(), now());
        assert!(plan.is_empty());
        assert_eq!(plan.exempted.len(), 2);
    }

    #[test]
    fn an_expired_exemption_protects_nothing_and_is_reported() {
        let rules = vec![rule("sgr-ollama", "tcp", 11434, 11434, v4("0.0.0.0/0"))];
        let ex = exemption(ExemptionTarget::Rule("sgr-ollama".into()), now() - Duration::seconds(1));
        let plan = plan_exposure_remediation(trigger(), &rules, &RuleContext::default(), &[ex], &definition(), now());
        assert_eq!(revoked_ids(&plan), vec!["sgr-ollama"]);
        assert_eq!(plan.expired_exemptions_ignored.len(), 1);
    }

    #[test]
    fn an_exemption_is_bound_to_what_it_was_granted_for() {
        let ex = exemption(ExemptionTarget::Rule("sgr-bastion".into()), now() + Duration::days(300));
        // Granted for tcp 11434 from 0.0.0.0/0; the same rule id, now all traffic: not exempt.
        let changed = vec![rule("sgr-bastion", "-1", -1, -1, v4("0.0.0.0/0"))];
        let plan = plan_exposure_remediation(
            trigger(),
            &changed,
            &RuleContext::default(),
            std::slice::from_ref(&ex),
            &definition(),
            now(),
        );
        assert_eq!(revoked_ids(&plan), ["sgr-bastion"]);
        assert_eq!(plan.stale_exemptions_ignored, std::slice::from_ref(&ex), "reported as no longer matching");
        // As granted: exempt (protocol case as EC2 may report it).
        let same = vec![rule("sgr-bastion", "TCP", 11434, 11434, v4("0.0.0.0/0"))];
        let plan = plan_exposure_remediation(
            trigger(),
            &same,
            &RuleContext::default(),
            std::slice::from_ref(&ex),
            &definition(),
            now(),
        );
        assert!(plan.is_empty() && plan.exempted.len() == 1);
        // A group exemption names ports: 22 only covers 22, never 11434, never all traffic.
        let mut group = exemption(ExemptionTarget::Group, now() + Duration::days(1));
        group.ports = vec![22];
        let rules = vec![
            rule("sgr-ssh", "tcp", 22, 22, v4("0.0.0.0/0")),
            rule("sgr-ollama", "tcp", 11434, 11434, v4("0.0.0.0/0")),
            rule("sgr-range", "tcp", 0, 65535, v4("0.0.0.0/0")),
            rule("sgr-all", "-1", -1, -1, v6("::/0")),
        ];
        let plan =
            plan_exposure_remediation(trigger(), &rules, &RuleContext::default(), &[group], &definition(), now());
        assert_eq!(revoked_ids(&plan), ["sgr-ollama", "sgr-range", "sgr-all"]);
        // Recorded before exemptions were bound (no rule spec, no ports): protects nothing.
        let unbound = Exemption { granted_for: None, ports: Vec::new(), ..ex };
        let plan =
            plan_exposure_remediation(trigger(), &same, &RuleContext::default(), &[unbound], &definition(), now());
        assert_eq!(revoked_ids(&plan), ["sgr-bastion"]);
    }

    #[test]
    fn an_exemption_for_another_group_protects_nothing() {
        let rules = vec![rule("sgr-ollama", "tcp", 11434, 11434, v4("0.0.0.0/0"))];
        let mut ex = exemption(ExemptionTarget::Group, now() + Duration::hours(1));
        ex.group_id = "sg-other".into();
        let plan = plan_exposure_remediation(trigger(), &rules, &RuleContext::default(), &[ex], &definition(), now());
        assert_eq!(revoked_ids(&plan), vec!["sgr-ollama"]);
    }
}
