//! The ports of operator requests: who signed a proof (STS), and where outcomes are kept.

use std::future::Future;

use super::{CallerProof, ProofError, ProvenCaller, RequestOutcome};
use crate::ports::PortResult;

/// Asks AWS who signed a caller proof.
pub trait CallerVerifier: Send + Sync {
    /// The region whose STS verifies: a proof must be signed for it.
    fn region(&self) -> &str;
    /// Send the proof's `GetCallerIdentity`, with `x-warden-request: <binding>`, to Warden's own
    /// STS endpoint; the ARN STS answers, or why it refused.
    fn caller(
        &self,
        proof: &CallerProof,
        binding: &str,
    ) -> impl Future<Output = Result<ProvenCaller, ProofError>> + Send;
}

/// Outcomes of operator requests, by request id.
pub trait RequestOutcomes: Send + Sync {
    /// Keep an outcome unless one is kept for the request already; `Some(existing)` then.
    fn keep_outcome(&self, outcome: &RequestOutcome)
        -> impl Future<Output = PortResult<Option<RequestOutcome>>> + Send;
    fn outcome(&self, request_id: &str) -> impl Future<Output = PortResult<Option<RequestOutcome>>> + Send;
}
