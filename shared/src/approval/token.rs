//! Signed single-use tokens bound to one request, one decision and an expiry, and the request ids.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::approval::{ApprovalAction, ApprovalRequest, Decision};

/// Why a token was refused. Every case gets its own page and a security warning in the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the link is incomplete or malformed")]
    Malformed,
    #[error("the link's signature does not match: it was altered")]
    Tampered,
    #[error("the link is for the other decision")]
    WrongDecision,
    #[error("the link expired")]
    Expired,
}

/// The signing key. Never logged, never shown: `Debug` prints nothing of it.
#[derive(Clone)]
pub struct SigningKey(Vec<u8>);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(redacted)")
    }
}

/// Keys shorter than this are refused at start.
pub const MIN_KEY_BYTES: usize = 32;

impl SigningKey {
    pub fn new(bytes: Vec<u8>) -> Result<Self, String> {
        if bytes.len() < MIN_KEY_BYTES {
            return Err(format!("the approval signing key must be at least {MIN_KEY_BYTES} bytes"));
        }
        Ok(Self(bytes))
    }

    fn mac(&self, request_id: &str, decision: Decision, expires: i64) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).expect("HMAC takes any key length");
        // Length-prefixed fields: no two different inputs sign the same bytes.
        for field in [request_id, decision.as_str(), &expires.to_string()] {
            mac.update(&(field.len() as u32).to_be_bytes());
            mac.update(field.as_bytes());
        }
        mac
    }

    /// The token for one request, one decision, one expiry.
    pub fn sign(&self, request_id: &str, decision: Decision, expires: i64) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(request_id, decision, expires).finalize().into_bytes())
    }

    /// Check a token in constant time. The expiry is checked after the signature, so an altered
    /// expiry is reported as tampering, not as expiry.
    pub fn verify(
        &self,
        request_id: &str,
        decision: Decision,
        expires: i64,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<(), TokenError> {
        let tag = URL_SAFE_NO_PAD.decode(token.as_bytes()).map_err(|_| TokenError::Malformed)?;
        if self.mac(request_id, decision, expires).verify_slice(&tag).is_err() {
            return Err(if self.mac(request_id, decision.other(), expires).verify_slice(&tag).is_ok() {
                TokenError::WrongDecision
            } else {
                TokenError::Tampered
            });
        }
        if now.timestamp() >= expires {
            return Err(TokenError::Expired);
        }
        Ok(())
    }

    /// A MAC of `bytes` for one purpose (the sign-in cookie, the confirmation), base64url.
    pub fn tag(&self, purpose: &str, bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(self.purpose_mac(purpose, bytes).finalize().into_bytes())
    }

    /// Check a [`Self::tag`] in constant time.
    pub fn verify_tag(&self, purpose: &str, bytes: &[u8], tag: &str) -> bool {
        URL_SAFE_NO_PAD.decode(tag.as_bytes()).is_ok_and(|t| self.purpose_mac(purpose, bytes).verify_slice(&t).is_ok())
    }

    fn purpose_mac(&self, purpose: &str, bytes: &[u8]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"warden-sealed");
        mac.update(&(purpose.len() as u32).to_be_bytes());
        mac.update(purpose.as_bytes());
        mac.update(bytes);
        mac
    }

    /// The link for one decision on one request.
    pub fn link(&self, base_url: &str, request: &ApprovalRequest, decision: Decision) -> String {
        let expires = request.expires_at.timestamp();
        let token = self.sign(&request.id, decision, expires);
        let sep = if base_url.contains('?') { '&' } else { '?' };
        format!("{base_url}{sep}request={}&decision={}&expires={expires}&token={token}", request.id, decision.as_str())
    }
}

/// The request id for an action: keyed by the signing key, so it is deterministic (a redelivery
/// asks again with the same id, and nothing is sent twice) and still unguessable.
pub fn request_id_for(key: &SigningKey, action: &ApprovalAction) -> String {
    let what = serde_json::to_string(action).expect("plain data serializes");
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key.0).expect("HMAC takes any key length");
    mac.update(b"approval-request-id");
    mac.update(what.as_bytes());
    let tag = mac.finalize().into_bytes();
    format!("apr-{}", tag.iter().take(16).map(|b| format!("{b:02x}")).collect::<String>())
}
