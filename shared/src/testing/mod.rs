//! In-memory fakes of the ports, for unit tests of the executor's logic only. The AWS adapters
//! are tested against the local AWS (moto) in `tests/`.

use crate::exposure::ports::AuditStore;
use crate::exposure::ports::RevokeResult;
use crate::exposure::ports::SecurityGroups;
use crate::isolation::ports::Compute;
use crate::isolation::ports::Fleet;
use crate::isolation::ports::IncidentStore;
use crate::isolation::ports::LockOutcome;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::exposure::plan::{Exemption, RemediationRecord, RemediationStatus, StepRecord};
use crate::exposure::IngressRule;
use crate::isolation::{
    AsgMembership, ElasticIp, IncidentRecord, IncidentStatus, InstanceState, IsolationTrigger, ProfileAssociation,
    QuarantineGroups, StepOutcome, TargetRegistration, VolumeState,
};
use crate::notify::Notification;
use crate::ports::*;

#[derive(Default)]
pub struct FakeGroups {
    pub rules: Mutex<Vec<IngressRule>>,
    /// Rule ids whose revoke fails (once each) with this error kind.
    pub fail_revoke: Mutex<BTreeMap<String, ErrorKind>>,
    pub revoke_calls: Mutex<usize>,
    /// Rule ids someone else deletes after they were read and before Warden revokes them.
    pub gone_before_revoke: Mutex<Vec<String>>,
    /// Managed prefix lists and their entries.
    pub prefix_lists: Mutex<crate::exposure::PrefixLists>,
    /// Network interfaces and their groups.
    pub interfaces: Mutex<Vec<crate::exposure::SharedInterface>>,
    next_id: Mutex<u32>,
}

impl FakeGroups {
    pub fn with(rules: Vec<IngressRule>) -> Self {
        Self { rules: Mutex::new(rules), ..Default::default() }
    }
    pub fn ids(&self) -> Vec<String> {
        self.rules.lock().unwrap().iter().map(|r| r.rule_id.clone()).collect()
    }
}

impl SecurityGroups for FakeGroups {
    async fn ingress_rules(&self, group_ids: Option<&[String]>) -> PortResult<Vec<IngressRule>> {
        let rules = self.rules.lock().unwrap();
        Ok(rules.iter().filter(|r| group_ids.is_none_or(|g| g.contains(&r.group_id))).cloned().collect())
    }

    async fn shared_interfaces(
        &self,
        group_ids: Option<&[String]>,
    ) -> PortResult<Vec<crate::exposure::SharedInterface>> {
        let interfaces = self.interfaces.lock().unwrap();
        Ok(interfaces
            .iter()
            .filter(|i| i.group_ids.len() > 1 && group_ids.is_none_or(|g| i.group_ids.iter().any(|x| g.contains(x))))
            .cloned()
            .collect())
    }

    async fn prefix_lists(&self, ids: &[String]) -> PortResult<crate::exposure::PrefixLists> {
        let lists = self.prefix_lists.lock().unwrap();
        Ok(ids.iter().map(|id| (id.clone(), lists.get(id).cloned().unwrap_or_default())).collect())
    }

    async fn revoke_ingress(&self, group_id: &str, rule_ids: &[String]) -> Vec<RevokeResult> {
        *self.revoke_calls.lock().unwrap() += 1;
        let mut rules = self.rules.lock().unwrap();
        let gone = std::mem::take(&mut *self.gone_before_revoke.lock().unwrap());
        rules.retain(|r| !gone.contains(&r.rule_id));
        let mut fail = self.fail_revoke.lock().unwrap();
        rule_ids
            .iter()
            .map(|id| {
                if let Some(kind) = fail.remove(id) {
                    return RevokeResult::Failed(PortError::new("RevokeSecurityGroupIngress", kind, "injected"));
                }
                match rules.iter().position(|r| &r.rule_id == id && r.group_id == group_id) {
                    Some(i) => {
                        rules.remove(i);
                        RevokeResult::Revoked
                    }
                    None => RevokeResult::AlreadyAbsent,
                }
            })
            .collect()
    }

    async fn restore_ingress(&self, rule: &IngressRule) -> PortResult<String> {
        let mut rules = self.rules.lock().unwrap();
        let same = |r: &IngressRule| {
            r.group_id == rule.group_id
                && r.ip_protocol == rule.ip_protocol
                && r.from_port == rule.from_port
                && r.to_port == rule.to_port
                && r.source == rule.source
        };
        if rules.iter().any(same) {
            return Err(PortError::new("AuthorizeSecurityGroupIngress", ErrorKind::AlreadyExists, "duplicate"));
        }
        let mut n = self.next_id.lock().unwrap();
        *n += 1;
        let mut restored = rule.clone();
        restored.rule_id = format!("sgr-restored{n}");
        rules.push(restored.clone());
        Ok(restored.rule_id)
    }
}

#[derive(Default)]
pub struct FakeStore {
    pub records: Mutex<BTreeMap<String, RemediationRecord>>,
    pub steps: Mutex<BTreeMap<(String, bool, usize), StepRecord>>,
    pub exemptions: Mutex<Vec<Exemption>>,
    /// Fail `create_remediation` (the write-ahead record cannot be written).
    pub fail_create: Mutex<bool>,
    /// Fail the n-th `put_steps` call (1-based) to simulate a crash mid-way.
    pub fail_put_steps_at: Mutex<Option<usize>>,
    put_steps_calls: Mutex<usize>,
}

impl FakeStore {
    /// How many `put_steps` calls were made.
    pub fn put_steps_calls(&self) -> usize {
        *self.put_steps_calls.lock().unwrap()
    }
}

impl AuditStore for FakeStore {
    async fn create_remediation(&self, record: &RemediationRecord) -> PortResult<Option<RemediationRecord>> {
        if *self.fail_create.lock().unwrap() {
            return Err(PortError::new("PutItem remediation", ErrorKind::Throttled, "injected"));
        }
        let mut records = self.records.lock().unwrap();
        if let Some(existing) = records.get(&record.id) {
            return Ok(Some(existing.clone()));
        }
        records.insert(record.id.clone(), record.clone());
        Ok(None)
    }

    async fn remediation(&self, id: &str) -> PortResult<Option<RemediationRecord>> {
        Ok(self.records.lock().unwrap().get(id).cloned())
    }

    async fn claim(
        &self,
        id: &str,
        from: &[RemediationStatus],
        to: RemediationStatus,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        requested_by: Option<&str>,
    ) -> PortResult<bool> {
        let mut records = self.records.lock().unwrap();
        let Some(r) = records.get_mut(id) else { return Ok(false) };
        if !from.contains(&r.status) || r.lease_until.is_some_and(|l| l > now) {
            return Ok(false);
        }
        r.status = to;
        r.lease_until = Some(lease_until);
        r.updated_at = now;
        if let Some(by) = requested_by {
            r.undo_requested_by = Some(by.to_string());
        }
        Ok(true)
    }

    async fn finish(&self, id: &str, status: RemediationStatus, now: DateTime<Utc>) -> PortResult<()> {
        let mut records = self.records.lock().unwrap();
        let r = records.get_mut(id).expect("finish of an unknown record");
        r.status = status;
        r.lease_until = None;
        r.updated_at = now;
        Ok(())
    }

    async fn mark_notified(&self, id: &str) -> PortResult<()> {
        self.records.lock().unwrap().get_mut(id).expect("known record").notified = true;
        Ok(())
    }

    async fn put_steps(&self, id: &str, undo: bool, steps: &[StepRecord]) -> PortResult<()> {
        let mut calls = self.put_steps_calls.lock().unwrap();
        *calls += 1;
        if *self.fail_put_steps_at.lock().unwrap() == Some(*calls) {
            return Err(PortError::new("TransactWriteItems", ErrorKind::Throttled, "injected crash"));
        }
        let mut all = self.steps.lock().unwrap();
        for s in steps {
            all.insert((id.to_string(), undo, s.index), s.clone());
        }
        Ok(())
    }

    async fn steps(&self, id: &str, undo: bool) -> PortResult<Vec<StepRecord>> {
        let all = self.steps.lock().unwrap();
        Ok(all.iter().filter(|((i, u, _), _)| i == id && *u == undo).map(|(_, s)| s.clone()).collect())
    }

    async fn exemptions(&self) -> PortResult<Vec<Exemption>> {
        Ok(self.exemptions.lock().unwrap().clone())
    }

    async fn put_exemption(&self, exemption: &Exemption) -> PortResult<()> {
        self.exemptions.lock().unwrap().push(exemption.clone());
        Ok(())
    }

    async fn delete_exemption(&self, exemption: &Exemption) -> PortResult<()> {
        self.exemptions.lock().unwrap().retain(|e| e != exemption);
        Ok(())
    }
}

#[derive(Default)]
pub struct FakeNotifier {
    pub sent: Mutex<Vec<Notification>>,
    /// Each `true` fails one call, in order.
    pub failures: Mutex<VecDeque<bool>>,
}

impl Notifier for FakeNotifier {
    async fn notify(&self, n: &Notification) -> PortResult<()> {
        if self.failures.lock().unwrap().pop_front().unwrap_or(false) {
            return Err(PortError::new("Publish", ErrorKind::Throttled, "injected"));
        }
        self.sent.lock().unwrap().push(n.clone());
        Ok(())
    }
}

// ---------- isolation ----------

/// One instance, as EC2 would see it, with a log of the calls made.
#[derive(Default)]
pub struct FakeCompute {
    pub instance: Mutex<Option<InstanceState>>,
    pub interface_groups: Mutex<BTreeMap<String, Vec<String>>>,
    pub profile: Mutex<Option<ProfileAssociation>>,
    pub eips_attached: Mutex<bool>,
    pub protected: Mutex<bool>,
    pub snapshots: Mutex<Vec<String>>,
    pub tags: Mutex<Vec<(String, String)>>,
    /// Operation names that fail (once each).
    pub fail_once: Mutex<Vec<&'static str>>,
    pub calls: Mutex<Vec<String>>,
}

impl FakeCompute {
    pub fn with(state: InstanceState, profile: Option<ProfileAssociation>) -> Self {
        let groups = state.interfaces.iter().map(|i| (i.interface_id.clone(), i.groups.clone())).collect();
        Self {
            eips_attached: Mutex::new(!state.elastic_ips.is_empty()),
            instance: Mutex::new(Some(state)),
            interface_groups: Mutex::new(groups),
            profile: Mutex::new(profile),
            ..Default::default()
        }
    }

    fn call(&self, op: &'static str) -> PortResult<()> {
        self.calls.lock().unwrap().push(op.to_string());
        let mut fail = self.fail_once.lock().unwrap();
        if let Some(i) = fail.iter().position(|f| *f == op) {
            fail.remove(i);
            return Err(PortError::new(op, ErrorKind::Throttled, "injected"));
        }
        Ok(())
    }
}

impl Compute for FakeCompute {
    async fn describe_instance(&self, _id: &str) -> PortResult<Option<InstanceState>> {
        self.call("DescribeInstances")?;
        let mut s = self.instance.lock().unwrap().clone();
        let attached = *self.eips_attached.lock().unwrap();
        if let Some(s) = s.as_mut() {
            if !attached {
                s.elastic_ips.clear();
            }
            s.profile = None;
            s.asg = None;
            s.target_groups.clear();
            s.target_groups_known = false;
        }
        Ok(s)
    }
    async fn profile_association(&self, _id: &str) -> PortResult<Option<ProfileAssociation>> {
        self.call("DescribeIamInstanceProfileAssociations")?;
        Ok(self.profile.lock().unwrap().clone())
    }
    async fn quarantine_groups(&self, _vpc: &str) -> PortResult<QuarantineGroups> {
        self.call("QuarantineGroups")?;
        Ok(QuarantineGroups { untrack_group_id: "sg-untrack".into(), quarantine_group_id: "sg-quarantine".into() })
    }
    async fn fleet_vpcs(&self, tag: Option<&(String, String)>, also: &[String]) -> PortResult<BTreeSet<String>> {
        self.call("DescribeInstances")?;
        let instance = self.instance.lock().unwrap().clone();
        Ok(instance
            .filter(|s| tag.is_some_and(|(k, v)| s.tags.get(k) == Some(v)) || also.contains(&s.instance_id))
            .map(|s| s.vpc_id)
            .into_iter()
            .collect())
    }
    async fn set_interface_groups(&self, eni: &str, groups: &[String]) -> PortResult<()> {
        self.call("ModifyNetworkInterfaceAttribute")?;
        self.interface_groups.lock().unwrap().insert(eni.to_string(), groups.to_vec());
        Ok(())
    }
    async fn interface_groups(&self, eni: &str) -> PortResult<Vec<String>> {
        Ok(self.interface_groups.lock().unwrap().get(eni).cloned().unwrap_or_default())
    }
    async fn protect_evidence(&self, _id: &str, _volumes: &[VolumeState]) -> PortResult<()> {
        self.call("ModifyInstanceAttribute")?;
        *self.protected.lock().unwrap() = true;
        Ok(())
    }
    async fn snapshot_volumes(&self, _id: &str, incident: &str) -> PortResult<Vec<String>> {
        self.call("CreateSnapshots")?;
        let id = format!("snap-{incident}");
        self.snapshots.lock().unwrap().push(id.clone());
        Ok(vec![id])
    }
    async fn disassociate_address(&self, _eip: &ElasticIp) -> PortResult<()> {
        self.call("DisassociateAddress")?;
        *self.eips_attached.lock().unwrap() = false;
        Ok(())
    }
    async fn associate_address(&self, _eip: &ElasticIp, _id: &str) -> PortResult<()> {
        self.call("AssociateAddress")?;
        *self.eips_attached.lock().unwrap() = true;
        Ok(())
    }
    async fn quarantine_profile(&self, _current: &ProfileAssociation, replacement: Option<&str>) -> PortResult<()> {
        self.call("ReplaceIamInstanceProfileAssociation")?;
        *self.profile.lock().unwrap() = replacement
            .map(|arn| ProfileAssociation { association_id: "assoc-q".into(), profile_arn: arn.to_string() });
        Ok(())
    }
    async fn restore_profile(&self, _id: &str, original: &ProfileAssociation) -> PortResult<()> {
        self.call("AssociateIamInstanceProfile")?;
        *self.profile.lock().unwrap() = Some(original.clone());
        Ok(())
    }
    async fn tag_instance(&self, _id: &str, tags: &[(String, String)]) -> PortResult<()> {
        self.call("CreateTags")?;
        self.tags.lock().unwrap().extend(tags.iter().cloned());
        Ok(())
    }
}

#[derive(Default)]
pub struct FakeFleet {
    pub asg: Mutex<Option<AsgMembership>>,
    pub registrations: Mutex<Vec<TargetRegistration>>,
    pub in_service: Mutex<bool>,
}

impl Fleet for FakeFleet {
    async fn asg_instances(&self, _groups: &[String]) -> PortResult<Vec<String>> {
        Ok(Vec::new())
    }
    async fn asg_membership(&self, _id: &str) -> PortResult<Option<AsgMembership>> {
        Ok(self.asg.lock().unwrap().clone())
    }
    async fn target_registrations(&self, _id: &str) -> PortResult<Vec<TargetRegistration>> {
        Ok(self.registrations.lock().unwrap().clone())
    }
    async fn leave_asg(&self, _asg: &AsgMembership, _id: &str) -> PortResult<()> {
        *self.in_service.lock().unwrap() = false;
        Ok(())
    }
    async fn rejoin_asg(&self, _asg: &AsgMembership, _id: &str) -> PortResult<()> {
        *self.in_service.lock().unwrap() = true;
        Ok(())
    }
    async fn deregister(&self, r: &TargetRegistration, _id: &str) -> PortResult<()> {
        self.registrations.lock().unwrap().retain(|x| x != r);
        Ok(())
    }
    async fn register(&self, r: &TargetRegistration, _id: &str) -> PortResult<()> {
        self.registrations.lock().unwrap().push(r.clone());
        Ok(())
    }
}

#[derive(Default)]
pub struct FakeIncidents {
    pub locks: Mutex<BTreeMap<String, (String, DateTime<Utc>)>>,
    pub incidents: Mutex<BTreeMap<String, IncidentRecord>>,
    pub steps: Mutex<Vec<(String, StepOutcome)>>,
    pub triggers: Mutex<Vec<(String, String)>>,
}

impl IncidentStore for FakeIncidents {
    async fn lock_instance(&self, instance: &str, incident: &str, now: DateTime<Utc>) -> PortResult<LockOutcome> {
        let mut locks = self.locks.lock().unwrap();
        match locks.get(instance) {
            Some((holder, since)) if holder != incident => {
                Ok(LockOutcome::HeldBy { incident_id: holder.clone(), since: *since })
            }
            _ => {
                locks.insert(instance.to_string(), (incident.to_string(), now));
                Ok(LockOutcome::Acquired)
            }
        }
    }
    async fn steal_instance_lock(
        &self,
        instance: &str,
        stale: &str,
        incident: &str,
        now: DateTime<Utc>,
    ) -> PortResult<bool> {
        let mut locks = self.locks.lock().unwrap();
        if locks.get(instance).is_some_and(|(h, _)| h == stale) {
            locks.insert(instance.to_string(), (incident.to_string(), now));
            return Ok(true);
        }
        Ok(false)
    }
    async fn unlock_instance(&self, instance: &str, incident: &str) -> PortResult<()> {
        let mut locks = self.locks.lock().unwrap();
        if locks.get(instance).is_some_and(|(h, _)| h == incident) {
            locks.remove(instance);
        }
        Ok(())
    }
    async fn create_incident(&self, r: &IncidentRecord) -> PortResult<Option<IncidentRecord>> {
        let mut all = self.incidents.lock().unwrap();
        if let Some(existing) = all.get(&r.id) {
            return Ok(Some(existing.clone()));
        }
        all.insert(r.id.clone(), r.clone());
        Ok(None)
    }
    async fn incident(&self, id: &str) -> PortResult<Option<IncidentRecord>> {
        Ok(self.incidents.lock().unwrap().get(id).cloned())
    }
    async fn save_incident(&self, r: &IncidentRecord) -> PortResult<()> {
        self.incidents.lock().unwrap().insert(r.id.clone(), r.clone());
        Ok(())
    }
    async fn claim_incident(
        &self,
        id: &str,
        from: &[IncidentStatus],
        to: IncidentStatus,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> PortResult<bool> {
        let mut all = self.incidents.lock().unwrap();
        let Some(r) = all.get_mut(id) else { return Ok(false) };
        if !from.contains(&r.status) || r.lease_until.is_some_and(|l| l > now) {
            return Ok(false);
        }
        r.status = to;
        r.lease_until = Some(lease_until);
        Ok(true)
    }
    async fn put_incident_step(&self, id: &str, step: &StepOutcome) -> PortResult<()> {
        self.steps.lock().unwrap().push((id.to_string(), step.clone()));
        Ok(())
    }
    async fn record_target_groups(&self, id: &str, registrations: &[TargetRegistration]) -> PortResult<()> {
        let mut all = self.incidents.lock().unwrap();
        if let Some(state) = all.get_mut(id).and_then(|r| r.state.as_mut()) {
            state.target_groups = registrations.to_vec();
            state.target_groups_known = true;
        }
        Ok(())
    }
    async fn incident_steps(&self, id: &str) -> PortResult<Vec<StepOutcome>> {
        Ok(self.steps.lock().unwrap().iter().filter(|(i, _)| i == id).map(|(_, s)| s.clone()).collect())
    }
    async fn add_incident_trigger(&self, id: &str, trigger: &IsolationTrigger, _now: DateTime<Utc>) -> PortResult<()> {
        self.triggers.lock().unwrap().push((id.to_string(), trigger.event_id.clone()));
        Ok(())
    }
}
