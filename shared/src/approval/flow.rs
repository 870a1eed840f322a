//! The approval flow: ask (one request, one email with the two links), show the page (never
//! changes anything), decide (a POST with a valid token, once), expire (on a schedule, with an
//! escalation).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::{json, Value};

use crate::approval::page::{confirmation_page, outcome_page};
use crate::approval::ports::{ActionRunner, ApprovalStore};
use crate::approval::token::{request_id_for, SigningKey, TokenError};
use crate::approval::{is_request_id, ApprovalAction, ApprovalRequest, ApprovalStatus, Decision, DecisionRecord};
use crate::http::{GatewayError, HttpRequest, HttpResponse, IdentityPolicy};
use crate::notify::{clean_subject, human_time, Notification};
use crate::ports::{Notifier, PortResult};

#[derive(Debug, Clone)]
pub struct ApprovalSettings {
    /// Where the approvals function answers (its function URL).
    pub base_url: String,
    pub key: SigningKey,
    /// How long a request stays open.
    pub ttl: Duration,
}

/// An HTTP answer: status and a complete HTML page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageResponse {
    pub status: u16,
    pub html: String,
}

/// The fields a link or the page's form carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenFields {
    pub request: String,
    pub decision: String,
    pub expires: String,
    pub token: String,
}

impl TokenFields {
    /// From a query string or an `application/x-www-form-urlencoded` body.
    pub fn parse(encoded: &str) -> Self {
        let mut f = Self::default();
        for (k, v) in form_urlencoded::parse(encoded.as_bytes()) {
            let slot = match k.as_ref() {
                "request" => &mut f.request,
                "decision" => &mut f.decision,
                "expires" => &mut f.expires,
                "token" => &mut f.token,
                _ => continue,
            };
            if slot.is_empty() {
                *slot = v.into_owned();
            }
        }
        f
    }
}

/// Who is deciding, as the request shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requester {
    pub source_ip: String,
    pub user_agent: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExpiryReport {
    pub expired: Vec<String>,
    pub escalated: usize,
}

pub struct Approvals<S, N> {
    pub store: S,
    pub notifier: N,
    pub settings: ApprovalSettings,
}

/// Logged on every refused link or form, without the token: a security team searches for it.
fn security_warning(reason: &str, request: &str, who: &Requester) {
    tracing::warn!(
        security = "SECURITY_WARNING",
        reason,
        request = if is_request_id(request) { request } else { "(malformed)" },
        source_ip = %who.source_ip,
        user_agent = %who.user_agent,
        "SECURITY_WARNING approval link refused; nothing executed"
    );
}

impl<S: ApprovalStore, N: Notifier> Approvals<S, N> {
    pub fn new(store: S, notifier: N, settings: ApprovalSettings) -> Self {
        Self { store, notifier, settings }
    }

    fn new_request(
        &self,
        action: ApprovalAction,
        will_do: Vec<String>,
        why: String,
        requested_by: &str,
        now: DateTime<Utc>,
    ) -> ApprovalRequest {
        ApprovalRequest {
            id: request_id_for(&self.settings.key, &action),
            action,
            will_do,
            why,
            requested_by: requested_by.to_string(),
            created_at: now,
            expires_at: now + self.settings.ttl,
            status: ApprovalStatus::Pending,
            decision: None,
        }
    }

    /// Ask for a decision: one request, one email. Asking again for the same action returns
    /// the request already on record and sends nothing.
    pub async fn request(
        &self,
        action: ApprovalAction,
        will_do: Vec<String>,
        why: String,
        requested_by: &str,
        now: DateTime<Utc>,
    ) -> PortResult<ApprovalRequest> {
        let request = self.new_request(action, will_do, why, requested_by, now);
        if let Some(existing) = self.store.create_approval(&request).await? {
            return Ok(existing);
        }
        self.notifier.notify(&self.request_email(&request)).await?;
        tracing::info!(request = %request.id, action = %request.action.label(), expires = %human_time(request.expires_at), "approval requested");
        Ok(request)
    }

    /// A request on record without an email of its own, and its two links: for a message that
    /// carries them itself (a suspension notice offering "lift" and "extend").
    pub async fn prepare(
        &self,
        action: ApprovalAction,
        will_do: Vec<String>,
        why: String,
        requested_by: &str,
        now: DateTime<Utc>,
    ) -> PortResult<(ApprovalRequest, String, String)> {
        let request = self.new_request(action, will_do, why, requested_by, now);
        let request = self.store.create_approval(&request).await?.unwrap_or(request);
        let approve = self.settings.key.link(&self.settings.base_url, &request, Decision::Approve);
        let reject = self.settings.key.link(&self.settings.base_url, &request, Decision::Reject);
        Ok((request, approve, reject))
    }

    fn request_email(&self, r: &ApprovalRequest) -> Notification {
        let approve = self.settings.key.link(&self.settings.base_url, r, Decision::Approve);
        let reject = self.settings.key.link(&self.settings.base_url, r, Decision::Reject);
        let steps: String = r.will_do.iter().enumerate().map(|(i, s)| format!("  {}. {s}\n", i + 1)).collect();
        let text = format!(
            "Warden needs a decision: {label}.\n\nWhy:\n  {why}\n\nIf approved, Warden will:\n{steps}\n\
             Approve: {approve}\nReject:  {reject}\n\n\
             The links open a confirmation page; nothing happens until you press a button there.\n\
             This request expires {expires} (then it is escalated).\nRequest id: {id} (asked by {by})\n",
            label = r.action.label(),
            why = r.why,
            expires = human_time(r.expires_at),
            id = r.id,
            by = r.requested_by,
        );
        let mut attributes = BTreeMap::new();
        attributes.insert("warden.kind".into(), "approval".into());
        attributes.insert("warden.status".into(), "pending".into());
        Notification {
            subject: clean_subject(&format!(
                "[Warden] APPROVAL NEEDED: {} (expires {})",
                r.action.label(),
                human_time(r.expires_at)
            )),
            text,
            facts: json!({"source": "warden", "kind": "approval_request", "request": r, "approve_url": approve, "reject_url": reject}),
            attributes,
        }
    }

    /// Check a link or form against the record. `Err` is the page to answer with.
    async fn check(
        &self,
        fields: &TokenFields,
        who: &Requester,
        now: DateTime<Utc>,
    ) -> Result<(ApprovalRequest, Decision), PageResponse> {
        let refuse = |status: u16, reason: &str, title: &str, message: &str| {
            security_warning(reason, &fields.request, who);
            Err(PageResponse { status, html: outcome_page(title, message, false) })
        };
        let (Some(decision), Ok(expires)) = (Decision::parse(&fields.decision), fields.expires.parse::<i64>()) else {
            return refuse(
                400,
                "malformed",
                "This link is incomplete",
                "Open the link from the email again, whole. Nothing was done.",
            );
        };
        if !is_request_id(&fields.request) || fields.token.is_empty() {
            return refuse(
                400,
                "malformed",
                "This link is incomplete",
                "Open the link from the email again, whole. Nothing was done.",
            );
        }
        let request = match self.store.approval(&fields.request).await {
            Ok(Some(r)) => r,
            Ok(None) => {
                return refuse(
                    404,
                    "unknown_request",
                    "Unknown request",
                    "Warden has no such approval request. Nothing was done.",
                )
            }
            Err(e) => {
                tracing::error!(error = %e, "could not read the approval request");
                return Err(PageResponse {
                    status: 503,
                    html: outcome_page(
                        "Try again",
                        "Warden could not read the request just now. Nothing was done; try again in a minute.",
                        false,
                    ),
                });
            }
        };
        match self.settings.key.verify(&request.id, decision, expires, &fields.token, now) {
            Ok(()) => {}
            Err(TokenError::Expired) => {
                return refuse(
                    410,
                    "expired",
                    "This request expired",
                    &format!("It expired {}; nothing was done.", human_time(request.expires_at)),
                )
            }
            Err(TokenError::WrongDecision) => {
                return refuse(
                    403,
                    "wrong_decision",
                    "This link cannot do that",
                    "The link was made for the other decision. Nothing was done.",
                )
            }
            Err(e @ (TokenError::Tampered | TokenError::Malformed)) => {
                return refuse(
                    403,
                    if e == TokenError::Tampered { "tampered" } else { "malformed" },
                    "This link is not valid",
                    "It was altered or is incomplete. Nothing was done.",
                )
            }
        }
        if expires != request.expires_at.timestamp() {
            return refuse(
                403,
                "tampered",
                "This link is not valid",
                "It does not belong to this request. Nothing was done.",
            );
        }
        Ok((request, decision))
    }

    /// GET: the confirmation page, or why there is none. Never changes anything.
    pub async fn page(&self, fields: &TokenFields, who: &Requester, now: DateTime<Utc>) -> PageResponse {
        let (request, _) = match self.check(fields, who, now).await {
            Ok(ok) => ok,
            Err(page) => return page,
        };
        if request.status != ApprovalStatus::Pending {
            return PageResponse { status: 200, html: already_decided(&request) };
        }
        PageResponse { status: 200, html: confirmation_page(&request, &self.settings.key) }
    }

    /// POST: decide, once, and say what happened.
    pub async fn decide<R: ActionRunner>(
        &self,
        fields: &TokenFields,
        who: &Requester,
        runner: &R,
        now: DateTime<Utc>,
    ) -> PageResponse {
        let (request, decision) = match self.check(fields, who, now).await {
            Ok(ok) => ok,
            Err(page) => return page,
        };
        if request.status != ApprovalStatus::Pending {
            security_warning("replayed", &request.id, who);
            return PageResponse { status: 409, html: already_decided(&request) };
        }
        let status = match decision {
            Decision::Approve => ApprovalStatus::Approved,
            Decision::Reject => ApprovalStatus::Rejected,
        };
        let mut record = DecisionRecord {
            decision,
            at: now,
            source_ip: who.source_ip.clone(),
            user_agent: who.user_agent.clone(),
            outcome: String::new(),
        };
        match self.store.decide_approval(&request.id, status, Some(&record), now).await {
            Ok(true) => {}
            Ok(false) => {
                security_warning("replayed", &request.id, who);
                let current = self.store.approval(&request.id).await.ok().flatten().unwrap_or(request);
                return PageResponse { status: 409, html: already_decided(&current) };
            }
            Err(e) => {
                tracing::error!(error = %e, "could not record the decision");
                return PageResponse {
                    status: 503,
                    html: outcome_page(
                        "Try again",
                        "Warden could not record the decision just now. Nothing was done; try again in a minute.",
                        false,
                    ),
                };
            }
        }
        tracing::info!(request = %request.id, decision = decision.as_str(), source_ip = %who.source_ip, "approval decided");
        let (title, message, ok) = match decision {
            Decision::Reject => match runner.run_rejected(&request.action, &format!("approval {}", request.id), now).await {
                Ok(outcome) => ("Rejected", format!("{} was rejected. Nothing more will be done. {outcome}", request.action.label()), true),
                Err(why) => ("Rejected", format!("{} was rejected. Nothing more will be done ({why}).", request.action.label()), true),
            },
            Decision::Approve => match runner.run_approved(&request.action, &format!("approval {}", request.id), now).await {
                Ok(outcome) => ("Approved", format!("{} was approved and done: {outcome}", request.action.label()), true),
                Err(why) => (
                    "Approved, but not done",
                    format!("{} was approved, but executing it failed: {why}. The failure is recorded; the security team has been told.", request.action.label()),
                    false,
                ),
            },
        };
        record.outcome = message.clone();
        if let Err(e) = self.store.record_approval_outcome(&request.id, &record).await {
            tracing::error!(error = %e, request = %request.id, "could not record the outcome");
        }
        let notification = Notification {
            subject: clean_subject(&format!("[Warden] {title}: {}", request.action.label())),
            text: format!(
                "{message}\n\nDecided {} from {} ({}).\nRequest id: {}\nWhy it was asked: {}\n",
                human_time(now),
                who.source_ip,
                who.user_agent,
                request.id,
                request.why
            ),
            facts: json!({"source": "warden", "kind": "approval_decision", "request_id": request.id, "decision": record, "action": request.action}),
            attributes: BTreeMap::from([
                ("warden.kind".to_string(), "approval".to_string()),
                ("warden.status".to_string(), status.as_str().to_string()),
            ]),
        };
        if let Err(e) = self.notifier.notify(&notification).await {
            tracing::error!(error = %e, "could not notify the decision");
        }
        PageResponse { status: if ok { 200 } else { 500 }, html: outcome_page(title, &message, ok) }
    }

    /// The schedule: mark expired requests and escalate them.
    pub async fn expire(&self, now: DateTime<Utc>) -> PortResult<ExpiryReport> {
        let mut report = ExpiryReport { expired: vec![], escalated: 0 };
        for r in self.store.expired_approvals(now).await? {
            if !self.store.decide_approval(&r.id, ApprovalStatus::Expired, None, now).await? {
                continue;
            }
            report.expired.push(r.id.clone());
            let text = format!(
                "Nobody decided on \"{}\" before {}. Nothing was done.\n\nWhy it was asked: {}\nRequest id: {}\n\
                 The evidence Warden protected stays protected; decide what to do with the resource directly.\n",
                r.action.label(),
                human_time(r.expires_at),
                r.why,
                r.id
            );
            let notification = Notification {
                subject: clean_subject(&format!(
                    "[Warden] ESCALATION: approval expired unanswered: {}",
                    r.action.label()
                )),
                text,
                facts: json!({"source": "warden", "kind": "approval_expired", "request": r}),
                attributes: BTreeMap::from([
                    ("warden.kind".to_string(), "approval".to_string()),
                    ("warden.status".to_string(), "expired".to_string()),
                ]),
            };
            match self.notifier.notify(&notification).await {
                Ok(()) => report.escalated += 1,
                Err(e) => tracing::error!(error = %e, request = %r.id, "could not send the escalation"),
            }
        }
        Ok(report)
    }
}

/// Larger form bodies are refused: the page's form is a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 4096;

fn refused(status: u16, title: &str, message: &str) -> PageResponse {
    PageResponse { status, html: outcome_page(title, message, false) }
}

/// The function URL response: the page, with headers that keep it out of caches and frames
/// and forbid every script and external resource.
pub fn http_response(page: PageResponse) -> HttpResponse {
    HttpResponse { status: page.status, content_type: "text/html; charset=utf-8", headers: Vec::new(), body: page.html }
        .with_header(
            "content-security-policy",
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        )
        .with_header("referrer-policy", "no-referrer")
        .with_header("x-frame-options", "DENY")
}

impl<S: ApprovalStore, N: Notifier> Approvals<S, N> {
    /// A function URL (payload 2.0) event, as the page's JSON answer.
    pub async fn http<R: ActionRunner>(&self, event: &Value, runner: &R, now: DateTime<Utc>) -> Value {
        let request = HttpRequest::from_event(event, &IdentityPolicy::default());
        self.serve(request, runner, now).await.to_function_url_event()
    }

    /// GET shows, POST decides, anything else is refused. Always a page, never an error: a
    /// person is reading it.
    pub async fn serve<R: ActionRunner>(
        &self,
        request: Result<HttpRequest, GatewayError>,
        runner: &R,
        now: DateTime<Utc>,
    ) -> HttpResponse {
        let page = match request {
            Ok(request) => self.http_page(&request, runner, now).await,
            Err(GatewayError::BadBase64) => {
                refused(400, "Unreadable form", "The form could not be read. Nothing was done.")
            }
            Err(GatewayError::NotAGatewayEvent(_) | GatewayError::ForeignApi { .. }) => {
                refused(400, "Not a page request", "Open the link from the email. Nothing was done.")
            }
        };
        tracing::info!(status = page.status, "page served");
        http_response(page)
    }

    async fn http_page<R: ActionRunner>(&self, request: &HttpRequest, runner: &R, now: DateTime<Utc>) -> PageResponse {
        let who = Requester {
            source_ip: request.source_ip.clone().unwrap_or_else(|| "unknown".into()),
            user_agent: request.user_agent.as_deref().unwrap_or("unknown").chars().take(256).collect(),
        };
        match request.method.as_str() {
            "GET" | "HEAD" => self.page(&TokenFields::parse(&request.query), &who, now).await,
            "POST" => {
                if request.body.len() > MAX_BODY_BYTES {
                    security_warning("oversized", "", &who);
                    return refused(413, "Too large", "That form is far larger than Warden's. Nothing was done.");
                }
                let Ok(body) = std::str::from_utf8(&request.body) else {
                    return refused(400, "Unreadable form", "The form could not be read. Nothing was done.");
                };
                if !request.header("content-type").unwrap_or("").starts_with("application/x-www-form-urlencoded") {
                    return refused(415, "Not a form", "Only the page's own form can decide. Nothing was done.");
                }
                self.decide(&TokenFields::parse(body), &who, runner, now).await
            }
            _ => refused(405, "Not allowed", "Open the link from the email. Nothing was done."),
        }
    }
}

fn already_decided(r: &ApprovalRequest) -> String {
    let detail = match &r.decision {
        Some(d) => format!("It was {} at {} from {}. {}", r.status.as_str(), human_time(d.at), d.source_ip, d.outcome),
        None => format!("It is {}.", r.status.as_str()),
    };
    outcome_page("Already decided", &format!("{} — nothing more was done. {detail}", r.action.label()), false)
}
