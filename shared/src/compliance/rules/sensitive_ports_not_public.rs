//! `sensitive-ports-not-public`: no ingress from the whole internet covers a sensitive port (or
//! allows all traffic), judged by the remediator's own definition ([`IngressRule::exposes`]).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::compliance::{Compliance, ConfigItem, Evaluation, RuleParams};
use crate::exposure::{IngressRule, RuleSource};

pub const ID: &str = "sensitive-ports-not-public";
pub const RESOURCE_TYPES: &[&str] = &["AWS::EC2::SecurityGroup"];
/// What the rule evidences, and the CIS AWS Foundations Benchmark (v3.0) control where one exists.
pub const CONTROL: (&str, Option<&str>) =
    ("Security groups restricted: no Ollama or SSH from the internet", Some("CIS 5.2, 5.3"));

pub fn evaluate(item: &ConfigItem, params: &RuleParams) -> Evaluation {
    use Compliance::*;
    let c = &item.configuration;
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
        Evaluation::new(item, Compliant, format!("no ingress from 0.0.0.0/0 or ::/0 covers ports {:?}", params.ports))
    } else {
        Evaluation::new(item, NonCompliant, format!("world-open: {}", open.join("; ")))
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
