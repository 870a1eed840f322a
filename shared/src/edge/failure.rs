//! The one mapping from what went wrong to the error a function returns to Lambda: an error type
//! `Warden.<Kind>` a dashboard or a retry policy can match on, and a message for people.

use std::fmt::Display;

use serde::Serialize;
use serde_json::Value;

use crate::edge::events::EventError;
use crate::ports::ExecutorError;

/// What kind of failure; the Lambda error type is `Warden.<Kind>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Malformed, unknown or out-of-scope input: nothing changed, a retry will not help.
    EventRejected,
    /// A well-formed request that the record's state refuses (undo of an unknown remediation, …).
    RequestRefused,
    /// Part of a remediation or isolation did not happen; it is recorded and a redelivery resumes it.
    RemediationIncomplete,
    IsolationIncomplete,
    SuspensionIncomplete,
    ApprovalNotRequested,
    ExpiryIncomplete,
    EvaluationIncomplete,
    /// STS or the table could not be asked about an operator request: nothing was decided, a
    /// redelivery decides.
    RequestUndecided,
    InternalError,
}

impl FailureKind {
    pub fn error_type(self) -> &'static str {
        match self {
            Self::EventRejected => "Warden.EventRejected",
            Self::RequestRefused => "Warden.RequestRefused",
            Self::RemediationIncomplete => "Warden.RemediationIncomplete",
            Self::IsolationIncomplete => "Warden.IsolationIncomplete",
            Self::SuspensionIncomplete => "Warden.SuspensionIncomplete",
            Self::ApprovalNotRequested => "Warden.ApprovalNotRequested",
            Self::ExpiryIncomplete => "Warden.ExpiryIncomplete",
            Self::EvaluationIncomplete => "Warden.EvaluationIncomplete",
            Self::RequestUndecided => "Warden.RequestUndecided",
            Self::InternalError => "Warden.InternalError",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
}

impl Failure {
    pub fn new(kind: FailureKind, message: impl Display) -> Self {
        Self { kind, message: message.to_string() }
    }
}

impl From<EventError> for Failure {
    fn from(e: EventError) -> Self {
        tracing::warn!(error = %e, "event rejected; nothing changed");
        Self::new(FailureKind::EventRejected, e)
    }
}

impl From<ExecutorError> for Failure {
    fn from(e: ExecutorError) -> Self {
        match e {
            ExecutorError::Port(_) | ExecutorError::Busy(_) => {
                tracing::error!(error = %e, "did not complete; what was done is recorded and a redelivery resumes it");
                Self::new(FailureKind::RemediationIncomplete, e)
            }
            ExecutorError::UnknownRemediation(_)
            | ExecutorError::UnknownIncident(_)
            | ExecutorError::NotUndoable { .. }
            | ExecutorError::Refused(_) => {
                tracing::warn!(error = %e, "request refused; nothing changed");
                Self::new(FailureKind::RequestRefused, e)
            }
        }
    }
}

/// A report as the function's JSON answer.
pub fn to_json<T: Serialize>(report: &T) -> Result<Value, Failure> {
    serde_json::to_value(report).map_err(|e| Failure::new(FailureKind::InternalError, e))
}

#[cfg(feature = "aws")]
impl From<Failure> for lambda_runtime::Diagnostic {
    fn from(f: Failure) -> Self {
        Self { error_type: f.kind.error_type().to_string(), error_message: f.message }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executor_errors_map_to_incomplete_or_refused() {
        let port =
            crate::ports::PortError::new("RevokeSecurityGroupIngress", crate::ports::ErrorKind::Throttled, "slow");
        assert_eq!(Failure::from(ExecutorError::Port(port)).kind, FailureKind::RemediationIncomplete);
        assert_eq!(Failure::from(ExecutorError::Busy("i-1".into())).kind, FailureKind::RemediationIncomplete);
        let refused = Failure::from(ExecutorError::UnknownRemediation("rem-x".into()));
        assert_eq!(
            (refused.kind.error_type(), refused.message.as_str()),
            ("Warden.RequestRefused", "no remediation rem-x is on record")
        );
        assert_eq!(Failure::from(EventError::MissingField("id")).kind.error_type(), "Warden.EventRejected");
    }
}
