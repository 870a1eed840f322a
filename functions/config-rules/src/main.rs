//! The Config rules Lambda: AWS Config invokes it for each custom rule (change, oversized and
//! scheduled notifications); it reports verdicts with `PutEvaluations` (≤ 100 a call) and keeps
//! every evaluation as evidence in the Warden table. The rule comes from the rule's `rule`
//! parameter or its name.

use chrono::Utc;
use lambda_runtime::{run, service_fn, Diagnostic, Error, LambdaEvent};
use serde_json::Value;

use warden::aws::wiring::config_rules;
use warden::aws::{AwsConfigService, AwsInventory, DynamoStore};
use warden::compliance::service::{ConfigRules, ConfigRulesError};

struct Function {
    rules: ConfigRules<AwsConfigService, AwsInventory, DynamoStore, DynamoStore>,
}

impl Function {
    async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
        match self.rules.handle(&event.payload, Utc::now()).await {
            Ok(report) => {
                tracing::info!(
                    rule = report.rule,
                    trigger = report.trigger,
                    evaluations = report.evaluations,
                    non_compliant = report.non_compliant,
                    batches = report.batches,
                    "evaluated"
                );
                serde_json::to_value(&report)
                    .map_err(|e| Diagnostic { error_type: "Warden.InternalError".into(), error_message: e.to_string() })
            }
            Err(ConfigRulesError::Event(e)) => {
                tracing::warn!(error = %e, "event rejected; nothing evaluated");
                Err(Diagnostic { error_type: "Warden.EventRejected".into(), error_message: e.to_string() })
            }
            Err(ConfigRulesError::Port(e)) => {
                tracing::error!(error = %e, "evaluation incomplete; AWS Config retries the invocation");
                Err(Diagnostic { error_type: "Warden.EvaluationIncomplete".into(), error_message: e.to_string() })
            }
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    warden::telemetry::init();
    let table = std::env::var("WARDEN_TABLE_NAME").ok().filter(|t| !t.trim().is_empty()).ok_or_else(|| {
        tracing::error!("cannot start: WARDEN_TABLE_NAME is not set (the DynamoDB table Warden records to)");
        "WARDEN_TABLE_NAME is not set"
    })?;
    let sdk = warden::aws::load_sdk_config().await;
    let function = Function { rules: config_rules(&table, &sdk) };
    tracing::info!(%table, "config rules ready");
    let function = &function;
    run(service_fn(move |event| function.handle(event))).await
}
