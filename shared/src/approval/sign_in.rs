//! Deciding takes a person: signing in with the organisation's OpenID Connect provider
//! (authorization code + PKCE), and being on the approvers list for that kind of action.
//!
//! Pure parts only: who may approve what, the sealed values the browser carries between the
//! steps (the sign-in cookie, the signed-in confirmation), PKCE, and the checks on an ID
//! token's claims. The provider itself is behind [`IdentityProvider`].

use std::collections::BTreeMap;
use std::future::Future;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::approval::token::SigningKey;
use crate::approval::{ApprovalAction, Decision};

/// How long a sign-in may take, from the button to the provider's redirect back.
pub const SIGN_IN_SECONDS: i64 = 600;
/// How long the signed-in confirmation page stays usable.
pub const CONFIRM_SECONDS: i64 = 300;
/// The cookie that ties the provider's redirect to the browser that started the sign-in.
pub const SIGN_IN_COOKIE: &str = "warden_sign_in";

/// Who may decide which kind of action: `{"isolate": ["alice@example.com"], "*": [...]}`.
/// Kinds are the action types (`isolate`, `release`, `lift_suspension`, `extend_suspension`,
/// `revoke_access`, `tighten_limits`) or `*` for all; people are email addresses (matched
/// without regard to case, and only when the provider says the address is verified) or
/// `sub:<subject>` for the provider's stable subject id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Approvers(BTreeMap<String, Vec<String>>);

pub const ACTION_KINDS: [&str; 6] =
    ["isolate", "release", "lift_suspension", "extend_suspension", "revoke_access", "tighten_limits"];

impl Approvers {
    pub fn from_json(raw: &str) -> Result<Self, String> {
        let map: BTreeMap<String, Vec<String>> =
            serde_json::from_str(raw).map_err(|e| format!("must be a JSON object of kind → list of people: {e}"))?;
        let mut out = BTreeMap::new();
        for (kind, people) in map {
            if kind != "*" && !ACTION_KINDS.contains(&kind.as_str()) {
                return Err(format!("unknown kind {kind:?}: use one of {} or *", ACTION_KINDS.join(", ")));
            }
            let mut list = Vec::new();
            for p in people {
                let p = p.trim();
                let valid = match p.strip_prefix("sub:") {
                    Some(sub) => !sub.is_empty(),
                    None => p.split_once('@').is_some_and(|(a, d)| !a.is_empty() && d.contains('.')),
                };
                if !valid {
                    return Err(format!("{p:?} is neither an email address nor sub:<subject>"));
                }
                list.push(if p.starts_with("sub:") { p.to_string() } else { p.to_lowercase() });
            }
            out.insert(kind, list);
        }
        if out.values().all(Vec::is_empty) {
            return Err("names nobody: at least one person must be able to approve".into());
        }
        Ok(Self(out))
    }

    /// May this person decide this action?
    pub fn may_decide(&self, person: &Identity, action: &ApprovalAction) -> bool {
        let listed = |kind: &str| self.0.get(kind).into_iter().flatten();
        listed(action.kind()).chain(listed("*")).any(|entry| person.is(entry))
    }
}

/// A signed-in person, as the provider vouched for them in a verified ID token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub issuer: String,
    pub subject: String,
    /// Only when the provider says it is verified.
    pub email: Option<String>,
}

impl Identity {
    /// How the person is named on pages and in the record.
    pub fn label(&self) -> String {
        self.email.clone().unwrap_or_else(|| format!("sub:{}", self.subject))
    }

    fn is(&self, entry: &str) -> bool {
        match entry.strip_prefix("sub:") {
            Some(sub) => sub == self.subject,
            None => self.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(entry)),
        }
    }
}

/// What the browser carries through the provider: sealed (signed) in a cookie, so the redirect
/// back is honoured only in the browser that started it, for the link it started from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInState {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    pub request: String,
    pub decision: Decision,
    pub expires: i64,
    pub token: String,
    pub until: i64,
}

/// The signed-in confirmation: this person, this request, this decision, for a few minutes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    pub identity: Identity,
    pub request: String,
    pub decision: Decision,
    pub until: i64,
}

/// Seal a value: its JSON, base64url, then a MAC under the signing key for `purpose`.
pub fn seal<T: Serialize>(key: &SigningKey, purpose: &str, value: &T) -> String {
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("plain data serializes"));
    let tag = key.tag(purpose, body.as_bytes());
    format!("{body}.{tag}")
}

/// Open a sealed value: `None` unless its MAC is right (constant time) and it parses.
pub fn open<T: for<'de> Deserialize<'de>>(key: &SigningKey, purpose: &str, sealed: &str) -> Option<T> {
    let (body, tag) = sealed.rsplit_once('.')?;
    if !key.verify_tag(purpose, body.as_bytes(), tag) {
        return None;
    }
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).ok()?).ok()
}

/// A fresh random value (256 bits), base64url.
pub fn random_token() -> Result<String, String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness: {e}"))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// PKCE S256: the challenge for a verifier.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// `https://`, or `http://` to this machine only (a provider run locally for tests).
pub fn acceptable_url(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://")) else { return false };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    url.starts_with("https://") && !host.is_empty() || matches!(host, "localhost" | "127.0.0.1" | "[::1]")
}

/// Why a sign-in did not give a person Warden can trust.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    #[error("the sign-in provider could not be reached or answered badly: {0}")]
    Unavailable(String),
    #[error("the provider refused the sign-in: {0}")]
    Refused(String),
    #[error("the ID token is not valid: {0}")]
    InvalidToken(String),
}

/// The organisation's OpenID Connect provider.
pub trait IdentityProvider: Send + Sync {
    /// Where to send the browser to sign in (the provider's authorization endpoint with the
    /// request's parameters).
    fn authorization_url(
        &self,
        redirect_uri: &str,
        state: &str,
        nonce: &str,
        challenge: &str,
    ) -> impl Future<Output = Result<String, SignInError>> + Send;

    /// Redeem an authorization code (with its PKCE verifier) and verify the ID token it brings:
    /// signature by the provider's keys, `iss`, `aud`, `exp`, and `nonce`.
    fn redeem(
        &self,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
        nonce: &str,
    ) -> impl Future<Output = Result<Identity, SignInError>> + Send;

    /// The provider's origin (`https://login.example.com`): the page's form may go there.
    fn origin(&self) -> String;
}

/// The claims Warden reads from an ID token (the signature, `iss`, `aud` and `exp` are checked
/// by the verifier before these are looked at).
#[derive(Debug, Clone, Deserialize)]
pub struct IdClaims {
    pub iss: String,
    pub sub: String,
    #[serde(default)]
    pub nonce: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub email_verified: Option<serde_json::Value>,
    #[serde(default)]
    pub azp: Option<String>,
    #[serde(default)]
    pub aud: Option<serde_json::Value>,
}

impl IdClaims {
    /// The person, once the nonce matches and any `azp` is this client.
    pub fn identity(self, nonce: &str, client_id: &str) -> Result<Identity, SignInError> {
        if !self.nonce.as_deref().is_some_and(|n| constant_time_eq(n.as_bytes(), nonce.as_bytes())) {
            return Err(SignInError::InvalidToken("its nonce is not this sign-in's (a replayed token?)".into()));
        }
        let several_audiences = self.aud.as_ref().and_then(|a| a.as_array()).is_some_and(|a| a.len() > 1);
        if several_audiences && self.azp.as_deref() != Some(client_id) {
            return Err(SignInError::InvalidToken("it was issued to another client (azp)".into()));
        }
        // Some providers send `"true"` as a string.
        let verified = matches!(&self.email_verified, Some(serde_json::Value::Bool(true)))
            || matches!(&self.email_verified, Some(serde_json::Value::String(s)) if s == "true");
        if self.sub.is_empty() {
            return Err(SignInError::InvalidToken("it names no subject".into()));
        }
        Ok(Identity { issuer: self.iss, subject: self.sub, email: self.email.filter(|_| verified) })
    }
}

/// Equal, compared in constant time (state values, nonces).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::new(b"0123456789abcdef0123456789abcdef".to_vec()).unwrap()
    }

    fn alice() -> Identity {
        Identity { issuer: "https://idp".into(), subject: "u-1".into(), email: Some("Alice@Example.com".into()) }
    }

    fn isolate() -> ApprovalAction {
        ApprovalAction::Isolate { incident_id: "inc-1".into(), instance_id: "i-1".into() }
    }

    #[test]
    fn approvers_are_per_kind_and_matched_by_verified_email_or_subject() {
        let a = Approvers::from_json(r#"{"isolate": ["alice@example.com"], "*": ["sub:lead-7"]}"#).unwrap();
        assert!(a.may_decide(&alice(), &isolate()), "email, whatever the case");
        let release = ApprovalAction::Release { incident_id: "inc-1".into(), instance_id: "i-1".into() };
        assert!(!a.may_decide(&alice(), &release), "listed for isolation only");
        let lead = Identity { issuer: "https://idp".into(), subject: "lead-7".into(), email: None };
        assert!(a.may_decide(&lead, &release) && a.may_decide(&lead, &isolate()), "* is every kind");
        let unverified = Identity { email: None, ..alice() };
        assert!(!a.may_decide(&unverified, &isolate()), "an unverified address names nobody");
        for bad in [r#"{"isolat": ["a@b.c"]}"#, r#"{"isolate": ["alice"]}"#, r#"{"isolate": []}"#, "[1]"] {
            assert!(Approvers::from_json(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sealed_values_open_only_unaltered_and_for_their_purpose() {
        let c = Confirmation { identity: alice(), request: "apr-1".into(), decision: Decision::Approve, until: 9 };
        let sealed = seal(&key(), "confirm", &c);
        assert_eq!(open::<Confirmation>(&key(), "confirm", &sealed), Some(c.clone()));
        assert_eq!(open::<Confirmation>(&key(), "sign-in", &sealed), None, "another purpose");
        let other = SigningKey::new(b"another key that is long enough!".to_vec()).unwrap();
        assert_eq!(open::<Confirmation>(&other, "confirm", &sealed), None);
        // Swap in another body (Mallory's identity) under the same tag: refused.
        let forged = Confirmation { identity: Identity { subject: "mallory".into(), ..alice() }, ..c };
        let forged_body = seal(&key(), "x", &forged).split_once('.').unwrap().0.to_string();
        let tag = sealed.rsplit_once('.').unwrap().1;
        assert_eq!(open::<Confirmation>(&key(), "confirm", &format!("{forged_body}.{tag}")), None);
        assert_eq!(open::<Confirmation>(&key(), "confirm", "garbage"), None);
    }

    #[test]
    fn only_https_or_this_machine() {
        assert!(acceptable_url("https://login.example.com/realms/ops"));
        assert!(acceptable_url("http://127.0.0.1:3000"));
        assert!(acceptable_url("http://localhost:3000/oidc"));
        assert!(!acceptable_url("http://login.example.com"));
        assert!(!acceptable_url("http://localhost.evil.example"));
        assert!(!acceptable_url("ftp://x"));
        assert!(!acceptable_url("https://"));
    }

    #[test]
    fn pkce_is_s256_of_the_verifier() {
        // RFC 7636 appendix B.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_ne!(random_token().unwrap(), random_token().unwrap());
    }

    #[test]
    fn claims_need_this_sign_ins_nonce_and_this_client() {
        let claims =
            |nonce: Option<&str>, aud: serde_json::Value, azp: Option<&str>, verified: serde_json::Value| IdClaims {
                iss: "https://idp".into(),
                sub: "u-1".into(),
                nonce: nonce.map(str::to_string),
                email: Some("alice@example.com".into()),
                email_verified: Some(verified),
                azp: azp.map(str::to_string),
                aud: Some(aud),
            };
        let ok = claims(Some("n1"), "warden".into(), None, true.into()).identity("n1", "warden").unwrap();
        assert_eq!(ok.email.as_deref(), Some("alice@example.com"));
        assert!(claims(Some("n2"), "warden".into(), None, true.into()).identity("n1", "warden").is_err());
        assert!(claims(None, "warden".into(), None, true.into()).identity("n1", "warden").is_err());
        let many = serde_json::json!(["warden", "other"]);
        assert!(claims(Some("n1"), many.clone(), Some("other"), true.into()).identity("n1", "warden").is_err());
        assert!(claims(Some("n1"), many, Some("warden"), true.into()).identity("n1", "warden").is_ok());
        let unverified = claims(Some("n1"), "warden".into(), None, false.into()).identity("n1", "warden").unwrap();
        assert_eq!(unverified.email, None, "an unverified address is not kept");
    }
}
