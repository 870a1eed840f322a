//! The rules this function implements, one file each with its id, the resource types it
//! evaluates, the control it evidences and its verdict.

pub mod api_tls;
pub mod approved_model;
pub mod cloudtrail_on;
pub mod imdsv2_only;
pub mod no_public_address;
pub mod sensitive_ports_not_public;
pub mod volumes_encrypted;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::compliance::{Compliance, ConfigItem, Evaluation, RuleParams};
use crate::registry::Registry;

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
            Self::SensitivePortsNotPublic => sensitive_ports_not_public::ID,
            Self::VolumesEncrypted => volumes_encrypted::ID,
            Self::ApiTls => api_tls::ID,
            Self::CloudtrailOn => cloudtrail_on::ID,
            Self::Imdsv2Only => imdsv2_only::ID,
            Self::NoPublicAddress => no_public_address::ID,
            Self::ApprovedModel => approved_model::ID,
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
            Self::SensitivePortsNotPublic => sensitive_ports_not_public::RESOURCE_TYPES,
            Self::VolumesEncrypted => volumes_encrypted::RESOURCE_TYPES,
            Self::ApiTls => api_tls::RESOURCE_TYPES,
            Self::CloudtrailOn => cloudtrail_on::RESOURCE_TYPES,
            Self::Imdsv2Only => imdsv2_only::RESOURCE_TYPES,
            Self::NoPublicAddress => no_public_address::RESOURCE_TYPES,
            Self::ApprovedModel => approved_model::RESOURCE_TYPES,
        }
    }

    /// What the rule evidences, and the CIS AWS Foundations Benchmark (v3.0) control where one
    /// exists.
    pub fn control(self) -> (&'static str, Option<&'static str>) {
        match self {
            Self::SensitivePortsNotPublic => sensitive_ports_not_public::CONTROL,
            Self::VolumesEncrypted => volumes_encrypted::CONTROL,
            Self::ApiTls => api_tls::CONTROL,
            Self::CloudtrailOn => cloudtrail_on::CONTROL,
            Self::Imdsv2Only => imdsv2_only::CONTROL,
            Self::NoPublicAddress => no_public_address::CONTROL,
            Self::ApprovedModel => approved_model::CONTROL,
        }
    }
}

/// The verdict of `rule` on one configuration item. Deleted items, other resource types and (for
/// the fleet's rules) items outside the scope tag are not applicable.
pub fn evaluate(rule: Rule, item: &ConfigItem, params: &RuleParams, registry: &Registry) -> Evaluation {
    use Compliance::*;
    if item.gone() {
        return Evaluation::new(item, NotApplicable, format!("{} is {}", item.resource_id, item.status));
    }
    if !rule.resource_types().contains(&item.resource_type.as_str()) {
        return Evaluation::new(item, NotApplicable, format!("{} does not evaluate {}", rule.id(), item.resource_type));
    }
    let scoped = |e: Evaluation| {
        if params.in_scope(item) {
            e
        } else {
            Evaluation::new(item, NotApplicable, format!("not tagged {}={}", params.scope_tag.0, params.scope_tag.1))
        }
    };
    match rule {
        Rule::SensitivePortsNotPublic => sensitive_ports_not_public::evaluate(item, params),
        Rule::VolumesEncrypted => scoped(volumes_encrypted::evaluate(item, params)),
        Rule::ApiTls => api_tls::evaluate(item),
        Rule::CloudtrailOn => cloudtrail_on::evaluate(item),
        Rule::Imdsv2Only => scoped(imdsv2_only::evaluate(item)),
        Rule::NoPublicAddress => scoped(no_public_address::evaluate(item)),
        Rule::ApprovedModel => scoped(approved_model::evaluate(item, params, registry)),
    }
}
