//! The Config rules Lambda: AWS Config invokes it for each custom rule (change, oversized and
//! scheduled notifications); it reports verdicts with `PutEvaluations` (≤ 100 a call) and keeps
//! every evaluation as evidence in the Warden table. The rule comes from the rule's `rule`
//! parameter or its name.

use chrono::Utc;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

use warden::aws::wiring::config_rules;
use warden::aws::{AwsConfigService, AwsInventory, DynamoStore};
use warden::compliance::service::{ConfigRules, ConfigRulesError};
use warden::compliance::ConfigRuleEvent;
use warden::edge::failure::{to_json, Failure, FailureKind};

struct Function {
    rules: ConfigRules<AwsConfigService, AwsInventory, DynamoStore, DynamoStore>,
}

impl Function {
    async fn handle(&self, event: LambdaEvent<ConfigRuleEvent>) -> Result<Value, Failure> {
        match self.rules.evaluate(&event.payload, Utc::now()).await {
            Ok(report) => {
                tracing::info!(
                    rule = report.rule,
                    trigger = report.trigger,
                    evaluations = report.evaluations,
                    non_compliant = report.non_compliant,
                    batches = report.batches,
                    "evaluated"
                );
                to_json(&report)
            }
            Err(ConfigRulesError::Event(e)) => {
                tracing::warn!(error = %e, "event rejected; nothing evaluated");
                Err(Failure::new(FailureKind::EventRejected, e))
            }
            Err(ConfigRulesError::Port(e)) => {
                tracing::error!(error = %e, "evaluation incomplete; AWS Config retries the invocation");
                Err(Failure::new(FailureKind::EvaluationIncomplete, e))
            }
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    warden::telemetry::init();
    let table = warden::config::table_name_from_env()
        .inspect_err(|e| tracing::error!(error = %e, "cannot start: fix the configuration"))?;
    let sdk = warden::aws::load_sdk_config().await;
    let function = Function { rules: config_rules(&table, &sdk) };
    tracing::info!(%table, "config rules ready");
    let function = &function;
    run(service_fn(move |event| function.handle(event))).await
}
