//! AWS Config custom rules for the LLM infrastructure, pure: what AWS Config sends (change,
//! oversized and scheduled notifications), which rule applies, and each rule's verdict on a
//! configuration item. Reading AWS (oversized items, periodic listings, the model registry) and
//! writing evaluations and evidence happen around it.

pub mod ports;
pub mod report;
pub mod service;

use std::collections::BTreeMap;

use aws_lambda_events::event::config::ConfigEvent;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::exposure::{IngressRule, RuleSource};
use crate::registry::{ModelRef, Registry};

/// The rules this function implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    SensitivePortsNotPublic,
    VolumesEncrypted,
    ApiTls,
    CloudtrailOn,
    Imdsv2Only,
    NoPublicAddress,
    ApprovedModel,
}

impl Rule {
    pub const ALL: [Rule; 7] = [
        Rule::SensitivePortsNotPublic,
        Rule::VolumesEncrypted,
        Rule::ApiTls,
        Rule::CloudtrailOn,
        Rule::Imdsv2Only,
        Rule::NoPublicAddress,
        Rule::ApprovedModel,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Self::SensitivePortsNotPublic => "sensitive-ports-not-public",
            Self::VolumesEncrypted => "volumes-encrypted",
            Self::ApiTls => "api-tls",
            Self::CloudtrailOn => "cloudtrail-on",
            Self::Imdsv2Only => "imdsv2-only",
            Self::NoPublicAddress => "no-public-address",
            Self::ApprovedModel => "approved-model",
        }
    }

    /// The rule a Config rule invokes: `rule` in its parameters, else the id in its name.
    pub fn for_invocation(params: &BTreeMap<String, String>, rule_name: &str) -> Option<Self> {
        if let Some(r) = params.get("rule") {
            return Self::ALL.into_iter().find(|x| x.id() == r.trim());
        }
        let name = rule_name.to_ascii_lowercase();
        Self::ALL.into_iter().find(|x| name.contains(x.id()))
    }

    /// The resource types the rule evaluates (empty: the account, periodically).
    pub fn resource_types(self) -> &'static [&'static str] {
        match self {
            Self::SensitivePortsNotPublic => &["AWS::EC2::SecurityGroup"],
            Self::VolumesEncrypted => &["AWS::EC2::Volume"],
            Self::ApiTls => &["AWS::ApiGateway::DomainName", "AWS::ApiGatewayV2::DomainName"],
            Self::CloudtrailOn => &[],
            Self::Imdsv2Only | Self::NoPublicAddress | Self::ApprovedModel => &["AWS::EC2::Instance"],
        }
    }

    /// What the rule evidences, and the CIS AWS Foundations Benchmark (v3.0) control where one
    /// exists.
    pub fn control(self) -> (&'static str, Option<&'static str>) {
        match self {
            Self::SensitivePortsNotPublic => {
                ("Security groups restricted: no Ollama or SSH from the internet", Some("CIS 5.2, 5.3"))
            }
            Self::VolumesEncrypted => ("Encryption at rest: EBS volumes of the LLM fleet", Some("CIS 2.2.1")),
            Self::ApiTls => ("TLS in transit: the LLM API requires TLS 1.2+", None),
            Self::CloudtrailOn => {
                ("Audit logging: multi-region CloudTrail, validated, KMS-encrypted", Some("CIS 3.1, 3.2, 3.5"))
            }
            Self::Imdsv2Only => ("Instance credentials: IMDSv2 only, hop limit 1", Some("CIS 5.6")),
            Self::NoPublicAddress => ("Network isolation: GPU nodes have no public address", None),
            Self::ApprovedModel => ("Model governance: only approved, scanned models are served", None),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Compliance {
    Compliant,
    NonCompliant,
    NotApplicable,
}

impl Compliance {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Compliant => "COMPLIANT",
            Self::NonCompliant => "NON_COMPLIANT",
            Self::NotApplicable => "NOT_APPLICABLE",
        }
    }
}

/// One verdict, as `PutEvaluations` takes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub resource_type: String,
    pub resource_id: String,
    pub compliance: Compliance,
    /// ≤ 256 characters (AWS Config's limit).
    pub annotation: String,
    /// The configuration item's capture time (or the notification time, periodically).
    pub ordering_timestamp: DateTime<Utc>,
}

pub const MAX_ANNOTATION: usize = 256;

/// `PutEvaluations` takes at most this many evaluations a call.
pub const MAX_EVALUATIONS_PER_CALL: usize = 100;

impl Evaluation {
    pub fn new(item: &ConfigItem, compliance: Compliance, annotation: impl Into<String>) -> Self {
        Self {
            resource_type: item.resource_type.clone(),
            resource_id: item.resource_id.clone(),
            compliance,
            annotation: clip(&annotation.into()),
            ordering_timestamp: item.capture_time,
        }
    }
}

fn clip(s: &str) -> String {
    if s.chars().count() <= MAX_ANNOTATION {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(MAX_ANNOTATION - 1).collect();
        out.push('…');
        out
    }
}

/// The parts of a configuration item the rules read.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigItem {
    pub resource_type: String,
    pub resource_id: String,
    pub status: String,
    pub capture_time: DateTime<Utc>,
    pub configuration: Value,
    pub tags: BTreeMap<String, String>,
}

impl ConfigItem {
    /// From a configuration item as Config sends it (or as `GetResourceConfigHistory` returns it).
    pub fn from_value(ci: &Value) -> Result<Self, ComplianceError> {
        let s = |k: &str| ci.get(k).and_then(Value::as_str).map(str::to_string);
        let resource_type = s("resourceType").ok_or(ComplianceError::Missing("configurationItem.resourceType"))?;
        let resource_id = s("resourceId").ok_or(ComplianceError::Missing("configurationItem.resourceId"))?;
        let capture =
            s("configurationItemCaptureTime").ok_or(ComplianceError::Missing("configurationItemCaptureTime"))?;
        let capture_time = DateTime::parse_from_rfc3339(&capture)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| ComplianceError::Invalid("configurationItemCaptureTime", capture.clone()))?;
        // `configuration` is an object in change notifications and a JSON string from the history API.
        let configuration = match ci.get("configuration") {
            Some(Value::String(text)) => serde_json::from_str(text).unwrap_or(Value::Null),
            Some(v) => v.clone(),
            None => Value::Null,
        };
        let tags = ci
            .get("tags")
            .and_then(Value::as_object)
            .map(|t| t.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string()))).collect())
            .unwrap_or_default();
        Ok(Self {
            resource_type,
            resource_id,
            status: s("configurationItemStatus").unwrap_or_else(|| "OK".into()),
            capture_time,
            configuration,
            tags,
        })
    }

    /// Deleted or never recorded: nothing to judge.
    pub fn gone(&self) -> bool {
        matches!(self.status.as_str(), "ResourceDeleted" | "ResourceDeletedNotRecorded" | "ResourceNotRecorded")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComplianceError {
    #[error("not an AWS Config rule event: {0} is missing")]
    Missing(&'static str),
    #[error("{0} is invalid: {1:?}")]
    Invalid(&'static str, String),
    #[error("unsupported messageType {0:?}: expected ConfigurationItemChangeNotification, OversizedConfigurationItemChangeNotification or ScheduledNotification")]
    UnsupportedMessage(String),
    #[error("no rule to apply: set the rule parameter `rule` to one of {0}, or name the Config rule after one")]
    UnknownRule(String),
}

/// What AWS Config asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    Change(ConfigItem),
    /// The item was too large to send: fetch it (`GetResourceConfigHistory`).
    Oversized {
        resource_type: String,
        resource_id: String,
        capture_time: DateTime<Utc>,
    },
    Scheduled {
        notification_time: DateTime<Utc>,
    },
}

/// An AWS Config rule invocation, typed at the edge (`aws_lambda_events`' `ConfigEvent`), or
/// why it is not one.
#[derive(Debug, Clone)]
pub struct ConfigRuleEvent(pub Result<ConfigEvent, String>);

impl ConfigRuleEvent {
    pub fn from_value(mut raw: Value) -> Self {
        // AWS Config always sends `eventLeftScope`; hand-made invocations may leave it out.
        if let Some(obj) = raw.as_object_mut() {
            obj.entry("eventLeftScope").or_insert(Value::Bool(false));
        }
        Self(serde_path_to_error::deserialize(&raw).map_err(|e| format!("{} at `{}`", e.inner(), e.path())))
    }
}

impl<'de> Deserialize<'de> for ConfigRuleEvent {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self::from_value(Value::deserialize(deserializer)?))
    }
}

/// A Config rule invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleInvocation {
    pub rule: Rule,
    pub rule_name: String,
    pub params: BTreeMap<String, String>,
    pub result_token: String,
    pub left_scope: bool,
    pub trigger: Trigger,
}

impl RuleInvocation {
    /// `TESTMODE` is the result token of test invocations (`TestMode=true`).
    pub fn test_mode(&self) -> bool {
        self.result_token == "TESTMODE"
    }

    /// Parse any JSON AWS Config might have sent (tests and tools; the function gets it typed).
    pub fn parse(event: &Value) -> Result<Self, ComplianceError> {
        Self::from_event(&ConfigRuleEvent::from_value(event.clone()))
    }

    pub fn from_event(event: &ConfigRuleEvent) -> Result<Self, ComplianceError> {
        let event = event.0.as_ref().map_err(|why| ComplianceError::Invalid("event", why.clone()))?;
        let text = event.invoking_event.as_deref().ok_or(ComplianceError::Missing("invokingEvent"))?;
        let invoking: Value = serde_json::from_str(text)
            .map_err(|_| ComplianceError::Invalid("invokingEvent", text.chars().take(60).collect()))?;
        let params: BTreeMap<String, String> = match event.rule_parameters.as_deref() {
            None => BTreeMap::new(),
            Some(p) => {
                let v: Value = serde_json::from_str(p)
                    .map_err(|_| ComplianceError::Invalid("ruleParameters", p.chars().take(60).collect()))?;
                v.as_object()
                    .ok_or(ComplianceError::Invalid("ruleParameters", "not a JSON object".into()))?
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
                    .collect()
            }
        };
        let rule_name = event.config_rule_name.clone().unwrap_or_default();
        let rule = Rule::for_invocation(&params, &rule_name)
            .ok_or_else(|| ComplianceError::UnknownRule(Rule::ALL.map(Rule::id).join(", ")))?;
        let result_token = event.result_token.clone().ok_or(ComplianceError::Missing("resultToken"))?;
        let message_type =
            invoking.get("messageType").and_then(Value::as_str).ok_or(ComplianceError::Missing("messageType"))?;
        let time = |k: &'static str, v: &Value| -> Result<DateTime<Utc>, ComplianceError> {
            let t = v.get(k).and_then(Value::as_str).ok_or(ComplianceError::Missing(k))?;
            DateTime::parse_from_rfc3339(t)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| ComplianceError::Invalid(k, t.into()))
        };
        let trigger = match message_type {
            "ConfigurationItemChangeNotification" => {
                let ci = invoking.get("configurationItem").ok_or(ComplianceError::Missing("configurationItem"))?;
                Trigger::Change(ConfigItem::from_value(ci)?)
            }
            "OversizedConfigurationItemChangeNotification" => {
                let summary = invoking
                    .get("configurationItemSummary")
                    .ok_or(ComplianceError::Missing("configurationItemSummary"))?;
                let s = |k: &'static str| {
                    summary.get(k).and_then(Value::as_str).map(str::to_string).ok_or(ComplianceError::Missing(k))
                };
                Trigger::Oversized {
                    resource_type: s("resourceType")?,
                    resource_id: s("resourceId")?,
                    capture_time: time("configurationItemCaptureTime", summary)?,
                }
            }
            "ScheduledNotification" => {
                Trigger::Scheduled { notification_time: time("notificationCreationTime", &invoking)? }
            }
            other => return Err(ComplianceError::UnsupportedMessage(other.chars().take(60).collect())),
        };
        Ok(Self { rule, rule_name, params, result_token, left_scope: event.event_left_scope, trigger })
    }
}

/// Rule parameters, with their defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleParams {
    pub ports: Vec<u16>,
    pub scope_tag: (String, String),
    pub kms_key_ids: Vec<String>,
    pub model_tag: String,
    pub model_digest_tag: String,
    pub image_digest_tag: String,
    pub use_case_tag: String,
}

impl RuleParams {
    pub fn from_map(p: &BTreeMap<String, String>) -> Result<Self, ComplianceError> {
        let ports = match p.get("ports") {
            None => vec![11434, 22],
            Some(v) => v
                .split(',')
                .map(|x| {
                    x.trim().parse::<u16>().map_err(|_| ComplianceError::Invalid("ruleParameters.ports", v.clone()))
                })
                .collect::<Result<_, _>>()?,
        };
        let get = |k: &str, d: &str| {
            p.get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).unwrap_or_else(|| d.to_string())
        };
        Ok(Self {
            ports,
            scope_tag: (get("tag_key", "Service"), get("tag_value", "Ollama")),
            kms_key_ids: p
                .get("kms_key_ids")
                .map(|v| v.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect())
                .unwrap_or_default(),
            model_tag: get("model_tag", "ollama:model"),
            model_digest_tag: get("model_digest_tag", "ollama:model-digest"),
            image_digest_tag: get("image_digest_tag", "ollama:image-digest"),
            use_case_tag: get("use_case_tag", "ollama:use-case"),
        })
    }

    pub fn in_scope(&self, item: &ConfigItem) -> bool {
        item.tags.get(&self.scope_tag.0).is_some_and(|v| *v == self.scope_tag.1)
    }
}

/// Judge one configuration item. Out of scope, deleted or of another type: `NOT_APPLICABLE`.
pub fn evaluate(rule: Rule, item: &ConfigItem, params: &RuleParams, registry: &Registry) -> Evaluation {
    use Compliance::*;
    if item.gone() {
        return Evaluation::new(item, NotApplicable, format!("{} is {}", item.resource_id, item.status));
    }
    if !rule.resource_types().contains(&item.resource_type.as_str()) {
        return Evaluation::new(item, NotApplicable, format!("{} does not evaluate {}", rule.id(), item.resource_type));
    }
    let c = &item.configuration;
    let scoped = |e: Evaluation| {
        if params.in_scope(item) {
            e
        } else {
            Evaluation::new(item, NotApplicable, format!("not tagged {}={}", params.scope_tag.0, params.scope_tag.1))
        }
    };
    match rule {
        Rule::SensitivePortsNotPublic => {
            let mut open = Vec::new();
            for rule in ingress_rules(&item.resource_id, c) {
                for port in &params.ports {
                    if rule.exposes(*port) {
                        let what = if rule.allows_all_traffic() {
                            "all traffic".to_string()
                        } else {
                            format!("tcp {}-{}", rule.from_port, rule.to_port)
                        };
                        let line = format!("{port} open to {} ({what})", rule.source);
                        if !open.contains(&line) {
                            open.push(line);
                        }
                    }
                }
            }
            if open.is_empty() {
                Evaluation::new(
                    item,
                    Compliant,
                    format!("no ingress from 0.0.0.0/0 or ::/0 covers ports {:?}", params.ports),
                )
            } else {
                Evaluation::new(item, NonCompliant, format!("world-open: {}", open.join("; ")))
            }
        }
        Rule::VolumesEncrypted => scoped({
            let encrypted = c.get("encrypted").and_then(Value::as_bool).unwrap_or(false);
            let key = c.get("kmsKeyId").and_then(Value::as_str).unwrap_or("");
            if !encrypted {
                Evaluation::new(item, NonCompliant, "volume is not encrypted")
            } else if !params.kms_key_ids.is_empty() && !params.kms_key_ids.iter().any(|k| k == key) {
                Evaluation::new(
                    item,
                    NonCompliant,
                    format!(
                        "encrypted with {}, not one of the approved customer-managed keys",
                        if key.is_empty() { "the default key" } else { key }
                    ),
                )
            } else {
                Evaluation::new(item, Compliant, "encrypted")
            }
        }),
        Rule::ApiTls => {
            let policies: Vec<String> = match item.resource_type.as_str() {
                "AWS::ApiGateway::DomainName" => {
                    c.get("securityPolicy").and_then(Value::as_str).map(str::to_string).into_iter().collect()
                }
                _ => c
                    .get("domainNameConfigurations")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|d| d.get("securityPolicy").and_then(Value::as_str).map(str::to_string))
                    .collect(),
            };
            let weak: Vec<&String> = policies.iter().filter(|p| !tls12_or_newer(p)).collect();
            if policies.is_empty() {
                Evaluation::new(item, NonCompliant, "no security policy recorded: the default may allow TLS 1.0")
            } else if weak.is_empty() {
                Evaluation::new(item, Compliant, format!("security policy {}", policies.join(", ")))
            } else {
                Evaluation::new(
                    item,
                    NonCompliant,
                    format!(
                        "security policy {} allows TLS older than 1.2",
                        weak.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                )
            }
        }
        Rule::CloudtrailOn => {
            Evaluation::new(item, NotApplicable, "cloudtrail-on is evaluated periodically for the account")
        }
        Rule::Imdsv2Only => scoped({
            let m = c.get("metadataOptions");
            let tokens = m.and_then(|m| m.get("httpTokens")).and_then(Value::as_str).unwrap_or("optional");
            let hops = m.and_then(|m| m.get("httpPutResponseHopLimit")).and_then(Value::as_i64).unwrap_or(1);
            let endpoint = m.and_then(|m| m.get("httpEndpoint")).and_then(Value::as_str).unwrap_or("enabled");
            if endpoint == "disabled" {
                Evaluation::new(item, Compliant, "instance metadata service disabled")
            } else if tokens != "required" {
                Evaluation::new(item, NonCompliant, format!("IMDSv1 allowed (httpTokens={tokens})"))
            } else if hops != 1 {
                Evaluation::new(
                    item,
                    NonCompliant,
                    format!("IMDSv2 required but hop limit is {hops} (containers can reach credentials); set 1"),
                )
            } else {
                Evaluation::new(item, Compliant, "IMDSv2 required, hop limit 1")
            }
        }),
        Rule::NoPublicAddress => scoped({
            let mut public: Vec<String> = c
                .get("publicIpAddress")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .into_iter()
                .collect();
            for ni in c.get("networkInterfaces").and_then(Value::as_array).into_iter().flatten() {
                if let Some(ip) = ni.pointer("/association/publicIp").and_then(Value::as_str).filter(|s| !s.is_empty())
                {
                    if !public.iter().any(|p| p == ip) {
                        public.push(ip.to_string());
                    }
                }
            }
            if public.is_empty() {
                Evaluation::new(item, Compliant, "no public IPv4 address")
            } else {
                Evaluation::new(item, NonCompliant, format!("public address {}", public.join(", ")))
            }
        }),
        Rule::ApprovedModel => scoped(approved_model(item, params, registry)),
    }
}

/// A security group's configuration item as the ingress rules EC2 reports, one per source, so
/// the Config rule judges exposure with the remediator's own definition ([`IngressRule::exposes`]).
pub fn ingress_rules(group_id: &str, configuration: &Value) -> Vec<IngressRule> {
    let mut rules = Vec::new();
    for p in configuration.get("ipPermissions").and_then(Value::as_array).into_iter().flatten() {
        let port = |key: &str| p.get(key).and_then(Value::as_i64).and_then(|n| i32::try_from(n).ok()).unwrap_or(-1);
        let strings = |list: &str, key: Option<&str>| -> Vec<String> {
            let items = p.get(list).and_then(Value::as_array).into_iter().flatten();
            match key {
                Some(k) => items.filter_map(|r| r.get(k).and_then(Value::as_str)).map(str::to_string).collect(),
                None => items.filter_map(Value::as_str).map(str::to_string).collect(),
            }
        };
        let mut sources: Vec<RuleSource> = Vec::new();
        for cidr in strings("ipv4Ranges", Some("cidrIp")).into_iter().chain(strings("ipRanges", None)) {
            let source = RuleSource::CidrIpv4(cidr);
            if !sources.contains(&source) {
                sources.push(source);
            }
        }
        sources.extend(strings("ipv6Ranges", Some("cidrIpv6")).into_iter().map(RuleSource::CidrIpv6));
        sources.extend(strings("prefixListIds", Some("prefixListId")).into_iter().map(RuleSource::PrefixList));
        for source in sources {
            rules.push(IngressRule {
                group_id: group_id.to_string(),
                rule_id: String::new(),
                ip_protocol: p.get("ipProtocol").and_then(Value::as_str).unwrap_or("").to_string(),
                from_port: port("fromPort"),
                to_port: port("toPort"),
                source,
                description: None,
                tags: BTreeMap::new(),
            });
        }
    }
    rules
}

fn tls12_or_newer(policy: &str) -> bool {
    let p = policy.to_ascii_uppercase();
    p == "TLS_1_2" || p.contains("TLS13") || p.contains("TLS_1_3") || p.contains("TLS12") || p.contains("TLS_1_2_")
}

fn approved_model(item: &ConfigItem, params: &RuleParams, registry: &Registry) -> Evaluation {
    use Compliance::*;
    let Some(name) = item.tags.get(&params.model_tag) else {
        return Evaluation::new(item, NonCompliant, format!("does not declare its model (tag {})", params.model_tag));
    };
    let model = match ModelRef::parse(name) {
        Ok(m) => m,
        Err(e) => return Evaluation::new(item, NonCompliant, format!("model tag: {e}")),
    };
    let Some(entry) = registry.find(&model) else {
        return Evaluation::new(item, NonCompliant, format!("model {model} is not in the model registry"));
    };
    if let Some(use_case) = item.tags.get(&params.use_case_tag) {
        if !entry.approved_for.iter().any(|u| u == use_case) {
            return Evaluation::new(item, NonCompliant, format!("model {model} is not approved for {use_case}"));
        }
    }
    let digest =
        item.tags.get(&params.model_digest_tag).map(|d| d.trim().trim_start_matches("sha256:").to_ascii_lowercase());
    match digest {
        None => {
            return Evaluation::new(
                item,
                NonCompliant,
                format!("does not declare the model digest (tag {})", params.model_digest_tag),
            )
        }
        Some(d) if d != entry.sha256.0 => {
            return Evaluation::new(
                item,
                NonCompliant,
                format!("model digest {} is not the registered {}", short(&d), short(&entry.sha256.0)),
            )
        }
        _ => {}
    }
    let image =
        item.tags.get(&params.image_digest_tag).map(|d| d.trim().trim_start_matches("sha256:").to_ascii_lowercase());
    match image {
        None => {
            return Evaluation::new(
                item,
                NonCompliant,
                format!("does not declare the container image digest (tag {})", params.image_digest_tag),
            )
        }
        Some(d) if d != entry.container.sha256.0 => {
            return Evaluation::new(
                item,
                NonCompliant,
                format!(
                    "container image digest {} is not the registered {}",
                    short(&d),
                    short(&entry.container.sha256.0)
                ),
            )
        }
        _ => {}
    }
    let v = entry.validation_results.vulnerabilities;
    if v.critical > 0 {
        return Evaluation::new(
            item,
            NonCompliant,
            format!(
                "model {model} has {} critical vulnerabilities (scan {})",
                v.critical,
                entry.validation_results.last_scan.0.date_naive()
            ),
        );
    }
    Evaluation::new(item, Compliant, format!("serves {model}, approved, digests match, no critical vulnerabilities"))
}

fn short(digest: &str) -> String {
    format!("sha256:{}…", digest.chars().take(12).collect::<String>())
}

/// A trail, as the periodic CloudTrail rule needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrailState {
    pub name: String,
    pub multi_region: bool,
    pub logging: bool,
    pub log_file_validation: bool,
    pub kms_key_id: Option<String>,
}

/// `cloudtrail-on`: at least one multi-region trail logging, with log-file validation and KMS.
pub fn evaluate_trails(trails: &[TrailState], account_id: &str, at: DateTime<Utc>) -> Evaluation {
    let item = ConfigItem {
        resource_type: "AWS::::Account".into(),
        resource_id: account_id.into(),
        status: "OK".into(),
        capture_time: at,
        configuration: Value::Null,
        tags: BTreeMap::new(),
    };
    let good: Vec<&TrailState> = trails
        .iter()
        .filter(|t| t.multi_region && t.logging && t.log_file_validation && t.kms_key_id.is_some())
        .collect();
    if let Some(t) = good.first() {
        return Evaluation::new(
            &item,
            Compliance::Compliant,
            format!("trail {} is multi-region, logging, validated and KMS-encrypted", t.name),
        );
    }
    if trails.is_empty() {
        return Evaluation::new(&item, Compliance::NonCompliant, "no CloudTrail trail exists");
    }
    let why: Vec<String> = trails
        .iter()
        .map(|t| {
            let mut missing = Vec::new();
            if !t.multi_region {
                missing.push("not multi-region");
            }
            if !t.logging {
                missing.push("not logging");
            }
            if !t.log_file_validation {
                missing.push("no log-file validation");
            }
            if t.kms_key_id.is_none() {
                missing.push("no KMS key");
            }
            format!("{}: {}", t.name, missing.join(", "))
        })
        .collect();
    Evaluation::new(&item, Compliance::NonCompliant, why.join("; "))
}

/// One evaluation kept as evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceRow {
    pub rule: Rule,
    pub resource_type: String,
    pub resource_id: String,
    pub compliance: Compliance,
    pub annotation: String,
    /// The configuration item's capture time.
    pub captured_at: DateTime<Utc>,
    pub evaluated_at: DateTime<Utc>,
}

/// `PutEvaluations` batches.
pub fn batches(evaluations: &[Evaluation]) -> impl Iterator<Item = &[Evaluation]> {
    evaluations.chunks(MAX_EVALUATIONS_PER_CALL)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::parse_registry_yaml;
    use serde_json::json;

    fn registry() -> Registry {
        Registry {
            models: parse_registry_yaml(include_str!("../../../events/request-validator/model-registry.yaml")).unwrap(),
        }
    }

    fn ci(resource_type: &str, configuration: Value, tags: Value) -> ConfigItem {
        ConfigItem::from_value(&json!({
            "resourceType": resource_type, "resourceId": "r-1", "configurationItemStatus": "OK",
            "configurationItemCaptureTime": "2026-11-26T10:00:00.000Z", "configuration": configuration, "tags": tags
        }))
        .unwrap()
    }

    fn verdict(rule: Rule, item: &ConfigItem) -> (Compliance, String) {
        let e = evaluate(rule, item, &RuleParams::from_map(&BTreeMap::new()).unwrap(), &registry());
        (e.compliance, e.annotation)
    }

    const OLLAMA: &str = r#"{"Service": "Ollama"}"#;

    #[test]
    fn sensitive_ports_ipv4_ipv6_ranges_and_all_traffic() {
        let sg = |perms: Value| ci("AWS::EC2::SecurityGroup", json!({"ipPermissions": perms}), json!({}));
        let open = sg(
            json!([{"ipProtocol": "tcp", "fromPort": 11434, "toPort": 11434, "ipv4Ranges": [{"cidrIp": "0.0.0.0/0"}], "ipRanges": ["0.0.0.0/0"]}]),
        );
        assert_eq!(verdict(Rule::SensitivePortsNotPublic, &open).0, Compliance::NonCompliant);
        let v6 = sg(json!([{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipv6Ranges": [{"cidrIpv6": "::/0"}]}]));
        assert!(verdict(Rule::SensitivePortsNotPublic, &v6).1.contains("22 open to ::/0"));
        let range =
            sg(json!([{"ipProtocol": "tcp", "fromPort": 0, "toPort": 65535, "ipv4Ranges": [{"cidrIp": "0.0.0.0/0"}]}]));
        assert_eq!(verdict(Rule::SensitivePortsNotPublic, &range).0, Compliance::NonCompliant);
        let all = sg(json!([{"ipProtocol": "-1", "ipv6Ranges": [{"cidrIpv6": "::/0"}]}]));
        assert!(verdict(Rule::SensitivePortsNotPublic, &all).1.contains("all traffic"));
        let fine = sg(json!([
            {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "ipv4Ranges": [{"cidrIp": "0.0.0.0/0"}]},
            {"ipProtocol": "tcp", "fromPort": 11434, "toPort": 11434, "ipv4Ranges": [{"cidrIp": "10.0.0.0/16"}]},
            {"ipProtocol": "udp", "fromPort": 0, "toPort": 65535, "ipv4Ranges": [{"cidrIp": "0.0.0.0/0"}]}
        ]));
        assert_eq!(verdict(Rule::SensitivePortsNotPublic, &fine).0, Compliance::Compliant);
    }

    #[test]
    fn volumes_imds_public_addresses_in_scope_only() {
        let tags: Value = serde_json::from_str(OLLAMA).unwrap();
        let vol = |enc: bool| {
            ci("AWS::EC2::Volume", json!({"encrypted": enc, "kmsKeyId": "arn:aws:kms:us-east-1:1:key/k"}), tags.clone())
        };
        assert_eq!(verdict(Rule::VolumesEncrypted, &vol(false)).0, Compliance::NonCompliant);
        assert_eq!(verdict(Rule::VolumesEncrypted, &vol(true)).0, Compliance::Compliant);
        let mut p = BTreeMap::new();
        p.insert("kms_key_ids".to_string(), "arn:aws:kms:us-east-1:1:key/other".to_string());
        let e = evaluate(Rule::VolumesEncrypted, &vol(true), &RuleParams::from_map(&p).unwrap(), &registry());
        assert_eq!(e.compliance, Compliance::NonCompliant);
        let other = ci("AWS::EC2::Volume", json!({"encrypted": false}), json!({"Service": "Batch"}));
        assert_eq!(verdict(Rule::VolumesEncrypted, &other).0, Compliance::NotApplicable);

        let inst = |meta: Value, public: Value| {
            ci("AWS::EC2::Instance", json!({"metadataOptions": meta, "publicIpAddress": public}), tags.clone())
        };
        assert_eq!(
            verdict(
                Rule::Imdsv2Only,
                &inst(json!({"httpTokens": "required", "httpPutResponseHopLimit": 1}), json!(null))
            )
            .0,
            Compliance::Compliant
        );
        assert_eq!(
            verdict(Rule::Imdsv2Only, &inst(json!({"httpTokens": "optional"}), json!(null))).0,
            Compliance::NonCompliant
        );
        assert!(verdict(
            Rule::Imdsv2Only,
            &inst(json!({"httpTokens": "required", "httpPutResponseHopLimit": 2}), json!(null))
        )
        .1
        .contains("hop limit is 2"));
        assert_eq!(verdict(Rule::NoPublicAddress, &inst(json!({}), json!("54.1.2.3"))).0, Compliance::NonCompliant);
        assert_eq!(verdict(Rule::NoPublicAddress, &inst(json!({}), json!(null))).0, Compliance::Compliant);
    }

    #[test]
    fn api_tls_policies() {
        let v1 = |p: &str| ci("AWS::ApiGateway::DomainName", json!({"securityPolicy": p}), json!({}));
        assert_eq!(verdict(Rule::ApiTls, &v1("TLS_1_2")).0, Compliance::Compliant);
        assert_eq!(verdict(Rule::ApiTls, &v1("TLS_1_0")).0, Compliance::NonCompliant);
        let v2 = ci(
            "AWS::ApiGatewayV2::DomainName",
            json!({"domainNameConfigurations": [{"securityPolicy": "TLS_1_2"}]}),
            json!({}),
        );
        assert_eq!(verdict(Rule::ApiTls, &v2).0, Compliance::Compliant);
    }

    #[test]
    fn approved_models_by_registry() {
        let inst = |tags: Value| ci("AWS::EC2::Instance", json!({}), tags);
        let good = json!({"Service": "Ollama", "ollama:model": "llama3-8b", "ollama:use-case": "customer_service",
            "ollama:model-digest": "sha256:3b8cad53f68294e58fa39b48b3e2504df5e01b93ed0168ae4a8b5a6b3a024c50",
            "ollama:image-digest": "e96c5bcfa2f3b67cc18af0db5fbf85a58f172368d47b2db09ac28d32072f4a41"});
        assert_eq!(verdict(Rule::ApprovedModel, &inst(good.clone())).0, Compliance::Compliant);
        let mut unknown = good.clone();
        unknown["ollama:model"] = json!("mistral");
        assert!(verdict(Rule::ApprovedModel, &inst(unknown)).1.contains("not in the model registry"));
        let mut wrong = good.clone();
        wrong["ollama:image-digest"] = json!("0".repeat(64));
        assert!(verdict(Rule::ApprovedModel, &inst(wrong)).1.contains("container image digest"));
        let mut vulnerable = good.clone();
        vulnerable["ollama:model"] = json!("legacy-13b");
        vulnerable["ollama:model-digest"] = json!("1".repeat(64));
        vulnerable["ollama:image-digest"] = json!("2".repeat(64));
        assert!(verdict(Rule::ApprovedModel, &inst(vulnerable)).1.contains("3 critical"));
        let mut not_approved = good.clone();
        not_approved["ollama:use-case"] = json!("marketing");
        assert!(verdict(Rule::ApprovedModel, &inst(not_approved)).1.contains("not approved for marketing"));
        assert!(verdict(Rule::ApprovedModel, &inst(json!({"Service": "Ollama"})))
            .1
            .contains("does not declare its model"));
    }

    #[test]
    fn trails() {
        let at: DateTime<Utc> = "2026-11-26T14:00:00Z".parse().unwrap();
        let good = TrailState {
            name: "org".into(),
            multi_region: true,
            logging: true,
            log_file_validation: true,
            kms_key_id: Some("k".into()),
        };
        assert_eq!(evaluate_trails(std::slice::from_ref(&good), "123456789012", at).compliance, Compliance::Compliant);
        assert_eq!(evaluate_trails(&[], "123456789012", at).annotation, "no CloudTrail trail exists");
        let weak = TrailState { kms_key_id: None, logging: false, ..good };
        assert!(evaluate_trails(&[weak], "1", at).annotation.contains("not logging, no KMS key"));
    }

    #[test]
    fn deleted_items_are_not_applicable_and_annotations_are_bounded() {
        let mut gone = ci("AWS::EC2::SecurityGroup", json!(null), json!({}));
        gone.status = "ResourceDeleted".into();
        assert_eq!(verdict(Rule::SensitivePortsNotPublic, &gone).0, Compliance::NotApplicable);
        let e = Evaluation::new(&gone, Compliance::NonCompliant, "x".repeat(1000));
        assert_eq!(e.annotation.chars().count(), MAX_ANNOTATION);
    }

    #[test]
    fn invocations_of_every_kind() {
        for (file, expect) in [
            ("change-sg-noncompliant.json", "change"),
            ("oversized-instance.json", "oversized"),
            ("scheduled-cloudtrail.json", "scheduled"),
            ("change-sg-deleted.json", "change"),
        ] {
            let event: Value = serde_json::from_str(
                &std::fs::read_to_string(format!("{}/../events/config-rules/{file}", env!("CARGO_MANIFEST_DIR")))
                    .unwrap(),
            )
            .unwrap();
            let inv = RuleInvocation::parse(&event).unwrap_or_else(|e| panic!("{file}: {e}"));
            let kind = match inv.trigger {
                Trigger::Change(_) => "change",
                Trigger::Oversized { .. } => "oversized",
                Trigger::Scheduled { .. } => "scheduled",
            };
            assert_eq!(kind, expect, "{file}");
        }
        assert!(RuleInvocation::parse(&json!({"invokingEvent": "{not json"})).is_err());
        assert!(matches!(
            RuleInvocation::parse(
                &json!({"invokingEvent": "{\"messageType\":\"X\"}", "resultToken": "t", "configRuleName": "warden-imdsv2-only"})
            ),
            Err(ComplianceError::UnsupportedMessage(_))
        ));
        assert!(matches!(
            RuleInvocation::parse(
                &json!({"invokingEvent": "{}", "resultToken": "t", "configRuleName": "something-else"})
            ),
            Err(ComplianceError::UnknownRule(_))
        ));
    }

    /// The remediator and the Config rule judge the same rules the same way: one definition.
    #[test]
    fn the_remediator_and_the_config_rule_agree_on_every_rule() {
        use crate::exposure::{exposure_reason, SensitivePort};
        let sensitive = [SensitivePort::new(11434), SensitivePort::new(22)];
        let mut cases = 0;
        for protocol in ["tcp", "TCP", "6", "udp", "icmp", "-1", "all", "ALL"] {
            for (from, to) in [(11434, 11434), (22, 22), (0, 65535), (443, 443), (-1, -1), (-1, 80), (8000, 12000)] {
                for (list, key, cidr) in [
                    ("ipv4Ranges", "cidrIp", "0.0.0.0/0"),
                    ("ipv6Ranges", "cidrIpv6", "::/0"),
                    ("ipv4Ranges", "cidrIp", "10.0.0.0/8"),
                    ("ipv6Ranges", "cidrIpv6", "2001:db8::/32"),
                    ("prefixListIds", "prefixListId", "pl-0123456789abcdef0"),
                ] {
                    let perm = json!([{"ipProtocol": protocol, "fromPort": from, "toPort": to, list: [{key: cidr}]}]);
                    let item = ci("AWS::EC2::SecurityGroup", json!({"ipPermissions": perm}), json!({}));
                    let rules = ingress_rules("sg-0123abcd", &item.configuration);
                    assert_eq!(rules.len(), 1, "{perm}");
                    let remediator_revokes = exposure_reason(&rules[0], &sensitive).is_some();
                    let config_flags = verdict(Rule::SensitivePortsNotPublic, &item).0 == Compliance::NonCompliant;
                    assert_eq!(remediator_revokes, config_flags, "{perm}");
                    cases += 1;
                }
            }
        }
        assert_eq!(cases, 8 * 7 * 5);
    }
}
