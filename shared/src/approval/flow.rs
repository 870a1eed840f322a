//! The approval flow: ask (one request, one email with the two links), show the page (never
//! changes anything), decide (a POST with a valid token, once), expire (on a schedule, with an
//! escalation).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::{json, Value};

use crate::approval::page::{confirmation_page, outcome_page, signed_in_page};
use crate::approval::ports::{ActionRunner, ApprovalStore};
use crate::approval::sign_in::{
    constant_time_eq, open, pkce_challenge, random_token, seal, Approvers, Confirmation, Identity, IdentityProvider,
    SignInError, SignInState, CONFIRM_SECONDS, SIGN_IN_COOKIE, SIGN_IN_SECONDS,
};
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
    /// The form's step: `sign_in` (start signing in) or `confirm` (decide, signed in).
    pub step: String,
    /// The sealed signed-in confirmation the `confirm` form carries.
    pub confirmation: String,
    /// The provider's redirect back: `code` and `state`, or `error`.
    pub code: String,
    pub state: String,
    pub error: String,
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
                "step" => &mut f.step,
                "confirmation" => &mut f.confirmation,
                "code" => &mut f.code,
                "state" => &mut f.state,
                "error" => &mut f.error,
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
            // No links in the facts: machine subscribers (queues, endpoints) get none.
            facts: json!({"source": "warden", "kind": "approval_request", "request": r}),
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

    /// GET: the page of the link's own decision, or why there is none. Never changes anything.
    pub async fn page(&self, fields: &TokenFields, who: &Requester, now: DateTime<Utc>) -> PageResponse {
        let (request, decision) = match self.check(fields, who, now).await {
            Ok(ok) => ok,
            Err(page) => return page,
        };
        if request.status != ApprovalStatus::Pending {
            return PageResponse { status: 200, html: already_decided(&request) };
        }
        PageResponse { status: 200, html: confirmation_page(&request, decision, fields) }
    }

    /// POST `sign_in`: a pending request's link, and the browser goes to the provider, carrying
    /// the sign-in's secrets sealed in a cookie only this browser sends back.
    pub async fn start_sign_in<P: IdentityProvider>(
        &self,
        fields: &TokenFields,
        who: &Requester,
        sign_in: &SignIn<P>,
        now: DateTime<Utc>,
    ) -> HttpResponse {
        let (request, decision) = match self.check(fields, who, now).await {
            Ok(ok) => ok,
            Err(page) => return sign_in.page(page),
        };
        if request.status != ApprovalStatus::Pending {
            return sign_in.page(PageResponse { status: 409, html: already_decided(&request) });
        }
        let (Ok(state), Ok(nonce), Ok(verifier)) = (random_token(), random_token(), random_token()) else {
            return sign_in.page(try_again("Warden could not start the sign-in just now."));
        };
        let url = match sign_in
            .provider
            .authorization_url(&self.settings.base_url, &state, &nonce, &pkce_challenge(&verifier))
            .await
        {
            Ok(url) => url,
            Err(e) => {
                tracing::error!(error = %e, "sign-in provider unavailable");
                return sign_in.page(try_again("The sign-in provider could not be reached."));
            }
        };
        let carried = SignInState {
            state,
            nonce,
            verifier,
            request: request.id.clone(),
            decision,
            expires: request.expires_at.timestamp(),
            token: fields.token.clone(),
            until: now.timestamp() + SIGN_IN_SECONDS,
        };
        let cookie = format!(
            "{SIGN_IN_COOKIE}={}; Path=/; Max-Age={SIGN_IN_SECONDS}; HttpOnly; Secure; SameSite=Lax",
            seal(&self.settings.key, SIGN_IN_COOKIE, &carried)
        );
        tracing::info!(request = %request.id, decision = decision.as_str(), "sign-in started");
        HttpResponse { status: 303, content_type: "text/html; charset=utf-8", headers: Vec::new(), body: String::new() }
            .with_header("location", url)
            .with_header("set-cookie", cookie)
            .with_header("referrer-policy", "no-referrer")
    }

    /// GET with `code` and `state`: the provider sent the browser back. Verify who signed in,
    /// that they may decide this action, and show the one button that decides, as them.
    async fn signed_in<P: IdentityProvider>(
        &self,
        query: &TokenFields,
        cookie: Option<&str>,
        who: &Requester,
        sign_in: &SignIn<P>,
        now: DateTime<Utc>,
    ) -> PageResponse {
        let refuse = |status: u16, reason: &str, title: &str, message: &str| {
            security_warning(reason, "", who);
            PageResponse { status, html: outcome_page(title, message, false) }
        };
        let carried: Option<SignInState> = cookie.and_then(|c| open(&self.settings.key, SIGN_IN_COOKIE, c));
        let Some(carried) = carried else {
            return refuse(
                400,
                "sign_in_not_started_here",
                "This sign-in did not start here",
                "Open the link from the email again in this browser and sign in from its page. Nothing was done.",
            );
        };
        if !constant_time_eq(carried.state.as_bytes(), query.state.as_bytes()) {
            return refuse(
                403,
                "sign_in_state_mismatch",
                "This sign-in is not yours",
                "It belongs to another sign-in. Nothing was done.",
            );
        }
        if now.timestamp() >= carried.until {
            return refuse(
                410,
                "sign_in_too_slow",
                "The sign-in took too long",
                "Open the link from the email again. Nothing was done.",
            );
        }
        if !query.error.is_empty() {
            let error: String = query.error.chars().take(64).collect();
            return refuse(
                403,
                "provider_refused",
                "Not signed in",
                &format!("The sign-in provider answered {error:?}. Nothing was done."),
            );
        }
        let identity = match sign_in
            .provider
            .redeem(&query.code, &carried.verifier, &self.settings.base_url, &carried.nonce)
            .await
        {
            Ok(identity) => identity,
            Err(e @ SignInError::Unavailable(_)) => {
                tracing::error!(error = %e, "sign-in provider unavailable");
                return try_again("The sign-in provider could not be reached.");
            }
            Err(e) => {
                tracing::warn!(security = "SECURITY_WARNING", error = %e, "SECURITY_WARNING sign-in refused; nothing executed");
                return PageResponse {
                    status: 403,
                    html: outcome_page("Not signed in", &format!("{e}. Nothing was done."), false),
                };
            }
        };
        let fields = TokenFields {
            request: carried.request.clone(),
            decision: carried.decision.as_str().to_string(),
            expires: carried.expires.to_string(),
            token: carried.token.clone(),
            ..TokenFields::default()
        };
        let (request, decision) = match self.check(&fields, who, now).await {
            Ok(ok) => ok,
            Err(page) => return page,
        };
        if request.status != ApprovalStatus::Pending {
            return PageResponse { status: 409, html: already_decided(&request) };
        }
        if !sign_in.approvers.may_decide(&identity, &request.action) {
            tracing::warn!(
                security = "SECURITY_WARNING",
                person = %identity.label(),
                kind = request.action.kind(),
                request = %request.id,
                "SECURITY_WARNING signed in, but not an approver of this kind of action; nothing executed"
            );
            return PageResponse {
                status: 403,
                html: outcome_page(
                    "Not an approver",
                    &format!(
                        "{} signed in, but is not on the approvers list for \"{}\" actions. Nothing was done.",
                        identity.label(),
                        request.action.kind()
                    ),
                    false,
                ),
            };
        }
        let confirmation = Confirmation {
            identity: identity.clone(),
            request: request.id.clone(),
            decision,
            until: now.timestamp() + CONFIRM_SECONDS,
        };
        let sealed = seal(&self.settings.key, "confirm", &confirmation);
        tracing::info!(request = %request.id, person = %identity.label(), "signed in to decide");
        PageResponse { status: 200, html: signed_in_page(&request, decision, &fields, &identity.label(), &sealed) }
    }

    /// POST `confirm`: decide, once, as the signed-in person the confirmation names.
    pub async fn confirm<R: ActionRunner, P: IdentityProvider>(
        &self,
        fields: &TokenFields,
        who: &Requester,
        runner: &R,
        sign_in: &SignIn<P>,
        now: DateTime<Utc>,
    ) -> PageResponse {
        let confirmation: Option<Confirmation> = open(&self.settings.key, "confirm", &fields.confirmation);
        let Some(confirmation) =
            confirmation.filter(|c| c.request == fields.request && c.decision.as_str() == fields.decision)
        else {
            security_warning("unauthenticated", &fields.request, who);
            return PageResponse {
                status: 401,
                html: outcome_page(
                    "Sign in first",
                    "Deciding takes signing in, from the link's page. Nothing was done.",
                    false,
                ),
            };
        };
        if now.timestamp() >= confirmation.until {
            security_warning("confirmation_expired", &fields.request, who);
            return PageResponse {
                status: 410,
                html: outcome_page(
                    "Sign in again",
                    "The signed-in page is a few minutes old. Open the link again. Nothing was done.",
                    false,
                ),
            };
        }
        self.decide(fields, who, &confirmation.identity, &sign_in.approvers, runner, now).await
    }

    /// Decide, once, and say what happened: only after [`Self::confirm`] has authenticated the
    /// person, and only while they are on the approvers list as it is now.
    async fn decide<R: ActionRunner>(
        &self,
        fields: &TokenFields,
        who: &Requester,
        person: &Identity,
        approvers: &Approvers,
        runner: &R,
        now: DateTime<Utc>,
    ) -> PageResponse {
        let (request, decision) = match self.check(fields, who, now).await {
            Ok(ok) => ok,
            Err(page) => return page,
        };
        if !approvers.may_decide(person, &request.action) {
            security_warning("not_an_approver", &request.id, who);
            return PageResponse { status: 403, html: outcome_page("Not an approver", "Nothing was done.", false) };
        }
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
            decided_by: Some(person.label()),
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
        tracing::info!(request = %request.id, decision = decision.as_str(), person = %person.label(), source_ip = %who.source_ip, "approval decided");
        let by = format!("{} (approval {})", person.label(), request.id);
        let (title, message, ok) = match decision {
            Decision::Reject => match runner.run_rejected(&request.action, &by, now).await {
                Ok(outcome) => ("Rejected", format!("{} was rejected. Nothing more will be done. {outcome}", request.action.label()), true),
                Err(why) => ("Rejected", format!("{} was rejected. Nothing more will be done ({why}).", request.action.label()), true),
            },
            Decision::Approve => match runner.run_approved(&request.action, &by, now).await {
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
                "{message}\n\nDecided by {}, {} from {} ({}).\nRequest id: {}\nWhy it was asked: {}\n",
                person.label(),
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
/// and forbid every script and external resource. Forms go to Warden, or (the redirect after
/// "Sign in") to the sign-in provider's origin.
pub fn http_response(page: PageResponse, provider_origin: &str) -> HttpResponse {
    HttpResponse { status: page.status, content_type: "text/html; charset=utf-8", headers: Vec::new(), body: page.html }
        .with_header(
            "content-security-policy",
            format!(
                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' {provider_origin}; \
                 frame-ancestors 'none'; base-uri 'none'"
            ),
        )
        .with_header("referrer-policy", "no-referrer")
        .with_header("x-frame-options", "DENY")
}

impl<S: ApprovalStore, N: Notifier> Approvals<S, N> {
    /// A function URL (payload 2.0) event, as the page's JSON answer.
    pub async fn http<R: ActionRunner, P: IdentityProvider>(
        &self,
        event: &Value,
        runner: &R,
        sign_in: &SignIn<P>,
        now: DateTime<Utc>,
    ) -> Value {
        let request = HttpRequest::from_event(event, &IdentityPolicy::default());
        self.serve(request, runner, sign_in, now).await.to_function_url_event()
    }

    /// GET shows (or finishes a sign-in), POST starts a sign-in or decides, anything else is
    /// refused. Always a page, never an error: a person is reading it.
    pub async fn serve<R: ActionRunner, P: IdentityProvider>(
        &self,
        request: Result<HttpRequest, GatewayError>,
        runner: &R,
        sign_in: &SignIn<P>,
        now: DateTime<Utc>,
    ) -> HttpResponse {
        let response = match request {
            Ok(request) => self.http_page(&request, runner, sign_in, now).await,
            Err(GatewayError::BadBase64) => {
                sign_in.page(refused(400, "Unreadable form", "The form could not be read. Nothing was done."))
            }
            Err(GatewayError::NotAGatewayEvent(_) | GatewayError::ForeignApi { .. }) => {
                sign_in.page(refused(400, "Not a page request", "Open the link from the email. Nothing was done."))
            }
        };
        tracing::info!(status = response.status, "page served");
        response
    }

    async fn http_page<R: ActionRunner, P: IdentityProvider>(
        &self,
        request: &HttpRequest,
        runner: &R,
        sign_in: &SignIn<P>,
        now: DateTime<Utc>,
    ) -> HttpResponse {
        let who = Requester {
            source_ip: request.source_ip.clone().unwrap_or_else(|| "unknown".into()),
            user_agent: request.user_agent.as_deref().unwrap_or("unknown").chars().take(256).collect(),
        };
        match request.method.as_str() {
            "GET" | "HEAD" => {
                let query = TokenFields::parse(&request.query);
                if !query.state.is_empty() && (!query.code.is_empty() || !query.error.is_empty()) {
                    let cookie = request.header("cookie").and_then(|c| cookie_value(c, SIGN_IN_COOKIE));
                    // The sign-in cookie is spent, whatever the answer.
                    let clear = format!("{SIGN_IN_COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax");
                    let page = self.signed_in(&query, cookie, &who, sign_in, now).await;
                    return sign_in.page(page).with_header("set-cookie", clear);
                }
                sign_in.page(self.page(&query, &who, now).await)
            }
            "POST" => {
                if request.body.len() > MAX_BODY_BYTES {
                    security_warning("oversized", "", &who);
                    return sign_in.page(refused(
                        413,
                        "Too large",
                        "That form is far larger than Warden's. Nothing was done.",
                    ));
                }
                let Ok(body) = std::str::from_utf8(&request.body) else {
                    return sign_in.page(refused(
                        400,
                        "Unreadable form",
                        "The form could not be read. Nothing was done.",
                    ));
                };
                if !request.header("content-type").unwrap_or("").starts_with("application/x-www-form-urlencoded") {
                    return sign_in.page(refused(
                        415,
                        "Not a form",
                        "Only the page's own form can decide. Nothing was done.",
                    ));
                }
                let fields = TokenFields::parse(body);
                match fields.step.as_str() {
                    "sign_in" => self.start_sign_in(&fields, &who, sign_in, now).await,
                    _ => sign_in.page(self.confirm(&fields, &who, runner, sign_in, now).await),
                }
            }
            _ => sign_in.page(refused(405, "Not allowed", "Open the link from the email. Nothing was done.")),
        }
    }
}

/// Signing in: the provider, and who may decide what.
pub struct SignIn<P> {
    pub provider: P,
    pub approvers: Approvers,
}

impl<P: IdentityProvider> SignIn<P> {
    /// A page as the function URL answers it: its forms may go to Warden itself, and (for the
    /// redirect after "Sign in") to the provider.
    pub fn page(&self, page: PageResponse) -> HttpResponse {
        http_response(page, &self.provider.origin())
    }
}

/// One cookie's value from a `cookie` header.
fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').filter_map(|c| c.trim().split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v)
}

fn try_again(what: &str) -> PageResponse {
    PageResponse {
        status: 503,
        html: outcome_page("Try again", &format!("{what} Nothing was done; try again in a minute."), false),
    }
}

fn already_decided(r: &ApprovalRequest) -> String {
    let detail = match &r.decision {
        Some(d) => format!("It was {} at {} from {}. {}", r.status.as_str(), human_time(d.at), d.source_ip, d.outcome),
        None => format!("It is {}.", r.status.as_str()),
    };
    outcome_page("Already decided", &format!("{} — nothing more was done. {detail}", r.action.label()), false)
}
