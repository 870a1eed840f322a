//! The remediator Lambda: closes security-group exposure of Ollama (11434) and SSH (22) to the
//! whole internet, from CloudTrail, AWS Config, scheduled sweeps, and undoes on request.
//!
//! A thin binary: parse the event, hand it to the shared executor, report. Everything it
//! needs is built once, before the first event.

use chrono::Utc;
use lambda_runtime::{run, service_fn, Diagnostic, Error, LambdaEvent};
use serde_json::Value;

use std::time::Instant;

use warden::aws::{
    isolation_executor, load_sdk_config, remediation_executor, AwsFleet, DynamoStore, Ec2Compute, Ec2SecurityGroups,
    SnsNotifier,
};
use warden::config::RemediatorConfig;
use warden::event::{parse_event, Request};
use warden::executor::{Executor, ExecutorError, Report};
use warden::isolation_executor::{IncidentReport, IsolationExecutor};
use warden::metrics::{incident_emf, remediation_emf};

const FUNCTION: &str = "remediator";

struct Remediator {
    executor: Executor<Ec2SecurityGroups, DynamoStore, SnsNotifier>,
    isolation: IsolationExecutor<Ec2Compute, AwsFleet, DynamoStore, SnsNotifier>,
    metrics_namespace: String,
}

fn executor_failure(e: ExecutorError) -> Diagnostic {
    match e {
        ExecutorError::Port(_) | ExecutorError::Busy(_) => {
            tracing::error!(error = %e, "did not complete; what was done is recorded and a redelivery resumes it");
            failure("RemediationIncomplete", e.to_string())
        }
        ExecutorError::UnknownRemediation(_)
        | ExecutorError::UnknownIncident(_)
        | ExecutorError::NotUndoable { .. }
        | ExecutorError::Refused(_) => {
            tracing::warn!(error = %e, "request refused; nothing changed");
            failure("RequestRefused", e.to_string())
        }
    }
}

impl Remediator {
    async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
        let received = Instant::now();
        let raw = event.payload;
        let request = parse_event(&raw).map_err(|e| {
            tracing::warn!(error = %e, "event rejected; nothing changed");
            failure("EventRejected", e.to_string())
        })?;
        let now = Utc::now();
        let report = match request {
            Request::Isolate(trigger) => {
                tracing::info!(event_id = %trigger.event_id, trigger = %trigger.describe(), instance_id = ?trigger.instance_id, "isolating");
                let report = self.isolation.isolate(trigger, received, now).await.map_err(executor_failure)?;
                return self.incident_done(report, now);
            }
            Request::Release { incident_id, requested_by } => {
                tracing::info!(%incident_id, %requested_by, "release requested");
                let report = self.isolation.release(&incident_id, &requested_by, received, now).await.map_err(executor_failure)?;
                return self.incident_done(report, now);
            }
            Request::Remediate(trigger) => {
                tracing::info!(event_id = %trigger.event_id, trigger = %trigger.describe(), "remediating");
                self.executor.remediate(trigger, &raw.to_string(), now).await
            }
            Request::Undo { remediation_id, requested_by } => {
                tracing::info!(%remediation_id, %requested_by, "undo requested");
                self.executor.undo(&remediation_id, &requested_by, now).await
            }
            Request::Ignore { event_id, reason } => Ok(Report::ignored(&event_id, &reason)),
        }
        .map_err(executor_failure)?;

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
            return Err(failure(
                "RemediationIncomplete",
                format!("{} ({why}); recorded as {}, will resume on redelivery", report.summary, report.status),
            ));
        }
        serde_json::to_value(&report).map_err(|e| failure("InternalError", e.to_string()))
    }
}

impl Remediator {
    fn incident_done(&self, report: IncidentReport, now: chrono::DateTime<Utc>) -> Result<Value, Diagnostic> {
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
            return Err(failure(
                "IsolationIncomplete",
                format!(
                    "{} ({why}); recorded as {}, a retry or the next trigger resumes it",
                    report.summary, report.status
                ),
            ));
        }
        serde_json::to_value(&report).map_err(|e| failure("InternalError", e.to_string()))
    }
}

/// A Lambda error with a type that says what kind of failure it is.
fn failure(error_type: &str, message: String) -> Diagnostic {
    Diagnostic { error_type: format!("Warden.{error_type}"), error_message: message }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    warden::telemetry::init();
    let config = RemediatorConfig::from_env().inspect_err(|e| tracing::error!(error = %e, "invalid configuration"))?;
    let sdk = load_sdk_config().await;
    let remediator = Remediator {
        executor: remediation_executor(&config, &sdk),
        isolation: isolation_executor(&config, &sdk),
        metrics_namespace: config.metrics_namespace.clone(),
    };
    tracing::info!(
        table = %config.table_name,
        dry_run = config.dry_run,
        sensitive_ports = ?config.sensitive_ports.iter().map(|p| p.port).collect::<Vec<_>>(),
        "remediator ready"
    );
    let remediator = &remediator;
    run(service_fn(move |event| remediator.handle(event))).await
}
