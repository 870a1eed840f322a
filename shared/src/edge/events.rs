//! The edge: raw events (EventBridge envelopes) become typed requests, or a clear error.
//!
//! Parsing never trusts an event for *what* to revoke, only for *where to look*: the planner
//! always works from the groups' current rules, so a stale or forged event cannot make Warden
//! revoke a rule that is not world-open right now.

use chrono::{DateTime, Utc};
use std::collections::HashMap;

use aws_lambda_events::event::cloudwatch_alarms::{CloudWatchAlarm, CloudWatchAlarmData, CloudWatchAlarmStateValue};
use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::exposure::is_security_group_id;
use crate::exposure::plan::{Trigger, TriggerKind};
use crate::http::{GatewayError, GatewayEvent, HttpRequest, IdentityPolicy};
use crate::isolation::{is_instance_id, IsolationTrigger, ThreatSource};
use crate::operator::{valid_request_id, CallerProof, OperatorAsk};
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
    /// An operator asks to undo a remediation; who asks is proven by `ask.proof`.
    Undo {
        remediation_id: String,
        ask: OperatorAsk,
    },
    /// An operator asks to release an isolated instance (a human then approves).
    Release {
        incident_id: String,
        ask: OperatorAsk,
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

/// Everything the remediator can be sent, typed at the edge.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum RemediatorEvent {
    /// The payload a CloudWatch alarm sends to a Lambda action (no EventBridge envelope).
    AlarmAction(Box<CloudWatchAlarm<Value, Value>>),
    /// An EventBridge event: CloudTrail, Config, schedules, alarms, GuardDuty, Warden's own.
    EventBridge(Box<CloudWatchEvent<Value>>),
    /// Neither: refused with the reason.
    Unrecognised { raw: Value, why: String },
}

impl<'de> Deserialize<'de> for RemediatorEvent {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self::from_value(Value::deserialize(deserializer)?))
    }
}

impl RemediatorEvent {
    /// An alarm action carries `alarmData` and no `detail-type`; everything else must be an
    /// EventBridge envelope. Nothing is an error here: what fits neither is kept with the reason.
    pub fn from_value(mut raw: Value) -> Self {
        let alarm_action = raw.get("alarmData").is_some() && raw.get("detail-type").is_none();
        if !alarm_action {
            default_resources(&mut raw);
        }
        let parsed = if alarm_action {
            serde_path_to_error::deserialize(&raw).map(|a| Self::AlarmAction(Box::new(a)))
        } else {
            serde_path_to_error::deserialize(&raw).map(|e| Self::EventBridge(Box::new(e)))
        };
        parsed.unwrap_or_else(|e| {
            let why = format!("{} at `{}`", e.inner(), e.path());
            Self::Unrecognised { raw, why }
        })
    }
}

/// Everything the approvals function can be sent: a page request from its function URL, or
/// the expiry schedule.
#[derive(Debug, Clone)]
pub enum ApprovalsEvent {
    /// A function URL request (payload 2.0), or why it could not be read (a page says so).
    Page(Box<Result<HttpRequest, GatewayError>>),
    /// An EventBridge event; only "Scheduled Event" is handled.
    Schedule(Box<CloudWatchEvent<Value>>),
    Unrecognised {
        source: String,
        detail_type: String,
    },
}

impl<'de> Deserialize<'de> for ApprovalsEvent {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut raw = Value::deserialize(deserializer)?;
        if raw.pointer("/requestContext/http/method").is_some() {
            let request = HttpRequest::from_gateway(&GatewayEvent::from_value(raw), &IdentityPolicy::default());
            return Ok(Self::Page(Box::new(request)));
        }
        let text = |k: &str| raw.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let (source, detail_type) = (text("source"), text("detail-type"));
        default_resources(&mut raw);
        Ok(match serde_json::from_value(raw) {
            Ok(event) => Self::Schedule(Box::new(event)),
            Err(_) => Self::Unrecognised { source, detail_type },
        })
    }
}

/// EventBridge always sends `resources`; hand-made events (tools, tests) may leave it out, and
/// `CloudWatchEvent` requires it.
fn default_resources(raw: &mut Value) {
    if let Some(obj) = raw.as_object_mut() {
        obj.entry("resources").or_insert_with(|| Value::Array(vec![]));
    }
}

/// `detail` of "AWS API Call via CloudTrail" for the security-group calls.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CloudTrailCall {
    event_name: String,
    #[serde(default)]
    error_code: Option<String>,
    #[serde(default)]
    user_identity: Option<CloudTrailIdentity>,
    #[serde(default, rename = "sourceIPAddress")]
    source_ip_address: Option<String>,
    #[serde(default)]
    request_parameters: Option<SgRequestParameters>,
    #[serde(default)]
    response_elements: Option<SgResponseElements>,
}

#[derive(Debug, Deserialize)]
struct CloudTrailIdentity {
    #[serde(default)]
    arn: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SgRequestParameters {
    #[serde(default, rename = "groupId")]
    group_id: Option<String>,
    #[serde(default, rename = "ModifySecurityGroupRulesRequest")]
    modify: Option<ModifyRulesRequest>,
}

#[derive(Debug, Deserialize)]
struct ModifyRulesRequest {
    #[serde(default, rename = "GroupId")]
    group_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SgResponseElements {
    #[serde(default, rename = "securityGroupRuleSet")]
    rule_set: Option<RuleSet>,
}

#[derive(Debug, Deserialize)]
struct RuleSet {
    #[serde(default)]
    items: Vec<RuleSetItem>,
}

#[derive(Debug, Deserialize)]
struct RuleSetItem {
    #[serde(default, rename = "groupId")]
    group_id: Option<String>,
}

/// `detail` of "Config Rules Compliance Change".
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ComplianceChange {
    resource_type: String,
    resource_id: String,
    config_rule_name: String,
    new_evaluation_result: NewEvaluationResult,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewEvaluationResult {
    compliance_type: String,
}

/// `detail` of "GuardDuty Finding" (the finding format; only what Warden reads).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GuardDutyFinding {
    id: String,
    #[serde(rename = "type")]
    finding_type: String,
    severity: f64,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    service: Option<GuardDutyService>,
    #[serde(default)]
    resource: Option<GuardDutyResource>,
}

#[derive(Debug, Deserialize)]
struct GuardDutyService {
    #[serde(default)]
    archived: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GuardDutyResource {
    #[serde(default)]
    resource_type: Option<String>,
    #[serde(default)]
    instance_details: Option<InstanceDetails>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InstanceDetails {
    #[serde(default)]
    instance_id: Option<String>,
}

/// `detail` of Warden's own "Warden Undo Request", as `warden undo` sends it. There is no
/// "requested by" field: who asks is who signed `proof`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UndoRequest {
    remediation_id: String,
    request_id: String,
    proof: CallerProof,
}

/// `detail` of Warden's own "Warden Release Request", as `warden release` sends it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReleaseRequest {
    incident_id: String,
    request_id: String,
    proof: CallerProof,
}

/// The part of an alarm's metric configuration Warden reads: each metric's namespace, name
/// and dimensions (metric-math alarms list several; expressions have no `metricStat`).
#[derive(Debug, Default, Deserialize)]
struct AlarmConfiguration {
    #[serde(default)]
    metrics: Vec<AlarmMetric>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AlarmMetric {
    #[serde(default)]
    metric_stat: Option<AlarmMetricStat>,
}

#[derive(Debug, Deserialize)]
struct AlarmMetricStat {
    metric: MetricName,
}

#[derive(Debug, Deserialize)]
struct MetricName {
    #[serde(default)]
    namespace: Option<String>,
    name: String,
    #[serde(default)]
    dimensions: HashMap<String, String>,
}

/// A typed `detail`, or a clear error naming what is wrong with it.
fn detail<T: serde::de::DeserializeOwned>(detail: &Option<Value>, what: &'static str) -> Result<T, EventError> {
    let value = detail
        .as_ref()
        .filter(|d| d.is_object())
        .ok_or(EventError::Invalid { field: "detail", why: "must be a JSON object".into() })?;
    serde_path_to_error::deserialize(value).map_err(|e| EventError::Invalid {
        field: "detail",
        why: format!("not a {what}: {} at `{}`", e.inner(), e.path()),
    })
}

/// Parse any JSON the remediator was sent (tests and tools; the function gets it typed).
pub fn parse_event(raw: &Value) -> Result<Request, EventError> {
    RemediatorEvent::from_value(raw.clone()).request()
}

/// The alarms whose transitions Warden acts on, by ARN: the ones its stack created, and any the
/// operator lists. An entry ending in `*` admits every ARN it starts (anyone who may create
/// an alarm of such a name can then make Warden act: prefer exact ARNs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedAlarms(Vec<String>);

impl TrustedAlarms {
    /// From a comma-separated list of alarm ARNs. `Err`: an entry that is not one.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut arns = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let parts: Vec<&str> = entry.splitn(7, ':').collect();
            let well_formed = parts.len() == 7
                && parts[0] == "arn"
                && parts[2] == "cloudwatch"
                && parts[5] == "alarm"
                && !parts[6].is_empty()
                && !parts[..6].iter().any(|p| p.contains('*'))
                && parts[6].find('*').is_none_or(|at| at == parts[6].len() - 1);
            if !well_formed {
                return Err(format!(
                    "{entry:?} is not an alarm ARN (arn:aws:cloudwatch:<region>:<account>:alarm:<name>, a trailing * \
                     for a name prefix)"
                ));
            }
            arns.push(entry.to_string());
        }
        Ok(Self(arns))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn admits(&self, arn: &str) -> bool {
        self.0.iter().any(|t| match t.strip_suffix('*') {
            Some(prefix) => arn.starts_with(prefix),
            None => t == arn,
        })
    }
}

impl RemediatorEvent {
    /// The ARN of the alarm this event reports a change of; `Some("")` for an alarm event that
    /// names none. `None`: not an alarm event.
    pub fn alarm_arn(&self) -> Option<&str> {
        match self {
            RemediatorEvent::AlarmAction(alarm) => Some(alarm.alarm_arn.as_deref().unwrap_or("")),
            RemediatorEvent::EventBridge(env)
                if env.source.as_deref() == Some("aws.cloudwatch")
                    && env.detail_type.as_deref() == Some("CloudWatch Alarm State Change") =>
            {
                Some(env.resources.first().map(String::as_str).unwrap_or(""))
            }
            _ => None,
        }
    }

    /// [`Self::request`], acting only on alarms in `trusted`: any other alarm is ignored with
    /// the reason (and a security warning in the log), whatever it watches or names.
    pub fn request_within(&self, trusted: &TrustedAlarms) -> Result<Request, EventError> {
        let request = self.request()?;
        let Some(arn) = self.alarm_arn() else { return Ok(request) };
        if trusted.admits(arn) || matches!(request, Request::Ignore { .. }) {
            return Ok(request);
        }
        let event_id = match &request {
            Request::Isolate(t) => t.event_id.clone(),
            Request::CallerAlarm(a) => a.event_id.clone(),
            Request::Remediate(t) => t.event_id.clone(),
            _ => String::new(),
        };
        let shown = if arn.is_empty() { "(no ARN)".to_string() } else { arn.chars().take(256).collect() };
        tracing::warn!(
            security = "SECURITY_WARNING",
            alarm_arn = %shown,
            "SECURITY_WARNING an alarm Warden does not trust went into ALARM; nothing was done"
        );
        Ok(Request::Ignore {
            event_id,
            reason: format!(
                "alarm {shown} is not one Warden trusts (WARDEN_TRUSTED_ALARMS): an alarm anyone could create does not \
                 make Warden act"
            ),
        })
    }

    pub fn request(&self) -> Result<Request, EventError> {
        match self {
            RemediatorEvent::AlarmAction(alarm) => alarm_action(alarm),
            RemediatorEvent::EventBridge(event) => eventbridge(event),
            RemediatorEvent::Unrecognised { raw, why } => Err(why_unrecognised(raw, why.clone())),
        }
    }
}

/// Why JSON that is neither envelope was refused, in terms of the EventBridge envelope.
fn why_unrecognised(raw: &Value, why: String) -> EventError {
    let Some(obj) = raw.as_object() else {
        return EventError::Invalid { field: "event", why: "must be a JSON object".into() };
    };
    if obj.contains_key("alarmData") && !obj.contains_key("detail-type") {
        if obj.get("source").and_then(Value::as_str) != Some("aws.cloudwatch") {
            return EventError::Invalid {
                field: "source",
                why: "an alarm-action payload comes from aws.cloudwatch".into(),
            };
        }
        return EventError::Invalid { field: "alarm action", why };
    }
    for field in ["id", "detail-type", "source", "time"] {
        if !obj.get(field).is_some_and(Value::is_string) {
            return EventError::MissingField(field);
        }
    }
    if let Some(Err(e)) = obj.get("time").and_then(Value::as_str).map(parse_time) {
        return e;
    }
    if !obj.get("resources").is_none_or(Value::is_array) {
        return EventError::Invalid { field: "resources", why: "must be a list of ARNs".into() };
    }
    if obj.get("detail").is_some_and(|d| !d.is_object()) {
        return EventError::Invalid { field: "detail", why: "must be a JSON object".into() };
    }
    EventError::Invalid { field: "event", why }
}

fn eventbridge(env: &CloudWatchEvent<Value>) -> Result<Request, EventError> {
    let id = env.id.clone().filter(|s| !s.is_empty()).ok_or(EventError::MissingField("id"))?;
    let detail_type = env.detail_type.clone().ok_or(EventError::MissingField("detail-type"))?;
    let source = env.source.clone().ok_or(EventError::MissingField("source"))?;
    let time = env.time;
    if env.detail.as_ref().is_some_and(|d| !d.is_object()) {
        return Err(EventError::Invalid { field: "detail", why: "must be a JSON object".into() });
    }
    let (account, region) = (env.account_id.clone(), env.region.clone());

    let kind = match (source.as_str(), detail_type.as_str()) {
        ("aws.ec2", "AWS API Call via CloudTrail") => match cloudtrail(detail(&env.detail, "CloudTrail record")?)? {
            Ok(kind) => kind,
            Err(reason) => return Ok(Request::Ignore { event_id: id, reason }),
        },
        ("aws.config", "Config Rules Compliance Change") => {
            match config_compliance(detail(&env.detail, "Config compliance change")?)? {
                Ok(kind) => kind,
                Err(reason) => return Ok(Request::Ignore { event_id: id, reason }),
            }
        }
        ("aws.events", "Scheduled Event") => {
            let rule = env
                .resources
                .first()
                .map(|arn| arn.rsplit('/').next().unwrap_or(arn).to_string())
                .unwrap_or_else(|| "schedule".to_string());
            TriggerKind::ScheduledSweep { rule }
        }
        (WARDEN_SOURCE, UNDO_DETAIL_TYPE) => return undo(detail(&env.detail, "Warden undo request")?),
        (WARDEN_SOURCE, RELEASE_DETAIL_TYPE) => return release(detail(&env.detail, "Warden release request")?),
        ("aws.cloudwatch", "CloudWatch Alarm State Change") => {
            let data: CloudWatchAlarmData<Value, Value> = detail(&env.detail, "CloudWatch alarm state change")?;
            if let Some(request) = caller_alarm(&data, &id, time)? {
                return Ok(request);
            }
            return Ok(finish_isolation(alarm(&data)?, id, time, account, region));
        }
        ("aws.guardduty", "GuardDuty Finding") => {
            let finding = guardduty(detail(&env.detail, "GuardDuty finding")?)?;
            return Ok(finish_isolation(finding, id, time, account, region));
        }
        _ => return Err(EventError::Unsupported { event_source: source, detail_type }),
    };
    Ok(Request::Remediate(Trigger { event_id: id, event_time: time, kind, account, region }))
}

/// RFC 3339, or the `+0000` offset form CloudWatch alarm actions use.
fn parse_time(raw: &str) -> Result<DateTime<Utc>, EventError> {
    raw.parse::<DateTime<Utc>>()
        .or_else(|_| DateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f%z").map(|t| t.with_timezone(&Utc)))
        .map_err(|e| EventError::Invalid { field: "time", why: format!("{raw:?} is not RFC 3339: {e}") })
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
fn cloudtrail(call: CloudTrailCall) -> Result<Result<TriggerKind, String>, EventError> {
    let name = call.event_name.as_str();
    if !CLOUDTRAIL_EVENT_NAMES.contains(&name) {
        return Ok(Err(format!("CloudTrail {name} cannot open ingress; nothing to check")));
    }
    if let Some(code) = &call.error_code {
        return Ok(Err(format!("CloudTrail {name} failed with {code}; nothing changed")));
    }
    let mut groups = Vec::new();
    if let Some(params) = &call.request_parameters {
        for id in [params.group_id.as_deref(), params.modify.as_ref().and_then(|m| m.group_id.as_deref())]
            .into_iter()
            .flatten()
        {
            push_group(&mut groups, id)?;
        }
    }
    // A call by group name (default VPC) names the group id only in the response.
    let items = call.response_elements.as_ref().and_then(|r| r.rule_set.as_ref()).map(|s| s.items.as_slice());
    for id in items.unwrap_or_default().iter().filter_map(|i| i.group_id.as_deref()) {
        push_group(&mut groups, id)?;
    }
    if groups.is_empty() {
        return Err(EventError::MissingField("detail.requestParameters.groupId"));
    }
    Ok(Ok(TriggerKind::CloudTrail {
        event_name: call.event_name.clone(),
        group_ids: groups,
        actor: call.user_identity.and_then(|u| u.arn),
        source_ip: call.source_ip_address,
    }))
}

fn config_compliance(change: ComplianceChange) -> Result<Result<TriggerKind, String>, EventError> {
    let ComplianceChange { resource_type, resource_id, config_rule_name: rule_name, new_evaluation_result } = change;
    let compliance = new_evaluation_result.compliance_type;
    if resource_type != "AWS::EC2::SecurityGroup" {
        return Ok(Err(format!("Config rule {rule_name} is about {resource_type}, not a security group")));
    }
    if compliance != "NON_COMPLIANT" {
        return Ok(Err(format!("Config rule {rule_name} reports {resource_id} as {compliance}")));
    }
    let mut groups = Vec::new();
    push_group(&mut groups, &resource_id)?;
    Ok(Ok(TriggerKind::ConfigCompliance { rule_name, group_ids: groups }))
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

/// The metrics an alarm watches. A configuration Warden cannot read (a composite alarm's) watches none.
fn metrics_of(data: &CloudWatchAlarmData<Value, Value>) -> Vec<MetricName> {
    let config = AlarmConfiguration::deserialize(&data.configuration).unwrap_or_default();
    config.metrics.into_iter().filter_map(|m| m.metric_stat.map(|s| s.metric)).collect()
}

/// The state's name as CloudWatch writes it (for the reason an event is ignored).
fn state_name(value: &CloudWatchAlarmStateValue) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// `Some(reason)` unless the alarm went into ALARM from another state: only that transition acts.
fn not_a_new_alarm(data: &CloudWatchAlarmData<Value, Value>) -> Result<Option<String>, EventError> {
    let state = &data.state.as_ref().ok_or(EventError::MissingField("state.value"))?.value;
    let previous =
        data.previous_state.as_ref().map_or(CloudWatchAlarmStateValue::InsufficientData, |p| p.value.clone());
    if *state != CloudWatchAlarmStateValue::Alarm || previous == CloudWatchAlarmStateValue::Alarm {
        return Ok(Some(format!(
            "alarm {} went {} -> {}; only a transition into ALARM acts",
            data.alarm_name,
            state_name(&previous),
            state_name(state)
        )));
    }
    Ok(None)
}

fn state_reason(data: &CloudWatchAlarmData<Value, Value>, max: usize) -> Option<String> {
    data.state.as_ref().map(|s| s.reason.chars().take(max).collect())
}

/// An alarm on `Custom/LLM` `PromptInjectionAttempts` or `AuthFailures` (with a `Caller`
/// dimension, or fleet-wide without one). `None`: some other alarm.
fn caller_alarm(
    data: &CloudWatchAlarmData<Value, Value>,
    event_id: &str,
    time: DateTime<Utc>,
) -> Result<Option<Request>, EventError> {
    let watched = metrics_of(data).into_iter().find_map(|m| {
        if m.namespace.as_deref() != Some(LLM_METRICS_NAMESPACE) {
            return None;
        }
        Some((AbuseMetric::parse(&m.name)?, m.dimensions.get("Caller").cloned()))
    });
    let Some((metric, caller)) = watched else { return Ok(None) };
    if let Some(reason) = not_a_new_alarm(data)? {
        return Ok(Some(Request::Ignore { event_id: event_id.to_string(), reason }));
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
        alarm_name: data.alarm_name.clone(),
        metric,
        caller,
        reason: state_reason(data, 300),
    })))
}

/// The alarm part shared by the EventBridge event (`detail`) and the alarm action (`alarmData`).
fn alarm(data: &CloudWatchAlarmData<Value, Value>) -> Result<Threat, EventError> {
    if let Some(reason) = not_a_new_alarm(data)? {
        return Ok(Threat::Ignore(reason));
    }
    let metrics = metrics_of(data);
    let dimension = |key: &str| metrics.iter().find_map(|m| m.dimensions.get(key).cloned());
    let instance_id = dimension("InstanceId");
    if let Some(id) = &instance_id {
        if !is_instance_id(id) {
            return Err(EventError::Invalid { field: "InstanceId", why: format!("{id:?} is not an instance id") });
        }
    }
    let metric = metrics.iter().find_map(|m| Some(format!("{}/{}", m.namespace.as_deref()?, m.name)));
    Ok(Threat::Act {
        source: ThreatSource::Alarm { alarm_name: data.alarm_name.clone(), metric, reason: state_reason(data, 500) },
        instance_id,
        asg_name: dimension("AutoScalingGroupName"),
    })
}

/// The payload a CloudWatch alarm sends to a Lambda action.
fn alarm_action(raw: &CloudWatchAlarm<Value, Value>) -> Result<Request, EventError> {
    if raw.source.as_deref() != Some("aws.cloudwatch") {
        return Err(EventError::Invalid {
            field: "source",
            why: "an alarm-action payload comes from aws.cloudwatch".into(),
        });
    }
    let arn = raw.alarm_arn.as_deref().ok_or(EventError::MissingField("alarmArn"))?;
    let time = raw.time;
    let data = &raw.alarm_data;
    // The action payload has no event id: the alarm and the instant of its state change name it.
    let stamp = data.state.as_ref().map(|s| s.timestamp).unwrap_or(time);
    let event_id = format!("{arn}@{}", stamp.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    if let Some(request) = caller_alarm(data, &event_id, time)? {
        return Ok(request);
    }
    let threat = alarm(data)?;
    Ok(finish_isolation(threat, event_id, time, raw.account_id.clone(), raw.region.clone()))
}

fn guardduty(finding: GuardDutyFinding) -> Result<Threat, EventError> {
    let GuardDutyFinding { id: finding_id, finding_type, severity, title, service, resource } = finding;
    if !(0.0..=10.0).contains(&severity) {
        return Err(EventError::Invalid { field: "detail.severity", why: format!("{severity} is outside 0-10") });
    }
    if service.and_then(|s| s.archived) == Some(true) {
        return Ok(Threat::Ignore(format!("GuardDuty finding {finding_id} is archived")));
    }
    // Instance findings, and credential findings (resource `AccessKey`) that carry the instance
    // whose role credentials leaked, both name it here.
    let instance_id = resource.as_ref().and_then(|r| r.instance_details.as_ref()).and_then(|d| d.instance_id.clone());
    let Some(instance_id) = instance_id else {
        let resource_type = resource.and_then(|r| r.resource_type).unwrap_or_else(|| "unknown".into());
        return Ok(Threat::Ignore(format!("GuardDuty {finding_type} is about a {resource_type}, not an EC2 instance")));
    };
    if !is_instance_id(&instance_id) {
        return Err(EventError::Invalid { field: "instanceId", why: format!("{instance_id:?} is not an instance id") });
    }
    Ok(Threat::Act {
        source: ThreatSource::GuardDuty { finding_id, finding_type, severity, title },
        instance_id: Some(instance_id),
        asg_name: None,
    })
}

/// `rem-…` / `inc-…` ids as Warden issues them.
fn check_id(id: &str, prefix: &str, field: &'static str, what: &str) -> Result<(), EventError> {
    if !id.starts_with(prefix) || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(EventError::Invalid { field, why: format!("{id:?} is not {what}") });
    }
    Ok(())
}

fn operator_ask(request_id: String, proof: CallerProof) -> Result<OperatorAsk, EventError> {
    if !valid_request_id(&request_id) {
        return Err(EventError::Invalid {
            field: "detail.request_id",
            why: "must be 16 to 64 letters, digits, '-' or '_' (warden makes one per request)".into(),
        });
    }
    Ok(OperatorAsk { request_id, proof })
}

fn release(r: ReleaseRequest) -> Result<Request, EventError> {
    check_id(&r.incident_id, "inc-", "detail.incident_id", "an incident id")?;
    Ok(Request::Release { incident_id: r.incident_id, ask: operator_ask(r.request_id, r.proof)? })
}

fn undo(r: UndoRequest) -> Result<Request, EventError> {
    check_id(&r.remediation_id, "rem-", "detail.remediation_id", "a remediation id")?;
    Ok(Request::Undo { remediation_id: r.remediation_id, ask: operator_ask(r.request_id, r.proof)? })
}

#[cfg(test)]
mod tests;
