//! `cloudtrail-on`: at least one multi-region trail logging, with log-file validation and KMS
//! (periodic, for the account).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::compliance::{Compliance, ConfigItem, Evaluation};

pub const ID: &str = "cloudtrail-on";
pub const RESOURCE_TYPES: &[&str] = &[];
/// What the rule evidences, and the CIS AWS Foundations Benchmark (v3.0) control where one exists.
pub const CONTROL: (&str, Option<&str>) =
    ("Audit logging: multi-region CloudTrail, validated, KMS-encrypted", Some("CIS 3.1, 3.2, 3.5"));

pub fn evaluate(item: &ConfigItem) -> Evaluation {
    use Compliance::*;
    Evaluation::new(item, NotApplicable, "cloudtrail-on is evaluated periodically for the account")
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
