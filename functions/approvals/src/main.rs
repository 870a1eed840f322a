//! The approvals Lambda, behind a function URL: `GET` shows the page of a link's own decision
//! and changes nothing; its button signs the person in with the organisation's OpenID Connect
//! provider; only an approver, signed in, decides — once, by a `POST` with the link's valid,
//! unexpired token — and an approval runs the recorded plan through the same executor the
//! remediator uses. A
//! "Scheduled Event" marks expired requests and escalates them.

use chrono::Utc;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

use warden::approval::flow::{Approvals, SignIn};
use warden::approval::oidc::OidcProvider;
use warden::approval::runners::Runners;
use warden::aws::wiring::{isolation_executor, suspension_service};
use warden::aws::{ApiGatewayKeys, AwsFleet, DynamoStore, Ec2Compute, SnsNotifier};
use warden::edge::events::ApprovalsEvent;
use warden::edge::failure::{to_json, Failure, FailureKind};
use warden::isolation::executor::IsolationExecutor;
use warden::metrics::approval_page_emf;
use warden::suspension::service::SuspensionService;

type AwsIsolation = IsolationExecutor<Ec2Compute, AwsFleet, DynamoStore, SnsNotifier>;
type AwsSuspensions = SuspensionService<DynamoStore, ApiGatewayKeys, SnsNotifier>;

struct ApprovalsFunction {
    approvals: Approvals<DynamoStore, SnsNotifier>,
    /// Deciding takes signing in with the organisation's provider, as an approver.
    sign_in: SignIn<OidcProvider>,
    /// Isolation actions to the isolation executor, suspension actions to the suspension service.
    runner: Runners<AwsIsolation, AwsSuspensions>,
    metrics_namespace: String,
}

impl ApprovalsFunction {
    async fn handle(&self, event: LambdaEvent<ApprovalsEvent>) -> Result<Value, Failure> {
        let now = Utc::now();
        match event.payload {
            ApprovalsEvent::Page(request) => {
                let request = *request;
                let method = request.as_ref().map(|r| r.method.clone()).unwrap_or_default();
                let response = self.approvals.serve(request, &self.runner, &self.sign_in, now).await;
                println!(
                    "{}",
                    approval_page_emf(&self.metrics_namespace, &method, response.status.into(), now.timestamp_millis())
                );
                Ok(response.to_function_url_event())
            }
            ApprovalsEvent::Schedule(event)
                if (event.source.as_deref(), event.detail_type.as_deref())
                    == (Some("aws.events"), Some("Scheduled Event")) =>
            {
                let report =
                    self.approvals.expire(now).await.map_err(|e| Failure::new(FailureKind::ExpiryIncomplete, e))?;
                tracing::info!(expired = report.expired.len(), escalated = report.escalated, "expiry sweep");
                to_json(&report)
            }
            ApprovalsEvent::Schedule(event) => {
                Err(unsupported(event.source.as_deref().unwrap_or(""), event.detail_type.as_deref().unwrap_or("")))
            }
            ApprovalsEvent::Unrecognised { source, detail_type } => Err(unsupported(&source, &detail_type)),
        }
    }
}

fn unsupported(source: &str, detail_type: &str) -> Failure {
    Failure::new(
        FailureKind::EventRejected,
        format!(
            "unsupported event: source `{source}`, detail-type `{detail_type}`. The approvals function handles function URL \
             requests and \"Scheduled Event\""
        ),
    )
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    warden::telemetry::init();
    let (config, sdk, approvals) = warden::aws::wiring::from_env()
        .await
        .inspect_err(|e| tracing::error!(error = %e, "cannot start: fix the configuration"))?;
    let sign_in = async {
        let config = warden::config::SignInConfig::from_env().map_err(|e| e.to_string())?;
        warden::aws::wiring::sign_in(&config, &sdk).await
    }
    .await
    .inspect_err(|e| tracing::error!(error = %e, "cannot start: fix the sign-in configuration"))?;
    let function = ApprovalsFunction {
        approvals,
        sign_in,
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
