//! Approvals a link scanner cannot click: a request for a human decision, signed single-use
//! tokens bound to one request, one decision and an expiry, and the pages behind the links.
//!
//! A GET (what Outlook Safe Links and other scanners do) only ever shows a page. Only a POST of
//! the page's form, with a valid token, decides — once.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::plan::human_time;

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

    /// The link for one decision on one request.
    pub fn link(&self, base_url: &str, request: &ApprovalRequest, decision: Decision) -> String {
        let expires = request.expires_at.timestamp();
        let token = self.sign(&request.id, decision, expires);
        let sep = if base_url.contains('?') { '&' } else { '?' };
        format!("{base_url}{sep}request={}&decision={}&expires={expires}&token={token}", request.id, decision.as_str())
    }
}

/// `apr-` and 32 hex digits.
pub fn is_request_id(s: &str) -> bool {
    s.strip_prefix("apr-").is_some_and(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Escape text for HTML bodies and attribute values.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A complete, accessible page: no script, no external resources.
pub fn page(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>{title} · Warden</title>
<style>
body{{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#1a1a1a}}
h1{{font-size:1.5rem}} dt{{font-weight:600}} dd{{margin:0 0 .75rem 0}}
.actions{{display:flex;gap:1rem;margin-top:1.5rem}} form{{margin:0}}
button{{font-size:1rem;padding:.6rem 1.4rem;border-radius:.3rem;border:2px solid #1a1a1a;cursor:pointer}}
button.approve{{background:#0b6e2b;color:#fff;border-color:#0b6e2b}} button.reject{{background:#fff;color:#8a1111;border-color:#8a1111}}
button:focus{{outline:3px solid #f5b800;outline-offset:2px}}
.notice{{padding:.75rem 1rem;border-left:4px solid #8a1111;background:#fdf1f1}} .ok{{border-color:#0b6e2b;background:#eef8f1}}
</style>
</head>
<body>
<main>
{body}
</main>
</body>
</html>
"#,
        title = html_escape(title)
    )
}

/// The confirmation page: what will happen, the evidence, and the two buttons. Rendering it
/// changes nothing.
pub fn confirmation_page(request: &ApprovalRequest, key: &SigningKey) -> String {
    let expires = request.expires_at.timestamp();
    let steps: String = request.will_do.iter().map(|s| format!("<li>{}</li>", html_escape(s))).collect();
    let form = |decision: Decision, label: &str, class: &str| {
        format!(
            r#"<form method="post" action="">
<input type="hidden" name="request" value="{id}">
<input type="hidden" name="decision" value="{d}">
<input type="hidden" name="expires" value="{expires}">
<input type="hidden" name="token" value="{token}">
<button type="submit" class="{class}">{label}</button>
</form>"#,
            id = html_escape(&request.id),
            d = decision.as_str(),
            token = key.sign(&request.id, decision, expires),
        )
    };
    let body = format!(
        r#"<h1>{title}</h1>
<p>Warden asks for a decision. Nothing has been done yet, and opening this page changes nothing.</p>
<dl>
<dt>Why</dt><dd>{why}</dd>
<dt>If you approve</dt><dd><ol>{steps}</ol></dd>
<dt>Asked by</dt><dd>{by}, {created}</dd>
<dt>Expires</dt><dd>{expires_at}</dd>
</dl>
<div class="actions" role="group" aria-label="Decision">
{approve}
{reject}
</div>"#,
        title = html_escape(&request.action.label()),
        why = html_escape(&request.why),
        by = html_escape(&request.requested_by),
        created = human_time(request.created_at),
        expires_at = human_time(request.expires_at),
        approve = form(Decision::Approve, "Approve", "approve"),
        reject = form(Decision::Reject, "Reject", "reject"),
    );
    page(&request.action.label(), &body)
}

/// A page that says what was decided and what happened (or why nothing happened).
pub fn outcome_page(title: &str, message: &str, ok: bool) -> String {
    let class = if ok { "notice ok" } else { "notice" };
    page(
        title,
        &format!(r#"<h1>{}</h1><p class="{class}" role="status">{}</p>"#, html_escape(title), html_escape(message)),
    )
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

#[cfg(test)]
mod tests {
    use super::*;
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
        let html = confirmation_page(&request, &key());
        assert!(!html.contains("<script>") && html.contains("i-1&lt;script&gt;"));
        assert!(html.contains("cut &lt;b&gt;network&lt;/b&gt;") && html.contains("alarm &quot;x&quot; &amp; y"));
        assert_eq!(html.matches(r#"<form method="post""#).count(), 2);
        assert!(!html.contains("<script"), "works without JavaScript");
    }
}
