//! Applies an isolation plan: lock the instance, record everything needed to release it, then
//! contain it — the network cut runs on its own branch and never waits for evidence, snapshots,
//! tags or notifications. Every step is recorded as it finishes; a partial incident is resumed
//! by the next trigger or a retry; a release restores exactly what was recorded.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use futures_util::future::{join_all, select, Either};
use serde::Serialize;

use crate::approval::ports::ActionRunner;
use crate::approval::ApprovalAction;
use crate::isolation::notification::incident_notification;
use crate::isolation::ports::{Compute, Fleet, IncidentStore, LockOutcome};
use crate::isolation::{
    plan_isolation, IncidentRecord, IncidentStatus, InstanceState, IsolationPlan, IsolationPolicy, IsolationStep,
    IsolationTrigger, QuarantineGroups, Response, StepOutcome, StepState, TargetRegistration,
};
use crate::ports::ExecutorError;
use crate::ports::{Notifier, PortError, PortResult};

/// Target-group discovery, possibly still running when containment starts.
type TargetGroupDiscovery<'a> = Pin<Box<dyn Future<Output = PortResult<Vec<TargetRegistration>>> + Send + 'a>>;

enum Discovery<'a> {
    Running(TargetGroupDiscovery<'a>),
    Done(PortResult<Vec<TargetRegistration>>),
}

/// The tag key Warden puts on isolated instances and their snapshots.
pub const INCIDENT_TAG: &str = "warden:incident";

#[derive(Debug, Clone)]
pub struct IsolationSettings {
    pub policy: IsolationPolicy,
    /// Profile that grants nothing, put in place of the instance's own; `None` removes it.
    pub quarantine_profile_arn: Option<String>,
    pub lease: Duration,
}

/// What one isolation or release invocation did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentReport {
    /// `isolation` or `release`.
    pub kind: &'static str,
    pub incident_id: String,
    pub status: IncidentStatus,
    pub duplicate: bool,
    pub summary: String,
    pub trigger: String,
    pub instance_id: Option<String>,
    pub response: String,
    pub decided_by_rule: String,
    /// The steps this invocation ran, with their timing.
    pub steps: Vec<StepOutcome>,
    pub pending_approval: Vec<String>,
    pub time_to_containment_ms: Option<u64>,
    pub notified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_error: Option<String>,
    pub duration_ms: u64,
}

impl IncidentReport {
    fn from_record(kind: &'static str, r: &IncidentRecord) -> Self {
        Self {
            kind,
            incident_id: r.id.clone(),
            status: r.status,
            duplicate: false,
            summary: r.summary.clone(),
            trigger: r.trigger.describe(),
            instance_id: r.instance_id.clone(),
            response: r.response.as_str().to_string(),
            decided_by_rule: r.decided_by_rule.clone(),
            steps: Vec::new(),
            pending_approval: r
                .plan
                .as_ref()
                .map(|p| p.pending_approval.iter().map(|s| s.as_str().to_string()).collect())
                .unwrap_or_default(),
            time_to_containment_ms: r.time_to_containment_ms,
            notified: false,
            notify_error: None,
            duration_ms: 0,
        }
    }

    pub fn failed_steps(&self) -> usize {
        self.steps.iter().filter(|s| s.state == StepState::Failed).count()
    }

    /// Work is left that a retry would finish.
    pub fn needs_retry(&self) -> bool {
        self.failed_steps() > 0 || self.notify_error.is_some()
    }
}

pub struct IsolationExecutor<C, F, S, N> {
    pub compute: C,
    pub fleet: F,
    pub store: S,
    pub notifier: N,
    pub settings: IsolationSettings,
    /// Quarantine groups per VPC: looked up (or created) once per warm process.
    groups_cache: Mutex<BTreeMap<String, QuarantineGroups>>,
}

/// Milliseconds since the handler received the event.
fn since(t: Instant) -> u64 {
    t.elapsed().as_millis() as u64
}

fn outcome(
    phase: &str,
    step: &str,
    started_ms: u64,
    received: Instant,
    result: Result<String, PortError>,
) -> StepOutcome {
    let (state, detail, error) = match result {
        Ok(detail) => (StepState::Done, detail, None),
        Err(e) => (StepState::Failed, String::new(), Some(e.to_string())),
    };
    StepOutcome {
        phase: phase.into(),
        step: step.into(),
        state,
        detail,
        error,
        started_ms,
        finished_ms: since(received),
    }
}

impl<C: Compute, F: Fleet, S: IncidentStore, N: Notifier> IsolationExecutor<C, F, S, N> {
    pub fn new(compute: C, fleet: F, store: S, notifier: N, settings: IsolationSettings) -> Self {
        Self { compute, fleet, store, notifier, settings, groups_cache: Mutex::new(BTreeMap::new()) }
    }

    /// Contain the instance a trigger names, as the policy decides. `received` is when the
    /// handler got the event: time-to-containment is measured from it.
    pub async fn isolate(
        &self,
        trigger: IsolationTrigger,
        received: Instant,
        now: DateTime<Utc>,
    ) -> Result<IncidentReport, ExecutorError> {
        let id = trigger.incident_id();
        let decision = self.settings.policy.decide(&trigger);
        let mut record = IncidentRecord {
            id: id.clone(),
            status: IncidentStatus::NotActionable,
            response: decision.response,
            decided_by_rule: decision.rule.clone(),
            instance_id: trigger.instance_id.clone(),
            trigger: trigger.clone(),
            state: None,
            plan: None,
            quarantine: None,
            summary: String::new(),
            created_at: now,
            updated_at: now,
            lease_until: None,
            time_to_containment_ms: None,
            approved_by: None,
            released_by: None,
            notified: false,
        };

        let Some(instance_id) = trigger.instance_id.clone() else {
            if let Some(existing) = self.store.incident(&id).await? {
                return self.redelivered(existing, received, now, "redelivery of the same event").await;
            }
            record.summary = match &trigger.asg_name {
                Some(asg) => format!(
                    "The alarm names the whole Auto Scaling group {asg}, not an instance: Warden isolates instances, \
                     never a whole group. Find the instance behind the alarm (per-instance alarms name it) and isolate it."
                ),
                None => "The event names no instance: nothing to isolate.".into(),
            };
            return self.record_not_actionable(record, received).await;
        };

        // One round trip: a redelivery check, the lock, and every read needed to release the
        // instance later. Target-group discovery takes two round trips, so it runs beside them
        // and, when it is not done in time, finishes off the containment path.
        // (SDK futures are large: they live on the heap, not the stack.)
        let reads = Box::pin(async {
            tokio::join!(
                Box::pin(self.store.incident(&id)),
                Box::pin(self.store.lock_instance(&instance_id, &id, now)),
                Box::pin(self.compute.describe_instance(&instance_id)),
                Box::pin(self.compute.profile_association(&instance_id)),
                Box::pin(self.fleet.asg_membership(&instance_id)),
            )
        });
        let discovery: TargetGroupDiscovery<'_> = Box::pin(self.fleet.target_registrations(&instance_id));
        let ((existing, lock, described, profile, asg), mut target_groups) = match select(reads, discovery).await {
            Either::Left((reads, discovery)) => (reads, Discovery::Running(discovery)),
            Either::Right((found, reads)) => (reads.await, Discovery::Done(found)),
        };
        if let Some(existing) = existing? {
            // A redelivery. The lock it just took is its own incident's, or, when that incident
            // is over, one to give back.
            let over = existing.status.is_over();
            if over && matches!(lock, Ok(LockOutcome::Acquired)) {
                self.store.unlock_instance(&instance_id, &id).await?;
            }
            return Box::pin(self.redelivered(existing, received, now, "redelivery of the same event")).await;
        }
        match lock? {
            LockOutcome::Acquired => {}
            LockOutcome::HeldBy { incident_id: holder, since: held_since } => {
                match self.store.incident(&holder).await? {
                    // A lock left by an incident that is over (a partial release) is stale.
                    Some(old) if old.status.is_over() => {
                        if !self.store.steal_instance_lock(&instance_id, &holder, &id, now).await? {
                            return Err(ExecutorError::Busy(format!("instance {instance_id} (incident {holder})")));
                        }
                    }
                    // A stronger trigger for an instance whose isolation waits for approval: the
                    // policy now says isolate, so the recorded plan runs at once.
                    Some(existing)
                        if existing.status == IncidentStatus::PendingApproval
                            && decision.response == Response::Isolate =>
                    {
                        self.store.add_incident_trigger(&holder, &trigger, now).await?;
                        let by = format!("escalation: {} (rule {})", trigger.describe(), decision.rule);
                        tracing::warn!(incident_id = %holder, %by, "escalating a pending isolation");
                        return Box::pin(self.execute_pending(&holder, &by, received, now)).await;
                    }
                    Some(existing) => {
                        self.store.add_incident_trigger(&holder, &trigger, now).await?;
                        let why = format!("new trigger {}", trigger.describe());
                        return Box::pin(self.redelivered(existing, received, now, &why)).await;
                    }
                    None if held_since + self.settings.lease <= now
                        && self.store.steal_instance_lock(&instance_id, &holder, &id, now).await? => {}
                    None => return Err(ExecutorError::Busy(format!("instance {instance_id} (incident {holder})"))),
                }
            }
        }
        let mut state = match described {
            Ok(Some(state)) => state,
            Ok(None) => {
                self.store.unlock_instance(&instance_id, &id).await?;
                record.summary = format!(
                    "Instance {instance_id} was not found (terminated, or in another account or region): nothing to isolate."
                );
                return self.record_not_actionable(record, received).await;
            }
            Err(e) => {
                self.store.unlock_instance(&instance_id, &id).await?;
                return Err(e.into());
            }
        };
        let (profile, asg) = match (profile, asg) {
            (Ok(p), Ok(a)) => (p, a),
            (p, a) => {
                self.store.unlock_instance(&instance_id, &id).await?;
                let err = [p.err(), a.err()].into_iter().flatten().next().expect("one read failed");
                return Err(err.into());
            }
        };
        state.profile = profile;
        state.asg = asg;
        // A plan that waits for approval must be complete: finish the discovery first.
        if decision.response != Response::Isolate {
            if let Discovery::Running(running) = target_groups {
                target_groups = Discovery::Done(running.await);
            }
        }
        let target_groups = match target_groups {
            Discovery::Done(Ok(found)) => {
                state.target_groups = found;
                state.target_groups_known = true;
                None
            }
            Discovery::Done(Err(e)) => {
                self.store.unlock_instance(&instance_id, &id).await?;
                return Err(e.into());
            }
            Discovery::Running(running) => Some(running),
        };

        let plan = plan_isolation(&state, decision.response);
        record.status = if plan.now.is_empty() { IncidentStatus::PendingApproval } else { IncidentStatus::Isolating };
        record.lease_until = Some(now + self.settings.lease);
        record.state = Some(state);
        record.plan = Some(plan.clone());
        // The record, and the VPC's quarantine groups (cached when warm), in one round trip.
        let vpc_id = record.state.as_ref().map(|s| s.vpc_id.clone()).unwrap_or_default();
        let cut_now = plan.now.contains(&IsolationStep::QuarantineNetwork);
        let (created, _groups) = tokio::join!(
            Box::pin(self.store.create_incident(&record)),
            Box::pin(async {
                if cut_now {
                    // A failure here is retried, and recorded, by the containment step itself.
                    let _ = self.quarantine_groups(&vpc_id).await;
                }
            })
        );
        if let Some(existing) = created? {
            return self.redelivered(existing, received, now, "concurrent delivery").await;
        }
        tracing::info!(incident_id = %id, instance_id, response = decision.response.as_str(), rule = %decision.rule, "incident recorded");
        Box::pin(self.run(record, &plan.now, &BTreeSet::new(), target_groups, received, now)).await
    }

    /// Run the approved remainder of a pending plan, unchanged.
    pub async fn execute_pending(
        &self,
        id: &str,
        approved_by: &str,
        received: Instant,
        now: DateTime<Utc>,
    ) -> Result<IncidentReport, ExecutorError> {
        let mut record =
            self.store.incident(id).await?.ok_or_else(|| ExecutorError::UnknownIncident(id.to_string()))?;
        if record.status != IncidentStatus::PendingApproval {
            return Err(ExecutorError::Refused(format!(
                "incident {id} is {}: only a plan pending approval can be approved",
                record.status.as_str()
            )));
        }
        if !self
            .store
            .claim_incident(
                id,
                &[IncidentStatus::PendingApproval],
                IncidentStatus::Isolating,
                now,
                now + self.settings.lease,
            )
            .await?
        {
            return Err(ExecutorError::Busy(id.to_string()));
        }
        let plan = record.plan.clone().unwrap_or(IsolationPlan { now: vec![], pending_approval: vec![] });
        let mut approved = plan.now.clone();
        approved.extend(plan.pending_approval.iter().copied());
        record.plan = Some(IsolationPlan { now: approved.clone(), pending_approval: vec![] });
        record.approved_by = Some(approved_by.to_string());
        let done = self.done_steps(id).await?;
        Box::pin(self.run(record, &approved, &done, None, received, now)).await
    }

    /// A human rejected the pending plan: record it, keep the evidence, free the instance.
    pub async fn dismiss(
        &self,
        id: &str,
        rejected_by: &str,
        now: DateTime<Utc>,
    ) -> Result<IncidentReport, ExecutorError> {
        let mut record =
            self.store.incident(id).await?.ok_or_else(|| ExecutorError::UnknownIncident(id.to_string()))?;
        if record.status != IncidentStatus::PendingApproval {
            return Err(ExecutorError::Refused(format!(
                "incident {id} is {}: only a plan pending approval can be dismissed",
                record.status.as_str()
            )));
        }
        if !self
            .store
            .claim_incident(id, &[IncidentStatus::PendingApproval], IncidentStatus::Dismissed, now, now)
            .await?
        {
            return Err(ExecutorError::Busy(id.to_string()));
        }
        record.status = IncidentStatus::Dismissed;
        record.lease_until = None;
        record.updated_at = now;
        record.summary = format!("The pending plan was rejected by {rejected_by}; the evidence protections stay.");
        self.store.save_incident(&record).await?;
        if let Some(instance) = &record.instance_id {
            self.store.unlock_instance(instance, id).await?;
        }
        Ok(IncidentReport::from_record("isolation", &record))
    }

    async fn done_steps(&self, id: &str) -> Result<BTreeSet<String>, ExecutorError> {
        Ok(self
            .store
            .incident_steps(id)
            .await?
            .into_iter()
            .filter(|s| s.phase == "isolate" && s.state == StepState::Done)
            .map(|s| s.step)
            .collect())
    }

    async fn redelivered(
        &self,
        existing: IncidentRecord,
        received: Instant,
        now: DateTime<Utc>,
        why: &str,
    ) -> Result<IncidentReport, ExecutorError> {
        let resumable = existing.status == IncidentStatus::Partial
            || (existing.status == IncidentStatus::Isolating && existing.lease_until.is_none_or(|l| l <= now));
        if resumable
            && self
                .store
                .claim_incident(
                    &existing.id,
                    &[IncidentStatus::Partial, IncidentStatus::Isolating],
                    IncidentStatus::Isolating,
                    now,
                    now + self.settings.lease,
                )
                .await?
        {
            tracing::warn!(incident_id = %existing.id, why, "resuming an unfinished isolation");
            let done = self.done_steps(&existing.id).await?;
            let steps = existing.plan.as_ref().map(|p| p.now.clone()).unwrap_or_default();
            return Box::pin(self.run(existing, &steps, &done, None, received, now)).await;
        }
        let mut report = IncidentReport::from_record("isolation", &existing);
        report.duplicate = true;
        report.summary = format!(
            "{} for an instance already under incident {} ({}): recorded, nothing changed.",
            capitalize(why),
            existing.id,
            existing.status.as_str()
        );
        report.duration_ms = since(received);
        Ok(report)
    }

    async fn record_not_actionable(
        &self,
        mut record: IncidentRecord,
        received: Instant,
    ) -> Result<IncidentReport, ExecutorError> {
        record.status = IncidentStatus::NotActionable;
        if let Some(existing) = self.store.create_incident(&record).await? {
            return self.redelivered(existing, received, record.created_at, "redelivery").await;
        }
        let mut report = IncidentReport::from_record("isolation", &record);
        self.notify(&mut report, &mut record).await;
        report.duration_ms = since(received);
        Ok(report)
    }

    async fn quarantine_groups(&self, vpc_id: &str) -> PortResult<QuarantineGroups> {
        if let Some(g) = self.groups_cache.lock().expect("cache lock").get(vpc_id).cloned() {
            return Ok(g);
        }
        let groups = self.compute.quarantine_groups(vpc_id).await?;
        self.groups_cache.lock().expect("cache lock").insert(vpc_id.to_string(), groups.clone());
        Ok(groups)
    }

    /// Run `steps` (skipping those already done), each on the branch it belongs to, then
    /// verify, record, and notify.
    async fn run(
        &self,
        mut record: IncidentRecord,
        steps: &[IsolationStep],
        done: &BTreeSet<String>,
        target_group_discovery: Option<TargetGroupDiscovery<'_>>,
        received: Instant,
        now: DateTime<Utc>,
    ) -> Result<IncidentReport, ExecutorError> {
        let state = record.state.clone().expect("an incident with a plan has a recorded state");
        let todo = |s: IsolationStep| steps.contains(&s) && !done.contains(s.as_str());
        let id = record.id.clone();
        let record_step = |o: StepOutcome| {
            let id = id.clone();
            async move {
                if let Err(e) = self.store.put_incident_step(&id, &o).await {
                    tracing::error!(incident_id = %id, step = %o.step, error = %e, "could not record step");
                }
                o
            }
        };

        // Containment: its own branch, never waiting for anything else.
        let containment = async {
            if !todo(IsolationStep::QuarantineNetwork) {
                return None;
            }
            let t = since(received);
            let result = self.cut_network(&state).await;
            let contained_ms = result.as_ref().ok().map(|_| since(received));
            let groups = result.as_ref().ok().cloned();
            let o = outcome(
                "isolate",
                IsolationStep::QuarantineNetwork.as_str(),
                t,
                received,
                result.map(|g| {
                    format!(
                        "{} interface(s) moved to {} through {} (tracked connections dropped)",
                        state.interfaces.len(),
                        g.quarantine_group_id,
                        g.untrack_group_id
                    )
                }),
            );
            Some((record_step(o).await, contained_ms, groups))
        };
        let evidence = async {
            if !todo(IsolationStep::ProtectEvidence) {
                return None;
            }
            let t = since(received);
            let r = self.compute.protect_evidence(&state.instance_id, &state.volumes).await.map(|_| {
                format!(
                    "termination protection on, shutdown behaviour stop, {} volume(s) kept on termination",
                    state.volumes.len()
                )
            });
            Some(record_step(outcome("isolate", IsolationStep::ProtectEvidence.as_str(), t, received, r)).await)
        };
        let service = async {
            let mut out = Vec::new();
            let mut found = None;
            if let (true, Some(asg)) = (todo(IsolationStep::LeaveAutoScalingGroup), &state.asg) {
                let t = since(received);
                let r = self.fleet.leave_asg(asg, &state.instance_id).await.map(|_| {
                    format!("standby in {} without decrementing desired capacity: a replacement starts", asg.name)
                });
                out.push(
                    record_step(outcome("isolate", IsolationStep::LeaveAutoScalingGroup.as_str(), t, received, r))
                        .await,
                );
            }
            if todo(IsolationStep::DeregisterTargets) {
                let t = since(received);
                // Known, or discovered now and recorded before anything is deregistered.
                let registrations = if state.target_groups_known {
                    Ok(state.target_groups.clone())
                } else {
                    let discovered = match target_group_discovery {
                        Some(running) => running.await,
                        None => self.fleet.target_registrations(&state.instance_id).await,
                    };
                    match discovered {
                        Ok(r) => self.store.record_target_groups(&record.id, &r).await.map(|_| r),
                        Err(e) => Err(e),
                    }
                };
                let r = match registrations {
                    Ok(registrations) => {
                        let results =
                            join_all(registrations.iter().map(|tg| self.fleet.deregister(tg, &state.instance_id)))
                                .await;
                        let n = registrations.len();
                        found = Some(registrations);
                        results
                            .into_iter()
                            .collect::<PortResult<Vec<()>>>()
                            .map(|_| format!("deregistered from {n} target group(s)"))
                    }
                    Err(e) => Err(e),
                };
                out.push(
                    record_step(outcome("isolate", IsolationStep::DeregisterTargets.as_str(), t, received, r)).await,
                );
            }
            (out, found)
        };
        let snapshots = async {
            if !todo(IsolationStep::SnapshotVolumes) {
                return None;
            }
            let t = since(received);
            let r = self
                .compute
                .snapshot_volumes(&state.instance_id, &record.id)
                .await
                .map(|ids| format!("snapshots {} started, tagged {INCIDENT_TAG}={}", ids.join(", "), record.id));
            Some(record_step(outcome("isolate", IsolationStep::SnapshotVolumes.as_str(), t, received, r)).await)
        };
        let addresses = async {
            if !todo(IsolationStep::DetachElasticIps) {
                return None;
            }
            let t = since(received);
            let results = join_all(state.elastic_ips.iter().map(|e| self.compute.disassociate_address(e))).await;
            let r = results.into_iter().collect::<PortResult<Vec<()>>>().map(|_| {
                let ips: Vec<&str> = state.elastic_ips.iter().map(|e| e.public_ip.as_str()).collect();
                format!("Elastic IP(s) {} detached", ips.join(", "))
            });
            Some(record_step(outcome("isolate", IsolationStep::DetachElasticIps.as_str(), t, received, r)).await)
        };
        let profile = async {
            let (true, Some(current)) = (todo(IsolationStep::QuarantineProfile), &state.profile) else { return None };
            let t = since(received);
            let replacement = self.settings.quarantine_profile_arn.as_deref();
            let r = self.compute.quarantine_profile(current, replacement).await.map(|_| match replacement {
                Some(arn) => format!("instance profile {} replaced by {arn}", current.profile_arn),
                None => format!("instance profile {} removed", current.profile_arn),
            });
            Some(record_step(outcome("isolate", IsolationStep::QuarantineProfile.as_str(), t, received, r)).await)
        };
        let tag = async {
            if !todo(IsolationStep::TagInstance) {
                return None;
            }
            let t = since(received);
            let tags = vec![
                (INCIDENT_TAG.to_string(), record.id.clone()),
                ("warden:status".to_string(), "isolated".to_string()),
            ];
            let r = self
                .compute
                .tag_instance(&state.instance_id, &tags)
                .await
                .map(|_| format!("tagged {INCIDENT_TAG}={}", record.id));
            Some(record_step(outcome("isolate", IsolationStep::TagInstance.as_str(), t, received, r)).await)
        };

        let (contained, evidence, service, snapshots, addresses, profile, tag) = tokio::join!(
            Box::pin(containment),
            Box::pin(evidence),
            Box::pin(service),
            Box::pin(snapshots),
            Box::pin(addresses),
            Box::pin(profile),
            Box::pin(tag)
        );

        let mut ran: Vec<StepOutcome> = Vec::new();
        if let Some((o, contained_ms, groups)) = contained {
            ran.push(o);
            if contained_ms.is_some() {
                record.time_to_containment_ms = contained_ms;
            }
            if groups.is_some() {
                record.quarantine = groups;
            }
        }
        ran.extend(evidence);
        let (service, found) = service;
        ran.extend(service);
        if let (Some(found), Some(state)) = (found, record.state.as_mut()) {
            state.target_groups = found;
            state.target_groups_known = true;
        }
        ran.extend([snapshots, addresses, profile, tag].into_iter().flatten());

        // Re-read and verify what containment promised.
        if let Some(groups) = record.quarantine.clone().filter(|_| steps.contains(&IsolationStep::QuarantineNetwork)) {
            let t = since(received);
            let checks =
                join_all(state.interfaces.iter().map(|i| self.compute.interface_groups(&i.interface_id))).await;
            let verified: PortResult<String> =
                checks.into_iter().zip(&state.interfaces).try_fold(String::new(), |_, (c, i)| {
                    let now_groups = c?;
                    if now_groups == [groups.quarantine_group_id.clone()] {
                        Ok(format!("every interface has only {}", groups.quarantine_group_id))
                    } else {
                        Err(PortError::new(
                            "verify",
                            crate::ports::ErrorKind::Other,
                            format!("{} still has {:?}", i.interface_id, now_groups),
                        ))
                    }
                });
            ran.push(record_step(outcome("isolate", "verify_containment", t, received, verified)).await);
        }

        let all = self.store.incident_steps(&record.id).await?;
        let failed = ran.iter().any(|s| s.state == StepState::Failed);
        let pending = record.plan.as_ref().is_some_and(|p| !p.pending_approval.is_empty());
        record.status = if failed {
            IncidentStatus::Partial
        } else if pending {
            IncidentStatus::PendingApproval
        } else {
            IncidentStatus::Isolated
        };
        record.lease_until = None;
        record.updated_at = now;
        let instance = state.instance_id.clone();
        let mut summary = match record.status {
            IncidentStatus::Isolated => format!(
                "Instance {instance} isolated: {} step(s) done.",
                all.iter().filter(|s| s.state == StepState::Done).count()
            ),
            IncidentStatus::PendingApproval => format!(
                "Evidence on {instance} protected; {} disruptive step(s) wait for approval ({}).",
                record.plan.as_ref().map_or(0, |p| p.pending_approval.len()),
                record.response.as_str()
            ),
            _ => format!(
                "Isolation of {instance} is PARTIAL: {} step(s) failed and will be retried.",
                ran.iter().filter(|s| s.state == StepState::Failed).count()
            ),
        };
        if let Some(ms) = record.time_to_containment_ms {
            summary.push_str(&format!(" Contained {ms} ms after the event arrived."));
        }
        if let Some(by) = &record.approved_by {
            summary = format!("Approved by {by}. {summary}");
        }
        record.summary = summary;
        self.store.save_incident(&record).await?;

        let mut report = IncidentReport::from_record("isolation", &record);
        report.steps = ran;
        self.notify(&mut report, &mut record).await;
        report.duration_ms = since(received);
        Ok(report)
    }

    /// The two-step swap on every interface at once: allow-all first (flows become untracked),
    /// then the quarantine group with no rules (untracked flows are dropped at once).
    async fn cut_network(&self, state: &InstanceState) -> PortResult<QuarantineGroups> {
        let groups = self.quarantine_groups(&state.vpc_id).await?;
        let untrack = [groups.untrack_group_id.clone()];
        let quarantine = [groups.quarantine_group_id.clone()];
        let swaps = state.interfaces.iter().map(|i| async {
            self.compute.set_interface_groups(&i.interface_id, &untrack).await?;
            self.compute.set_interface_groups(&i.interface_id, &quarantine).await
        });
        join_all(swaps).await.into_iter().collect::<PortResult<Vec<()>>>()?;
        Ok(groups)
    }

    /// Restore what the isolation changed, exactly as recorded. Snapshots and the evidence
    /// protections stay.
    pub async fn release(
        &self,
        id: &str,
        requested_by: &str,
        received: Instant,
        now: DateTime<Utc>,
    ) -> Result<IncidentReport, ExecutorError> {
        let mut record =
            self.store.incident(id).await?.ok_or_else(|| ExecutorError::UnknownIncident(id.to_string()))?;
        match record.status {
            IncidentStatus::Released => {
                let mut report = IncidentReport::from_record("release", &record);
                report.duplicate = true;
                report.summary = format!(
                    "Incident {id} was already released (by {}); nothing changed.",
                    record.released_by.as_deref().unwrap_or("unknown")
                );
                return Ok(report);
            }
            IncidentStatus::NotActionable => {
                return Err(ExecutorError::Refused(format!(
                    "incident {id} is not_actionable: nothing was isolated, nothing to release"
                )))
            }
            _ => {}
        }
        let from = [
            IncidentStatus::Isolated,
            IncidentStatus::Partial,
            IncidentStatus::PendingApproval,
            IncidentStatus::ReleasePartial,
            IncidentStatus::Isolating,
            IncidentStatus::Releasing,
        ];
        if !self.store.claim_incident(id, &from, IncidentStatus::Releasing, now, now + self.settings.lease).await? {
            return Err(ExecutorError::Busy(id.to_string()));
        }
        let state = record.state.clone().expect("an incident with steps has a recorded state");
        let steps = self.store.incident_steps(id).await?;
        let isolated: BTreeSet<String> =
            steps.iter().filter(|s| s.phase == "isolate").map(|s| s.step.clone()).collect();
        let released: BTreeSet<String> = steps
            .iter()
            .filter(|s| s.phase == "release" && s.state == StepState::Done)
            .map(|s| s.step.clone())
            .collect();
        let todo = |s: IsolationStep| isolated.contains(s.as_str()) && !released.contains(s.as_str());
        let record_step = |o: StepOutcome| async move {
            if let Err(e) = self.store.put_incident_step(id, &o).await {
                tracing::error!(incident_id = id, step = %o.step, error = %e, "could not record step");
            }
            o
        };

        let network = async {
            if !todo(IsolationStep::QuarantineNetwork) {
                return None;
            }
            let t = since(received);
            let results = join_all(
                state.interfaces.iter().map(|i| self.compute.set_interface_groups(&i.interface_id, &i.groups)),
            )
            .await;
            let r = results.into_iter().collect::<PortResult<Vec<()>>>().map(|_| {
                state
                    .interfaces
                    .iter()
                    .map(|i| format!("{} back to {}", i.interface_id, i.groups.join(",")))
                    .collect::<Vec<_>>()
                    .join("; ")
            });
            Some(record_step(outcome("release", IsolationStep::QuarantineNetwork.as_str(), t, received, r)).await)
        };
        let profile = async {
            let (true, Some(original)) = (todo(IsolationStep::QuarantineProfile), &state.profile) else { return None };
            let t = since(received);
            let r = self
                .compute
                .restore_profile(&state.instance_id, original)
                .await
                .map(|_| format!("instance profile {} restored", original.profile_arn));
            Some(record_step(outcome("release", IsolationStep::QuarantineProfile.as_str(), t, received, r)).await)
        };
        let addresses = async {
            if !todo(IsolationStep::DetachElasticIps) {
                return None;
            }
            let t = since(received);
            let results =
                join_all(state.elastic_ips.iter().map(|e| self.compute.associate_address(e, &state.instance_id))).await;
            let r = results
                .into_iter()
                .collect::<PortResult<Vec<()>>>()
                .map(|_| format!("{} Elastic IP(s) re-associated", state.elastic_ips.len()));
            Some(record_step(outcome("release", IsolationStep::DetachElasticIps.as_str(), t, received, r)).await)
        };
        let service = async {
            let mut out = Vec::new();
            if let (true, Some(asg)) = (todo(IsolationStep::LeaveAutoScalingGroup), &state.asg) {
                let t = since(received);
                let r = self
                    .fleet
                    .rejoin_asg(asg, &state.instance_id)
                    .await
                    .map(|_| format!("back in service in {}", asg.name));
                out.push(
                    record_step(outcome("release", IsolationStep::LeaveAutoScalingGroup.as_str(), t, received, r))
                        .await,
                );
            }
            if todo(IsolationStep::DeregisterTargets) {
                let t = since(received);
                let results =
                    join_all(state.target_groups.iter().map(|tg| self.fleet.register(tg, &state.instance_id))).await;
                let r = results
                    .into_iter()
                    .collect::<PortResult<Vec<()>>>()
                    .map(|_| format!("registered again in {} target group(s)", state.target_groups.len()));
                out.push(
                    record_step(outcome("release", IsolationStep::DeregisterTargets.as_str(), t, received, r)).await,
                );
            }
            out
        };
        let (network, profile, addresses, service) =
            tokio::join!(Box::pin(network), Box::pin(profile), Box::pin(addresses), Box::pin(service));
        let mut ran: Vec<StepOutcome> = [network, profile, addresses].into_iter().flatten().collect();
        ran.extend(service);
        let tag = self.compute.tag_instance(&state.instance_id, &[("warden:status".into(), "released".into())]).await;
        if let Err(e) = tag {
            tracing::warn!(incident_id = id, error = %e, "could not tag the released instance");
        }

        let failed = ran.iter().filter(|s| s.state == StepState::Failed).count();
        record.status = if failed == 0 { IncidentStatus::Released } else { IncidentStatus::ReleasePartial };
        record.released_by = Some(requested_by.to_string());
        record.lease_until = None;
        record.updated_at = now;
        record.summary = if failed == 0 {
            format!("Instance {} released by {requested_by}: groups, profile, addresses and service restored as recorded; snapshots kept.", state.instance_id)
        } else {
            format!(
                "Release of {} is PARTIAL: {failed} step(s) failed; run the release again to retry them.",
                state.instance_id
            )
        };
        self.store.save_incident(&record).await?;
        if failed == 0 {
            self.store.unlock_instance(&state.instance_id, id).await?;
        }
        let mut report = IncidentReport::from_record("release", &record);
        report.steps = ran;
        self.notify(&mut report, &mut record).await;
        report.duration_ms = since(received);
        Ok(report)
    }

    async fn notify(&self, report: &mut IncidentReport, record: &mut IncidentRecord) {
        match self.notifier.notify(&incident_notification(report, record)).await {
            Ok(()) => {
                report.notified = true;
                record.notified = true;
            }
            Err(e) => {
                tracing::error!(incident_id = %record.id, error = %e, "notification failed");
                report.notify_error = Some(e.to_string());
            }
        }
    }
}

/// Approved actions run here: the same executor, the recorded plan, unchanged.
impl<C: Compute, F: Fleet, S: IncidentStore, N: Notifier> ActionRunner for IsolationExecutor<C, F, S, N> {
    async fn run_approved(
        &self,
        action: &ApprovalAction,
        approved_by: &str,
        now: DateTime<Utc>,
    ) -> Result<String, String> {
        let received = Instant::now();
        let report = match action {
            ApprovalAction::Isolate { incident_id, .. } => {
                // A stronger trigger may have run the plan already (escalation): nothing is left.
                if let Ok(Some(r)) = self.store.incident(incident_id).await {
                    if r.status == IncidentStatus::Isolated {
                        return Ok(format!("nothing left to do: {}", r.summary));
                    }
                }
                self.execute_pending(incident_id, approved_by, received, now).await
            }
            ApprovalAction::Release { incident_id, .. } => self.release(incident_id, approved_by, received, now).await,
            other => return Err(format!("not an isolation action: {}", other.label())),
        }
        .map_err(|e| e.to_string())?;
        if report.failed_steps() > 0 {
            return Err(report.summary);
        }
        Ok(report.summary)
    }

    async fn run_rejected(
        &self,
        action: &ApprovalAction,
        rejected_by: &str,
        now: DateTime<Utc>,
    ) -> Result<String, String> {
        match action {
            ApprovalAction::Isolate { incident_id, .. } => {
                self.dismiss(incident_id, rejected_by, now).await.map(|r| r.summary).map_err(|e| e.to_string())
            }
            ApprovalAction::Release { instance_id, .. } => Ok(format!("{instance_id} stays isolated.")),
            other => Err(format!("not an isolation action: {}", other.label())),
        }
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isolation::{
        AsgMembership, ElasticIp, InterfaceState, ProfileAssociation, Response, TargetRegistration, ThreatSource,
        VolumeState,
    };
    use crate::testing::{FakeCompute, FakeFleet, FakeIncidents, FakeNotifier};

    const I: &str = "i-0a1b2c3d4e5f67890";

    fn state() -> InstanceState {
        InstanceState {
            instance_id: I.into(),
            vpc_id: "vpc-1".into(),
            state: "running".into(),
            interfaces: vec![
                InterfaceState {
                    interface_id: "eni-0".into(),
                    device_index: 0,
                    groups: vec!["sg-app".into(), "sg-ssh".into()],
                },
                InterfaceState { interface_id: "eni-1".into(), device_index: 1, groups: vec!["sg-data".into()] },
            ],
            volumes: vec![VolumeState {
                volume_id: "vol-1".into(),
                device_name: "/dev/xvda".into(),
                delete_on_termination: true,
            }],
            profile: None,
            asg: None,
            target_groups: vec![],
            target_groups_known: true,
            elastic_ips: vec![ElasticIp {
                allocation_id: "eipalloc-1".into(),
                association_id: "eipassoc-1".into(),
                public_ip: "198.51.100.10".into(),
                interface_id: Some("eni-0".into()),
                private_ip: Some("10.0.1.27".into()),
            }],
        }
    }

    fn profile() -> ProfileAssociation {
        ProfileAssociation {
            association_id: "iip-assoc-1".into(),
            profile_arn: "arn:aws:iam::123456789012:instance-profile/ollama".into(),
        }
    }

    fn executor() -> IsolationExecutor<FakeCompute, FakeFleet, FakeIncidents, FakeNotifier> {
        let fleet = FakeFleet::default();
        *fleet.asg.lock().unwrap() =
            Some(AsgMembership { name: "ollama-gpu-fleet".into(), lifecycle_state: "InService".into() });
        *fleet.registrations.lock().unwrap() =
            vec![TargetRegistration { target_group_arn: "arn:tg/ollama".into(), port: Some(11434) }];
        *fleet.in_service.lock().unwrap() = true;
        IsolationExecutor::new(
            FakeCompute::with(state(), Some(profile())),
            fleet,
            FakeIncidents::default(),
            FakeNotifier::default(),
            IsolationSettings {
                policy: IsolationPolicy::default(),
                quarantine_profile_arn: None,
                lease: Duration::seconds(60),
            },
        )
    }

    fn finding(event_id: &str, severity: f64) -> IsolationTrigger {
        IsolationTrigger {
            event_id: event_id.into(),
            event_time: "2026-11-26T11:31:52Z".parse().unwrap(),
            source: ThreatSource::GuardDuty {
                finding_id: "f1".into(),
                finding_type: "CryptoCurrency:EC2/BitcoinTool.B!DNS".into(),
                severity,
                title: None,
            },
            instance_id: Some(I.into()),
            asg_name: None,
            account: None,
            region: None,
        }
    }

    fn now() -> DateTime<Utc> {
        "2026-11-26T11:32:00Z".parse().unwrap()
    }

    fn groups(
        ex: &IsolationExecutor<FakeCompute, FakeFleet, FakeIncidents, FakeNotifier>,
    ) -> BTreeMap<String, Vec<String>> {
        ex.compute.interface_groups.lock().unwrap().clone()
    }

    #[tokio::test]
    async fn a_high_severity_finding_isolates_the_instance_completely() {
        let ex = executor();
        let report = ex.isolate(finding("e1", 8.0), Instant::now(), now()).await.unwrap();
        assert_eq!(report.status, "isolated", "{report:#?}");
        assert_eq!(report.failed_steps(), 0);
        for g in groups(&ex).values() {
            assert_eq!(g, &vec!["sg-quarantine".to_string()]);
        }
        assert!(*ex.compute.protected.lock().unwrap());
        assert_eq!(ex.compute.snapshots.lock().unwrap().len(), 1);
        assert!(!*ex.compute.eips_attached.lock().unwrap());
        assert_eq!(*ex.compute.profile.lock().unwrap(), None, "no quarantine profile configured: removed");
        assert!(!*ex.fleet.in_service.lock().unwrap());
        assert!(ex.fleet.registrations.lock().unwrap().is_empty());
        assert!(report.time_to_containment_ms.is_some());
        // The untrack group came first on every interface, then the quarantine group.
        let calls = ex.compute.calls.lock().unwrap().clone();
        assert_eq!(calls.iter().filter(|c| *c == "ModifyNetworkInterfaceAttribute").count(), 4);
        let record = ex.store.incidents.lock().unwrap()[&report.incident_id].clone();
        assert_eq!(
            record.state.as_ref().unwrap().interfaces[0].groups,
            ["sg-app", "sg-ssh"],
            "original groups recorded"
        );
        assert!(report.steps.iter().any(|s| s.step == "verify_containment" && s.state == StepState::Done));
        let sent = ex.notifier.sent.lock().unwrap();
        assert!(sent[0].subject.starts_with("[Warden] Isolated i-0a1b2c3d4e5f67890"), "{}", sent[0].subject);
        assert!(sent[0].text.contains("Timeline"));
    }

    #[tokio::test]
    async fn a_second_trigger_for_an_isolated_instance_is_a_recorded_no_op() {
        let ex = executor();
        let first = ex.isolate(finding("e1", 8.0), Instant::now(), now()).await.unwrap();
        let calls = ex.compute.calls.lock().unwrap().len();
        let second = ex.isolate(finding("e2", 8.0), Instant::now(), now()).await.unwrap();
        assert!(second.duplicate);
        assert_eq!(second.incident_id, first.incident_id);
        assert_eq!(ex.store.triggers.lock().unwrap().as_slice(), [(first.incident_id.clone(), "e2".to_string())]);
        let after: Vec<String> = ex.compute.calls.lock().unwrap()[calls..].to_vec();
        assert!(after.iter().all(|c| c.starts_with("Describe")), "only reads: {after:?}");
        let replay = ex.isolate(finding("e1", 8.0), Instant::now(), now()).await.unwrap();
        assert!(replay.duplicate);
    }

    #[tokio::test]
    async fn a_failed_step_leaves_a_partial_incident_that_the_next_trigger_completes() {
        let ex = executor();
        ex.compute.fail_once.lock().unwrap().push("CreateSnapshots");
        let first = ex.isolate(finding("e1", 8.0), Instant::now(), now()).await.unwrap();
        assert_eq!(first.status, "partial");
        assert!(first.needs_retry());
        assert!(
            groups(&ex).values().all(|g| g == &vec!["sg-quarantine".to_string()]),
            "containment did not wait for the snapshot"
        );
        assert!(ex.compute.snapshots.lock().unwrap().is_empty());

        let later = now() + Duration::seconds(5);
        let resumed = ex.isolate(finding("e2", 8.0), Instant::now(), later).await.unwrap();
        assert_eq!(resumed.status, "isolated", "{resumed:#?}");
        // Only the failed step runs again; containment is re-verified, not redone.
        assert_eq!(
            resumed.steps.iter().map(|s| s.step.as_str()).collect::<Vec<_>>(),
            ["snapshot_volumes", "verify_containment"]
        );
        assert_eq!(ex.compute.snapshots.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_medium_finding_protects_evidence_now_and_waits_for_approval_for_the_rest() {
        let ex = executor();
        let report = ex.isolate(finding("e1", 5.0), Instant::now(), now()).await.unwrap();
        assert_eq!(report.status, "pending_approval");
        assert_eq!(report.response, Response::ProtectThenApprove.as_str());
        assert!(*ex.compute.protected.lock().unwrap());
        assert_eq!(ex.compute.snapshots.lock().unwrap().len(), 1);
        assert_eq!(groups(&ex)["eni-0"], ["sg-app", "sg-ssh"], "network untouched");
        assert!(*ex.fleet.in_service.lock().unwrap());
        assert!(report.pending_approval.contains(&"quarantine_network".to_string()));
        assert!(ex.notifier.sent.lock().unwrap()[0].subject.contains("APPROVAL NEEDED"));

        // The recorded plan, approved later, runs unchanged.
        let approved = ex.execute_pending(&report.incident_id, "alice", Instant::now(), now()).await.unwrap();
        assert_eq!(approved.status, "isolated", "{approved:#?}");
        assert!(groups(&ex).values().all(|g| g == &vec!["sg-quarantine".to_string()]));
        assert!(!*ex.fleet.in_service.lock().unwrap());
        assert_eq!(ex.compute.snapshots.lock().unwrap().len(), 1, "done steps are not repeated");
    }

    #[tokio::test]
    async fn a_stronger_trigger_escalates_a_pending_isolation_at_once() {
        let ex = executor();
        let pending = ex.isolate(finding("e1", 5.0), Instant::now(), now()).await.unwrap();
        assert_eq!(pending.status, "pending_approval");
        let escalated = ex.isolate(finding("e2", 8.0), Instant::now(), now()).await.unwrap();
        assert_eq!(escalated.incident_id, pending.incident_id);
        assert_eq!(escalated.status, "isolated", "{escalated:#?}");
        assert!(groups(&ex).values().all(|g| g == &vec!["sg-quarantine".to_string()]));
        // The approval asked for earlier finds nothing left to do.
        let action = ApprovalAction::Isolate { incident_id: pending.incident_id.clone(), instance_id: I.into() };
        let late = ex.run_approved(&action, "alice", now()).await.unwrap();
        assert!(late.starts_with("nothing left to do"), "{late}");
    }

    #[tokio::test]
    async fn a_rejected_plan_dismisses_the_incident_and_frees_the_instance() {
        let ex = executor();
        let pending = ex.isolate(finding("e1", 5.0), Instant::now(), now()).await.unwrap();
        let dismissed = ex.dismiss(&pending.incident_id, "bob", now()).await.unwrap();
        assert_eq!(dismissed.status, "dismissed");
        assert!(ex.store.locks.lock().unwrap().is_empty());
        assert_eq!(groups(&ex)["eni-0"], ["sg-app", "sg-ssh"], "nothing disruptive happened");
        let later = ex.isolate(finding("e3", 8.0), Instant::now(), now()).await.unwrap();
        assert_ne!(later.incident_id, pending.incident_id, "a new incident");
        assert_eq!(later.status, "isolated");
        assert!(ex.dismiss(&pending.incident_id, "bob", now()).await.is_err(), "only a pending plan can be dismissed");
    }

    #[tokio::test]
    async fn a_whole_group_alarm_and_a_vanished_instance_are_recorded_outcomes_not_errors() {
        let ex = executor();
        let mut asg = finding("e1", 8.0);
        asg.instance_id = None;
        asg.asg_name = Some("ollama-gpu-fleet".into());
        let report = ex.isolate(asg, Instant::now(), now()).await.unwrap();
        assert_eq!(report.status, "not_actionable");
        assert!(report.summary.contains("whole Auto Scaling group ollama-gpu-fleet"));

        *ex.compute.instance.lock().unwrap() = None;
        let gone = ex.isolate(finding("e2", 8.0), Instant::now(), now()).await.unwrap();
        assert_eq!(gone.status, "not_actionable");
        assert!(gone.summary.contains("not found"));
        assert!(ex.store.locks.lock().unwrap().is_empty(), "no lock left behind");
        assert_eq!(ex.notifier.sent.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn release_restores_exactly_what_was_recorded_once() {
        let ex = executor();
        let isolated = ex.isolate(finding("e1", 8.0), Instant::now(), now()).await.unwrap();
        let released = ex.release(&isolated.incident_id, "bob", Instant::now(), now()).await.unwrap();
        assert_eq!(released.status, "released", "{released:#?}");
        assert_eq!(groups(&ex)["eni-0"], ["sg-app", "sg-ssh"]);
        assert_eq!(groups(&ex)["eni-1"], ["sg-data"]);
        assert_eq!(*ex.compute.profile.lock().unwrap(), Some(profile()));
        assert!(*ex.compute.eips_attached.lock().unwrap());
        assert!(*ex.fleet.in_service.lock().unwrap());
        assert_eq!(ex.fleet.registrations.lock().unwrap().len(), 1);
        assert_eq!(ex.compute.snapshots.lock().unwrap().len(), 1, "snapshots stay");
        assert!(ex.store.locks.lock().unwrap().is_empty());
        let again = ex.release(&isolated.incident_id, "bob", Instant::now(), now()).await.unwrap();
        assert!(again.duplicate);

        // Released, the instance can be isolated again by a new finding; a replay of the old
        // one changes nothing and leaves no lock behind.
        let replay = ex.isolate(finding("e1", 8.0), Instant::now(), now()).await.unwrap();
        assert!(replay.duplicate);
        assert!(ex.store.locks.lock().unwrap().is_empty());
        let next = ex.isolate(finding("e9", 8.0), Instant::now(), now()).await.unwrap();
        assert_ne!(next.incident_id, isolated.incident_id);
        assert_eq!(next.status, "isolated");
    }
}
