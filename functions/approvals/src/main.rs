//! The approvals Lambda, behind a function URL: `GET` shows a confirmation page and changes
//! nothing; only a `POST` of that page's form with a valid, unexpired, single-use token decides,
//! and an approval runs the recorded plan through the same executor the remediator uses. A
//! "Scheduled Event" marks expired requests and escalates them.

use chrono::Utc;
use lambda_runtime::{run, service_fn, Diagnostic, Error, LambdaEvent};
use serde_json::Value;

use warden::approval::flow::Approvals;
use warden::approval::runners::Runners;
use warden::aws::wiring::{isolation_executor, suspension_service};
use warden::aws::{ApiGatewayKeys, AwsFleet, DynamoStore, Ec2Compute, SnsNotifier};
use warden::isolation::executor::IsolationExecutor;
use warden::metrics::approval_page_emf;
use warden::suspension::service::SuspensionService;

type AwsIsolation = IsolationExecutor<Ec2Compute, AwsFleet, DynamoStore, SnsNotifier>;
type AwsSuspensions = SuspensionService<DynamoStore, ApiGatewayKeys, SnsNotifier>;

struct ApprovalsFunction {
    approvals: Approvals<DynamoStore, SnsNotifier>,
    /// Isolation actions to the isolation executor, suspension actions to the suspension service.
    runner: Runners<AwsIsolation, AwsSuspensions>,
    metrics_namespace: String,
}

impl ApprovalsFunction {
    async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
        let raw = event.payload;
        if let Some(method) = raw.pointer("/requestContext/http/method").and_then(Value::as_str) {
            let now = Utc::now();
            let response = self.approvals.http(&raw, &self.runner, now).await;
            let status = response["statusCode"].as_u64().unwrap_or(500);
            println!("{}", approval_page_emf(&self.metrics_namespace, method, status, now.timestamp_millis()));
            return Ok(response);
        }
        let source = raw.get("source").and_then(Value::as_str).unwrap_or("");
        let detail_type = raw.get("detail-type").and_then(Value::as_str).unwrap_or("");
        if (source, detail_type) == ("aws.events", "Scheduled Event") {
            let report = self.approvals.expire(Utc::now()).await.map_err(|e| Diagnostic {
                error_type: "Warden.ExpiryIncomplete".into(),
                error_message: e.to_string(),
            })?;
            tracing::info!(expired = report.expired.len(), escalated = report.escalated, "expiry sweep");
            return serde_json::to_value(&report)
                .map_err(|e| Diagnostic { error_type: "Warden.InternalError".into(), error_message: e.to_string() });
        }
        Err(Diagnostic {
            error_type: "Warden.EventRejected".into(),
            error_message: format!(
                "unsupported event: source `{source}`, detail-type `{detail_type}`. The approvals function handles function URL \
                 requests and \"Scheduled Event\""
            ),
        })
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    warden::telemetry::init();
    let (config, sdk, approvals) = warden::aws::wiring::from_env()
        .await
        .inspect_err(|e| tracing::error!(error = %e, "cannot start: fix the configuration"))?;
    let function = ApprovalsFunction {
        approvals,
        runner: Runners {
            isolation: isolation_executor(&config, &sdk),
            suspensions: suspension_service(&config, &sdk),
        },
        metrics_namespace: config.metrics_namespace.clone(),
    };
    tracing::info!(table = %config.table_name, "approvals ready");
    let function = &function;
    run(service_fn(move |event| function.handle(event))).await
}
