//! The request validator Lambda, behind API Gateway (REST proxy with response streaming): every
//! inference request is checked (endpoint, schema, model registry, content, quota) and only then
//! forwarded to Ollama; a streamed answer is relayed as Ollama writes it. Refusals are JSON
//! errors with a stable code; each is logged as one `SECURITY_WARNING` line and counted in EMF
//! metrics (`Custom/LLM`).

use chrono::{DateTime, Utc};
use lambda_runtime::streaming::{Body, Response};
use lambda_runtime::{run, service_fn, Error, FunctionResponse, LambdaEvent, MetadataPrelude};
use serde_json::Value;

use warden::aws::wiring::request_guard;
use warden::aws::DynamoStore;
use warden::edge::failure::Failure;
use warden::http::{GatewayEvent, HttpResponse};
use warden::metrics::validator_emf;
use warden::validator::relay::{Piece, Served};
use warden::validator::service::{log_outcome, Outcome, RequestGuard};
use warden::validator::upstream::OllamaClient;

struct Validator {
    guard: RequestGuard<DynamoStore, DynamoStore, OllamaClient>,
    metrics_namespace: String,
    /// `WARDEN_RESPONSE_MODE=stream`: answers in Lambda's streaming format.
    streams: bool,
}

impl Validator {
    /// Streaming: every answer is a stream (the integration streams): the status and headers
    /// first, then the body whole or as it comes. A stream's log line and metrics are written
    /// when it ends, before its last byte is released, so the function is never frozen with them
    /// unwritten. Buffered: one proxy response, a stream read to its end first.
    async fn handle(&'static self, event: LambdaEvent<GatewayEvent>) -> Result<FunctionResponse<Value, Body>, Failure> {
        let now = Utc::now();
        let served = self.guard.serve(&event.payload, now).await;
        if !self.streams {
            let (response, outcome) = served.collect().await;
            self.report(&outcome, now);
            return Ok(FunctionResponse::BufferedResponse(response.to_event()));
        }
        Ok(FunctionResponse::StreamingResponse(match served {
            Served::Whole(response, outcome) => {
                self.report(&outcome, now);
                Response { metadata_prelude: prelude(&response), stream: Body::from(response.body) }
            }
            Served::Streaming(head, mut pieces) => {
                let (mut to, stream) = Body::channel();
                tokio::spawn(async move {
                    let mut caller_left = false;
                    while let Some(piece) = pieces.recv().await {
                        match piece {
                            Piece::Data(bytes) if !caller_left => caller_left = to.send_data(bytes).await.is_err(),
                            Piece::Data(_) => {}
                            Piece::Done(outcome) => self.report(&outcome, now),
                        }
                    }
                });
                Response { metadata_prelude: prelude(&head), stream }
            }
        }))
    }

    fn report(&self, outcome: &Outcome, now: DateTime<Utc>) {
        log_outcome(outcome);
        println!("{}", validator_emf(&self.metrics_namespace, outcome, now.timestamp_millis()));
    }
}

/// The status and headers API Gateway sends before the body.
fn prelude(response: &HttpResponse) -> MetadataPrelude {
    let mut headers = http::HeaderMap::new();
    for (name, value) in response.header_pairs() {
        if let (Ok(name), Ok(value)) = (http::HeaderName::try_from(name), http::HeaderValue::try_from(value)) {
            headers.append(name, value);
        }
    }
    MetadataPrelude {
        status_code: http::StatusCode::from_u16(response.status).unwrap_or(http::StatusCode::BAD_GATEWAY),
        headers,
        cookies: Vec::new(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    warden::telemetry::init();
    let config = warden::config::ValidatorConfig::from_env()
        .inspect_err(|e| tracing::error!(error = %e, "cannot start: fix the configuration"))?;
    let sdk = warden::aws::load_sdk_config().await;
    // Built once and kept for the life of the process; a relayed stream outlives its handler call.
    let validator: &'static Validator = Box::leak(Box::new(Validator {
        guard: request_guard(&config, &sdk),
        metrics_namespace: config.metrics_namespace.clone(),
        streams: config.streams_responses,
    }));
    let mode = if config.streams_responses { "stream" } else { "buffered" };
    tracing::info!(table = %config.table_name, ollama = %config.ollama_url, mode, "request validator ready");
    run(service_fn(move |event| validator.handle(event))).await
}
