//! The Config rules function's flow: an AWS Config invocation → the configuration items to
//! judge (sent, fetched when oversized, or listed for a periodic rule) → verdicts → reported to
//! AWS Config in batches of at most 100 → kept as evidence.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::compliance::ports::{ConfigEvaluations, EvidenceStore, Inventory};
use crate::compliance::{
    batches, evaluate, evaluate_trails, Compliance, ComplianceError, ConfigItem, ConfigRuleEvent, Evaluation, Rule,
    RuleInvocation, RuleParams, Trigger,
};
use crate::ports::PortError;
use crate::registry::ports::ModelRegistryStore;
use crate::registry::Registry;

#[derive(Debug, thiserror::Error)]
pub enum ConfigRulesError {
    #[error(transparent)]
    Event(#[from] ComplianceError),
    #[error(transparent)]
    Port(#[from] PortError),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleReport {
    pub rule: &'static str,
    pub rule_name: String,
    pub trigger: &'static str,
    pub evaluations: usize,
    pub compliant: usize,
    pub non_compliant: usize,
    pub not_applicable: usize,
    /// `PutEvaluations` calls made (≤ 100 evaluations each).
    pub batches: usize,
    pub test_mode: bool,
    /// Up to ten non-compliant resources with why.
    pub findings: Vec<String>,
}

pub struct ConfigRules<C, I, E, R> {
    pub config: C,
    pub inventory: I,
    pub evidence: E,
    pub registry: R,
}

impl<C: ConfigEvaluations, I: Inventory, E: EvidenceStore, R: ModelRegistryStore> ConfigRules<C, I, E, R> {
    /// Any JSON AWS Config might have sent (tests and tools; the function gets it typed).
    pub async fn handle(&self, event: &Value, now: DateTime<Utc>) -> Result<RuleReport, ConfigRulesError> {
        self.evaluate(&ConfigRuleEvent::from_value(event.clone()), now).await
    }

    pub async fn evaluate(&self, event: &ConfigRuleEvent, now: DateTime<Utc>) -> Result<RuleReport, ConfigRulesError> {
        let inv = RuleInvocation::from_event(event)?;
        let params = RuleParams::from_map(&inv.params)?;
        let registry = if inv.rule == Rule::ApprovedModel {
            Registry { models: self.registry.models().await? }
        } else {
            Registry::default()
        };
        let judge = |item: &ConfigItem| evaluate(inv.rule, item, &params, &registry);
        let (trigger, evaluations): (&'static str, Vec<Evaluation>) = match &inv.trigger {
            Trigger::Change(item) if inv.left_scope => {
                ("change", vec![Evaluation::new(item, Compliance::NotApplicable, "the resource left the rule's scope")])
            }
            Trigger::Change(item) => ("change", vec![judge(item)]),
            Trigger::Oversized { resource_type, resource_id, capture_time } => {
                let e = match self.config.latest_item(resource_type, resource_id).await? {
                    Some(item) => judge(&item),
                    None => {
                        let placeholder = ConfigItem {
                            resource_type: resource_type.clone(),
                            resource_id: resource_id.clone(),
                            status: "ResourceNotRecorded".into(),
                            capture_time: *capture_time,
                            configuration: Value::Null,
                            tags: Default::default(),
                        };
                        Evaluation::new(
                            &placeholder,
                            Compliance::NotApplicable,
                            "oversized item not in the configuration history",
                        )
                    }
                };
                ("oversized", vec![e])
            }
            Trigger::Scheduled { notification_time } => {
                let mut all = Vec::new();
                if inv.rule == Rule::CloudtrailOn {
                    let account = event.0.as_ref().ok().and_then(|e| e.account_id.as_deref()).unwrap_or("unknown");
                    all.push(evaluate_trails(&self.inventory.trails().await?, account, *notification_time));
                }
                for resource_type in inv.rule.resource_types() {
                    for mut item in self.inventory.items(resource_type).await? {
                        item.capture_time = *notification_time;
                        all.push(judge(&item));
                    }
                }
                ("scheduled", all)
            }
        };
        let mut calls = 0;
        for batch in batches(&evaluations) {
            self.config.put_evaluations(&inv.result_token, inv.test_mode(), batch).await?;
            calls += 1;
        }
        self.evidence.record_evaluations(inv.rule, &evaluations, now).await?;
        let count = |c: Compliance| evaluations.iter().filter(|e| e.compliance == c).count();
        Ok(RuleReport {
            rule: inv.rule.id(),
            rule_name: inv.rule_name.clone(),
            trigger,
            evaluations: evaluations.len(),
            compliant: count(Compliance::Compliant),
            non_compliant: count(Compliance::NonCompliant),
            not_applicable: count(Compliance::NotApplicable),
            batches: calls,
            test_mode: inv.test_mode(),
            findings: evaluations
                .iter()
                .filter(|e| e.compliance == Compliance::NonCompliant)
                .take(10)
                .map(|e| format!("{} {}: {}", e.resource_type, e.resource_id, e.annotation))
                .collect(),
        })
    }
}
