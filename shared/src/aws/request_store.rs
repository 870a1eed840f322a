//! Outcomes of operator requests: `REQUEST#<request-id>` / `META`, kept 30 days.

use super::dynamodb::{decode, json, n, s, DynamoStore};
use crate::operator::{RequestOutcome, RequestOutcomes};
use crate::ports::PortResult;

/// Long enough to read back and to answer a late duplicate delivery; an audit of what was done
/// lives with the remediation or incident record, not here.
const OUTCOME_RETENTION_DAYS: i64 = 30;

impl RequestOutcomes for DynamoStore {
    async fn keep_outcome(&self, outcome: &RequestOutcome) -> PortResult<Option<RequestOutcome>> {
        let pk = format!("REQUEST#{}", outcome.request_id);
        let item = [
            ("pk".to_string(), s(pk.clone())),
            ("sk".to_string(), s("META")),
            ("outcome".to_string(), json(outcome)),
            ("ttl".to_string(), n(outcome.at.timestamp() + OUTCOME_RETENTION_DAYS * 86_400)),
        ]
        .into_iter()
        .collect();
        if self.put_new(item, "PutItem(request outcome)").await? {
            return Ok(None);
        }
        self.outcome(&outcome.request_id).await
    }

    async fn outcome(&self, request_id: &str) -> PortResult<Option<RequestOutcome>> {
        let item = self.get_meta(format!("REQUEST#{request_id}"), "GetItem(request outcome)").await?;
        item.map(|i| decode(&i, "outcome", "GetItem(request outcome)")).transpose()
    }
}
