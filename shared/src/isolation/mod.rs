//! Containing a compromised GPU instance: the triggers (CloudWatch alarms, GuardDuty findings),
//! the policy that decides what runs at once and what waits for a human, what Warden records
//! about the instance before touching it, and the pure planner that orders the steps.

pub mod approval;
mod contain;
pub mod executor;
pub mod notification;
pub mod ports;
mod release;

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `i-` followed by 8 or 17 hex digits.
pub fn is_instance_id(s: &str) -> bool {
    s.strip_prefix("i-").is_some_and(|hex| (8..=17).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// What raised the alarm about an instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IsolationTrigger {
    pub event_id: String,
    pub event_time: DateTime<Utc>,
    pub source: ThreatSource,
    /// The instance to contain, when the event names one.
    pub instance_id: Option<String>,
    /// An alarm on a whole Auto Scaling group names the group, not an instance.
    pub asg_name: Option<String>,
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ThreatSource {
    Alarm { alarm_name: String, metric: Option<String>, reason: Option<String> },
    GuardDuty { finding_id: String, finding_type: String, severity: f64, title: Option<String> },
}

impl IsolationTrigger {
    /// Derived from the event, so a redelivery lands on the same incident.
    pub fn incident_id(&self) -> String {
        let digest = Sha256::digest(self.event_id.as_bytes());
        let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
        format!("inc-{}-{hex}", self.event_time.format("%Y%m%dT%H%M%SZ"))
    }

    pub fn describe(&self) -> String {
        match &self.source {
            ThreatSource::Alarm { alarm_name, metric, .. } => {
                let on = metric.as_deref().map(|m| format!(" on {m}")).unwrap_or_default();
                format!("CloudWatch alarm {alarm_name}{on} in ALARM")
            }
            ThreatSource::GuardDuty { finding_type, severity, .. } => {
                format!("GuardDuty {finding_type} (severity {severity:.1})")
            }
        }
    }

    pub fn source_kind(&self) -> PolicySource {
        match self.source {
            ThreatSource::Alarm { .. } => PolicySource::Alarm,
            ThreatSource::GuardDuty { .. } => PolicySource::Guardduty,
        }
    }
}

/// What to do about a trigger. "Destructive" here means disruptive to service: taking the node
/// out of service and cutting its network and credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    /// The whole isolation plan, now.
    Isolate,
    /// Protect the evidence now (termination protection, keep volumes, snapshots, tag); the
    /// disruptive steps are recorded as a plan pending approval.
    ProtectThenApprove,
    /// Change nothing; record the whole plan pending approval.
    ApproveFirst,
}

impl Response {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Isolate => "isolate",
            Self::ProtectThenApprove => "protect_then_approve",
            Self::ApproveFirst => "approve_first",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicySource {
    Alarm,
    Guardduty,
}

/// One rule of the isolation policy; the first rule that matches decides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyRule {
    pub name: String,
    #[serde(default)]
    pub source: Option<PolicySource>,
    /// GuardDuty finding type prefixes (e.g. `CryptoCurrency:EC2/`); empty matches any.
    #[serde(default)]
    pub finding_types: Vec<String>,
    /// Alarm name prefixes; empty matches any.
    #[serde(default)]
    pub alarm_names: Vec<String>,
    /// GuardDuty severity at least this (alarms have none and never match a severity rule).
    #[serde(default)]
    pub min_severity: Option<f64>,
    pub response: Response,
}

/// The isolation policy: loaded once at start, from `WARDEN_ISOLATION_POLICY` (JSON) or the
/// defaults below.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IsolationPolicy {
    pub rules: Vec<PolicyRule>,
    /// When no rule matches.
    pub default: Response,
}

/// GuardDuty families that mean "this instance is compromised".
pub const EC2_THREAT_FINDINGS: [&str; 5] = [
    "CryptoCurrency:EC2/",
    "Backdoor:EC2/",
    "Trojan:EC2/",
    "UnauthorizedAccess:EC2/",
    "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub response: Response,
    /// The rule that decided, for the record and the email.
    pub rule: String,
}

impl Default for IsolationPolicy {
    fn default() -> Self {
        let threats: Vec<String> = EC2_THREAT_FINDINGS.iter().map(|s| s.to_string()).collect();
        Self {
            rules: vec![
                PolicyRule {
                    name: "guardduty-high-severity-ec2-threat".into(),
                    source: Some(PolicySource::Guardduty),
                    finding_types: threats.clone(),
                    alarm_names: vec![],
                    min_severity: Some(7.0),
                    response: Response::Isolate,
                },
                PolicyRule {
                    name: "guardduty-medium-severity-ec2-threat".into(),
                    source: Some(PolicySource::Guardduty),
                    finding_types: threats,
                    alarm_names: vec![],
                    min_severity: Some(4.0),
                    response: Response::ProtectThenApprove,
                },
                PolicyRule {
                    name: "alarm-alone".into(),
                    source: Some(PolicySource::Alarm),
                    finding_types: vec![],
                    alarm_names: vec![],
                    min_severity: None,
                    response: Response::ProtectThenApprove,
                },
            ],
            default: Response::ApproveFirst,
        }
    }
}

impl IsolationPolicy {
    pub fn from_json(raw: &str) -> Result<Self, String> {
        let policy: Self = serde_json::from_str(raw).map_err(|e| e.to_string())?;
        for r in &policy.rules {
            if r.min_severity.is_some_and(|s| !(0.0..=10.0).contains(&s)) {
                return Err(format!("rule {}: min_severity must be between 0 and 10", r.name));
            }
        }
        Ok(policy)
    }

    pub fn decide(&self, trigger: &IsolationTrigger) -> Decision {
        for rule in &self.rules {
            if rule.source.is_some_and(|s| s != trigger.source_kind()) {
                continue;
            }
            let matches = match &trigger.source {
                ThreatSource::GuardDuty { finding_type, severity, .. } => {
                    (rule.finding_types.is_empty()
                        || rule.finding_types.iter().any(|p| finding_type.starts_with(p.as_str())))
                        && rule.alarm_names.is_empty()
                        && rule.min_severity.is_none_or(|min| *severity >= min)
                }
                ThreatSource::Alarm { alarm_name, .. } => {
                    (rule.alarm_names.is_empty() || rule.alarm_names.iter().any(|p| alarm_name.starts_with(p.as_str())))
                        && rule.finding_types.is_empty()
                        && rule.min_severity.is_none()
                }
            };
            if matches {
                return Decision { response: rule.response, rule: rule.name.clone() };
            }
        }
        Decision { response: self.default, rule: "default".into() }
    }
}

/// A network interface and the groups it had.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceState {
    pub interface_id: String,
    pub device_index: i32,
    pub groups: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileAssociation {
    pub association_id: String,
    pub profile_arn: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElasticIp {
    pub allocation_id: String,
    pub association_id: String,
    pub public_ip: String,
    pub interface_id: Option<String>,
    pub private_ip: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeState {
    pub volume_id: String,
    pub device_name: String,
    pub delete_on_termination: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetRegistration {
    pub target_group_arn: String,
    pub port: Option<i32>,
}

/// Everything needed to release an instance exactly, recorded before anything changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceState {
    pub instance_id: String,
    pub vpc_id: String,
    pub state: String,
    pub interfaces: Vec<InterfaceState>,
    pub volumes: Vec<VolumeState>,
    pub profile: Option<ProfileAssociation>,
    pub asg: Option<AsgMembership>,
    /// Every target group the instance is registered in (its Auto Scaling group's included:
    /// standby deregisters from those too, and release registers it again in all of them).
    pub target_groups: Vec<TargetRegistration>,
    /// `false` while their discovery is still running (it is kept off the containment path);
    /// they are recorded before any deregistration.
    #[serde(default = "known")]
    pub target_groups_known: bool,
    pub elastic_ips: Vec<ElasticIp>,
    /// The instance's tags (what says it belongs to the fleet).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// Which instances Warden may isolate: the Ollama fleet, by tag or by Auto Scaling group. An
/// instance outside it is recorded and notified, never touched — a GuardDuty finding on an
/// unrelated host (which an outsider can provoke) must not cut that host off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetScope {
    /// `key=value` a fleet instance carries.
    pub tag: Option<(String, String)>,
    /// Auto Scaling groups whose instances are the fleet.
    pub asgs: Vec<String>,
}

impl FleetScope {
    pub fn contains(&self, state: &InstanceState) -> bool {
        let tagged = self.tag.as_ref().is_some_and(|(k, v)| state.tags.get(k) == Some(v));
        let in_asg = state.asg.as_ref().is_some_and(|a| self.asgs.contains(&a.name));
        tagged || in_asg
    }

    /// What the fleet is, for a person.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some((k, v)) = &self.tag {
            parts.push(format!("tagged {k}={v}"));
        }
        if !self.asgs.is_empty() {
            parts.push(format!("in the Auto Scaling group(s) {}", self.asgs.join(", ")));
        }
        if parts.is_empty() {
            "no instance (no fleet tag or group is configured)".into()
        } else {
            parts.join(" or ")
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AsgMembership {
    pub name: String,
    pub lifecycle_state: String,
}

fn known() -> bool {
    true
}

/// One step of the isolation plan. The names are stable: they key the step records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IsolationStep {
    /// Termination protection on, shutdown behaviour `stop`, volumes kept on termination.
    ProtectEvidence,
    /// Auto Scaling `EnterStandby` without decrementing desired capacity: a replacement starts.
    LeaveAutoScalingGroup,
    /// Deregister from every target group it serves in (after standby, which does this for the
    /// group's own target groups on AWS; doing it explicitly covers the others and is harmless).
    DeregisterTargets,
    /// Snapshot every volume, tagged with the incident; not waited for.
    SnapshotVolumes,
    /// Two-step security-group swap on every interface: allow-all (untracks flows), then the
    /// quarantine group with no rules (drops them).
    QuarantineNetwork,
    DetachElasticIps,
    /// Replace the instance profile with the quarantine profile, or remove it.
    QuarantineProfile,
    /// Tag the instance with the incident.
    TagInstance,
}

impl IsolationStep {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProtectEvidence => "protect_evidence",
            Self::LeaveAutoScalingGroup => "leave_auto_scaling_group",
            Self::DeregisterTargets => "deregister_targets",
            Self::SnapshotVolumes => "snapshot_volumes",
            Self::QuarantineNetwork => "quarantine_network",
            Self::DetachElasticIps => "detach_elastic_ips",
            Self::QuarantineProfile => "quarantine_profile",
            Self::TagInstance => "tag_instance",
        }
    }

    /// What the step does, for the approval page and email.
    pub fn describe(self) -> &'static str {
        match self {
            Self::ProtectEvidence => "Turn termination protection on, set shutdown behaviour to stop, keep every volume on termination",
            Self::LeaveAutoScalingGroup => {
                "Put the instance in Standby in its Auto Scaling group without lowering desired capacity (a replacement starts)"
            }
            Self::DeregisterTargets => "Deregister it from every load-balancer target group",
            Self::SnapshotVolumes => "Snapshot every volume, tagged with the incident",
            Self::QuarantineNetwork => {
                "Cut its network on every interface (allow-all, then a quarantine group with no rules: live connections drop)"
            }
            Self::DetachElasticIps => "Detach its Elastic IPs",
            Self::QuarantineProfile => "Replace or remove its instance profile (its credentials stop working)",
            Self::TagInstance => "Tag it with the incident",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::ProtectEvidence,
            Self::LeaveAutoScalingGroup,
            Self::DeregisterTargets,
            Self::SnapshotVolumes,
            Self::QuarantineNetwork,
            Self::DetachElasticIps,
            Self::QuarantineProfile,
            Self::TagInstance,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }

    /// Disrupts service (so it waits for approval under `ProtectThenApprove`).
    pub fn is_disruptive(self) -> bool {
        matches!(
            self,
            Self::LeaveAutoScalingGroup
                | Self::DeregisterTargets
                | Self::QuarantineNetwork
                | Self::DetachElasticIps
                | Self::QuarantineProfile
        )
    }
}

/// The isolation plan: which steps run now and which wait for approval. Pure data, stored with
/// the incident so an approval can execute it unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IsolationPlan {
    pub now: Vec<IsolationStep>,
    pub pending_approval: Vec<IsolationStep>,
}

/// The pure planner: only the steps that apply to this instance, split by the response.
pub fn plan_isolation(state: &InstanceState, response: Response) -> IsolationPlan {
    let mut steps = vec![IsolationStep::ProtectEvidence];
    if state.asg.is_some() {
        steps.push(IsolationStep::LeaveAutoScalingGroup);
    }
    if !state.target_groups.is_empty() || !state.target_groups_known {
        steps.push(IsolationStep::DeregisterTargets);
    }
    if !state.volumes.is_empty() {
        steps.push(IsolationStep::SnapshotVolumes);
    }
    if !state.interfaces.is_empty() {
        steps.push(IsolationStep::QuarantineNetwork);
    }
    if !state.elastic_ips.is_empty() {
        steps.push(IsolationStep::DetachElasticIps);
    }
    if state.profile.is_some() {
        steps.push(IsolationStep::QuarantineProfile);
    }
    steps.push(IsolationStep::TagInstance);
    match response {
        Response::Isolate => IsolationPlan { now: steps, pending_approval: vec![] },
        Response::ProtectThenApprove => {
            let (pending, now): (Vec<_>, Vec<_>) = steps.into_iter().partition(|s| s.is_disruptive());
            IsolationPlan { now, pending_approval: pending }
        }
        Response::ApproveFirst => IsolationPlan { now: vec![], pending_approval: steps },
    }
}

/// The two groups the network cut uses in a VPC, created once and reused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantineGroups {
    /// Allows all traffic from anywhere: moving an interface here makes its flows untracked.
    pub untrack_group_id: String,
    /// No rules at all: moving an interface here from the untrack group drops every flow.
    pub quarantine_group_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    /// Steps running under a lease.
    Isolating,
    /// Every planned step done.
    Isolated,
    /// Evidence protected; the disruptive steps wait for approval (or everything does).
    PendingApproval,
    /// Some steps failed; the next trigger or a retry resumes.
    Partial,
    /// Nothing to isolate: the alarm names a whole group, or the instance is gone.
    NotActionable,
    /// A human rejected the pending plan: the evidence stays protected, nothing else is done,
    /// and the instance's lock is freed for future incidents.
    Dismissed,
    Releasing,
    Released,
    /// Some release steps failed; running the release again retries them.
    ReleasePartial,
}

impl IncidentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Isolating => "isolating",
            Self::Isolated => "isolated",
            Self::PendingApproval => "pending_approval",
            Self::Partial => "partial",
            Self::NotActionable => "not_actionable",
            Self::Dismissed => "dismissed",
            Self::Releasing => "releasing",
            Self::Released => "released",
            Self::ReleasePartial => "release_partial",
        }
    }

    /// Finished for good: its instance's lock may be taken by a new incident.
    pub fn is_over(self) -> bool {
        matches!(self, Self::Released | Self::NotActionable | Self::Dismissed)
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Isolating,
            Self::Isolated,
            Self::PendingApproval,
            Self::Partial,
            Self::NotActionable,
            Self::Dismissed,
            Self::Releasing,
            Self::Released,
            Self::ReleasePartial,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }
}

/// The audit record of one incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentRecord {
    pub id: String,
    pub status: IncidentStatus,
    pub trigger: IsolationTrigger,
    pub response: Response,
    pub decided_by_rule: String,
    pub instance_id: Option<String>,
    /// Recorded before any change: what release restores.
    pub state: Option<InstanceState>,
    pub plan: Option<IsolationPlan>,
    pub quarantine: Option<QuarantineGroups>,
    pub summary: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub lease_until: Option<DateTime<Utc>>,
    /// From the handler receiving the event to the quarantine group on every interface.
    pub time_to_containment_ms: Option<u64>,
    pub released_by: Option<String>,
    pub notified: bool,
    /// Who approved the pending plan; the summary of the run says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    Done,
    Failed,
}

/// What happened to one isolation or release step, with its timing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepOutcome {
    /// `isolate` or `release`.
    pub phase: String,
    pub step: String,
    pub state: StepState,
    pub detail: String,
    pub error: Option<String>,
    /// Milliseconds after the handler received the event.
    pub started_ms: u64,
    pub finished_ms: u64,
}

named_enum!(IncidentStatus);
named_enum!(Response);

#[cfg(test)]
mod tests {
    use super::*;

    fn guardduty(finding_type: &str, severity: f64) -> IsolationTrigger {
        IsolationTrigger {
            event_id: "e".into(),
            event_time: "2026-11-26T12:00:00Z".parse().unwrap(),
            source: ThreatSource::GuardDuty {
                finding_id: "f".into(),
                finding_type: finding_type.into(),
                severity,
                title: None,
            },
            instance_id: Some("i-0123456789abcdef0".into()),
            asg_name: None,
            account: None,
            region: None,
        }
    }

    fn alarm(name: &str) -> IsolationTrigger {
        IsolationTrigger {
            source: ThreatSource::Alarm { alarm_name: name.into(), metric: None, reason: None },
            ..guardduty("x", 0.0)
        }
    }

    #[test]
    fn default_policy_isolates_high_severity_threats_and_asks_for_the_rest() {
        let p = IsolationPolicy::default();
        assert_eq!(p.decide(&guardduty("CryptoCurrency:EC2/BitcoinTool.B!DNS", 8.0)).response, Response::Isolate);
        assert_eq!(p.decide(&guardduty("Backdoor:EC2/C&CActivity.B", 7.0)).response, Response::Isolate);
        assert_eq!(
            p.decide(&guardduty("UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS", 8.0)).response,
            Response::Isolate
        );
        assert_eq!(p.decide(&guardduty("Trojan:EC2/DNSDataExfiltration", 5.0)).response, Response::ProtectThenApprove);
        assert_eq!(p.decide(&guardduty("Trojan:EC2/DNSDataExfiltration", 2.0)).response, Response::ApproveFirst);
        assert_eq!(p.decide(&guardduty("Recon:EC2/PortProbeUnprotectedPort", 8.0)).response, Response::ApproveFirst);
        let d = p.decide(&alarm("gpu-utilization-anomaly"));
        assert_eq!((d.response, d.rule.as_str()), (Response::ProtectThenApprove, "alarm-alone"));
    }

    #[test]
    fn policy_is_configurable_and_validated() {
        let p = IsolationPolicy::from_json(
            r#"{"rules":[{"name":"crypto-alarms","source":"alarm","alarm_names":["gpu-crypto-"],"response":"isolate"}],
                "default":"approve_first"}"#,
        )
        .unwrap();
        assert_eq!(p.decide(&alarm("gpu-crypto-hashrate")).response, Response::Isolate);
        assert_eq!(p.decide(&alarm("gpu-temp")).response, Response::ApproveFirst);
        assert!(IsolationPolicy::from_json(r#"{"rules":[],"default":"nuke"}"#).is_err());
        assert!(IsolationPolicy::from_json(r#"{"rules":[],"default":"isolate","extra":1}"#).is_err());
        let err = IsolationPolicy::from_json(
            r#"{"rules":[{"name":"x","min_severity":11,"response":"isolate"}],"default":"isolate"}"#,
        )
        .unwrap_err();
        assert!(err.contains("min_severity"));
    }

    fn state() -> InstanceState {
        InstanceState {
            tags: BTreeMap::new(),
            instance_id: "i-1".into(),
            vpc_id: "vpc-1".into(),
            state: "running".into(),
            interfaces: vec![InterfaceState {
                interface_id: "eni-1".into(),
                device_index: 0,
                groups: vec!["sg-1".into()],
            }],
            volumes: vec![VolumeState {
                volume_id: "vol-1".into(),
                device_name: "/dev/xvda".into(),
                delete_on_termination: true,
            }],
            profile: None,
            asg: None,
            target_groups: vec![],
            target_groups_known: true,
            elastic_ips: vec![],
        }
    }

    #[test]
    fn plan_has_only_the_steps_that_apply() {
        let plan = plan_isolation(&state(), Response::Isolate);
        assert_eq!(
            plan.now,
            vec![
                IsolationStep::ProtectEvidence,
                IsolationStep::SnapshotVolumes,
                IsolationStep::QuarantineNetwork,
                IsolationStep::TagInstance
            ]
        );
        let mut full = state();
        full.profile = Some(ProfileAssociation { association_id: "a".into(), profile_arn: "arn".into() });
        full.asg = Some(AsgMembership { name: "gpu".into(), lifecycle_state: "InService".into() });
        full.target_groups = vec![TargetRegistration { target_group_arn: "tg".into(), port: Some(11434) }];
        full.elastic_ips = vec![ElasticIp {
            allocation_id: "x".into(),
            association_id: "y".into(),
            public_ip: "1.2.3.4".into(),
            interface_id: None,
            private_ip: None,
        }];
        assert_eq!(plan_isolation(&full, Response::Isolate).now.len(), 8);
    }

    #[test]
    fn protect_then_approve_defers_exactly_the_disruptive_steps() {
        let mut s = state();
        s.asg = Some(AsgMembership { name: "gpu".into(), lifecycle_state: "InService".into() });
        let plan = plan_isolation(&s, Response::ProtectThenApprove);
        assert!(plan.now.iter().all(|st| !st.is_disruptive()));
        assert_eq!(plan.pending_approval, vec![IsolationStep::LeaveAutoScalingGroup, IsolationStep::QuarantineNetwork]);
        let first = plan_isolation(&s, Response::ApproveFirst);
        assert!(first.now.is_empty());
        assert_eq!(first.pending_approval.len(), 5);
    }

    #[test]
    fn incident_ids_follow_the_event() {
        let a = guardduty("x", 1.0);
        assert_eq!(a.incident_id(), a.clone().incident_id());
        assert!(a.incident_id().starts_with("inc-20261126T120000Z-"));
    }
}
