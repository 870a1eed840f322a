//! The ports: the small capabilities the executor needs from the outside world. AWS adapters
//! live in `crate::aws`; in-memory fakes for unit tests in `crate::fakes`.

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::approval::{ApprovalAction, ApprovalRequest, ApprovalStatus, DecisionRecord};
use crate::exposure::IngressRule;
use crate::isolation::{
    AsgMembership, ElasticIp, IncidentRecord, IncidentStatus, InstanceState, IsolationTrigger, ProfileAssociation,
    QuarantineGroups, StepOutcome, TargetRegistration, VolumeState,
};
use crate::notify::Notification;
use crate::plan::{Exemption, RemediationRecord, RemediationStatus, StepRecord};

/// Why a port call failed, classified so the executor can decide what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The thing is not there (group, rule, record).
    NotFound,
    /// The service asked us to slow down; retrying later will likely work.
    Throttled,
    AccessDenied,
    /// A conditional write lost: someone else got there first.
    Conflict,
    /// The thing already exists (e.g. restoring a rule that is present).
    AlreadyExists,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} failed ({kind:?}{}): {message}", code.as_deref().map(|c| format!(", {c}")).unwrap_or_default())]
pub struct PortError {
    pub operation: &'static str,
    pub kind: ErrorKind,
    /// The AWS error code, when there is one.
    pub code: Option<String>,
    pub message: String,
}

impl PortError {
    pub fn new(operation: &'static str, kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { operation, kind, code: None, message: message.into() }
    }
}

pub type PortResult<T> = Result<T, PortError>;

/// What happened to one rule in a revoke batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokeResult {
    Revoked,
    AlreadyAbsent,
    Failed(PortError),
}

/// Security groups: read ingress rules, revoke them by rule id, restore them exactly.
pub trait SecurityGroups: Send + Sync {
    /// Current ingress rules of the given groups (`None`: every group in the region).
    /// Groups that do not exist contribute no rules.
    fn ingress_rules(&self, group_ids: Option<&[String]>) -> impl Future<Output = PortResult<Vec<IngressRule>>> + Send;

    /// Revoke rules of one group by their security-group-rule ids. One result per id, in order.
    fn revoke_ingress(&self, group_id: &str, rule_ids: &[String]) -> impl Future<Output = Vec<RevokeResult>> + Send;

    /// Re-create a rule exactly as recorded (protocol, ports, source, description, tags).
    /// Returns the id EC2 gives the new rule.
    fn restore_ingress(&self, rule: &IngressRule) -> impl Future<Output = PortResult<String>> + Send;
}

/// The audit trail and state: remediation records, their steps, exemptions.
pub trait AuditStore: Send + Sync {
    /// Create the record if no record has this id. `Ok(None)`: created; `Ok(Some(existing))`:
    /// a record already exists (duplicate delivery).
    fn create_remediation(
        &self,
        record: &RemediationRecord,
    ) -> impl Future<Output = PortResult<Option<RemediationRecord>>> + Send;

    fn remediation(&self, id: &str) -> impl Future<Output = PortResult<Option<RemediationRecord>>> + Send;

    /// Move a record from one of `from` to `to` with a new lease, unless someone holds a live
    /// lease. `Ok(false)`: not claimed (wrong status or lease held).
    fn claim(
        &self,
        id: &str,
        from: &[RemediationStatus],
        to: RemediationStatus,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        requested_by: Option<&str>,
    ) -> impl Future<Output = PortResult<bool>> + Send;

    /// Set the final status and release the lease.
    fn finish(
        &self,
        id: &str,
        status: RemediationStatus,
        now: DateTime<Utc>,
    ) -> impl Future<Output = PortResult<()>> + Send;

    fn mark_notified(&self, id: &str) -> impl Future<Output = PortResult<()>> + Send;

    /// Write (or overwrite) step records of a remediation. `undo` selects the undo trail.
    fn put_steps(&self, id: &str, undo: bool, steps: &[StepRecord]) -> impl Future<Output = PortResult<()>> + Send;

    fn steps(&self, id: &str, undo: bool) -> impl Future<Output = PortResult<Vec<StepRecord>>> + Send;

    /// Every exemption on record (expired ones too: the planner decides and reports).
    fn exemptions(&self) -> impl Future<Output = PortResult<Vec<Exemption>>> + Send;

    fn put_exemption(&self, exemption: &Exemption) -> impl Future<Output = PortResult<()>> + Send;

    fn delete_exemption(&self, exemption: &Exemption) -> impl Future<Output = PortResult<()>> + Send;
}

/// Tells people (and machines) what happened.
pub trait Notifier: Send + Sync {
    fn notify(&self, notification: &Notification) -> impl Future<Output = PortResult<()>> + Send;
}

/// EC2 instance operations the isolation needs.
pub trait Compute: Send + Sync {
    /// Interfaces (with their own groups), Elastic IPs, volumes, VPC and state. `None`: no such
    /// instance (or terminated). Profile, Auto Scaling and target groups are filled in by the executor.
    fn describe_instance(&self, instance_id: &str) -> impl Future<Output = PortResult<Option<InstanceState>>> + Send;
    fn profile_association(
        &self,
        instance_id: &str,
    ) -> impl Future<Output = PortResult<Option<ProfileAssociation>>> + Send;
    /// The untrack and quarantine groups of a VPC, created (tagged) when missing.
    fn quarantine_groups(&self, vpc_id: &str) -> impl Future<Output = PortResult<QuarantineGroups>> + Send;
    /// Set exactly these groups on one network interface.
    fn set_interface_groups(
        &self,
        interface_id: &str,
        groups: &[String],
    ) -> impl Future<Output = PortResult<()>> + Send;
    /// The groups an interface has now (its own, as DescribeNetworkInterfaces reports them).
    fn interface_groups(&self, interface_id: &str) -> impl Future<Output = PortResult<Vec<String>>> + Send;
    /// Termination protection on, shutdown behaviour `stop`, every volume kept on termination.
    fn protect_evidence(
        &self,
        instance_id: &str,
        volumes: &[VolumeState],
    ) -> impl Future<Output = PortResult<()>> + Send;
    /// Snapshot every volume, tagged with the incident. Returns the snapshot ids (not waited for).
    fn snapshot_volumes(
        &self,
        instance_id: &str,
        incident_id: &str,
    ) -> impl Future<Output = PortResult<Vec<String>>> + Send;
    fn disassociate_address(&self, eip: &ElasticIp) -> impl Future<Output = PortResult<()>> + Send;
    fn associate_address(&self, eip: &ElasticIp, instance_id: &str) -> impl Future<Output = PortResult<()>> + Send;
    /// Replace the association's profile, or remove it when `replacement` is `None`.
    fn quarantine_profile(
        &self,
        current: &ProfileAssociation,
        replacement: Option<&str>,
    ) -> impl Future<Output = PortResult<()>> + Send;
    /// Give the instance back its original profile (replacing whatever it has now).
    fn restore_profile(
        &self,
        instance_id: &str,
        original: &ProfileAssociation,
    ) -> impl Future<Output = PortResult<()>> + Send;
    fn tag_instance(&self, instance_id: &str, tags: &[(String, String)])
        -> impl Future<Output = PortResult<()>> + Send;
}

/// Auto Scaling and load balancing: taking an instance out of service without shrinking capacity.
pub trait Fleet: Send + Sync {
    fn asg_membership(&self, instance_id: &str) -> impl Future<Output = PortResult<Option<AsgMembership>>> + Send;
    /// Every target group the instance is registered in.
    fn target_registrations(
        &self,
        instance_id: &str,
    ) -> impl Future<Output = PortResult<Vec<TargetRegistration>>> + Send;
    /// `EnterStandby` without decrementing desired capacity (a replacement starts).
    fn leave_asg(&self, asg: &AsgMembership, instance_id: &str) -> impl Future<Output = PortResult<()>> + Send;
    fn rejoin_asg(&self, asg: &AsgMembership, instance_id: &str) -> impl Future<Output = PortResult<()>> + Send;
    fn deregister(
        &self,
        registration: &TargetRegistration,
        instance_id: &str,
    ) -> impl Future<Output = PortResult<()>> + Send;
    fn register(
        &self,
        registration: &TargetRegistration,
        instance_id: &str,
    ) -> impl Future<Output = PortResult<()>> + Send;
}

/// Who holds an instance's lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockOutcome {
    Acquired,
    HeldBy { incident_id: String, since: DateTime<Utc> },
}

/// Incidents, their steps, and per-instance locks.
pub trait IncidentStore: Send + Sync {
    /// Conditional write: one incident per instance at a time.
    fn lock_instance(
        &self,
        instance_id: &str,
        incident_id: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = PortResult<LockOutcome>> + Send;
    /// Take over a lock whose incident was never recorded (a crash between lock and record).
    fn steal_instance_lock(
        &self,
        instance_id: &str,
        stale_incident: &str,
        incident_id: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = PortResult<bool>> + Send;
    fn unlock_instance(&self, instance_id: &str, incident_id: &str) -> impl Future<Output = PortResult<()>> + Send;
    /// `Ok(Some(existing))` when an incident with this id is already on record.
    fn create_incident(
        &self,
        record: &IncidentRecord,
    ) -> impl Future<Output = PortResult<Option<IncidentRecord>>> + Send;
    fn incident(&self, id: &str) -> impl Future<Output = PortResult<Option<IncidentRecord>>> + Send;
    /// Overwrite the record (the caller holds its lease).
    fn save_incident(&self, record: &IncidentRecord) -> impl Future<Output = PortResult<()>> + Send;
    fn claim_incident(
        &self,
        id: &str,
        from: &[IncidentStatus],
        to: IncidentStatus,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> impl Future<Output = PortResult<bool>> + Send;
    fn put_incident_step(&self, id: &str, step: &StepOutcome) -> impl Future<Output = PortResult<()>> + Send;
    /// Record the target groups found after the incident was recorded (before deregistering).
    fn record_target_groups(
        &self,
        id: &str,
        registrations: &[TargetRegistration],
    ) -> impl Future<Output = PortResult<()>> + Send;
    fn incident_steps(&self, id: &str) -> impl Future<Output = PortResult<Vec<StepOutcome>>> + Send;
    /// Record a further trigger about an instance already under an incident.
    fn add_incident_trigger(
        &self,
        id: &str,
        trigger: &IsolationTrigger,
        now: DateTime<Utc>,
    ) -> impl Future<Output = PortResult<()>> + Send;
}

/// Approval requests and their decisions.
pub trait ApprovalStore: Send + Sync {
    /// `Ok(Some(existing))` when a request with this id is already on record.
    fn create_approval(
        &self,
        request: &ApprovalRequest,
    ) -> impl Future<Output = PortResult<Option<ApprovalRequest>>> + Send;
    fn approval(&self, id: &str) -> impl Future<Output = PortResult<Option<ApprovalRequest>>> + Send;
    /// Single use: move a `pending` request to `status` with the decision's evidence.
    /// `Ok(false)`: it was not pending any more.
    fn decide_approval(
        &self,
        id: &str,
        status: ApprovalStatus,
        decision: Option<&DecisionRecord>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = PortResult<bool>> + Send;
    /// Add what executing the decision did to its record.
    fn record_approval_outcome(
        &self,
        id: &str,
        decision: &DecisionRecord,
    ) -> impl Future<Output = PortResult<()>> + Send;
    /// Pending requests whose expiry has passed.
    fn expired_approvals(&self, now: DateTime<Utc>) -> impl Future<Output = PortResult<Vec<ApprovalRequest>>> + Send;
}

/// Runs what an approval approved, through the same executor the remediator uses.
pub trait ActionRunner: Send + Sync {
    /// `Ok(what happened)`, or `Err(why it did not)`.
    fn run_approved(
        &self,
        action: &ApprovalAction,
        approved_by: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<String, String>> + Send;
    /// What a rejection means for the action's subject. `Ok(what happened)`.
    fn run_rejected(
        &self,
        action: &ApprovalAction,
        rejected_by: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<String, String>> + Send;
}

/// A runner borrowed is a runner (the approvals function keeps one of each and lends them).
impl<T: ActionRunner> ActionRunner for &T {
    async fn run_approved(
        &self,
        action: &ApprovalAction,
        approved_by: &str,
        now: DateTime<Utc>,
    ) -> Result<String, String> {
        (**self).run_approved(action, approved_by, now).await
    }

    async fn run_rejected(
        &self,
        action: &ApprovalAction,
        rejected_by: &str,
        now: DateTime<Utc>,
    ) -> Result<String, String> {
        (**self).run_rejected(action, rejected_by, now).await
    }
}

/// What importing a registry changed.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct RegistryImport {
    pub written: Vec<String>,
    pub removed: Vec<String>,
}

/// The model registry as stored (DynamoDB): read whole by the validator, replaced whole by
/// `warden registry import`.
pub trait ModelRegistryStore: Send + Sync {
    fn models(&self) -> impl Future<Output = PortResult<Vec<crate::registry::ModelEntry>>> + Send;
    fn replace_models(
        &self,
        models: &[crate::registry::ModelEntry],
        now: DateTime<Utc>,
    ) -> impl Future<Output = PortResult<RegistryImport>> + Send;
}

/// One caller's fixed quota window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaWindow {
    /// Unix seconds at which the window starts.
    pub start: i64,
    pub seconds: u64,
}

impl QuotaWindow {
    pub fn containing(now: DateTime<Utc>, seconds: u64) -> Self {
        let t = now.timestamp();
        Self { start: t - t.rem_euclid(seconds as i64), seconds }
    }

    pub fn end(&self) -> i64 {
        self.start + self.seconds as i64
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaOutcome {
    /// Counted: the totals in this window after this request.
    Allowed { requests: u64, tokens: u64 },
    /// Over a budget; nothing was counted.
    Exhausted,
}

/// Per-caller request and token budgets, shared by every Lambda instance (atomic counters).
pub trait QuotaStore: Send + Sync {
    fn consume(
        &self,
        caller: &str,
        window: QuotaWindow,
        tokens: u64,
        max_requests: u64,
        max_tokens: u64,
    ) -> impl Future<Output = PortResult<QuotaOutcome>> + Send;
}

/// Suspensions of abusive callers and fleet-wide quota tightening; offence evidence.
pub trait SuspensionStore: Send + Sync {
    /// Record a new suspension (conditional on its id); `Some(existing)` if it was already there.
    fn create_suspension(
        &self,
        record: &crate::suspension::SuspensionRecord,
    ) -> impl Future<Output = PortResult<Option<crate::suspension::SuspensionRecord>>> + Send;
    fn suspension(
        &self,
        id: &str,
    ) -> impl Future<Output = PortResult<Option<crate::suspension::SuspensionRecord>>> + Send;
    fn save_suspension(
        &self,
        record: &crate::suspension::SuspensionRecord,
    ) -> impl Future<Output = PortResult<()>> + Send;
    /// A caller's suspensions since `since`, any status.
    fn suspensions_of(
        &self,
        caller: &str,
        since: DateTime<Utc>,
    ) -> impl Future<Output = PortResult<Vec<crate::suspension::SuspensionRecord>>> + Send;
    /// Put a caller's suspension in force until `until` (never shortens one already in force).
    fn activate(&self, active: &crate::suspension::ActiveSuspension) -> impl Future<Output = PortResult<()>> + Send;
    /// Take a caller's suspension out of force; `false` if there was none.
    fn deactivate(&self, caller: &str) -> impl Future<Output = PortResult<bool>> + Send;
    /// Every suspension in force and the fleet limits: what the validator reads (one query).
    fn restrictions(&self) -> impl Future<Output = PortResult<crate::suspension::Restrictions>> + Send;
    fn set_fleet_limits(&self, limits: &crate::suspension::FleetLimits) -> impl Future<Output = PortResult<()>> + Send;
    /// Count one refused request of `caller` (injection attempt or auth failure) in its hour.
    fn record_offence(&self, caller: &str, now: DateTime<Utc>) -> impl Future<Output = PortResult<()>> + Send;
    /// Callers with the most offences in the last `hours`, most first.
    fn top_offenders(
        &self,
        hours: i64,
        now: DateTime<Utc>,
        limit: usize,
    ) -> impl Future<Output = PortResult<Vec<(String, u64)>>> + Send;
}

/// API keys at the API Gateway in front of the validator.
pub trait ApiKeys: Send + Sync {
    /// Disable an API key; `Ok(false)` if there is no such key.
    fn disable(&self, key_id: &str) -> impl Future<Output = PortResult<bool>> + Send;
}

/// AWS Config: report verdicts; fetch an item too large to be sent.
pub trait ConfigEvaluations: Send + Sync {
    /// Report one batch (≤ 100). `test_mode`: the `TESTMODE` result token.
    fn put_evaluations(
        &self,
        result_token: &str,
        test_mode: bool,
        batch: &[crate::compliance::Evaluation],
    ) -> impl Future<Output = PortResult<()>> + Send;
    /// The latest configuration item of a resource, in the shape Config sends; `None` if Config
    /// has not recorded it.
    fn latest_item(
        &self,
        resource_type: &str,
        resource_id: &str,
    ) -> impl Future<Output = PortResult<Option<crate::compliance::ConfigItem>>> + Send;
}

/// What a periodic rule lists: resources as configuration items, and the account's trails.
pub trait Inventory: Send + Sync {
    fn items(&self, resource_type: &str)
        -> impl Future<Output = PortResult<Vec<crate::compliance::ConfigItem>>> + Send;
    fn trails(&self) -> impl Future<Output = PortResult<Vec<crate::compliance::TrailState>>> + Send;
}

/// Every evaluation kept as compliance evidence.
pub trait EvidenceStore: Send + Sync {
    fn record_evaluations(
        &self,
        rule: crate::compliance::Rule,
        evaluations: &[crate::compliance::Evaluation],
        evaluated_at: DateTime<Utc>,
    ) -> impl Future<Output = PortResult<()>> + Send;
    /// Evidence of every rule since `since`, oldest first.
    fn evidence_since(
        &self,
        since: DateTime<Utc>,
    ) -> impl Future<Output = PortResult<Vec<crate::compliance::EvidenceRow>>> + Send;
}
