//! The ports of the Config rules: AWS Config, the inventory a periodic rule lists, the evidence store.

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::ports::PortResult;

/// AWS Config: report verdicts; fetch an item too large to be sent.
pub trait ConfigEvaluations: Send + Sync {
    /// Report one batch (≤ 100). `test_mode`: the `TESTMODE` result token.
    fn put_evaluations(
        &self,
        result_token: &str,
        test_mode: bool,
        batch: &[crate::compliance::Evaluation],
    ) -> impl Future<Output = PortResult<()>> + Send;
    /// The latest configuration item of a resource, in the shape Config sends; `None` if Config
    /// has not recorded it.
    fn latest_item(
        &self,
        resource_type: &str,
        resource_id: &str,
    ) -> impl Future<Output = PortResult<Option<crate::compliance::ConfigItem>>> + Send;
}

/// What a periodic rule lists: resources as configuration items, and the account's trails.
pub trait Inventory: Send + Sync {
    fn items(&self, resource_type: &str)
        -> impl Future<Output = PortResult<Vec<crate::compliance::ConfigItem>>> + Send;
    fn trails(&self) -> impl Future<Output = PortResult<Vec<crate::compliance::TrailState>>> + Send;
}

/// Every evaluation kept as compliance evidence.
pub trait EvidenceStore: Send + Sync {
    fn record_evaluations(
        &self,
        rule: crate::compliance::Rule,
        evaluations: &[crate::compliance::Evaluation],
        evaluated_at: DateTime<Utc>,
    ) -> impl Future<Output = PortResult<()>> + Send;
    /// Evidence of every rule since `since`, oldest first.
    fn evidence_since(
        &self,
        since: DateTime<Utc>,
    ) -> impl Future<Output = PortResult<Vec<crate::compliance::EvidenceRow>>> + Send;
}
