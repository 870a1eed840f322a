//! Approvals a link scanner cannot click: a request for a human decision, signed single-use
//! tokens bound to one request, one decision and an expiry, and the pages behind the links.
//!
//! A GET (what Outlook Safe Links and other scanners do) only ever shows a page. Only a POST of
//! the page's form, with a valid token, decides — once.

pub mod flow;
#[cfg(feature = "aws")]
pub mod oidc;
pub mod page;
pub mod ports;
pub mod runners;
pub mod sign_in;
pub mod token;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What an approval executes, through the same executor the remediator uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ApprovalAction {
    /// Run the recorded, pending isolation plan of an incident, unchanged.
    Isolate { incident_id: String, instance_id: String },
    /// Release an isolated instance exactly as recorded.
    Release { incident_id: String, instance_id: String },
    /// Lift a caller's suspension now.
    LiftSuspension { caller: String, suspension_id: String },
    /// Keep a caller suspended for longer.
    ExtendSuspension { caller: String, suspension_id: String, hours: i64 },
    /// Repeated suspensions: suspend the caller until a human lifts it, and disable its API key.
    RevokeAccess { caller: String, suspension_id: String },
    /// A fleet-wide alarm: cut every caller's quotas to `percent` % for `hours`.
    TightenLimits { alarm_event: String, percent: u32, hours: i64, top_callers: Vec<String> },
}

impl ApprovalAction {
    /// The kind, as the approvers list names it (the serialized `type`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Isolate { .. } => "isolate",
            Self::Release { .. } => "release",
            Self::LiftSuspension { .. } => "lift_suspension",
            Self::ExtendSuspension { .. } => "extend_suspension",
            Self::RevokeAccess { .. } => "revoke_access",
            Self::TightenLimits { .. } => "tighten_limits",
        }
    }

    pub fn label(&self) -> String {
        match self {
            Self::Isolate { instance_id, .. } => format!("Isolate {instance_id}"),
            Self::Release { instance_id, .. } => format!("Release {instance_id}"),
            Self::LiftSuspension { caller, .. } => format!("Lift the suspension of {caller}"),
            Self::ExtendSuspension { caller, hours, .. } => format!("Keep {caller} suspended {hours} h longer"),
            Self::RevokeAccess { caller, .. } => format!("Revoke the access of {caller}"),
            Self::TightenLimits { percent, hours, .. } => {
                format!("Cut every caller's quotas to {percent}% for {hours} h")
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalStatus {
    Pending,
    Approved,
    Rejected,
    Expired,
}

impl ApprovalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Expired => "expired",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Reject,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Reject => "reject",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "approve" => Some(Self::Approve),
            "reject" => Some(Self::Reject),
            _ => None,
        }
    }

    fn other(self) -> Self {
        match self {
            Self::Approve => Self::Reject,
            Self::Reject => Self::Approve,
        }
    }
}

/// Who decided, when, from where: the evidence kept with the decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRecord {
    pub decision: Decision,
    pub at: DateTime<Utc>,
    pub source_ip: String,
    pub user_agent: String,
    /// The signed-in person who decided (`None` on records from before sign-in was required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    /// What executing it did (or why it could not).
    pub outcome: String,
}

/// A request for a human decision: the exact action, why, and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRequest {
    /// Unguessable (128 bits of an HMAC under the signing key), deterministic per action.
    pub id: String,
    pub action: ApprovalAction,
    /// What will be done if approved, step by step, for the page and the email.
    pub will_do: Vec<String>,
    /// Why it is asked: the trigger and the evidence.
    pub why: String,
    pub requested_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub status: ApprovalStatus,
    pub decision: Option<DecisionRecord>,
}

/// `apr-` and 32 hex digits.
pub fn is_request_id(s: &str) -> bool {
    s.strip_prefix("apr-").is_some_and(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::approval::page::confirmation_page;
    use crate::approval::token::request_id_for;
    use crate::approval::token::SigningKey;
    use crate::approval::token::TokenError;
    use chrono::Duration;

    fn key() -> SigningKey {
        SigningKey::new(b"0123456789abcdef0123456789abcdef".to_vec()).unwrap()
    }

    fn now() -> DateTime<Utc> {
        "2026-11-26T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_token_verifies_only_for_its_request_decision_and_expiry() {
        let k = key();
        let exp = (now() + Duration::hours(1)).timestamp();
        let t = k.sign("apr-1", Decision::Approve, exp);
        assert_eq!(k.verify("apr-1", Decision::Approve, exp, &t, now()), Ok(()));
        assert_eq!(k.verify("apr-2", Decision::Approve, exp, &t, now()), Err(TokenError::Tampered));
        assert_eq!(k.verify("apr-1", Decision::Reject, exp, &t, now()), Err(TokenError::WrongDecision));
        assert_eq!(
            k.verify("apr-1", Decision::Approve, exp + 3600, &t, now()),
            Err(TokenError::Tampered),
            "a longer expiry is tampering"
        );
        assert_eq!(k.verify("apr-1", Decision::Approve, exp, &t, now() + Duration::hours(2)), Err(TokenError::Expired));
        let mut altered = t.clone().into_bytes();
        altered[3] = if altered[3] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            k.verify("apr-1", Decision::Approve, exp, &String::from_utf8(altered).unwrap(), now()),
            Err(TokenError::Tampered)
        );
        assert_eq!(k.verify("apr-1", Decision::Approve, exp, "%%%", now()), Err(TokenError::Malformed));
        let other = SigningKey::new(b"another key that is long enough!".to_vec()).unwrap();
        assert_eq!(other.verify("apr-1", Decision::Approve, exp, &t, now()), Err(TokenError::Tampered));
    }

    #[test]
    fn keys_are_long_and_never_printed() {
        assert!(SigningKey::new(b"short".to_vec()).is_err());
        assert_eq!(format!("{:?}", key()), "SigningKey(redacted)");
    }

    #[test]
    fn request_ids_are_keyed_deterministic_and_recognisable() {
        let action = ApprovalAction::Isolate { incident_id: "inc-1".into(), instance_id: "i-1".into() };
        let a = request_id_for(&key(), &action);
        assert!(is_request_id(&a), "{a}");
        assert_eq!(a, request_id_for(&key(), &action));
        let release = ApprovalAction::Release { incident_id: "inc-1".into(), instance_id: "i-1".into() };
        assert_ne!(a, request_id_for(&key(), &release));
        let other = SigningKey::new(b"another key that is long enough!".to_vec()).unwrap();
        assert_ne!(a, request_id_for(&other, &action), "unguessable without the key");
        assert!(!is_request_id("apr-xyz"));
    }

    #[test]
    fn pages_escape_everything_they_show() {
        let request = ApprovalRequest {
            id: "apr-0123456789abcdef0123456789abcdef".into(),
            action: ApprovalAction::Isolate { incident_id: "inc-1".into(), instance_id: "i-1<script>".into() },
            will_do: vec!["cut <b>network</b>".into()],
            why: "alarm \"x\" & y".into(),
            requested_by: "warden".into(),
            created_at: now(),
            expires_at: now() + Duration::hours(1),
            status: ApprovalStatus::Pending,
            decision: None,
        };
        let fields = crate::approval::flow::TokenFields {
            request: request.id.clone(),
            decision: "reject".into(),
            expires: request.expires_at.timestamp().to_string(),
            token: "t\"><b>".into(),
            ..Default::default()
        };
        let html = confirmation_page(&request, Decision::Reject, &fields);
        assert!(!html.contains("<script>") && html.contains("i-1&lt;script&gt;"));
        assert!(html.contains("cut &lt;b&gt;network&lt;/b&gt;") && html.contains("alarm &quot;x&quot; &amp; y"));
        assert_eq!(html.matches(r#"<form method="post""#).count(), 1, "only the link's own decision");
        assert!(html.contains("Sign in to reject") && !html.contains(r#"value="approve""#), "{html}");
        assert!(!html.contains(r#""><b>"#), "the token is escaped too");
        assert!(!html.contains("<script"), "works without JavaScript");
    }
}
