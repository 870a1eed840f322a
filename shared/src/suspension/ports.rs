//! The ports of suspensions: where they are kept, and the API keys a revocation disables.

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::ports::PortResult;

/// Suspensions of abusive callers and fleet-wide quota tightening; offence evidence.
pub trait SuspensionStore: Send + Sync {
    /// Record a new suspension (conditional on its id); `Some(existing)` if it was already there.
    fn create_suspension(
        &self,
        record: &crate::suspension::SuspensionRecord,
    ) -> impl Future<Output = PortResult<Option<crate::suspension::SuspensionRecord>>> + Send;
    fn suspension(
        &self,
        id: &str,
    ) -> impl Future<Output = PortResult<Option<crate::suspension::SuspensionRecord>>> + Send;
    fn save_suspension(
        &self,
        record: &crate::suspension::SuspensionRecord,
    ) -> impl Future<Output = PortResult<()>> + Send;
    /// A caller's suspensions since `since`, any status.
    fn suspensions_of(
        &self,
        caller: &str,
        since: DateTime<Utc>,
    ) -> impl Future<Output = PortResult<Vec<crate::suspension::SuspensionRecord>>> + Send;
    /// Put a caller's suspension in force until `until` (never shortens one already in force).
    fn activate(&self, active: &crate::suspension::ActiveSuspension) -> impl Future<Output = PortResult<()>> + Send;
    /// Take a caller's suspension out of force; `false` if there was none.
    fn deactivate(&self, caller: &str) -> impl Future<Output = PortResult<bool>> + Send;
    /// Take this suspension out of force only if it is still the one in force (not extended or
    /// replaced since it was read); `false` if it is not.
    fn deactivate_exactly(
        &self,
        active: &crate::suspension::ActiveSuspension,
    ) -> impl Future<Output = PortResult<bool>> + Send;
    /// Every suspension in force and the fleet limits: what the validator reads (one query).
    fn restrictions(&self) -> impl Future<Output = PortResult<crate::suspension::Restrictions>> + Send;
    fn set_fleet_limits(&self, limits: &crate::suspension::FleetLimits) -> impl Future<Output = PortResult<()>> + Send;
    /// Count one refused request of `caller` (injection attempt or auth failure) in its hour.
    fn record_offence(&self, caller: &str, now: DateTime<Utc>) -> impl Future<Output = PortResult<()>> + Send;
    /// How many offences the validator counted for `caller` in the last `hours`.
    fn offences_of(&self, caller: &str, hours: i64, now: DateTime<Utc>)
        -> impl Future<Output = PortResult<u64>> + Send;
    /// Callers with the most offences in the last `hours`, most first.
    fn top_offenders(
        &self,
        hours: i64,
        now: DateTime<Utc>,
        limit: usize,
    ) -> impl Future<Output = PortResult<Vec<(String, u64)>>> + Send;
}

/// API keys at the API Gateway in front of the validator.
pub trait ApiKeys: Send + Sync {
    /// Disable an API key; `Ok(false)` if there is no such key.
    fn disable(&self, key_id: &str) -> impl Future<Output = PortResult<bool>> + Send;
}
