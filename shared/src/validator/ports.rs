//! The validator's port of its own: per-caller quotas shared by every Lambda instance.

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::ports::PortResult;

/// One caller's fixed quota window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaWindow {
    /// Unix seconds at which the window starts.
    pub start: i64,
    pub seconds: u64,
}

impl QuotaWindow {
    pub fn containing(now: DateTime<Utc>, seconds: u64) -> Self {
        let t = now.timestamp();
        Self { start: t - t.rem_euclid(seconds as i64), seconds }
    }

    pub fn end(&self) -> i64 {
        self.start + self.seconds as i64
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaOutcome {
    /// Counted: the totals in this window after this request.
    Allowed { requests: u64, tokens: u64 },
    /// Over a budget; nothing was counted.
    Exhausted,
}

/// Per-caller request and token budgets, shared by every Lambda instance (atomic counters).
pub trait QuotaStore: Send + Sync {
    fn consume(
        &self,
        caller: &str,
        window: QuotaWindow,
        tokens: u64,
        max_requests: u64,
        max_tokens: u64,
    ) -> impl Future<Output = PortResult<QuotaOutcome>> + Send;
}
