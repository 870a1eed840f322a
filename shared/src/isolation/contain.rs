//! Containment: run the plan's steps, each on the branch it belongs to — the network cut never
//! waits for evidence, snapshots, tags or notifications — then verify, record and notify. One
//! method per step says what it does to AWS and what it reports.

use std::collections::BTreeSet;
use std::future::Future;
use std::time::Instant;

use chrono::{DateTime, Utc};
use futures_util::future::join_all;

use crate::isolation::executor::{
    outcome, since, IncidentKind, IncidentReport, IsolationExecutor, TargetGroupDiscovery, INCIDENT_TAG,
};
use crate::isolation::ports::{Compute, Fleet, IncidentStore};
use crate::isolation::{
    AsgMembership, IncidentRecord, IncidentStatus, InstanceState, IsolationStep, ProfileAssociation, QuarantineGroups,
    StepOutcome, StepState, TargetRegistration,
};
use crate::ports::{ErrorKind, ExecutorError, Notifier, PortError, PortResult};

impl<C: Compute, F: Fleet, S: IncidentStore, N: Notifier> IsolationExecutor<C, F, S, N> {
    pub(super) async fn quarantine_groups(&self, vpc_id: &str) -> PortResult<QuarantineGroups> {
        if let Some(g) = self.groups_cache.lock().expect("cache lock").get(vpc_id).cloned() {
            return Ok(g);
        }
        let groups = self.compute.quarantine_groups(vpc_id).await?;
        self.groups_cache.lock().expect("cache lock").insert(vpc_id.to_string(), groups.clone());
        Ok(groups)
    }

    /// Run `steps` (skipping those already done), each on the branch it belongs to, then
    /// verify, record, and notify.
    pub(super) async fn run(
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
        let id = id.as_str();
        let state = &state;

        // Containment: its own branch, never waiting for anything else.
        let containment = async {
            if !todo(IsolationStep::QuarantineNetwork) {
                return None;
            }
            let t = since(received);
            let result = self.cut_network(state).await;
            let contained_ms = result.as_ref().ok().map(|_| since(received));
            let groups = result.as_ref().ok().cloned();
            let detail = result.map(|g| {
                format!(
                    "{} interface(s) moved to {} through {} (tracked connections dropped)",
                    state.interfaces.len(),
                    g.quarantine_group_id,
                    g.untrack_group_id
                )
            });
            let o = outcome("isolate", IsolationStep::QuarantineNetwork.as_str(), t, received, detail);
            Some((self.record_step(id, o).await, contained_ms, groups))
        };
        let evidence = async {
            let step = IsolationStep::ProtectEvidence;
            if !todo(step) {
                return None;
            }
            Some(self.timed(id, step, received, self.protect_evidence(state)).await)
        };
        // Out of service: Standby first, then the target groups (known, or discovered now).
        let service = async {
            let mut out = Vec::new();
            let mut found = None;
            if let (true, Some(asg)) = (todo(IsolationStep::LeaveAutoScalingGroup), &state.asg) {
                let step = IsolationStep::LeaveAutoScalingGroup;
                out.push(self.timed(id, step, received, self.leave_asg(asg, state)).await);
            }
            if todo(IsolationStep::DeregisterTargets) {
                let t = since(received);
                let (result, registrations) = self.deregister_targets(id, state, target_group_discovery).await;
                found = registrations;
                let o = outcome("isolate", IsolationStep::DeregisterTargets.as_str(), t, received, result);
                out.push(self.record_step(id, o).await);
            }
            (out, found)
        };
        let snapshots = async {
            let step = IsolationStep::SnapshotVolumes;
            if !todo(step) {
                return None;
            }
            Some(self.timed(id, step, received, self.snapshot_volumes(id, state)).await)
        };
        let addresses = async {
            let step = IsolationStep::DetachElasticIps;
            if !todo(step) {
                return None;
            }
            Some(self.timed(id, step, received, self.detach_addresses(state)).await)
        };
        let profile = async {
            let step = IsolationStep::QuarantineProfile;
            let (true, Some(current)) = (todo(step), &state.profile) else { return None };
            Some(self.timed(id, step, received, self.quarantine_profile(current)).await)
        };
        let tag = async {
            let step = IsolationStep::TagInstance;
            if !todo(step) {
                return None;
            }
            Some(self.timed(id, step, received, self.tag_isolated(id, state)).await)
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
            let verified = self.verify_containment(state, &groups).await;
            ran.push(self.record_step(id, outcome("isolate", "verify_containment", t, received, verified)).await);
        }
        self.finish(record, ran, &state.instance_id, received, now).await
    }

    /// One step: timed from the moment it starts, recorded as soon as it finishes.
    async fn timed(
        &self,
        incident_id: &str,
        step: IsolationStep,
        received: Instant,
        work: impl Future<Output = PortResult<String>>,
    ) -> StepOutcome {
        let t = since(received);
        let result = work.await;
        self.record_step(incident_id, outcome("isolate", step.as_str(), t, received, result)).await
    }

    /// Kept as it finishes; a failure to record is logged, never lost in the report.
    async fn record_step(&self, incident_id: &str, o: StepOutcome) -> StepOutcome {
        if let Err(e) = self.store.put_incident_step(incident_id, &o).await {
            tracing::error!(incident_id = %incident_id, step = %o.step, error = %e, "could not record step");
        }
        o
    }

    async fn protect_evidence(&self, state: &InstanceState) -> PortResult<String> {
        self.compute.protect_evidence(&state.instance_id, &state.volumes).await?;
        Ok(format!(
            "termination protection on, shutdown behaviour stop, {} volume(s) kept on termination",
            state.volumes.len()
        ))
    }

    async fn leave_asg(&self, asg: &AsgMembership, state: &InstanceState) -> PortResult<String> {
        self.fleet.leave_asg(asg, &state.instance_id).await?;
        Ok(format!("standby in {} without decrementing desired capacity: a replacement starts", asg.name))
    }

    /// The registrations are known, or discovered now and recorded before anything is
    /// deregistered; they come back so the incident's state records them.
    async fn deregister_targets(
        &self,
        incident_id: &str,
        state: &InstanceState,
        discovery: Option<TargetGroupDiscovery<'_>>,
    ) -> (PortResult<String>, Option<Vec<TargetRegistration>>) {
        let registrations = if state.target_groups_known {
            Ok(state.target_groups.clone())
        } else {
            let discovered = match discovery {
                Some(running) => running.await,
                None => self.fleet.target_registrations(&state.instance_id).await,
            };
            match discovered {
                Ok(r) => self.store.record_target_groups(incident_id, &r).await.map(|_| r),
                Err(e) => Err(e),
            }
        };
        let registrations = match registrations {
            Ok(r) => r,
            Err(e) => return (Err(e), None),
        };
        let results = join_all(registrations.iter().map(|tg| self.fleet.deregister(tg, &state.instance_id))).await;
        let n = registrations.len();
        let result = results
            .into_iter()
            .collect::<PortResult<Vec<()>>>()
            .map(|_| format!("deregistered from {n} target group(s)"));
        (result, Some(registrations))
    }

    async fn snapshot_volumes(&self, incident_id: &str, state: &InstanceState) -> PortResult<String> {
        let ids = self.compute.snapshot_volumes(&state.instance_id, incident_id).await?;
        Ok(format!("snapshots {} started, tagged {INCIDENT_TAG}={incident_id}", ids.join(", ")))
    }

    async fn detach_addresses(&self, state: &InstanceState) -> PortResult<String> {
        let results = join_all(state.elastic_ips.iter().map(|e| self.compute.disassociate_address(e))).await;
        results.into_iter().collect::<PortResult<Vec<()>>>()?;
        let ips: Vec<&str> = state.elastic_ips.iter().map(|e| e.public_ip.as_str()).collect();
        Ok(format!("Elastic IP(s) {} detached", ips.join(", ")))
    }

    async fn quarantine_profile(&self, current: &ProfileAssociation) -> PortResult<String> {
        let replacement = self.settings.quarantine_profile_arn.as_deref();
        self.compute.quarantine_profile(current, replacement).await?;
        Ok(match replacement {
            Some(arn) => format!("instance profile {} replaced by {arn}", current.profile_arn),
            None => format!("instance profile {} removed", current.profile_arn),
        })
    }

    async fn tag_isolated(&self, incident_id: &str, state: &InstanceState) -> PortResult<String> {
        let tags = vec![
            (INCIDENT_TAG.to_string(), incident_id.to_string()),
            ("warden:status".to_string(), "isolated".to_string()),
        ];
        self.compute.tag_instance(&state.instance_id, &tags).await?;
        Ok(format!("tagged {INCIDENT_TAG}={incident_id}"))
    }

    /// Every interface has only the quarantine group now, read back from EC2.
    async fn verify_containment(&self, state: &InstanceState, groups: &QuarantineGroups) -> PortResult<String> {
        let checks = join_all(state.interfaces.iter().map(|i| self.compute.interface_groups(&i.interface_id))).await;
        checks.into_iter().zip(&state.interfaces).try_fold(String::new(), |_, (c, i)| {
            let now_groups = c?;
            if now_groups == [groups.quarantine_group_id.clone()] {
                Ok(format!("every interface has only {}", groups.quarantine_group_id))
            } else {
                Err(PortError::new(
                    "verify",
                    ErrorKind::Other,
                    format!("{} still has {:?}", i.interface_id, now_groups),
                ))
            }
        })
    }

    /// The incident's status and summary from what ran, saved, then notified.
    async fn finish(
        &self,
        mut record: IncidentRecord,
        ran: Vec<StepOutcome>,
        instance: &str,
        received: Instant,
        now: DateTime<Utc>,
    ) -> Result<IncidentReport, ExecutorError> {
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

        let mut report = IncidentReport::from_record(IncidentKind::Isolation, &record);
        report.steps = ran;
        self.notify(&mut report, &mut record).await;
        report.duration_ms = since(received);
        Ok(report)
    }

    /// The two-step swap on every interface at once: allow-all first (flows become untracked),
    /// then the quarantine group with no rules (untracked flows are dropped at once).
    pub(super) async fn cut_network(&self, state: &InstanceState) -> PortResult<QuarantineGroups> {
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
}
