//! The request validator Lambda, behind API Gateway (REST proxy or HTTP API): every inference
//! request is checked (endpoint, schema, model registry, content, quota) and only then
//! forwarded to Ollama. Refusals are JSON errors with a stable code; each is logged as one
//! `SECURITY_WARNING` line and counted in EMF metrics (`Custom/LLM`).

use chrono::Utc;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

use warden::aws::wiring::request_guard;
use warden::aws::DynamoStore;
use warden::edge::failure::Failure;
use warden::http::GatewayEvent;
use warden::metrics::validator_emf;
use warden::validator::service::{log_outcome, RequestGuard};
use warden::validator::upstream::OllamaClient;

struct Validator {
    guard: RequestGuard<DynamoStore, DynamoStore, OllamaClient>,
    metrics_namespace: String,
}

impl Validator {
    async fn handle(&self, event: LambdaEvent<GatewayEvent>) -> Result<Value, Failure> {
        let now = Utc::now();
        let (response, outcome) = self.guard.serve(&event.payload, now).await;
        log_outcome(&outcome);
        println!("{}", validator_emf(&self.metrics_namespace, &outcome, now.timestamp_millis()));
        Ok(response.to_event())
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    warden::telemetry::init();
    let config = warden::config::ValidatorConfig::from_env()
        .inspect_err(|e| tracing::error!(error = %e, "cannot start: fix the configuration"))?;
    let sdk = warden::aws::load_sdk_config().await;
    let validator =
        Validator { guard: request_guard(&config, &sdk), metrics_namespace: config.metrics_namespace.clone() };
    tracing::info!(table = %config.table_name, ollama = %config.ollama_url, "request validator ready");
    let validator = &validator;
    run(service_fn(move |event| validator.handle(event))).await
}
