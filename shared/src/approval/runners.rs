//! Who runs an approved action: isolation actions to the isolation executor, suspension actions to
//! the suspension service.

use chrono::{DateTime, Utc};

use crate::approval::ports::ActionRunner;
use crate::approval::ApprovalAction;

/// The approvals function's runner: isolation actions to the isolation executor, suspension
/// actions to the suspension service.
pub struct Runners<I, S> {
    pub isolation: I,
    pub suspensions: S,
}

impl<I: ActionRunner, S: ActionRunner> ActionRunner for Runners<I, S> {
    async fn run_approved(
        &self,
        action: &ApprovalAction,
        approved_by: &str,
        now: DateTime<Utc>,
    ) -> Result<String, String> {
        match action {
            ApprovalAction::Isolate { .. } | ApprovalAction::Release { .. } => {
                self.isolation.run_approved(action, approved_by, now).await
            }
            _ => self.suspensions.run_approved(action, approved_by, now).await,
        }
    }

    async fn run_rejected(
        &self,
        action: &ApprovalAction,
        rejected_by: &str,
        now: DateTime<Utc>,
    ) -> Result<String, String> {
        match action {
            ApprovalAction::Isolate { .. } | ApprovalAction::Release { .. } => {
                self.isolation.run_rejected(action, rejected_by, now).await
            }
            _ => self.suspensions.run_rejected(action, rejected_by, now).await,
        }
    }
}
