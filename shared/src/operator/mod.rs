//! Requests from operators (undo a remediation, release an incident), and who sent them, as AWS
//! authenticated it.
//!
//! An EventBridge event does not say who put it. So a request carries a **caller proof**: an
//! `sts:GetCallerIdentity` request the operator's credentials signed (SigV4) but did not send.
//! The signature covers a header, `x-warden-request`, whose value is the digest of this one
//! request (its kind, its target, its request id). Warden builds the HTTP request itself — its
//! own STS endpoint, the fixed body, the header computed from the request it received — and
//! takes only the `Authorization`, `X-Amz-Date` (and session token) from the event. STS answers
//! with the caller's ARN only if the signature matches, so a proof cannot be moved to another
//! request, sent to another host, or made without the credentials; Warden also refuses one
//! signed more than five minutes ago. (The same scheme as Vault's and Kubernetes' AWS IAM
//! authentication.)
//!
//! The ARN STS answers must then be one of the configured operators.

pub mod ports;

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use ports::{CallerVerifier, RequestOutcomes};

/// The EventBridge bus operator requests go to (the wiring stack creates it).
pub const DEFAULT_REQUESTS_BUS: &str = "warden-requests";
/// The header the proof's signature must cover, bound to one request.
pub const REQUEST_HEADER: &str = "x-warden-request";
/// The body of the `GetCallerIdentity` request the proof signs.
pub const STS_BODY: &str = "Action=GetCallerIdentity&Version=2011-06-15";
/// Its content type, which the signer may sign.
pub const STS_CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";
/// A proof signed longer ago than this (or this far in the future) is refused: STS itself
/// allows 15 minutes, and a request travels in seconds.
pub const PROOF_LIFETIME: TimeDelta = TimeDelta::minutes(5);
/// The headers a proof may have signed: the ones Warden sends.
const SIGNABLE: [&str; 5] = ["content-type", "host", "x-amz-date", "x-amz-security-token", REQUEST_HEADER];
const MAX_AUTHORIZATION: usize = 1024;
const MAX_SESSION_TOKEN: usize = 8192;

/// One operator request: what, on what, and the requester's own id for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperatorRequest<'a> {
    /// The EventBridge detail type (`Warden Undo Request`, `Warden Release Request`).
    pub detail_type: &'a str,
    /// The remediation or incident id.
    pub target: &'a str,
    /// Chosen at random by the requester; names the outcome record.
    pub request_id: &'a str,
}

impl OperatorRequest<'_> {
    /// The value of `x-warden-request`: SHA-256 over kind, target and request id, in hex.
    pub fn binding(&self) -> String {
        let digest = Sha256::digest(format!("{}\n{}\n{}", self.detail_type, self.target, self.request_id).as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// A request id as `warden` makes them: 43 URL-safe characters (32 random bytes).
pub fn valid_request_id(id: &str) -> bool {
    (16..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What an operator request carries besides its target: its id and the caller proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorAsk {
    pub request_id: String,
    pub proof: CallerProof,
}

impl OperatorAsk {
    pub fn request<'a>(&'a self, detail_type: &'a str, target: &'a str) -> OperatorRequest<'a> {
        OperatorRequest { detail_type, target, request_id: &self.request_id }
    }
}

/// The signed, unsent `GetCallerIdentity` request's signature headers.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallerProof {
    /// `AWS4-HMAC-SHA256 Credential=…/<date>/<region>/sts/aws4_request, SignedHeaders=…, Signature=…`
    pub authorization: String,
    /// `X-Amz-Date`: `YYYYMMDDTHHMMSSZ`.
    pub amz_date: String,
    /// `X-Amz-Security-Token`, for temporary credentials (roles, SSO).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_token: Option<String>,
}

impl std::fmt::Debug for CallerProof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The signature and token are credentials for as long as the proof lives.
        f.debug_struct("CallerProof").field("amz_date", &self.amz_date).finish_non_exhaustive()
    }
}

/// What the proof's `Authorization` says it is: whose key, when, where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedScope {
    pub access_key_id: String,
    pub signed_at: DateTime<Utc>,
    pub region: String,
    pub signed_headers: Vec<String>,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ProofError {
    #[error("the caller proof is malformed: {0}")]
    Malformed(String),
    #[error(
        "the caller proof was signed at {signed_at}, more than {} minutes from now ({now}): send the request again",
        PROOF_LIFETIME.num_minutes()
    )]
    Stale { signed_at: String, now: String },
    #[error("the caller proof is for {0}; Warden verifies callers with STS in {1}: run `warden` with AWS_REGION={1}")]
    WrongRegion(String, String),
    #[error("the caller proof's signature does not cover {0}, so it is not bound to this request")]
    NotBound(&'static str),
    #[error("STS did not accept the caller proof ({0}): the signature does not match this request, or the credentials are not valid")]
    Refused(String),
    #[error("{0} is not an operator (WARDEN_OPERATORS): nothing was done")]
    NotAnOperator(String),
    #[error("STS could not be asked who signed the request: {0}")]
    Unavailable(String),
}

impl CallerProof {
    /// The checks Warden can make before asking STS: shape, freshness, region, and that the
    /// request binding is signed.
    pub fn check(&self, now: DateTime<Utc>, region: &str) -> Result<SignedScope, ProofError> {
        let bad = |why: &str| ProofError::Malformed(why.to_string());
        if self.authorization.len() > MAX_AUTHORIZATION {
            return Err(bad("authorization is too long"));
        }
        if self.security_token.as_ref().is_some_and(|t| t.len() > MAX_SESSION_TOKEN || t.is_empty()) {
            return Err(bad("security_token is empty or too long"));
        }
        let fields = self
            .authorization
            .strip_prefix("AWS4-HMAC-SHA256 ")
            .ok_or_else(|| bad("authorization must be an AWS4-HMAC-SHA256 signature"))?;
        let (mut credential, mut signed, mut signature) = (None, None, None);
        for part in fields.split(',') {
            let (name, value) =
                part.trim().split_once('=').ok_or_else(|| bad("authorization has a part without `=`"))?;
            let slot = match name {
                "Credential" => &mut credential,
                "SignedHeaders" => &mut signed,
                "Signature" => &mut signature,
                _ => return Err(bad("authorization has an unknown part")),
            };
            if slot.replace(value).is_some() {
                return Err(bad("authorization names a part twice"));
            }
        }
        let (credential, signed, signature) = match (credential, signed, signature) {
            (Some(c), Some(h), Some(s)) => (c, h, s),
            _ => return Err(bad("authorization needs Credential, SignedHeaders and Signature")),
        };
        if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("the signature must be 64 hex digits"));
        }
        let scope: Vec<&str> = credential.split('/').collect();
        let [key, date, scope_region, service, "aws4_request"] = scope[..] else {
            return Err(bad("Credential must be <key>/<date>/<region>/sts/aws4_request"));
        };
        if service != "sts" {
            return Err(bad("the proof must be signed for the sts service"));
        }
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(bad("the access key id is not one"));
        }
        let signed_at = NaiveDateTime::parse_from_str(&self.amz_date, "%Y%m%dT%H%M%SZ")
            .map_err(|_| bad("amz_date must be YYYYMMDDTHHMMSSZ"))?
            .and_utc();
        if !self.amz_date.starts_with(date) || date.len() != 8 {
            return Err(bad("the credential's date is not the signing date"));
        }
        if (now - signed_at).abs() > PROOF_LIFETIME {
            return Err(ProofError::Stale { signed_at: signed_at.to_rfc3339(), now: now.to_rfc3339() });
        }
        if scope_region != region {
            return Err(ProofError::WrongRegion(scope_region.to_string(), region.to_string()));
        }
        let signed_headers: Vec<String> = signed.split(';').map(str::to_string).collect();
        if let Some(other) = signed_headers.iter().find(|h| !SIGNABLE.contains(&h.as_str())) {
            return Err(ProofError::Malformed(format!(
                "the signature covers header {other:?}, which Warden does not send (it signs only {})",
                SIGNABLE.join(", ")
            )));
        }
        for needed in ["host", REQUEST_HEADER] {
            if !signed_headers.iter().any(|h| h == needed) {
                return Err(ProofError::NotBound(if needed == "host" { "host" } else { REQUEST_HEADER }));
            }
        }
        if self.security_token.is_some() != signed_headers.iter().any(|h| h == "x-amz-security-token") {
            return Err(bad("a session token must be sent and signed together"));
        }
        Ok(SignedScope { access_key_id: key.to_string(), signed_at, region: region.to_string(), signed_headers })
    }
}

/// Who STS says signed the proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvenCaller {
    /// `arn:aws:sts::<account>:assumed-role/<role>/<session>` or `arn:aws:iam::<account>:user/<name>`.
    pub arn: String,
    pub account: String,
}

/// The principals whose requests Warden acts on: IAM role ARNs (a session of the role counts)
/// and IAM user ARNs, as `WARDEN_OPERATORS` lists them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Operators(Vec<Principal>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Principal {
    /// A role: account and name (an assumed-role ARN carries no path, so the name decides).
    Role {
        partition: String,
        account: String,
        name: String,
    },
    User {
        arn: String,
    },
}

impl Operators {
    /// A comma-separated list of `arn:aws:iam::<account>:role/<path/name>` and
    /// `arn:aws:iam::<account>:user/<path/name>`.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut out = Vec::new();
        for arn in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            out.push(Self::principal(arn)?);
        }
        Ok(Self(out))
    }

    fn principal(arn: &str) -> Result<Principal, String> {
        let bad = || format!("{arn:?} is not an IAM role or user ARN (arn:aws:iam::123456789012:role/name)");
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let ["arn", partition, "iam", "", account, resource] = parts[..] else { return Err(bad()) };
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) || partition.is_empty() {
            return Err(bad());
        }
        if let Some(path) = resource.strip_prefix("role/") {
            let name = path.rsplit('/').next().filter(|n| !n.is_empty()).ok_or_else(bad)?;
            return Ok(Principal::Role { partition: partition.into(), account: account.into(), name: name.into() });
        }
        if resource.strip_prefix("user/").is_some_and(|n| !n.is_empty() && !n.ends_with('/')) {
            return Ok(Principal::User { arn: arn.to_string() });
        }
        Err(bad())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the ARN STS answered is one of them.
    pub fn admits(&self, caller: &ProvenCaller) -> bool {
        let parts: Vec<&str> = caller.arn.splitn(6, ':').collect();
        let ["arn", partition, service, "", account, resource] = parts[..] else { return false };
        if account != caller.account {
            return false;
        }
        self.0.iter().any(|p| match p {
            Principal::Role { partition: pp, account: pa, name } => {
                service == "sts"
                    && pp == partition
                    && pa == account
                    && resource
                        .strip_prefix("assumed-role/")
                        .and_then(|r| r.split_once('/'))
                        .is_some_and(|(role, session)| role == name && !session.is_empty())
            }
            Principal::User { arn } => service == "iam" && arn == &caller.arn,
        })
    }
}

/// What became of one operator request, kept for the requester to read back (`warden undo`
/// waits for it) and so a second delivery of the same request answers the same.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestOutcome {
    pub request_id: String,
    pub detail_type: String,
    pub target: String,
    /// The proven caller; `None` when the proof itself was refused.
    pub requested_by: Option<String>,
    /// Whether Warden acted (or asked for approval) on it.
    pub accepted: bool,
    pub summary: String,
    /// The report of what was done (the undo's or release request's JSON), or `null`.
    pub report: serde_json::Value,
    pub at: DateTime<Utc>,
}

/// Verify a request's proof and that its signer is an operator; the caller's ARN is then the
/// requester. Nothing here writes: the caller records the outcome.
pub async fn prove_operator<V: CallerVerifier>(
    verifier: &V,
    operators: &Operators,
    request: OperatorRequest<'_>,
    proof: &CallerProof,
    now: DateTime<Utc>,
) -> Result<ProvenCaller, ProofError> {
    proof.check(now, verifier.region())?;
    let caller = verifier.caller(proof, &request.binding()).await?;
    if !operators.admits(&caller) {
        return Err(ProofError::NotAnOperator(caller.arn));
    }
    Ok(caller)
}

/// What to do with an operator request once its proof is looked at.
#[derive(Debug, Clone, PartialEq)]
pub enum Admission {
    /// The signer is an operator: act on their behalf.
    Proceed(ProvenCaller),
    /// Already answered (a second delivery), or refused now (and the refusal kept): reply with it.
    Answered(RequestOutcome),
}

/// Where operator requests are admitted and their outcomes kept.
pub struct OperatorDesk<V, S> {
    pub verifier: V,
    pub outcomes: S,
    pub operators: Operators,
}

impl<V: CallerVerifier, S: RequestOutcomes> OperatorDesk<V, S> {
    /// A request seen before answers as it did; a refused proof is kept as the outcome. `Err`:
    /// STS or the table could not be reached — nothing was decided, a redelivery decides.
    pub async fn admit(
        &self,
        request: OperatorRequest<'_>,
        proof: &CallerProof,
        now: DateTime<Utc>,
    ) -> Result<Admission, String> {
        if let Some(done) = self.outcomes.outcome(request.request_id).await.map_err(|e| e.to_string())? {
            return Ok(Admission::Answered(done));
        }
        match prove_operator(&self.verifier, &self.operators, request, proof, now).await {
            Ok(caller) => Ok(Admission::Proceed(caller)),
            Err(ProofError::Unavailable(why)) => Err(why),
            Err(refused) => {
                let caller = match &refused {
                    ProofError::NotAnOperator(arn) => Some(arn.clone()),
                    _ => None,
                };
                let outcome =
                    self.finish(request, caller, false, refused.to_string(), serde_json::Value::Null, now).await?;
                Ok(Admission::Answered(outcome))
            }
        }
    }

    /// Keep what became of a request (the first outcome kept wins) and return the kept one.
    pub async fn finish(
        &self,
        request: OperatorRequest<'_>,
        requested_by: Option<String>,
        accepted: bool,
        summary: String,
        report: serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<RequestOutcome, String> {
        let outcome = RequestOutcome {
            request_id: request.request_id.to_string(),
            detail_type: request.detail_type.to_string(),
            target: request.target.to_string(),
            requested_by,
            accepted,
            summary,
            report,
            at: now,
        };
        let kept = self.outcomes.keep_outcome(&outcome).await.map_err(|e| e.to_string())?;
        Ok(kept.unwrap_or(outcome))
    }
}

#[cfg(test)]
mod tests;
