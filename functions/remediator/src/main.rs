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
use warden::aws::wiring::{isolation_executor, operator_desk, remediation_executor, suspension_service};
use warden::aws::{ApiGatewayKeys, AwsFleet, DynamoStore, Ec2Compute, Ec2SecurityGroups, SnsNotifier, StsCallers};
use warden::edge::events::{RemediatorEvent, Request, TrustedAlarms, RELEASE_DETAIL_TYPE, UNDO_DETAIL_TYPE};
use warden::edge::failure::{to_json, Failure, FailureKind};
use warden::exposure::executor::{Executor, Report};
use warden::exposure::plan::TriggerKind;
use warden::isolation::executor::{IncidentReport, IsolationExecutor};
use warden::isolation::ports::IncidentStore;
use warden::isolation::IncidentStatus;
use warden::metrics::{incident_emf, remediation_emf};
use warden::operator::{Admission, CallerProof, OperatorDesk, OperatorRequest, ProvenCaller, RequestOutcome};
use warden::suspension::service::SuspensionService;

const FUNCTION: &str = "remediator";

struct Remediator {
    executor: Executor<Ec2SecurityGroups, DynamoStore, SnsNotifier>,
    isolation: IsolationExecutor<Ec2Compute, AwsFleet, DynamoStore, SnsNotifier>,
    approvals: Approvals<DynamoStore, SnsNotifier>,
    suspensions: SuspensionService<DynamoStore, ApiGatewayKeys, SnsNotifier>,
    trusted_alarms: TrustedAlarms,
    operators: OperatorDesk<StsCallers, DynamoStore>,
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
            Request::Release { incident_id, ask } => {
                let request = ask.request(RELEASE_DETAIL_TYPE, &incident_id);
                let caller = match self.admit(request, &ask.proof, now).await {
                    Ok(caller) => caller,
                    Err(reply) => return reply,
                };
                tracing::info!(%incident_id, requested_by = %caller.arn, "release requested: asking for approval");
                let asked = self.ask_to_release(&incident_id, &caller.arn, now).await;
                return self.answer(request, &caller, asked, now).await;
            }
            Request::Remediate(trigger) => {
                tracing::info!(event_id = %trigger.event_id, trigger = %trigger.describe(), "remediating");
                let sweep = matches!(trigger.kind, TriggerKind::ScheduledSweep { .. });
                // The event as received, kept with the remediation record for audit.
                let raw = serde_json::to_string(&event).unwrap_or_default();
                // The sweep also readies the fleet's quarantine groups, beside (not before) its work.
                let (report, ()) = tokio::join!(self.executor.remediate(trigger, &raw, now), async {
                    if sweep {
                        self.prepare_quarantine().await;
                    }
                });
                report
            }
            Request::Undo { remediation_id, ask } => {
                let request = ask.request(UNDO_DETAIL_TYPE, &remediation_id);
                let caller = match self.admit(request, &ask.proof, now).await {
                    Ok(caller) => caller,
                    Err(reply) => return reply,
                };
                tracing::info!(%remediation_id, requested_by = %caller.arn, "undo requested");
                match self.executor.undo(&remediation_id, &caller.arn, now).await {
                    // An undo that must resume is answered when it is done, by a redelivery.
                    Ok(report) if !report.needs_retry() => {
                        self.answer(request, &caller, to_json(&report), now).await?;
                        Ok(report)
                    }
                    Ok(report) => Ok(report),
                    Err(e) => return self.answer(request, &caller, Err(Failure::from(e)), now).await,
                }
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

    /// An operator request goes on only if STS proves an operator signed it. `Err`: the reply
    /// (the kept outcome of a request seen before, a refusal, or "try again").
    async fn admit(
        &self,
        request: OperatorRequest<'_>,
        proof: &CallerProof,
        now: chrono::DateTime<Utc>,
    ) -> Result<ProvenCaller, Result<Value, Failure>> {
        match self.operators.admit(request, proof, now).await {
            Ok(Admission::Proceed(caller)) => Ok(caller),
            Ok(Admission::Answered(outcome)) => {
                if !outcome.accepted {
                    tracing::warn!(
                        security = "SECURITY_WARNING",
                        request_id = %outcome.request_id,
                        target = %outcome.target,
                        requested_by = outcome.requested_by.as_deref().unwrap_or("-"),
                        why = %outcome.summary,
                        "SECURITY_WARNING an operator request was refused; nothing was done"
                    );
                }
                Err(reply_of(outcome))
            }
            Err(why) => Err(Err(Failure::new(
                FailureKind::RequestUndecided,
                format!("could not check who sent the request ({why}); a redelivery decides"),
            ))),
        }
    }

    /// Keep what became of an operator request for the requester (and a second delivery), then reply.
    async fn answer(
        &self,
        request: OperatorRequest<'_>,
        caller: &ProvenCaller,
        result: Result<Value, Failure>,
        now: chrono::DateTime<Utc>,
    ) -> Result<Value, Failure> {
        let (accepted, summary, report) = match &result {
            Ok(report) => (true, report["summary"].as_str().unwrap_or("done").to_string(), report.clone()),
            Err(f) if f.kind == FailureKind::RequestRefused => (false, f.message.clone(), Value::Null),
            // Not done yet: a redelivery finishes it and answers then.
            Err(_) => return result,
        };
        let kept = self
            .operators
            .finish(request, Some(caller.arn.clone()), accepted, summary, report, now)
            .await
            .map_err(|e| Failure::new(FailureKind::RequestUndecided, format!("could not keep the outcome: {e}")))?;
        reply_of(kept)
    }

    /// Quarantine groups in every VPC of the fleet, ahead of the first incident there. A failure
    /// is logged: an incident still creates them on demand, and the next sweep tries again.
    async fn prepare_quarantine(&self) {
        match self.isolation.prepare_quarantine().await {
            Ok(r) if r.failed.is_empty() => {
                tracing::info!(vpcs = ?r.ready, "quarantine groups ready in the fleet's VPCs")
            }
            Ok(r) => tracing::warn!(ready = ?r.ready, failed = ?r.failed, "quarantine groups not ready in some VPCs"),
            Err(e) => tracing::warn!(error = %e, "could not list the fleet's VPCs to ready quarantine groups"),
        }
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

/// An operator request's kept outcome as the function's reply.
fn reply_of(outcome: RequestOutcome) -> Result<Value, Failure> {
    if outcome.accepted {
        to_json(&outcome)
    } else {
        Err(Failure::new(FailureKind::RequestRefused, outcome.summary))
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
        operators: operator_desk(&config, &sdk)?,
        metrics_namespace: config.metrics_namespace.clone(),
    };
    if config.operators.is_empty() {
        tracing::warn!("WARDEN_OPERATORS is empty: every undo and release request is refused");
    }
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
