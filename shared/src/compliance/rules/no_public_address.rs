//! `no-public-address`: GPU nodes have no public address.

use serde_json::Value;

use crate::compliance::{Compliance, ConfigItem, Evaluation};

pub const ID: &str = "no-public-address";
pub const RESOURCE_TYPES: &[&str] = &["AWS::EC2::Instance"];
/// What the rule evidences, and the CIS AWS Foundations Benchmark (v3.0) control where one exists.
pub const CONTROL: (&str, Option<&str>) = ("Network isolation: GPU nodes have no public address", None);

pub fn evaluate(item: &ConfigItem) -> Evaluation {
    use Compliance::*;
    let c = &item.configuration;
    let mut public: Vec<String> = c
        .get("publicIpAddress")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .into_iter()
        .collect();
    for ni in c.get("networkInterfaces").and_then(Value::as_array).into_iter().flatten() {
        if let Some(ip) = ni.pointer("/association/publicIp").and_then(Value::as_str).filter(|s| !s.is_empty()) {
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
}
