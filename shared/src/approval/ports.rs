//! The ports of the approval flow: where requests are kept, and who runs an approved action.

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::approval::{ApprovalAction, ApprovalRequest, ApprovalStatus, DecisionRecord};
use crate::ports::PortResult;

/// Approval requests and their decisions.
pub trait ApprovalStore: Send + Sync {
    /// `Ok(Some(existing))` when a request with this id is already on record.
    fn create_approval(
        &self,
        request: &ApprovalRequest,
    ) -> impl Future<Output = PortResult<Option<ApprovalRequest>>> + Send;
    fn approval(&self, id: &str) -> impl Future<Output = PortResult<Option<ApprovalRequest>>> + Send;
    /// Single use: move a `pending` request to `status` with the decision's evidence.
    /// `Ok(false)`: it was not pending any more.
    fn decide_approval(
        &self,
        id: &str,
        status: ApprovalStatus,
        decision: Option<&DecisionRecord>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = PortResult<bool>> + Send;
    /// Add what executing the decision did to its record.
    fn record_approval_outcome(
        &self,
        id: &str,
        decision: &DecisionRecord,
    ) -> impl Future<Output = PortResult<()>> + Send;
    /// Pending requests whose expiry has passed.
    fn expired_approvals(&self, now: DateTime<Utc>) -> impl Future<Output = PortResult<Vec<ApprovalRequest>>> + Send;
}

/// Runs what an approval approved, through the same executor the remediator uses.
pub trait ActionRunner: Send + Sync {
    /// `Ok(what happened)`, or `Err(why it did not)`.
    fn run_approved(
        &self,
        action: &ApprovalAction,
        approved_by: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<String, String>> + Send;
    /// What a rejection means for the action's subject. `Ok(what happened)`.
    fn run_rejected(
        &self,
        action: &ApprovalAction,
        rejected_by: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<String, String>> + Send;
}

/// A runner borrowed is a runner (the approvals function keeps one of each and lends them).
impl<T: ActionRunner> ActionRunner for &T {
    async fn run_approved(
        &self,
        action: &ApprovalAction,
        approved_by: &str,
        now: DateTime<Utc>,
    ) -> Result<String, String> {
        (**self).run_approved(action, approved_by, now).await
    }

    async fn run_rejected(
        &self,
        action: &ApprovalAction,
        rejected_by: &str,
        now: DateTime<Utc>,
    ) -> Result<String, String> {
        (**self).run_rejected(action, rejected_by, now).await
    }
}
