//! The ports the exposure remediation acts through: security groups and the audit store.

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::exposure::plan::{Exemption, RemediationRecord, RemediationStatus, StepRecord};
use crate::exposure::{IngressRule, PrefixLists, SharedInterface};
use crate::ports::{PortError, PortResult};

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

    /// The network interfaces that carry two or more groups, one of them among the given groups
    /// (`None`: any), with all their groups.
    fn shared_interfaces(
        &self,
        group_ids: Option<&[String]>,
    ) -> impl Future<Output = PortResult<Vec<SharedInterface>>> + Send;

    /// The entries (CIDRs) of the given managed prefix lists; a list that does not exist has
    /// none.
    fn prefix_lists(&self, ids: &[String]) -> impl Future<Output = PortResult<PrefixLists>> + Send;

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
