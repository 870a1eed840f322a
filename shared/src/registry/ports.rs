//! Where the model registry is kept.

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::ports::PortResult;

/// What importing a registry changed.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct RegistryImport {
    pub written: Vec<String>,
    pub removed: Vec<String>,
}

/// The model registry as stored (DynamoDB): read whole by the validator, replaced whole by
/// `warden registry import`.
pub trait ModelRegistryStore: Send + Sync {
    fn models(&self) -> impl Future<Output = PortResult<Vec<crate::registry::ModelEntry>>> + Send;
    fn replace_models(
        &self,
        models: &[crate::registry::ModelEntry],
        now: DateTime<Utc>,
    ) -> impl Future<Output = PortResult<RegistryImport>> + Send;
}
