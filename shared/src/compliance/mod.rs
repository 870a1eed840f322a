//! AWS Config custom rules for the LLM infrastructure, pure: what AWS Config sends (change,
//! oversized and scheduled notifications), which rule applies, and each rule's verdict on a
//! configuration item. Reading AWS (oversized items, periodic listings, the model registry) and
//! writing evaluations and evidence happen around it.

pub mod ports;
pub mod report;
pub mod rules;
pub mod service;

use std::collections::BTreeMap;

use aws_lambda_events::event::config::ConfigEvent;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use rules::cloudtrail_on::{evaluate_trails, TrailState};
pub use rules::sensitive_ports_not_public::ingress_rules;
pub use rules::{evaluate, Rule};

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
    /// `max_public_share`: as the remediator's `WARDEN_MAX_PUBLIC_SHARE` (default 0.001).
    pub max_public_share: f64,
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
        let max_public_share = match p.get("max_public_share") {
            None => crate::exposure::DEFAULT_MAX_PUBLIC_SHARE,
            Some(v) => v
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|s| (0.0..1.0).contains(s))
                .ok_or_else(|| ComplianceError::Invalid("ruleParameters.max_public_share", v.clone()))?,
        };
        Ok(Self {
            ports,
            max_public_share,
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
    use crate::registry::{parse_registry_yaml, Registry};
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
        // The internet in two halves, in one group: the same exposure, both rules named.
        let halves = sg(json!([{"ipProtocol": "tcp", "fromPort": 11434, "toPort": 11434,
            "ipv4Ranges": [{"cidrIp": "0.0.0.0/1"}, {"cidrIp": "128.0.0.0/1"}]}]));
        let (compliance, annotation) = verdict(Rule::SensitivePortsNotPublic, &halves);
        assert_eq!(compliance, Compliance::NonCompliant);
        assert!(
            annotation.contains("11434 open to 0.0.0.0/1") && annotation.contains("11434 open to 128.0.0.0/1"),
            "{annotation}"
        );
        // Sixteen /13s, each a seventh of the share alone, half as much again together.
        let pieces: Vec<Value> =
            (0..16).map(|i| json!({"cidrIp": format!("{}.{}.0.0/13", 80 + i / 32, (i % 32) * 8)})).collect();
        let together = sg(json!([{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipv4Ranges": pieces}]));
        let (compliance, annotation) = verdict(Rule::SensitivePortsNotPublic, &together);
        assert_eq!(compliance, Compliance::NonCompliant, "{annotation}");
        assert!(annotation.contains("with the group's other rules"), "{annotation}");
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
        use crate::exposure::{exposed_rules, ExposureDefinition, RuleContext, SensitivePort};
        let definition = ExposureDefinition {
            sensitive_ports: vec![SensitivePort::new(11434), SensitivePort::new(22)],
            max_public_share: crate::exposure::DEFAULT_MAX_PUBLIC_SHARE,
        };
        let mut cases = 0;
        for protocol in ["tcp", "TCP", "6", "udp", "icmp", "-1", "all", "ALL"] {
            for (from, to) in [(11434, 11434), (22, 22), (0, 65535), (443, 443), (-1, -1), (-1, 80), (8000, 12000)] {
                for (list, key, cidr) in [
                    ("ipv4Ranges", "cidrIp", "0.0.0.0/0"),
                    ("ipv6Ranges", "cidrIpv6", "::/0"),
                    ("ipv4Ranges", "cidrIp", "10.0.0.0/8"),
                    ("ipv6Ranges", "cidrIpv6", "2001:db8::/32"),
                    ("ipv4Ranges", "cidrIp", "0.0.0.0/1"),
                    ("ipv6Ranges", "cidrIpv6", "2000::/3"),
                    ("ipv4Ranges", "cidrIp", "81.2.0.0/16"),
                    ("prefixListIds", "prefixListId", "pl-0123456789abcdef0"),
                ] {
                    let perm = json!([{"ipProtocol": protocol, "fromPort": from, "toPort": to, list: [{key: cidr}]}]);
                    let item = ci("AWS::EC2::SecurityGroup", json!({"ipPermissions": perm}), json!({}));
                    let rules = ingress_rules("sg-0123abcd", &item.configuration);
                    assert_eq!(rules.len(), 1, "{perm}");
                    let remediator_revokes = !exposed_rules(&rules, &RuleContext::default(), &definition).is_empty();
                    let config_flags = verdict(Rule::SensitivePortsNotPublic, &item).0 == Compliance::NonCompliant;
                    assert_eq!(remediator_revokes, config_flags, "{perm}");
                    cases += 1;
                }
            }
        }
        assert_eq!(cases, 8 * 7 * 8);
    }
}
