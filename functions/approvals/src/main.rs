//! The approvals Lambda, behind a function URL: `GET` shows a confirmation page and changes
//! nothing; only a `POST` of that page's form with a valid, unexpired, single-use token decides,
//! and an approval runs the recorded plan through the same executor the remediator uses. A
//! "Scheduled Event" marks expired requests and escalates them.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::Utc;
use lambda_runtime::{run, service_fn, Diagnostic, Error, LambdaEvent};
use serde_json::{json, Value};

use warden::approval::outcome_page;
use warden::approvals::{Approvals, PageResponse, Requester, TokenFields};
use warden::aws::{
    approvals, isolation_executor, load_approval_key, load_sdk_config, AwsFleet, DynamoStore, Ec2Compute, SnsNotifier,
};
use warden::config::{ApprovalConfig, RemediatorConfig};
use warden::isolation_executor::IsolationExecutor;

/// Larger form bodies are refused: the page's form is a few hundred bytes.
const MAX_BODY_BYTES: usize = 4096;

struct ApprovalsFunction {
    approvals: Approvals<DynamoStore, SnsNotifier>,
    runner: IsolationExecutor<Ec2Compute, AwsFleet, DynamoStore, SnsNotifier>,
}

fn header<'a>(event: &'a Value, name: &str) -> &'a str {
    event
        .get("headers")
        .and_then(Value::as_object)
        .and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).and_then(|(_, v)| v.as_str()))
        .unwrap_or("")
}

fn http_response(page: PageResponse) -> Value {
    json!({
        "statusCode": page.status,
        "headers": {
            "content-type": "text/html; charset=utf-8",
            "cache-control": "no-store",
            "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            "x-content-type-options": "nosniff",
            "referrer-policy": "no-referrer",
            "x-frame-options": "DENY"
        },
        "body": page.html,
        "isBase64Encoded": false
    })
}

fn refused(status: u16, title: &str, message: &str) -> PageResponse {
    PageResponse { status, html: outcome_page(title, message, false) }
}

impl ApprovalsFunction {
    async fn http(&self, event: &Value) -> PageResponse {
        let now = Utc::now();
        let method = event.pointer("/requestContext/http/method").and_then(Value::as_str).unwrap_or("");
        let who = Requester {
            source_ip: event
                .pointer("/requestContext/http/sourceIp")
                .and_then(Value::as_str)
                .unwrap_or("unknown")
                .to_string(),
            user_agent: event
                .pointer("/requestContext/http/userAgent")
                .and_then(Value::as_str)
                .unwrap_or("unknown")
                .chars()
                .take(256)
                .collect(),
        };
        match method {
            "GET" | "HEAD" => {
                let query = event.get("rawQueryString").and_then(Value::as_str).unwrap_or("");
                self.approvals.page(&TokenFields::parse(query), &who, now).await
            }
            "POST" => {
                let raw = event.get("body").and_then(Value::as_str).unwrap_or("");
                if raw.len() > MAX_BODY_BYTES * 2 {
                    return refused(413, "Too large", "That form is far larger than Warden's. Nothing was done.");
                }
                let body = if event.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) {
                    match STANDARD.decode(raw).ok().and_then(|b| String::from_utf8(b).ok()) {
                        Some(b) => b,
                        None => {
                            return refused(400, "Unreadable form", "The form could not be read. Nothing was done.")
                        }
                    }
                } else {
                    raw.to_string()
                };
                if body.len() > MAX_BODY_BYTES {
                    return refused(413, "Too large", "That form is far larger than Warden's. Nothing was done.");
                }
                let content_type = header(event, "content-type");
                if !content_type.starts_with("application/x-www-form-urlencoded") {
                    return refused(415, "Not a form", "Only the page's own form can decide. Nothing was done.");
                }
                self.approvals.decide(&TokenFields::parse(&body), &who, &self.runner, now).await
            }
            _ => refused(405, "Not allowed", "Open the link from the email. Nothing was done."),
        }
    }

    async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
        let raw = event.payload;
        if raw.pointer("/requestContext/http/method").is_some() {
            let page = self.http(&raw).await;
            tracing::info!(status = page.status, "page served");
            return Ok(http_response(page));
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
    let config = RemediatorConfig::from_env().inspect_err(|e| tracing::error!(error = %e, "invalid configuration"))?;
    let approval_config =
        ApprovalConfig::from_env().inspect_err(|e| tracing::error!(error = %e, "invalid configuration"))?;
    let sdk = load_sdk_config().await;
    let key = load_approval_key(&sdk, &approval_config.key)
        .await
        .inspect_err(|e| tracing::error!(error = %e, "no approval key"))?;
    let function = ApprovalsFunction {
        approvals: approvals(&approval_config, &config.table_name, key, &sdk),
        runner: isolation_executor(&config, &sdk),
    };
    tracing::info!(table = %config.table_name, "approvals ready");
    let function = &function;
    run(service_fn(move |event| function.handle(event))).await
}
