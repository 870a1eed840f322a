//! `volumes-encrypted`: EBS volumes of the fleet are encrypted, with an approved key where named.

use serde_json::Value;

use crate::compliance::{Compliance, ConfigItem, Evaluation, RuleParams};

pub const ID: &str = "volumes-encrypted";
pub const RESOURCE_TYPES: &[&str] = &["AWS::EC2::Volume"];
/// What the rule evidences, and the CIS AWS Foundations Benchmark (v3.0) control where one exists.
pub const CONTROL: (&str, Option<&str>) = ("Encryption at rest: EBS volumes of the LLM fleet", Some("CIS 2.2.1"));

pub fn evaluate(item: &ConfigItem, params: &RuleParams) -> Evaluation {
    use Compliance::*;
    let c = &item.configuration;
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
}
