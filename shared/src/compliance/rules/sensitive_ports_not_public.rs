//! `sensitive-ports-not-public`: no sensitive port (nor all traffic) is open to more of the
//! internet than the share allowed, judged by the remediator's own definition
//! ([`exposed_rules`]: a group's rules taken together, as address space).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::compliance::{Compliance, ConfigItem, Evaluation, RuleParams};
use crate::exposure::{exposed_rules, ExposureDefinition, IngressRule, RuleContext, RuleSource, SensitivePort};

pub const ID: &str = "sensitive-ports-not-public";
pub const RESOURCE_TYPES: &[&str] = &["AWS::EC2::SecurityGroup"];
/// What the rule evidences, and the CIS AWS Foundations Benchmark (v3.0) control where one exists.
pub const CONTROL: (&str, Option<&str>) =
    ("Security groups restricted: no Ollama or SSH from the internet", Some("CIS 5.2, 5.3"));

/// Prefix lists are judged by the remediator, which resolves their entries; the configuration
/// item names them only.
pub fn evaluate(item: &ConfigItem, params: &RuleParams) -> Evaluation {
    use Compliance::*;
    let definition = ExposureDefinition {
        sensitive_ports: params.ports.iter().map(|&p| SensitivePort::new(p)).collect(),
        max_public_share: params.max_public_share,
    };
    let rules = ingress_rules(&item.resource_id, &item.configuration);
    let mut open: Vec<String> = Vec::new();
    for exposed in exposed_rules(&rules, &RuleContext::default(), &definition) {
        let rule = &exposed.rule;
        let what = if rule.allows_all_traffic() {
            "all traffic".to_string()
        } else {
            format!("tcp {}-{}", rule.from_port, rule.to_port)
        };
        // Split ranges say so: no one of them is the whole internet.
        let together = exposed.reason.find(" (with the group's").map(|i| &exposed.reason[i..]).unwrap_or_default();
        for port in params.ports.iter().filter(|&&p| rule.covers_tcp_port(p)) {
            let line = format!("{port} open to {} ({what}){together}", rule.source);
            if !open.contains(&line) {
                open.push(line);
            }
        }
    }
    if open.is_empty() {
        Evaluation::new(
            item,
            Compliant,
            format!("no ingress lets more than {} of the internet reach ports {:?}", share(params), params.ports),
        )
    } else {
        Evaluation::new(item, NonCompliant, format!("world-open: {}", open.join("; ")))
    }
}

fn share(params: &RuleParams) -> String {
    format!("{}%", params.max_public_share * 100.0)
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
