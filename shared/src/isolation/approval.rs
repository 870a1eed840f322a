//! What the isolation asks a human: the disruptive rest of a pending plan, and a release.

use chrono::{DateTime, Utc};

use crate::approval::flow::Approvals;
use crate::approval::ports::ApprovalStore;
use crate::approval::{ApprovalAction, ApprovalRequest};
use crate::isolation::executor::IncidentReport;
use crate::isolation::{IncidentRecord, IsolationStep};
use crate::ports::{Notifier, PortResult};

impl<S: ApprovalStore, N: Notifier> Approvals<S, N> {
    /// The disruptive rest of a pending isolation plan, for a human to approve.
    pub async fn ask_to_isolate(&self, report: &IncidentReport, now: DateTime<Utc>) -> PortResult<ApprovalRequest> {
        let instance_id = report.instance_id.clone().unwrap_or_default();
        let will_do = report
            .pending_approval
            .iter()
            .filter_map(|s| IsolationStep::parse(s))
            .map(|s| s.describe().to_string())
            .collect();
        let why = format!(
            "{} on {instance_id}. {} (incident {}, policy rule {})",
            report.trigger, report.summary, report.incident_id, report.decided_by_rule
        );
        let action = ApprovalAction::Isolate { incident_id: report.incident_id.clone(), instance_id };
        self.request(action, will_do, why, "warden remediator", now).await
    }

    /// Releasing an isolated instance, for a human to approve.
    pub async fn ask_to_release(
        &self,
        record: &IncidentRecord,
        requested_by: &str,
        now: DateTime<Utc>,
    ) -> PortResult<ApprovalRequest> {
        let instance_id = record.instance_id.clone().unwrap_or_default();
        let will_do = vec![
            "Give every network interface its recorded security groups back".to_string(),
            "Restore the recorded instance profile and Elastic IPs".to_string(),
            "Put it back in service in its Auto Scaling group and target groups".to_string(),
            "Keep the snapshots and the evidence protections".to_string(),
        ];
        let why = format!(
            "{requested_by} asked to release {instance_id}, isolated after: {} (incident {}).",
            record.trigger.describe(),
            record.id
        );
        let action = ApprovalAction::Release { incident_id: record.id.clone(), instance_id };
        self.request(action, will_do, why, requested_by, now).await
    }
}
