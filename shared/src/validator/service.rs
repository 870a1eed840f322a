//! The request validator as a service: an API Gateway event in, a response out. Around the pure
//! decision (`crate::validator::decision::check`) it reads the model registry (cached briefly, fail
//! closed), counts the caller's quota, forwards to Ollama and maps what Ollama says. It returns
//! what happened as an [`Outcome`] for the log line and the metrics; it never logs prompt text.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use tokio::sync::Mutex;

use crate::http::{GatewayError, GatewayEvent, HttpRequest, HttpResponse, IdentityPolicy};
use crate::registry::ports::ModelRegistryStore;
use crate::registry::Registry;
use crate::suspension::ports::SuspensionStore;
use crate::suspension::Restrictions;
use crate::validator::catalog::{self, catalog_call, CatalogCall};
use crate::validator::decision::{check, screen, Refusal, ValidatorPolicy};
use crate::validator::guard::{Category, Finding};
use crate::validator::openai;
use crate::validator::output::{self, StreamGuard};
use crate::validator::ports::{QuotaOutcome, QuotaStore, QuotaWindow};
use crate::validator::relay::{relay, Framing, Served, PIECES_IN_FLIGHT};
use crate::validator::upstream::{Opened, Upstream, UpstreamError};

/// What happened to one request (for logs and metrics; no prompt text, no PII).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    pub request_id: String,
    pub caller: Option<String>,
    /// The session of an assumed-role caller (the caller is the role).
    pub session: Option<String>,
    pub use_case: Option<String>,
    pub model: Option<String>,
    pub status: u16,
    /// Why it was refused (`None` when forwarded and answered).
    pub reason: Option<&'static str>,
    pub findings: Vec<Finding>,
    pub flagged: Vec<Finding>,
    pub auth_failure: bool,
    pub injection: bool,
    pub pii: bool,
    /// Time spent deciding (parse, registry lookup, checks, content scan), in microseconds.
    pub validation_us: u64,
    /// Until Ollama's answer ended (a stream: its last chunk).
    pub upstream_ms: Option<u64>,
    /// A stream: until its first bytes went to the caller.
    pub first_byte_ms: Option<u64>,
    pub source_ip: Option<String>,
    /// Refused because the caller is suspended.
    pub suspended: bool,
}

struct CachedRegistry {
    loaded: Instant,
    registry: Arc<Registry>,
}

struct CachedRestrictions {
    loaded: Instant,
    restrictions: Arc<Restrictions>,
}

pub struct RequestGuard<R, Q, U> {
    policy: ValidatorPolicy,
    identity: IdentityPolicy,
    registry_store: R,
    registry_ttl: Duration,
    cache: Mutex<Option<CachedRegistry>>,
    /// Quotas, suspensions and fleet limits (one table).
    quotas: Q,
    restrictions_ttl: Duration,
    restrictions_cache: Mutex<Option<CachedRestrictions>>,
    upstream: U,
}

impl<R: ModelRegistryStore, Q: QuotaStore + SuspensionStore, U: Upstream> RequestGuard<R, Q, U> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        policy: ValidatorPolicy,
        identity: IdentityPolicy,
        registry_store: R,
        registry_ttl: Duration,
        quotas: Q,
        restrictions_ttl: Duration,
        upstream: U,
    ) -> Self {
        Self {
            policy,
            identity,
            registry_store,
            registry_ttl,
            cache: Mutex::new(None),
            quotas,
            restrictions_ttl,
            restrictions_cache: Mutex::new(None),
            upstream,
        }
    }

    /// Suspensions and fleet limits in force, from the cache while it is fresh: a new
    /// suspension applies within `restrictions_ttl`, without a read on every request.
    async fn restrictions(&self) -> Result<Arc<Restrictions>, String> {
        let mut cache = self.restrictions_cache.lock().await;
        if let Some(c) = cache.as_ref().filter(|c| c.loaded.elapsed() < self.restrictions_ttl) {
            return Ok(c.restrictions.clone());
        }
        let restrictions = Arc::new(self.quotas.restrictions().await.map_err(|e| e.to_string())?);
        *cache = Some(CachedRestrictions { loaded: Instant::now(), restrictions: restrictions.clone() });
        Ok(restrictions)
    }

    /// The registry, from the cache while it is fresh. When it cannot be read and the cache has
    /// expired, there is no registry: the caller refuses (fail closed), never serves stale.
    async fn registry(&self) -> Result<Arc<Registry>, String> {
        let mut cache = self.cache.lock().await;
        if let Some(c) = cache.as_ref().filter(|c| c.loaded.elapsed() < self.registry_ttl) {
            return Ok(c.registry.clone());
        }
        let models = self.registry_store.models().await.map_err(|e| e.to_string())?;
        let registry = Arc::new(Registry { models });
        *cache = Some(CachedRegistry { loaded: Instant::now(), registry: registry.clone() });
        Ok(registry)
    }

    /// Any JSON API Gateway might have sent (tests and tools; the function gets it typed).
    /// The reply is read to its end (a stream as one body).
    pub async fn handle(&self, event: &Value, now: DateTime<Utc>) -> (HttpResponse, Outcome) {
        self.serve(&GatewayEvent::from_value(event.clone()), now).await.collect().await
    }

    /// One request: refused or answered whole, or a stream relayed as Ollama writes it.
    pub async fn serve(&self, event: &GatewayEvent, now: DateTime<Utc>) -> Served {
        let started = Instant::now();
        let mut outcome = Outcome { request_id: "-".into(), ..Outcome::default() };
        let req = match HttpRequest::from_gateway(event, &self.identity) {
            Ok(r) => r,
            Err(e @ GatewayError::ForeignApi { .. }) => {
                // Not through this API: a direct invocation or a stray integration.
                outcome.auth_failure = true;
                let refusal = Refusal::new(403, "foreign_api", e.to_string());
                return self.refused(refusal, outcome, started).into();
            }
            Err(e) => {
                let refusal = Refusal::new(400, "bad_event", e.to_string());
                return self.refused(refusal, outcome, started).into();
            }
        };
        // The OpenAI-compatible routes: translated, decided as the native request, translated
        // back (errors in OpenAI's shape).
        if let Some(route) = openai::route(&req.path) {
            let request_id = req.request_id.clone();
            let in_openai_shape = |translated: &openai::Translated, served: Served| match served {
                Served::Whole(answer, outcome) => {
                    Served::Whole(openai::from_native(translated, &answer, &request_id, now), outcome)
                }
                streaming => streaming,
            };
            if req.caller.as_ref().and_then(|c| c.use_case.as_ref()).is_none() {
                // The unauthenticated are refused before their body is read, here as anywhere.
                let served = self.serve_native(req, outcome, started, now, Framing::Ndjson).await;
                return in_openai_shape(&openai::Translated::refused(route), served);
            }
            let translated = match openai::to_native(route, &req.method, &req.body) {
                Ok(t) => t,
                Err(refusal) => {
                    outcome.request_id = request_id.clone();
                    let served = self.refused(refusal, outcome, started).into();
                    return in_openai_shape(&openai::Translated::refused(route), served);
                }
            };
            let mut native = req;
            native.method = translated.method.to_string();
            native.path = translated.path.to_string();
            native.body = translated.body.clone();
            native.headers.insert("content-type".into(), "application/json".into());
            let framing = Framing::Sse(openai::SseEvents::new(&translated, &request_id, now));
            let served = self.serve_native(native, outcome, started, now, framing).await;
            return in_openai_shape(&translated, served);
        }
        self.serve_native(req, outcome, started, now, Framing::Ndjson).await
    }

    /// A native request, from its identity to Ollama's answer.
    async fn serve_native(
        &self,
        req: HttpRequest,
        mut outcome: Outcome,
        started: Instant,
        now: DateTime<Utc>,
        framing: Framing,
    ) -> Served {
        outcome.request_id = req.request_id.clone();
        outcome.source_ip = req.source_ip.clone();
        outcome.caller = req.caller.as_ref().map(|c| c.id.clone());
        outcome.session = req.caller.as_ref().and_then(|c| c.session.clone());
        outcome.use_case = req.caller.as_ref().and_then(|c| c.use_case.clone());
        // Refuse the unauthenticated before touching the registry.
        if req.caller.as_ref().and_then(|c| c.use_case.as_ref()).is_none() {
            let refusal = check(&req, &self.policy, &Registry::default()).err().unwrap_or_else(|| {
                Refusal::new(403, "no_use_case", "the caller has no use case: ask the platform team to assign one")
            });
            return self.refused_offence(refusal, outcome, started, now).await.into();
        }
        let restrictions = match self.restrictions().await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "suspensions unreadable: refusing requests (fail closed)");
                let refusal =
                    Refusal::new(503, "restrictions_unavailable", "suspensions cannot be checked; try again shortly");
                return self.refused(refusal.with_retry_after(5), outcome, started).into();
            }
        };
        let caller_id = req.caller.as_ref().map(|c| c.id.as_str()).unwrap_or_default();
        if let Some(s) = restrictions.suspension_of(caller_id, now) {
            outcome.suspended = true;
            let mut refusal = Refusal::new(
                403,
                "caller_suspended",
                format!(
                    "this caller is suspended until {} ({})",
                    s.until.to_rfc3339(),
                    s.reason.chars().take(160).collect::<String>()
                ),
            );
            refusal.until = Some(s.until);
            refusal.retry_after = Some((s.until - now).num_seconds().max(1) as u64);
            return self.refused(refusal, outcome, started).into();
        }
        let registry = match self.registry().await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "model registry unreadable: refusing requests (fail closed)");
                let refusal =
                    Refusal::new(503, "registry_unavailable", "the model registry cannot be read; try again shortly");
                return self.refused(refusal.with_retry_after(5), outcome, started).into();
            }
        };
        // The read-only calls clients make first (list, show, version), for this caller only.
        let use_case_name = req.caller.as_ref().and_then(|c| c.use_case.clone()).unwrap_or_default();
        if let Some(call) = catalog_call(&req, &registry, &use_case_name) {
            return self
                .catalog(call, &req, &registry, &restrictions, &use_case_name, outcome, started, now)
                .await
                .into();
        }
        // Every cheap check first, then the quota is charged, then the content is scanned: a
        // caller over quota never costs a scan.
        let screened = match screen(&req, &self.policy, &registry) {
            Ok(s) => s,
            Err(refusal) => return self.refused_offence(refusal, outcome, started, now).await.into(),
        };
        let quota = Quota::new(&self.policy, screened.use_case(), restrictions.quota_factor(now), now);
        if screened.estimated_tokens > quota.max_tokens {
            let refusal = Refusal::new(
                413,
                "over_token_budget",
                format!(
                    "this request alone needs ~{} tokens; the budget is {} per {} s: lower num_predict or the prompt",
                    screened.estimated_tokens, quota.max_tokens, quota.window.seconds
                ),
            );
            return self.refused(refusal, outcome, started).into();
        }
        if let Err(refusal) = self.charge(&quota, &screened.caller().id, screened.estimated_tokens, now).await {
            return self.refused(refusal, outcome, started).into();
        }
        let admitted = match screened.scan() {
            Ok(a) => a,
            Err(refusal) => return self.refused_offence(refusal, outcome, started, now).await.into(),
        };
        outcome.model = Some(admitted.model.ollama_name());
        outcome.flagged = admitted.flagged.clone();
        outcome.pii = admitted.flagged.iter().any(|f| f.kind.category() == Category::Pii);
        outcome.validation_us = started.elapsed().as_micros() as u64;

        let upstream_started = Instant::now();
        let forwarded = if admitted.streams {
            match self.upstream.open(admitted.endpoint.path(), admitted.body).await {
                Ok(Opened::Streaming(chunks)) => {
                    // Relayed as it comes; the output guard holds back only what may still be a leak.
                    let guard = StreamGuard::new(admitted.output_block, admitted.output_flag);
                    let head = HttpResponse {
                        status: 200,
                        content_type: framing.content_type(),
                        headers: vec![("x-request-id".into(), outcome.request_id.clone())],
                        body: String::new(),
                    };
                    outcome.status = 200;
                    let (to, pieces) = tokio::sync::mpsc::channel(PIECES_IN_FLIGHT);
                    tokio::spawn(relay(chunks, guard, framing, outcome, upstream_started, to));
                    return Served::Streaming(head, pieces);
                }
                // Ollama refused (an error status): answered below like any other error.
                Ok(Opened::Refused(r)) => Ok(r),
                Err(e) => Err(e),
            }
        } else {
            self.upstream.forward(admitted.endpoint.path(), admitted.body).await
        };
        outcome.upstream_ms = Some(upstream_started.elapsed().as_millis() as u64);
        let response = match forwarded {
            Ok(r) if r.status < 400 => {
                let body = String::from_utf8_lossy(&r.body).into_owned();
                let (status, body) = if admitted.endpoint.generates() {
                    // The output guard: secrets and personal data in the answer.
                    let guarded = output::guard(&body, false, &admitted.output_block, &admitted.output_flag);
                    outcome.pii |=
                        guarded.blocked.iter().chain(&guarded.flagged).any(|f| f.kind.category() == Category::Pii);
                    outcome.flagged.extend(guarded.flagged);
                    if guarded.blocked.is_empty() {
                        (r.status, guarded.body)
                    } else {
                        // Logged as a SECURITY_WARNING with the kinds (never the text).
                        outcome.reason = Some("output_blocked");
                        outcome.findings = guarded.blocked;
                        (502, guarded.body)
                    }
                } else {
                    (r.status, body)
                };
                HttpResponse { status, content_type: "application/json", headers: Vec::new(), body }
            }
            other => self.upstream_failure(other, &mut outcome),
        };
        outcome.status = response.status;
        let response = response.with_header("x-request-id", outcome.request_id.clone());
        (response, outcome).into()
    }

    /// A read-only call: counted against the caller's request quota (it reserves no tokens),
    /// answered from Ollama's own answer, reduced to what this caller may see.
    #[allow(clippy::too_many_arguments)]
    async fn catalog(
        &self,
        call: Result<CatalogCall, Refusal>,
        req: &HttpRequest,
        registry: &Registry,
        restrictions: &Restrictions,
        use_case: &str,
        mut outcome: Outcome,
        started: Instant,
        now: DateTime<Utc>,
    ) -> (HttpResponse, Outcome) {
        let call = match call {
            Ok(c) => c,
            Err(refusal) => return self.refused_offence(refusal, outcome, started, now).await,
        };
        let caller = req.caller.as_ref().map(|c| c.id.as_str()).unwrap_or_default();
        let quota = Quota::new(&self.policy, use_case, restrictions.quota_factor(now), now);
        if let Err(refusal) = self.charge(&quota, caller, 0, now).await {
            return self.refused(refusal, outcome, started);
        }
        outcome.validation_us = started.elapsed().as_micros() as u64;
        let upstream_started = Instant::now();
        let answered = match &call {
            CatalogCall::Show(_) => self.upstream.forward(call.path(), catalog::upstream_body(&call)).await,
            CatalogCall::Tags | CatalogCall::Version => self.upstream.get(call.path()).await,
        };
        outcome.upstream_ms = Some(upstream_started.elapsed().as_millis() as u64);
        let response = match answered {
            Ok(r) if r.status < 400 => match catalog::answer(&call, &r.body, registry, use_case) {
                Ok(body) => HttpResponse {
                    status: 200,
                    content_type: "application/json",
                    headers: Vec::new(),
                    body: body.to_string(),
                },
                Err(e) => {
                    outcome.reason = Some("upstream_error");
                    HttpResponse::error(502, "upstream_error", &e, json!({}))
                }
            },
            other => self.upstream_failure(other, &mut outcome),
        };
        outcome.status = response.status;
        let response = response.with_header("x-request-id", outcome.request_id.clone());
        (response, outcome)
    }

    /// Charge one request and `tokens` to the caller's quota (one atomic update shared by every
    /// instance): over it `429` with `Retry-After`, the store unreadable `503` (fail closed).
    async fn charge(&self, quota: &Quota, caller: &str, tokens: u64, now: DateTime<Utc>) -> Result<(), Refusal> {
        match self.quotas.consume(caller, quota.window, tokens, quota.max_requests, quota.max_tokens).await {
            Ok(QuotaOutcome::Allowed { .. }) => Ok(()),
            Ok(QuotaOutcome::Exhausted) => {
                let retry_after = (quota.window.end() - now.timestamp()).max(1) as u64;
                let refusal = Refusal::new(
                    429,
                    "quota_exceeded",
                    format!(
                        "quota of {} requests / {} tokens per {} s used up; retry in {retry_after} s",
                        quota.max_requests, quota.max_tokens, quota.window.seconds
                    ),
                );
                Err(refusal.with_retry_after(retry_after))
            }
            Err(e) => {
                tracing::error!(error = %e, "quota store unreadable: refusing requests (fail closed)");
                Err(Refusal::new(503, "quota_unavailable", "quotas cannot be checked; try again shortly")
                    .with_retry_after(5))
            }
        }
    }

    /// Ollama's error, or no answer at all, as the caller sees it.
    fn upstream_failure(
        &self,
        forwarded: Result<crate::validator::upstream::UpstreamResponse, UpstreamError>,
        outcome: &mut Outcome,
    ) -> HttpResponse {
        let (status, code, message) = match forwarded {
            Ok(r) => {
                // Ollama's errors are `{"error": "..."}`; keep its message, say it was upstream.
                let message = serde_json::from_slice::<Value>(&r.body)
                    .ok()
                    .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_string))
                    .unwrap_or_else(|| format!("Ollama answered {}", r.status));
                let (status, code) =
                    if r.status >= 500 { (502, "upstream_error") } else { (r.status, "upstream_rejected") };
                (status, code, message)
            }
            Err(e) => {
                let code = e.code();
                let status = if matches!(e, UpstreamError::Timeout(_)) { 504 } else { 502 };
                tracing::error!(error = %e, "forwarding to Ollama failed");
                (status, code, e.to_string())
            }
        };
        outcome.reason = Some(code);
        HttpResponse::error(status, code, &message, json!({}))
    }

    async fn refused_offence(
        &self,
        refusal: Refusal,
        outcome: Outcome,
        started: Instant,
        now: DateTime<Utc>,
    ) -> (HttpResponse, Outcome) {
        let (response, outcome) = self.refused(refusal, outcome, started);
        if outcome.injection || outcome.auth_failure {
            let caller = outcome.caller.as_deref().unwrap_or("anonymous");
            if let Err(e) = self.quotas.record_offence(caller, now).await {
                tracing::warn!(error = %e, "offence not counted (the refusal stands)");
            }
        }
        (response, outcome)
    }

    fn refused(&self, refusal: Refusal, mut outcome: Outcome, started: Instant) -> (HttpResponse, Outcome) {
        outcome.status = refusal.status;
        outcome.reason = Some(refusal.code);
        outcome.auth_failure = refusal.is_auth_failure();
        outcome.injection = refusal.is_injection();
        outcome.pii |= refusal.findings.iter().any(|f| f.kind.category() == Category::Pii);
        outcome.findings = refusal.findings.clone();
        outcome.validation_us = started.elapsed().as_micros() as u64;
        let kinds: Vec<&str> = refusal.findings.iter().map(|f| f.kind.as_str()).collect();
        let mut extra = if kinds.is_empty() { json!({}) } else { json!({ "findings": kinds }) };
        if let Some(until) = refusal.until {
            extra["until"] = json!(until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        }
        let mut response = HttpResponse::error(refusal.status, refusal.code, &refusal.message, extra)
            .with_header("x-request-id", outcome.request_id.clone());
        if let Some(after) = refusal.retry_after {
            response = response.with_header("retry-after", after.to_string());
        }
        (response, outcome)
    }
}

impl From<(HttpResponse, Outcome)> for Served {
    fn from((response, outcome): (HttpResponse, Outcome)) -> Self {
        Served::Whole(response, Box::new(outcome))
    }
}

impl Refusal {
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }
}

impl Outcome {
    /// Refused, withheld, or cut by the output guard (what `BlockedRequests` counts).
    pub fn blocked(&self) -> bool {
        self.reason.is_some() && (self.status >= 400 || self.reason == Some("output_blocked"))
    }
}

/// A caller's budgets for the current window: the use case's, scaled by a fleet-wide
/// tightening (approved after a fleet alarm).
struct Quota {
    window: QuotaWindow,
    max_requests: u64,
    max_tokens: u64,
}

impl Quota {
    fn new(policy: &ValidatorPolicy, use_case: &str, factor: f64, now: DateTime<Utc>) -> Self {
        let budgets = policy.use_case(use_case);
        let scaled = |n: u64| ((n as f64 * factor).floor() as u64).max(1);
        Self {
            window: QuotaWindow::containing(now, policy.quota_window_seconds),
            max_requests: scaled(budgets.requests_per_window),
            max_tokens: scaled(budgets.tokens_per_window),
        }
    }
}

/// Log what happened: one `SECURITY_WARNING` line per blocked request (caller, reason, finding
/// kinds — never the text), an info line otherwise.
pub fn log_outcome(o: &Outcome) {
    let findings: Vec<&str> = o.findings.iter().map(|f| f.kind.as_str()).collect();
    let flagged: Vec<&str> = o.flagged.iter().map(|f| f.kind.as_str()).collect();
    let caller = o.caller.as_deref().unwrap_or("anonymous");
    let security = o.auth_failure
        || o.suspended
        || !o.findings.is_empty()
        || o.reason.is_some_and(|r| {
            r.starts_with("model_")
                || matches!(r, "endpoint_not_allowed" | "field_refused" | "quota_exceeded" | "foreign_api")
        });
    if security {
        tracing::warn!(
            caller,
            session = o.session.as_deref().unwrap_or("-"),
            use_case = o.use_case.as_deref().unwrap_or("-"),
            reason = o.reason.unwrap_or("-"),
            findings = %findings.join(","),
            status = o.status,
            request_id = %o.request_id,
            source_ip = o.source_ip.as_deref().unwrap_or("-"),
            "SECURITY_WARNING request refused"
        );
    } else {
        tracing::info!(
            caller,
            session = o.session.as_deref().unwrap_or("-"),
            use_case = o.use_case.as_deref().unwrap_or("-"),
            model = o.model.as_deref().unwrap_or("-"),
            status = o.status,
            reason = o.reason.unwrap_or("-"),
            flagged = %flagged.join(","),
            validation_us = o.validation_us,
            upstream_ms = o.upstream_ms.unwrap_or(0),
            first_byte_ms = o.first_byte_ms.unwrap_or(0),
            request_id = %o.request_id,
            "request handled"
        );
    }
}
