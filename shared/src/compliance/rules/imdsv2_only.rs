//! `imdsv2-only`: GPU nodes allow only IMDSv2, with a hop limit of 1.

use serde_json::Value;

use crate::compliance::{Compliance, ConfigItem, Evaluation};

pub const ID: &str = "imdsv2-only";
pub const RESOURCE_TYPES: &[&str] = &["AWS::EC2::Instance"];
/// What the rule evidences, and the CIS AWS Foundations Benchmark (v3.0) control where one exists.
pub const CONTROL: (&str, Option<&str>) = ("Instance credentials: IMDSv2 only, hop limit 1", Some("CIS 5.6"));

pub fn evaluate(item: &ConfigItem) -> Evaluation {
    use Compliance::*;
    let c = &item.configuration;
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
}
