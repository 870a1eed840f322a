//! Release: restore what the isolation changed, exactly as recorded; snapshots and the evidence
//! protections stay.

use std::collections::BTreeSet;
use std::time::Instant;

use chrono::{DateTime, Utc};
use futures_util::future::join_all;

use crate::isolation::ports::{Compute, Fleet, IncidentStore};
use crate::isolation::{IncidentStatus, IsolationStep, StepOutcome, StepState};
use crate::ports::ExecutorError;
use crate::ports::{Notifier, PortResult};

use crate::isolation::executor::{outcome, since, IncidentKind, IncidentReport, IsolationExecutor};

impl<C: Compute, F: Fleet, S: IncidentStore, N: Notifier> IsolationExecutor<C, F, S, N> {
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
                let mut report = IncidentReport::from_record(IncidentKind::Release, &record);
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
        let mut report = IncidentReport::from_record(IncidentKind::Release, &record);
        report.steps = ran;
        self.notify(&mut report, &mut record).await;
        report.duration_ms = since(received);
        Ok(report)
    }
}
