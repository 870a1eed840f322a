//! `api-tls`: the LLM API's custom domains require TLS 1.2 or newer.

use serde_json::Value;

use crate::compliance::{Compliance, ConfigItem, Evaluation};

pub const ID: &str = "api-tls";
pub const RESOURCE_TYPES: &[&str] = &["AWS::ApiGateway::DomainName", "AWS::ApiGatewayV2::DomainName"];
/// What the rule evidences, and the CIS AWS Foundations Benchmark (v3.0) control where one exists.
pub const CONTROL: (&str, Option<&str>) = ("TLS in transit: the LLM API requires TLS 1.2+", None);

pub fn evaluate(item: &ConfigItem) -> Evaluation {
    use Compliance::*;
    let c = &item.configuration;
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

fn tls12_or_newer(policy: &str) -> bool {
    let p = policy.to_ascii_uppercase();
    p == "TLS_1_2" || p.contains("TLS13") || p.contains("TLS_1_3") || p.contains("TLS12") || p.contains("TLS_1_2_")
}
