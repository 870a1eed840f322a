//! `approved-model`: a node declares its model, and the registry approves it (digests match, no
//! critical vulnerabilities).

use crate::compliance::{Compliance, ConfigItem, Evaluation, RuleParams};
use crate::registry::{ModelRef, Registry};

pub const ID: &str = "approved-model";
pub const RESOURCE_TYPES: &[&str] = &["AWS::EC2::Instance"];
/// What the rule evidences, and the CIS AWS Foundations Benchmark (v3.0) control where one exists.
pub const CONTROL: (&str, Option<&str>) = ("Model governance: only approved, scanned models are served", None);

pub fn evaluate(item: &ConfigItem, params: &RuleParams, registry: &Registry) -> Evaluation {
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
