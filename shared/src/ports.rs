//! The ports: the small capabilities the executor needs from the outside world. AWS adapters
//! live in `crate::aws`; in-memory fakes for unit tests in `crate::testing`.

use std::future::Future;

use crate::notify::Notification;

/// Why a port call failed, classified so the executor can decide what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The thing is not there (group, rule, record).
    NotFound,
    /// The service asked us to slow down; retrying later will likely work.
    Throttled,
    AccessDenied,
    /// A conditional write lost: someone else got there first.
    Conflict,
    /// The thing already exists (e.g. restoring a rule that is present).
    AlreadyExists,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} failed ({kind:?}{}): {message}", code.as_deref().map(|c| format!(", {c}")).unwrap_or_default())]
pub struct PortError {
    pub operation: &'static str,
    pub kind: ErrorKind,
    /// The AWS error code, when there is one.
    pub code: Option<String>,
    pub message: String,
}

impl PortError {
    pub fn new(operation: &'static str, kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { operation, kind, code: None, message: message.into() }
    }
}

pub type PortResult<T> = Result<T, PortError>;

/// Tells people (and machines) what happened.
pub trait Notifier: Send + Sync {
    fn notify(&self, notification: &Notification) -> impl Future<Output = PortResult<()>> + Send;
}

/// Why an executor (remediation, isolation) did not carry out a request: what the edge maps to
/// a Lambda error type.
#[derive(Debug, thiserror::Error)]
pub enum ExecutorError {
    #[error("no remediation {0} is on record")]
    UnknownRemediation(String),
    #[error("no incident {0} is on record")]
    UnknownIncident(String),
    /// The request does not fit the record's state; the message says why.
    #[error("{0}")]
    Refused(String),
    #[error("remediation {id} is {status} and cannot be undone{hint}")]
    NotUndoable { id: String, status: &'static str, hint: &'static str },
    #[error("remediation {0} is being worked on by another invocation; try again in a minute")]
    Busy(String),
    #[error(transparent)]
    Port(#[from] PortError),
}
