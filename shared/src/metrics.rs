//! Metrics as CloudWatch Embedded Metric Format: one JSON log line that CloudWatch Logs turns
//! into metrics, with no API call and no extra latency.

use serde_json::{json, Map, Value};

use crate::exposure::executor::Report;

/// The EMF line for one remediation or undo. Dimensions stay low-cardinality (function,
/// outcome); ids go in as plain properties, searchable in Logs Insights.
pub fn remediation_emf(namespace: &str, function: &str, report: &Report, timestamp_ms: i64) -> String {
    let mut line = Map::new();
    line.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [["Function", "Outcome"]],
                "Metrics": [
                    {"Name": "RulesRevoked", "Unit": "Count"},
                    {"Name": "RulesRestored", "Unit": "Count"},
                    {"Name": "StepsFailed", "Unit": "Count"},
                    {"Name": "RemediationDuration", "Unit": "Milliseconds"}
                ]
            }]
        }),
    );
    line.insert("Function".into(), json!(function));
    line.insert("Outcome".into(), json!(report.status));
    line.insert("RulesRevoked".into(), json!(report.revoked.len()));
    line.insert("RulesRestored".into(), json!(report.restored.len()));
    line.insert("StepsFailed".into(), json!(report.failed.len()));
    line.insert("RemediationDuration".into(), json!(report.duration_ms));
    line.insert("Kind".into(), json!(report.kind));
    line.insert("RemediationId".into(), json!(report.remediation_id));
    line.insert("EventId".into(), json!(report.event_id));
    line.insert("Duplicate".into(), json!(report.duplicate));
    Value::Object(line).to_string()
}

/// The EMF line for one isolation or release: time-to-containment is the figure that matters.
pub fn incident_emf(
    namespace: &str,
    function: &str,
    report: &crate::isolation::executor::IncidentReport,
    timestamp_ms: i64,
) -> String {
    let mut metrics = vec![
        json!({"Name": "IsolationSteps", "Unit": "Count"}),
        json!({"Name": "StepsFailed", "Unit": "Count"}),
        json!({"Name": "HandlerDuration", "Unit": "Milliseconds"}),
    ];
    let mut line = Map::new();
    if let Some(ttc) = report.time_to_containment_ms {
        metrics.push(json!({"Name": "TimeToContainment", "Unit": "Milliseconds"}));
        line.insert("TimeToContainment".into(), json!(ttc));
    }
    line.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{"Namespace": namespace, "Dimensions": [["Function", "Outcome"]], "Metrics": metrics}]
        }),
    );
    line.insert("Function".into(), json!(function));
    line.insert("Outcome".into(), json!(format!("{}_{}", report.kind, report.status)));
    line.insert("IsolationSteps".into(), json!(report.steps.len()));
    line.insert("StepsFailed".into(), json!(report.failed_steps()));
    line.insert("HandlerDuration".into(), json!(report.duration_ms));
    line.insert("IncidentId".into(), json!(report.incident_id));
    line.insert("InstanceId".into(), json!(report.instance_id));
    line.insert("Duplicate".into(), json!(report.duplicate));
    Value::Object(line).to_string()
}

/// The EMF line for one approval page: what kind of answer, so refusals (tampered, replayed,
/// expired links) can be alarmed on.
pub fn approval_page_emf(namespace: &str, method: &str, status: u64, timestamp_ms: i64) -> String {
    let outcome = match (method, status) {
        (_, 500..) => "error",
        ("POST", 303) => "sign_in_started",
        ("POST", 200) => "decided",
        (_, 401) => "refused_unauthenticated",
        (_, 200) => "page_shown",
        (_, 409) => "refused_replay",
        (_, 410) => "refused_expired",
        (_, 403) => "refused_token",
        (_, 404) => "refused_unknown",
        _ => "refused_request",
    };
    let mut line = Map::new();
    line.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{"Namespace": namespace, "Dimensions": [["Function", "Outcome"]], "Metrics": [{"Name": "ApprovalPages", "Unit": "Count"}]}]
        }),
    );
    line.insert("Function".into(), json!("approvals"));
    line.insert("Outcome".into(), json!(outcome));
    line.insert("ApprovalPages".into(), json!(1));
    line.insert("Method".into(), json!(method));
    line.insert("StatusCode".into(), json!(status));
    Value::Object(line).to_string()
}

/// The EMF line for one request through the validator (namespace `Custom/LLM` by default).
/// Per-caller counts (dimension `Caller`, and fleet-wide with no dimension) feed the alarms that
/// suspend abusive callers; `BlockedRequests` is counted by `Reason`.
pub fn validator_emf(namespace: &str, o: &crate::validator::service::Outcome, timestamp_ms: i64) -> String {
    let blocked = o.blocked();
    let mut directives = vec![
        json!({
            "Namespace": namespace,
            "Dimensions": [["Caller"], []],
            "Metrics": [
                {"Name": "Requests", "Unit": "Count"},
                {"Name": "PromptInjectionAttempts", "Unit": "Count"},
                {"Name": "AuthFailures", "Unit": "Count"},
                {"Name": "PiiDetections", "Unit": "Count"},
                {"Name": "SuspendedRequests", "Unit": "Count"}
            ]
        }),
        json!({
            "Namespace": namespace,
            "Dimensions": [[]],
            "Metrics": [{"Name": "ValidationLatency", "Unit": "Microseconds"}]
        }),
    ];
    let mut line = Map::new();
    if blocked {
        directives.push(json!({
            "Namespace": namespace,
            "Dimensions": [["Reason"]],
            "Metrics": [{"Name": "BlockedRequests", "Unit": "Count"}]
        }));
        line.insert("BlockedRequests".into(), json!(1));
        line.insert("Reason".into(), json!(o.reason.unwrap_or("-")));
    }
    if let Some(ms) = o.first_byte_ms {
        // How long a streamed answer's first tokens took to reach the caller.
        directives.push(json!({
            "Namespace": namespace,
            "Dimensions": [[]],
            "Metrics": [{"Name": "TimeToFirstByte", "Unit": "Milliseconds"}]
        }));
        line.insert("TimeToFirstByte".into(), json!(ms));
    }
    line.insert("_aws".into(), json!({"Timestamp": timestamp_ms, "CloudWatchMetrics": directives}));
    line.insert("Caller".into(), json!(o.caller.as_deref().unwrap_or("anonymous")));
    line.insert("Requests".into(), json!(1));
    line.insert("PromptInjectionAttempts".into(), json!(u8::from(o.injection)));
    line.insert("AuthFailures".into(), json!(u8::from(o.auth_failure)));
    line.insert("PiiDetections".into(), json!(u8::from(o.pii)));
    line.insert("SuspendedRequests".into(), json!(u8::from(o.suspended)));
    line.insert("ValidationLatency".into(), json!(o.validation_us));
    line.insert("Status".into(), json!(o.status));
    line.insert("RequestId".into(), json!(o.request_id));
    Value::Object(line).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_line_declares_its_metrics_and_carries_their_values() {
        let report = Report::ignored("e-1", "test");
        let line: Value =
            serde_json::from_str(&remediation_emf("Warden", "remediator", &report, 1_764_000_000_000)).unwrap();
        let declared = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(declared["Namespace"], "Warden");
        for metric in declared["Metrics"].as_array().unwrap() {
            let name = metric["Name"].as_str().unwrap();
            assert!(line[name].is_number(), "{name} has no value");
        }
        for dims in declared["Dimensions"][0].as_array().unwrap() {
            assert!(line[dims.as_str().unwrap()].is_string());
        }
        assert_eq!(line["Outcome"], "ignored");
        assert_eq!(line["_aws"]["Timestamp"], 1_764_000_000_000_i64);
    }

    #[test]
    fn a_stream_cut_by_the_output_guard_counts_as_blocked_and_reports_its_first_byte() {
        use crate::validator::service::Outcome;
        let cut =
            Outcome { status: 200, reason: Some("output_blocked"), first_byte_ms: Some(42), ..Outcome::default() };
        let line: Value = serde_json::from_str(&validator_emf("Custom/LLM", &cut, 0)).unwrap();
        assert_eq!((line["BlockedRequests"].as_u64(), line["Reason"].as_str()), (Some(1), Some("output_blocked")));
        assert_eq!(line["TimeToFirstByte"], 42);
        let declared: Vec<&str> = line["_aws"]["CloudWatchMetrics"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|d| d["Metrics"].as_array().unwrap().iter().map(|m| m["Name"].as_str().unwrap()))
            .collect();
        assert!(declared.contains(&"TimeToFirstByte") && declared.contains(&"BlockedRequests"), "{declared:?}");
        // A stream that timed out midway is not a block; an answered request reports no first byte.
        let late = Outcome { status: 200, reason: Some("upstream_timeout"), ..Outcome::default() };
        let line: Value = serde_json::from_str(&validator_emf("Custom/LLM", &late, 0)).unwrap();
        assert!(line.get("BlockedRequests").is_none() && line.get("TimeToFirstByte").is_none(), "{line}");
    }

    #[test]
    fn approval_pages_are_counted_by_outcome() {
        let outcome =
            |m, s| serde_json::from_str::<Value>(&approval_page_emf("Warden", m, s, 0)).unwrap()["Outcome"].clone();
        assert_eq!(outcome("GET", 200), "page_shown");
        assert_eq!(outcome("POST", 200), "decided");
        assert_eq!(outcome("POST", 403), "refused_token");
        assert_eq!(outcome("POST", 409), "refused_replay");
        assert_eq!(outcome("POST", 503), "error");
    }
}
