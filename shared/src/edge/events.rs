//! The edge: raw events (EventBridge envelopes) become typed requests, or a clear error.
//!
//! Parsing never trusts an event for *what* to revoke, only for *where to look*: the planner
//! always works from the groups' current rules, so a stale or forged event cannot make Warden
//! revoke a rule that is not world-open right now.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::exposure::is_security_group_id;
use crate::exposure::plan::{Trigger, TriggerKind};
use crate::isolation::{is_instance_id, IsolationTrigger, ThreatSource};
use crate::suspension::{valid_caller, AbuseMetric, CallerAlarm};

/// CloudTrail calls that can open ingress and that the remediator reacts to.
pub const CLOUDTRAIL_EVENT_NAMES: [&str; 2] = ["AuthorizeSecurityGroupIngress", "ModifySecurityGroupRules"];

/// EventBridge detail-type of Warden's own undo request.
pub const UNDO_DETAIL_TYPE: &str = "Warden Undo Request";

/// EventBridge detail-type of Warden's own release request (of an isolated instance).
pub const RELEASE_DETAIL_TYPE: &str = "Warden Release Request";

/// EventBridge source of events Warden itself emits.
pub const WARDEN_SOURCE: &str = "warden";

/// What the remediator was asked to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    Remediate(Trigger),
    Isolate(IsolationTrigger),
    Undo {
        remediation_id: String,
        requested_by: String,
    },
    Release {
        incident_id: String,
        requested_by: String,
    },
    /// An alarm on the request validator's abuse metrics (`Custom/LLM`): suspend the caller, or
    /// ask to tighten the fleet's limits.
    CallerAlarm(CallerAlarm),
    /// A well-formed event that needs nothing: a failed API call, a COMPLIANT verdict, …
    Ignore {
        event_id: String,
        reason: String,
    },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EventError {
    #[error("the event is not an EventBridge event: missing or non-string `{0}`")]
    MissingField(&'static str),
    #[error("`{field}` is invalid: {why}")]
    Invalid { field: &'static str, why: String },
    #[error(
        "unsupported event: source `{event_source}`, detail-type `{detail_type}`. The remediator handles \
         \"AWS API Call via CloudTrail\" (AuthorizeSecurityGroupIngress, ModifySecurityGroupRules), \
         \"Config Rules Compliance Change\", \"Scheduled Event\", \"CloudWatch Alarm State Change\" (and the \
         alarm-action payload), \"GuardDuty Finding\", \"Warden Undo Request\" and \"Warden Release Request\""
    )]
    Unsupported { event_source: String, detail_type: String },
}

/// The common EventBridge envelope.
#[derive(Debug, Deserialize)]
struct Envelope {
    id: Option<String>,
    #[serde(rename = "detail-type")]
    detail_type: Option<String>,
    source: Option<String>,
    account: Option<String>,
    time: Option<String>,
    region: Option<String>,
    #[serde(default)]
    resources: Vec<String>,
    #[serde(default)]
    detail: Value,
}

pub fn parse_event(raw: &Value) -> Result<Request, EventError> {
    // A CloudWatch alarm's Lambda action sends its own shape, not an EventBridge envelope.
    if raw.get("alarmData").is_some() && raw.get("detail-type").is_none() {
        return alarm_action(raw);
    }
    let env: Envelope =
        serde_json::from_value(raw.clone()).map_err(|e| EventError::Invalid { field: "event", why: e.to_string() })?;
    let id = env.id.clone().filter(|s| !s.is_empty()).ok_or(EventError::MissingField("id"))?;
    let detail_type = env.detail_type.clone().ok_or(EventError::MissingField("detail-type"))?;
    let source = env.source.clone().ok_or(EventError::MissingField("source"))?;
    let time_raw = env.time.clone().ok_or(EventError::MissingField("time"))?;
    let time = parse_time(&time_raw)?;
    if !env.detail.is_object() {
        return Err(EventError::Invalid { field: "detail", why: "must be a JSON object".into() });
    }

    let kind = match (source.as_str(), detail_type.as_str()) {
        ("aws.ec2", "AWS API Call via CloudTrail") => match cloudtrail(&env.detail)? {
            Ok(kind) => kind,
            Err(reason) => return Ok(Request::Ignore { event_id: id, reason }),
        },
        ("aws.config", "Config Rules Compliance Change") => match config_compliance(&env.detail)? {
            Ok(kind) => kind,
            Err(reason) => return Ok(Request::Ignore { event_id: id, reason }),
        },
        ("aws.events", "Scheduled Event") => {
            let rule = env
                .resources
                .first()
                .map(|arn| arn.rsplit('/').next().unwrap_or(arn).to_string())
                .unwrap_or_else(|| "schedule".to_string());
            TriggerKind::ScheduledSweep { rule }
        }
        (WARDEN_SOURCE, UNDO_DETAIL_TYPE) => return undo(&env.detail),
        (WARDEN_SOURCE, RELEASE_DETAIL_TYPE) => return release(&env.detail),
        ("aws.cloudwatch", "CloudWatch Alarm State Change") => {
            if let Some(request) = caller_alarm(&env.detail, &id, time)? {
                return Ok(request);
            }
            let alarm = alarm(&env.detail)?;
            return Ok(finish_isolation(alarm, id, time, env.account, env.region));
        }
        ("aws.guardduty", "GuardDuty Finding") => {
            let finding = guardduty(&env.detail)?;
            return Ok(finish_isolation(finding, id, time, env.account, env.region));
        }
        _ => return Err(EventError::Unsupported { event_source: source, detail_type }),
    };
    Ok(Request::Remediate(Trigger { event_id: id, event_time: time, kind, account: env.account, region: env.region }))
}

/// RFC 3339, or the `+0000` offset form CloudWatch alarm actions use.
fn parse_time(raw: &str) -> Result<DateTime<Utc>, EventError> {
    raw.parse::<DateTime<Utc>>()
        .or_else(|_| DateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f%z").map(|t| t.with_timezone(&Utc)))
        .map_err(|e| EventError::Invalid { field: "time", why: format!("{raw:?} is not RFC 3339: {e}") })
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

fn push_group(groups: &mut Vec<String>, id: &str) -> Result<(), EventError> {
    if !is_security_group_id(id) {
        return Err(EventError::Invalid { field: "groupId", why: format!("{id:?} is not a security group id") });
    }
    if !groups.iter().any(|g| g == id) {
        groups.push(id.to_string());
    }
    Ok(())
}

/// The inner `Result` is `Err(reason)` for a well-formed event that needs no action.
fn cloudtrail(detail: &Value) -> Result<Result<TriggerKind, String>, EventError> {
    let name = str_at(detail, "/eventName").ok_or(EventError::MissingField("detail.eventName"))?;
    if !CLOUDTRAIL_EVENT_NAMES.contains(&name) {
        return Ok(Err(format!("CloudTrail {name} cannot open ingress; nothing to check")));
    }
    if let Some(code) = str_at(detail, "/errorCode") {
        return Ok(Err(format!("CloudTrail {name} failed with {code}; nothing changed")));
    }
    let mut groups = Vec::new();
    for pointer in ["/requestParameters/groupId", "/requestParameters/ModifySecurityGroupRulesRequest/GroupId"] {
        if let Some(id) = str_at(detail, pointer) {
            push_group(&mut groups, id)?;
        }
    }
    // A call by group name (default VPC) names the group id only in the response.
    if let Some(items) = detail.pointer("/responseElements/securityGroupRuleSet/items").and_then(Value::as_array) {
        for id in items.iter().filter_map(|i| i.get("groupId").and_then(Value::as_str)) {
            push_group(&mut groups, id)?;
        }
    }
    if groups.is_empty() {
        return Err(EventError::MissingField("detail.requestParameters.groupId"));
    }
    Ok(Ok(TriggerKind::CloudTrail {
        event_name: name.to_string(),
        group_ids: groups,
        actor: str_at(detail, "/userIdentity/arn").map(str::to_string),
        source_ip: str_at(detail, "/sourceIPAddress").map(str::to_string),
    }))
}

fn config_compliance(detail: &Value) -> Result<Result<TriggerKind, String>, EventError> {
    let resource_type = str_at(detail, "/resourceType").ok_or(EventError::MissingField("detail.resourceType"))?;
    let resource_id = str_at(detail, "/resourceId").ok_or(EventError::MissingField("detail.resourceId"))?;
    let rule_name = str_at(detail, "/configRuleName").ok_or(EventError::MissingField("detail.configRuleName"))?;
    let compliance = str_at(detail, "/newEvaluationResult/complianceType")
        .ok_or(EventError::MissingField("detail.newEvaluationResult.complianceType"))?;
    if resource_type != "AWS::EC2::SecurityGroup" {
        return Ok(Err(format!("Config rule {rule_name} is about {resource_type}, not a security group")));
    }
    if compliance != "NON_COMPLIANT" {
        return Ok(Err(format!("Config rule {rule_name} reports {resource_id} as {compliance}")));
    }
    let mut groups = Vec::new();
    push_group(&mut groups, resource_id)?;
    Ok(Ok(TriggerKind::ConfigCompliance { rule_name: rule_name.to_string(), group_ids: groups }))
}

/// What an isolation event says, before the envelope's id and time are added.
enum Threat {
    Act { source: ThreatSource, instance_id: Option<String>, asg_name: Option<String> },
    Ignore(String),
}

fn finish_isolation(
    threat: Threat,
    event_id: String,
    time: DateTime<Utc>,
    account: Option<String>,
    region: Option<String>,
) -> Request {
    match threat {
        Threat::Ignore(reason) => Request::Ignore { event_id, reason },
        Threat::Act { source, instance_id, asg_name } => Request::Isolate(IsolationTrigger {
            event_id,
            event_time: time,
            source,
            instance_id,
            asg_name,
            account,
            region,
        }),
    }
}

/// The namespace of the request validator's metrics.
pub const LLM_METRICS_NAMESPACE: &str = "Custom/LLM";

/// An alarm on `Custom/LLM` `PromptInjectionAttempts` or `AuthFailures` (with a `Caller`
/// dimension, or fleet-wide without one). `None`: some other alarm.
fn caller_alarm(data: &Value, event_id: &str, time: DateTime<Utc>) -> Result<Option<Request>, EventError> {
    let metrics = data.pointer("/configuration/metrics").and_then(Value::as_array).cloned().unwrap_or_default();
    let watched = metrics.iter().find_map(|m| {
        let metric = m.pointer("/metricStat/metric")?;
        if metric.get("namespace").and_then(Value::as_str) != Some(LLM_METRICS_NAMESPACE) {
            return None;
        }
        let name = AbuseMetric::parse(metric.get("name").and_then(Value::as_str)?)?;
        Some((name, metric.pointer("/dimensions/Caller").and_then(Value::as_str).map(str::to_string)))
    });
    let Some((metric, caller)) = watched else { return Ok(None) };
    let name = str_at(data, "/alarmName").ok_or(EventError::MissingField("alarmName"))?;
    let state = str_at(data, "/state/value").ok_or(EventError::MissingField("state.value"))?;
    let previous = str_at(data, "/previousState/value").unwrap_or("INSUFFICIENT_DATA");
    if state != "ALARM" || previous == "ALARM" {
        return Ok(Some(Request::Ignore {
            event_id: event_id.to_string(),
            reason: format!("alarm {name} went {previous} -> {state}; only a transition into ALARM acts"),
        }));
    }
    if let Some(c) = &caller {
        if !valid_caller(c) {
            return Err(EventError::Invalid {
                field: "Caller",
                why: format!("{:?} is not a caller id", c.chars().take(64).collect::<String>()),
            });
        }
    }
    Ok(Some(Request::CallerAlarm(CallerAlarm {
        event_id: event_id.to_string(),
        event_time: time,
        alarm_name: name.to_string(),
        metric,
        caller,
        reason: str_at(data, "/state/reason").map(|r| r.chars().take(300).collect()),
    })))
}

/// The alarm part shared by the EventBridge event (`detail`) and the alarm action (`alarmData`).
fn alarm(data: &Value) -> Result<Threat, EventError> {
    let name = str_at(data, "/alarmName").ok_or(EventError::MissingField("alarmName"))?;
    let state = str_at(data, "/state/value").ok_or(EventError::MissingField("state.value"))?;
    let previous = str_at(data, "/previousState/value").unwrap_or("INSUFFICIENT_DATA");
    if state != "ALARM" || previous == "ALARM" {
        return Ok(Threat::Ignore(format!(
            "alarm {name} went {previous} -> {state}; only a transition into ALARM acts"
        )));
    }
    let metrics = data.pointer("/configuration/metrics").and_then(Value::as_array).cloned().unwrap_or_default();
    let dimension = |key: &str| {
        metrics.iter().find_map(|m| {
            m.pointer(&format!("/metricStat/metric/dimensions/{key}")).and_then(Value::as_str).map(str::to_string)
        })
    };
    let instance_id = dimension("InstanceId");
    if let Some(id) = &instance_id {
        if !is_instance_id(id) {
            return Err(EventError::Invalid { field: "InstanceId", why: format!("{id:?} is not an instance id") });
        }
    }
    let metric = metrics.iter().find_map(|m| {
        let ns = m.pointer("/metricStat/metric/namespace").and_then(Value::as_str)?;
        let n = m.pointer("/metricStat/metric/name").and_then(Value::as_str)?;
        Some(format!("{ns}/{n}"))
    });
    Ok(Threat::Act {
        source: ThreatSource::Alarm {
            alarm_name: name.to_string(),
            metric,
            reason: str_at(data, "/state/reason").map(|r| r.chars().take(500).collect()),
        },
        instance_id,
        asg_name: dimension("AutoScalingGroupName"),
    })
}

/// The payload a CloudWatch alarm sends to a Lambda action.
fn alarm_action(raw: &Value) -> Result<Request, EventError> {
    if str_at(raw, "/source") != Some("aws.cloudwatch") {
        return Err(EventError::Invalid {
            field: "source",
            why: "an alarm-action payload comes from aws.cloudwatch".into(),
        });
    }
    let arn = str_at(raw, "/alarmArn").ok_or(EventError::MissingField("alarmArn"))?;
    let time_raw = str_at(raw, "/time").ok_or(EventError::MissingField("time"))?;
    let time = parse_time(time_raw)?;
    let data = raw.get("alarmData").filter(|d| d.is_object()).ok_or(EventError::MissingField("alarmData"))?;
    // The action payload has no event id: the alarm and the instant of its state change name it.
    let stamp = str_at(data, "/state/timestamp").unwrap_or(time_raw);
    let event_id = format!("{arn}@{stamp}");
    if let Some(request) = caller_alarm(data, &event_id, time)? {
        return Ok(request);
    }
    let threat = alarm(data)?;
    Ok(finish_isolation(
        threat,
        event_id,
        time,
        str_at(raw, "/accountId").map(str::to_string),
        str_at(raw, "/region").map(str::to_string),
    ))
}

fn guardduty(detail: &Value) -> Result<Threat, EventError> {
    let finding_type = str_at(detail, "/type").ok_or(EventError::MissingField("detail.type"))?;
    let finding_id = str_at(detail, "/id").ok_or(EventError::MissingField("detail.id"))?;
    let severity =
        detail.pointer("/severity").and_then(Value::as_f64).ok_or(EventError::MissingField("detail.severity"))?;
    if !(0.0..=10.0).contains(&severity) {
        return Err(EventError::Invalid { field: "detail.severity", why: format!("{severity} is outside 0-10") });
    }
    if detail.pointer("/service/archived").and_then(Value::as_bool) == Some(true) {
        return Ok(Threat::Ignore(format!("GuardDuty finding {finding_id} is archived")));
    }
    // Instance findings, and credential findings (resource `AccessKey`) that carry the instance
    // whose role credentials leaked, both name it here.
    let Some(instance_id) = str_at(detail, "/resource/instanceDetails/instanceId") else {
        let resource_type = str_at(detail, "/resource/resourceType").unwrap_or("unknown");
        return Ok(Threat::Ignore(format!("GuardDuty {finding_type} is about a {resource_type}, not an EC2 instance")));
    };
    if !is_instance_id(instance_id) {
        return Err(EventError::Invalid { field: "instanceId", why: format!("{instance_id:?} is not an instance id") });
    }
    Ok(Threat::Act {
        source: ThreatSource::GuardDuty {
            finding_id: finding_id.to_string(),
            finding_type: finding_type.to_string(),
            severity,
            title: str_at(detail, "/title").map(str::to_string),
        },
        instance_id: Some(instance_id.to_string()),
        asg_name: None,
    })
}

fn release(detail: &Value) -> Result<Request, EventError> {
    let id = str_at(detail, "/incident_id").ok_or(EventError::MissingField("detail.incident_id"))?;
    if !id.starts_with("inc-") || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(EventError::Invalid { field: "detail.incident_id", why: format!("{id:?} is not an incident id") });
    }
    let by = str_at(detail, "/requested_by").ok_or(EventError::MissingField("detail.requested_by"))?;
    if by.trim().is_empty() {
        return Err(EventError::Invalid { field: "detail.requested_by", why: "must name who asks".into() });
    }
    Ok(Request::Release { incident_id: id.to_string(), requested_by: by.to_string() })
}

fn undo(detail: &Value) -> Result<Request, EventError> {
    let id = str_at(detail, "/remediation_id").ok_or(EventError::MissingField("detail.remediation_id"))?;
    if !id.starts_with("rem-") || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(EventError::Invalid {
            field: "detail.remediation_id",
            why: format!("{id:?} is not a remediation id"),
        });
    }
    let by = str_at(detail, "/requested_by").ok_or(EventError::MissingField("detail.requested_by"))?;
    if by.trim().is_empty() {
        return Err(EventError::Invalid { field: "detail.requested_by", why: "must name who asks".into() });
    }
    Ok(Request::Undo { remediation_id: id.to_string(), requested_by: by.to_string() })
}

#[cfg(test)]
mod tests {

    #[test]
    fn abuse_alarms_become_caller_alarms() {
        let raw: Value = serde_json::from_str(include_str!(
            "../../../events/remediator/cloudwatch-alarm-prompt-injection-caller.json"
        ))
        .unwrap();
        let Request::CallerAlarm(a) = parse_event(&raw).unwrap() else { panic!("expected a caller alarm") };
        assert_eq!(
            (a.caller.as_deref(), a.metric, a.alarm_name.as_str()),
            (Some("team-web"), AbuseMetric::PromptInjectionAttempts, "llm-prompt-injection-team-web")
        );
        let raw: Value =
            serde_json::from_str(include_str!("../../../events/remediator/cloudwatch-alarm-auth-failures-fleet.json"))
                .unwrap();
        let Request::CallerAlarm(a) = parse_event(&raw).unwrap() else { panic!("expected a caller alarm") };
        assert_eq!((a.caller, a.metric), (None, AbuseMetric::AuthFailures));
        // Back to OK: nothing to do.
        let mut ok = raw.clone();
        ok["detail"]["state"]["value"] = "OK".into();
        ok["detail"]["previousState"]["value"] = "ALARM".into();
        assert!(matches!(parse_event(&ok).unwrap(), Request::Ignore { .. }));
        // A caller id that cannot be a key is an error, not a suspension.
        let mut bad: Value = serde_json::from_str(include_str!(
            "../../../events/remediator/cloudwatch-alarm-prompt-injection-caller.json"
        ))
        .unwrap();
        bad["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"]["Caller"] = "a#b".into();
        assert!(parse_event(&bad).is_err());
    }
    use super::*;
    use serde_json::json;

    fn sample(name: &str) -> Value {
        let path = format!("{}/../events/remediator/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap()
    }

    fn groups_of(req: Request) -> Vec<String> {
        match req {
            Request::Remediate(t) => t.scope().expect("scoped trigger").to_vec(),
            other => panic!("expected a remediation, got {other:?}"),
        }
    }

    #[test]
    fn cloudtrail_authorize_sample_names_its_group_and_actor() {
        let req = parse_event(&sample("cloudtrail-authorize-sg-ingress-11434.json")).unwrap();
        let Request::Remediate(t) = req else { panic!("{req:?}") };
        assert_eq!(t.scope().unwrap(), ["sg-0a1b2c3d4e5f60718"]);
        let TriggerKind::CloudTrail { event_name, actor, source_ip, .. } = &t.kind else { panic!() };
        assert_eq!(event_name, "AuthorizeSecurityGroupIngress");
        assert!(actor.as_deref().unwrap().starts_with("arn:aws:sts::"));
        assert!(source_ip.is_some());
    }

    #[test]
    fn every_remediating_sample_parses() {
        for name in [
            "cloudtrail-authorize-sg-ingress-11434.json",
            "cloudtrail-authorize-sg-ingress-ssh-ipv6.json",
            "cloudtrail-modify-sg-rules-all-traffic.json",
            "config-compliance-change-sg-noncompliant.json",
        ] {
            assert_eq!(groups_of(parse_event(&sample(name)).unwrap()), ["sg-0a1b2c3d4e5f60718"], "{name}");
        }
        let sweep = parse_event(&sample("scheduled-sweep.json")).unwrap();
        let Request::Remediate(t) = sweep else { panic!() };
        assert_eq!(t.scope(), None);
        assert_eq!(t.kind, TriggerKind::ScheduledSweep { rule: "warden-exposure-sweep".into() });
    }

    #[test]
    fn undo_sample_parses() {
        let req = parse_event(&sample("warden-undo-request.json")).unwrap();
        assert!(matches!(req, Request::Undo { ref remediation_id, .. } if remediation_id.starts_with("rem-")));
    }

    #[test]
    fn compliant_config_change_is_ignored_not_an_error() {
        let mut ev = sample("config-compliance-change-sg-noncompliant.json");
        ev["detail"]["newEvaluationResult"]["complianceType"] = json!("COMPLIANT");
        assert!(matches!(parse_event(&ev).unwrap(), Request::Ignore { .. }));
    }

    #[test]
    fn failed_api_call_is_ignored() {
        let mut ev = sample("cloudtrail-authorize-sg-ingress-11434.json");
        ev["detail"]["errorCode"] = json!("Client.UnauthorizedOperation");
        let Request::Ignore { reason, .. } = parse_event(&ev).unwrap() else { panic!() };
        assert!(reason.contains("UnauthorizedOperation"));
    }

    #[test]
    fn unknown_event_is_a_clear_error() {
        let mut ev = sample("scheduled-sweep.json");
        ev["source"] = json!("aws.s3");
        ev["detail-type"] = json!("Object Created");
        let err = parse_event(&ev).unwrap_err();
        assert!(matches!(err, EventError::Unsupported { .. }));
        assert!(err.to_string().contains("aws.s3"));
    }

    #[test]
    fn malformed_events_are_clear_errors_never_panics() {
        for (ev, needle) in [
            (json!(null), "event"),
            (json!("text"), "event"),
            (json!({}), "id"),
            (json!({"id": "x", "detail-type": "Scheduled Event", "source": "aws.events"}), "time"),
            (
                json!({"id": "x", "detail-type": "Scheduled Event", "source": "aws.events", "time": "yesterday", "detail": {}}),
                "time",
            ),
            (
                json!({"id": "x", "detail-type": "Scheduled Event", "source": "aws.events", "time": "2026-11-26T12:00:00Z", "detail": []}),
                "detail",
            ),
            (
                json!({"id": "x", "detail-type": "AWS API Call via CloudTrail", "source": "aws.ec2", "time": "2026-11-26T12:00:00Z", "detail": {"eventName": "AuthorizeSecurityGroupIngress"}}),
                "groupId",
            ),
            (
                json!({"id": "x", "detail-type": "AWS API Call via CloudTrail", "source": "aws.ec2", "time": "2026-11-26T12:00:00Z", "detail": {"eventName": "AuthorizeSecurityGroupIngress", "requestParameters": {"groupId": "sg-'; drop"}}}),
                "not a security group id",
            ),
            (
                json!({"id": "x", "detail-type": "Warden Undo Request", "source": "warden", "time": "2026-11-26T12:00:00Z", "detail": {"remediation_id": "rem-1"}}),
                "requested_by",
            ),
        ] {
            let err = parse_event(&ev).unwrap_err().to_string();
            assert!(err.contains(needle), "{ev}: {err}");
        }
    }

    #[test]
    fn group_ids_are_validated() {
        assert!(is_security_group_id("sg-0a1b2c3d4e5f60718"));
        assert!(is_security_group_id("sg-4e386e22"));
        assert!(!is_security_group_id("sg-"));
        assert!(!is_security_group_id("sg-xyz12345"));
        assert!(!is_security_group_id("i-0a1b2c3d4e5f60718"));
    }
}
