//! The ports the isolation acts through: instances, the fleet (Auto Scaling, load balancers), incidents.

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::isolation::{
    AsgMembership, ElasticIp, IncidentRecord, IncidentStatus, InstanceState, IsolationTrigger, ProfileAssociation,
    QuarantineGroups, StepOutcome, TargetRegistration, VolumeState,
};
use crate::ports::PortResult;

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
    /// The VPCs of the fleet: of the instances carrying `tag`, and of the instances `also` names
    /// (the fleet's Auto Scaling groups' members). Terminated instances do not count.
    fn fleet_vpcs(
        &self,
        tag: Option<&(String, String)>,
        also: &[String],
    ) -> impl Future<Output = PortResult<std::collections::BTreeSet<String>>> + Send;
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
    /// The instances of these Auto Scaling groups.
    fn asg_instances(&self, groups: &[String]) -> impl Future<Output = PortResult<Vec<String>>> + Send;
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
