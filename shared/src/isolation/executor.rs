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
use futures_util::future::{select, Either};
use serde::Serialize;

use crate::approval::ports::ActionRunner;
use crate::approval::ApprovalAction;
use crate::isolation::notification::incident_notification;
use crate::isolation::ports::{Compute, Fleet, IncidentStore, LockOutcome};
use crate::isolation::{
    plan_isolation, IncidentRecord, IncidentStatus, IsolationPlan, IsolationPolicy, IsolationStep, IsolationTrigger,
    QuarantineGroups, Response, StepOutcome, StepState, TargetRegistration,
};
use crate::ports::ExecutorError;
use crate::ports::{Notifier, PortError, PortResult};

/// Target-group discovery, possibly still running when containment starts.
pub(super) type TargetGroupDiscovery<'a> =
    Pin<Box<dyn Future<Output = PortResult<Vec<TargetRegistration>>> + Send + 'a>>;

pub(super) enum Discovery<'a> {
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
    /// Only these instances are isolated.
    pub fleet: crate::isolation::FleetScope,
}

/// What an incident report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentKind {
    Isolation,
    Release,
}

impl IncidentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Isolation => "isolation",
            Self::Release => "release",
        }
    }
}

named_enum!(IncidentKind);

/// What one isolation or release invocation did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentReport {
    pub kind: IncidentKind,
    pub incident_id: String,
    pub status: IncidentStatus,
    pub duplicate: bool,
    pub summary: String,
    pub trigger: String,
    pub instance_id: Option<String>,
    pub response: Response,
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
    pub(super) fn from_record(kind: IncidentKind, r: &IncidentRecord) -> Self {
        Self {
            kind,
            incident_id: r.id.clone(),
            status: r.status,
            duplicate: false,
            summary: r.summary.clone(),
            trigger: r.trigger.describe(),
            instance_id: r.instance_id.clone(),
            response: r.response,
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
    pub(super) groups_cache: Mutex<BTreeMap<String, QuarantineGroups>>,
}

/// Milliseconds since the handler received the event.
pub(super) fn since(t: Instant) -> u64 {
    t.elapsed().as_millis() as u64
}

pub(super) fn outcome(
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

/// Quarantine groups made ready ahead of incidents, per VPC of the fleet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuarantineReadiness {
    /// VPCs whose two groups exist now (found, or created by this run).
    pub ready: Vec<String>,
    /// VPCs where they could not be made ready, and why (the next sweep, or an incident, retries).
    pub failed: Vec<(String, String)>,
}

impl<C: Compute, F: Fleet, S: IncidentStore, N: Notifier> IsolationExecutor<C, F, S, N> {
    /// Find or create the quarantine groups in every VPC of the fleet before an incident needs
    /// them, so the first isolation in a VPC takes the path of a later one (one lookup beside the
    /// record, not create-and-authorize before the swap). The scheduled sweep runs it; creation
    /// during an incident stays as the fallback. Idempotent: groups are found by their tag.
    pub async fn prepare_quarantine(&self) -> Result<QuarantineReadiness, ExecutorError> {
        let fleet = &self.settings.fleet;
        let members = if fleet.asgs.is_empty() { Vec::new() } else { self.fleet.asg_instances(&fleet.asgs).await? };
        if fleet.tag.is_none() && members.is_empty() {
            return Ok(QuarantineReadiness { ready: Vec::new(), failed: Vec::new() });
        }
        let vpcs = self.compute.fleet_vpcs(fleet.tag.as_ref(), &members).await?;
        let results = futures_util::future::join_all(vpcs.iter().map(|vpc| self.quarantine_groups(vpc))).await;
        let mut readiness = QuarantineReadiness { ready: Vec::new(), failed: Vec::new() };
        for (vpc, result) in vpcs.into_iter().zip(results) {
            match result {
                Ok(_) => readiness.ready.push(vpc),
                Err(e) => readiness.failed.push((vpc, e.to_string())),
            }
        }
        Ok(readiness)
    }

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
        if !self.settings.fleet.contains(&state) {
            self.store.unlock_instance(&instance_id, &id).await?;
            record.summary = format!(
                "Instance {instance_id} is not in the Ollama fleet (Warden isolates instances {}): recorded and \
                 notified, not touched. If it is compromised, contain it by hand; if it belongs to the fleet, tag it.",
                self.settings.fleet.describe()
            );
            record.state = Some(state);
            return self.record_not_actionable(record, received).await;
        }
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
        let mut record = self.pending_incident(id, "approved").await?;
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
        let mut record = self.pending_incident(id, "dismissed").await?;
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
        Ok(IncidentReport::from_record(IncidentKind::Isolation, &record))
    }

    /// The incident, if its plan is pending approval; otherwise why it cannot be `what`.
    async fn pending_incident(&self, id: &str, what: &str) -> Result<IncidentRecord, ExecutorError> {
        let record = self.store.incident(id).await?.ok_or_else(|| ExecutorError::UnknownIncident(id.to_string()))?;
        if record.status != IncidentStatus::PendingApproval {
            return Err(ExecutorError::Refused(format!(
                "incident {id} is {}: only a plan pending approval can be {what}",
                record.status.as_str()
            )));
        }
        Ok(record)
    }

    pub(super) async fn done_steps(&self, id: &str) -> Result<BTreeSet<String>, ExecutorError> {
        Ok(self
            .store
            .incident_steps(id)
            .await?
            .into_iter()
            .filter(|s| s.phase == "isolate" && s.state == StepState::Done)
            .map(|s| s.step)
            .collect())
    }

    pub(super) async fn redelivered(
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
        let mut report = IncidentReport::from_record(IncidentKind::Isolation, &existing);
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
        let mut report = IncidentReport::from_record(IncidentKind::Isolation, &record);
        self.notify(&mut report, &mut record).await;
        report.duration_ms = since(received);
        Ok(report)
    }

    pub(super) async fn notify(&self, report: &mut IncidentReport, record: &mut IncidentRecord) {
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

pub(super) fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

#[cfg(test)]
mod tests;
