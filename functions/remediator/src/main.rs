//! The remediator Lambda: closes security-group exposure of Ollama (11434) and SSH (22) to the
//! whole internet, contains compromised GPU instances, asks for approval where the policy says
//! so, and undoes on request.
//!
//! A thin binary: parse the event, hand it to the shared executors, report. Everything it
//! needs is built once, before the first event.

use std::time::Instant;

use chrono::Utc;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

use warden::approval::flow::Approvals;
use warden::aws::wiring::{isolation_executor, remediation_executor, suspension_service};
use warden::aws::{ApiGatewayKeys, AwsFleet, DynamoStore, Ec2Compute, Ec2SecurityGroups, SnsNotifier};
use warden::edge::events::{RemediatorEvent, Request, TrustedAlarms};
use warden::edge::failure::{to_json, Failure, FailureKind};
use warden::exposure::executor::{Executor, Report};
use warden::isolation::executor::{IncidentReport, IsolationExecutor};
use warden::isolation::ports::IncidentStore;
use warden::isolation::IncidentStatus;
use warden::metrics::{incident_emf, remediation_emf};
use warden::suspension::service::SuspensionService;

const FUNCTION: &str = "remediator";

struct Remediator {
    executor: Executor<Ec2SecurityGroups, DynamoStore, SnsNotifier>,
    isolation: IsolationExecutor<Ec2Compute, AwsFleet, DynamoStore, SnsNotifier>,
    approvals: Approvals<DynamoStore, SnsNotifier>,
    suspensions: SuspensionService<DynamoStore, ApiGatewayKeys, SnsNotifier>,
    trusted_alarms: TrustedAlarms,
    metrics_namespace: String,
}

impl Remediator {
    async fn handle(&self, event: LambdaEvent<RemediatorEvent>) -> Result<Value, Failure> {
        let received = Instant::now();
        let event = event.payload;
        let request = event.request_within(&self.trusted_alarms)?;
        let now = Utc::now();
        let report = match request {
            Request::Isolate(trigger) => {
                tracing::info!(event_id = %trigger.event_id, trigger = %trigger.describe(), instance_id = ?trigger.instance_id, "isolating");
                let report = self.isolation.isolate(trigger, received, now).await?;
                if report.status == IncidentStatus::PendingApproval {
                    self.ask_to_isolate(&report, now).await?;
                }
                return self.incident_done(report, now);
            }
            Request::Release { incident_id, requested_by } => {
                tracing::info!(%incident_id, %requested_by, "release requested: asking for approval");
                return self.ask_to_release(&incident_id, &requested_by, now).await;
            }
            Request::Remediate(trigger) => {
                tracing::info!(event_id = %trigger.event_id, trigger = %trigger.describe(), "remediating");
                // The event as received, kept with the remediation record for audit.
                let raw = serde_json::to_string(&event).unwrap_or_default();
                self.executor.remediate(trigger, &raw, now).await
            }
            Request::Undo { remediation_id, requested_by } => {
                tracing::info!(%remediation_id, %requested_by, "undo requested");
                self.executor.undo(&remediation_id, &requested_by, now).await
            }
            Request::CallerAlarm(alarm) => {
                tracing::info!(event_id = %alarm.event_id, alarm = %alarm.alarm_name, caller = ?alarm.caller, "abuse alarm");
                let report = self.suspensions.handle_alarm(&alarm, &self.approvals, now).await.map_err(|e| {
                    tracing::error!(error = %e, "suspension incomplete; a redelivery completes it");
                    Failure::new(FailureKind::SuspensionIncomplete, e)
                })?;
                tracing::info!(summary = %report.summary, duplicate = report.duplicate, "done");
                return to_json(&report);
            }
            Request::Ignore { event_id, reason } => Ok(Report::ignored(&event_id, &reason)),
        }?;

        // EMF goes to stdout as its own line; logs go to stderr.
        println!("{}", remediation_emf(&self.metrics_namespace, FUNCTION, &report, now.timestamp_millis()));
        tracing::info!(
            remediation_id = report.remediation_id.as_deref().unwrap_or("-"),
            status = %report.status,
            revoked = report.revoked.len(),
            restored = report.restored.len(),
            failed = report.failed.len(),
            duplicate = report.duplicate,
            summary = %report.summary,
            "done"
        );
        if report.needs_retry() {
            // Failing the invocation makes Lambda/EventBridge redeliver; the record resumes.
            let why = report.notify_error.clone().unwrap_or_else(|| format!("{} step(s) failed", report.failed.len()));
            return Err(Failure::new(
                FailureKind::RemediationIncomplete,
                format!("{} ({why}); recorded as {}, will resume on redelivery", report.summary, report.status),
            ));
        }
        to_json(&report)
    }

    /// The disruptive rest of a plan waits for a human: one approval request, one email.
    async fn ask_to_isolate(&self, report: &IncidentReport, now: chrono::DateTime<Utc>) -> Result<(), Failure> {
        let request = self.approvals.ask_to_isolate(report, now).await.map_err(|e| {
            tracing::error!(error = %e, "could not ask for approval; a retry asks again");
            Failure::new(FailureKind::ApprovalNotRequested, e)
        })?;
        tracing::info!(request = %request.id, incident_id = %report.incident_id, "approval requested");
        Ok(())
    }

    async fn ask_to_release(
        &self,
        incident_id: &str,
        requested_by: &str,
        now: chrono::DateTime<Utc>,
    ) -> Result<Value, Failure> {
        let record = self
            .isolation
            .store
            .incident(incident_id)
            .await
            .map_err(|e| Failure::new(FailureKind::RemediationIncomplete, e))?
            .ok_or_else(|| {
                Failure::new(FailureKind::RequestRefused, format!("no incident {incident_id} is on record"))
            })?;
        if record.status.is_over() {
            return Err(Failure::new(
                FailureKind::RequestRefused,
                format!("incident {incident_id} is {}: nothing to release", record.status.as_str()),
            ));
        }
        let request = self
            .approvals
            .ask_to_release(&record, requested_by, now)
            .await
            .map_err(|e| Failure::new(FailureKind::ApprovalNotRequested, e))?;
        Ok(serde_json::json!({
            "kind": "release_request",
            "incident_id": incident_id,
            "approval_request": request.id,
            "status": request.status.as_str(),
            "expires_at": request.expires_at,
            "summary": format!("Release of {incident_id} needs approval: an email with the links went to the approvals topic."),
        }))
    }

    fn incident_done(&self, report: IncidentReport, now: chrono::DateTime<Utc>) -> Result<Value, Failure> {
        println!("{}", incident_emf(&self.metrics_namespace, FUNCTION, &report, now.timestamp_millis()));
        tracing::info!(
            incident_id = %report.incident_id,
            instance_id = report.instance_id.as_deref().unwrap_or("-"),
            status = %report.status,
            time_to_containment_ms = ?report.time_to_containment_ms,
            failed = report.failed_steps(),
            duplicate = report.duplicate,
            summary = %report.summary,
            "done"
        );
        if report.needs_retry() {
            let why =
                report.notify_error.clone().unwrap_or_else(|| format!("{} step(s) failed", report.failed_steps()));
            return Err(Failure::new(
                FailureKind::IsolationIncomplete,
                format!(
                    "{} ({why}); recorded as {}, a retry or the next trigger resumes it",
                    report.summary, report.status
                ),
            ));
        }
        to_json(&report)
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    warden::telemetry::init();
    let (config, sdk, approvals) = warden::aws::wiring::from_env()
        .await
        .inspect_err(|e| tracing::error!(error = %e, "cannot start: fix the configuration"))?;
    let remediator = Remediator {
        executor: remediation_executor(&config, &sdk),
        isolation: isolation_executor(&config, &sdk),
        approvals,
        suspensions: suspension_service(&config, &sdk),
        trusted_alarms: config.trusted_alarms.clone(),
        metrics_namespace: config.metrics_namespace.clone(),
    };
    if config.trusted_alarms.is_empty() {
        tracing::warn!("WARDEN_TRUSTED_ALARMS is empty: every alarm is recorded as ignored");
    }
    tracing::info!(
        table = %config.table_name,
        dry_run = config.dry_run,
        sensitive_ports = ?config.sensitive_ports.iter().map(|p| p.port).collect::<Vec<_>>(),
        "remediator ready"
    );
    let remediator = &remediator;
    run(service_fn(move |event| remediator.handle(event))).await
}
