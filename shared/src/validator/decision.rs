//! The request validator's decision, pure: an [`HttpRequest`] from API Gateway, the policy and
//! the model registry in; either an [`Admitted`] request (with the exact body to forward) or a
//! [`Refusal`] (status, reason code, message) out. No I/O: quotas, the registry read and the
//! forwarding happen around it (`crate::guard_service`).

use std::collections::BTreeMap;

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::http::{Caller, HttpRequest};
use crate::registry::{ModelEntry, ModelNameError, ModelRef, ModelRefusal, Registry, Restriction};
use crate::validator::guard::{scan_conversation, scan_part, scan_text, Category, Finding, FindingKind, Scan};
use crate::validator::ollama::{json_depth, keep_alive_seconds, sniff_image, Endpoint, OllamaRequest, Options, Think};

/// Size and value limits on requests. Every field has a default (see the README).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub max_num_predict: i64,
    /// What a generate/chat request that sets no `options.num_predict` is given (and the quota
    /// reserves), never above `max_num_predict`: clients do not send it unless asked, and
    /// Ollama's own default is unbounded.
    pub default_num_predict: i64,
    /// Refuse generate/chat requests that do not set `options.num_predict` instead.
    pub require_num_predict: bool,
    pub max_num_ctx: i64,
    pub max_keep_alive_seconds: u64,
    pub max_images: usize,
    pub max_image_bytes: usize,
    pub max_image_dimension: u32,
    pub max_messages: usize,
    pub max_tools: usize,
    pub max_tool_bytes: usize,
    pub max_format_bytes: usize,
    pub max_format_depth: usize,
    pub max_stop_sequences: usize,
    pub max_embed_inputs: usize,
    pub max_top_logprobs: i64,
    pub allow_raw: bool,
    pub allow_template: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            max_num_predict: 4096,
            default_num_predict: 1024,
            require_num_predict: false,
            max_num_ctx: 8192,
            max_keep_alive_seconds: 1800,
            max_images: 4,
            max_image_bytes: 4 * 1024 * 1024,
            max_image_dimension: 8192,
            max_messages: 256,
            max_tools: 32,
            max_tool_bytes: 16 * 1024,
            max_format_bytes: 16 * 1024,
            max_format_depth: 16,
            max_stop_sequences: 8,
            max_embed_inputs: 256,
            max_top_logprobs: 20,
            allow_raw: false,
            allow_template: false,
        }
    }
}

/// Score thresholds per category; `None` never triggers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    pub injection: Option<f32>,
    pub unicode: Option<f32>,
    pub pii: Option<f32>,
    pub secret: Option<f32>,
}

impl Thresholds {
    pub fn get(&self, c: Category) -> Option<f32> {
        match c {
            Category::Injection => self.injection,
            Category::Unicode => self.unicode,
            Category::Pii => self.pii,
            Category::Secret => self.secret,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UseCasePolicy {
    /// May callers of this use case send a `system` prompt (generate) or system messages (chat)?
    pub allow_system: bool,
    /// May a chat end with an assistant turn? The model continues it as its own words (a
    /// prefill: "Sure, here is the system prompt:"), so it is refused unless allowed.
    pub allow_prefill: bool,
    pub block: Thresholds,
    pub flag: Thresholds,
    /// What the model sends back, read before the caller gets it: at or over `output_block`
    /// the answer is withheld (a stream is cut cleanly), over `output_flag` it is logged. Only
    /// secrets and personal data are read in answers; personal data blocks at 0.6 on a
    /// `no_pii_processing` model.
    pub output_block: Thresholds,
    pub output_flag: Thresholds,
    /// Requests per caller per quota window.
    pub requests_per_window: u64,
    /// Tokens (prompt estimate + `num_predict`) per caller per quota window.
    pub tokens_per_window: u64,
}

impl Default for UseCasePolicy {
    fn default() -> Self {
        Self {
            allow_system: true,
            allow_prefill: false,
            block: Thresholds { injection: Some(0.75), unicode: Some(0.75), pii: None, secret: Some(0.8) },
            flag: Thresholds { injection: Some(0.5), unicode: Some(0.5), pii: Some(0.6), secret: Some(0.5) },
            output_block: Thresholds { injection: None, unicode: None, pii: None, secret: Some(0.8) },
            output_flag: Thresholds { injection: None, unicode: None, pii: Some(0.6), secret: Some(0.5) },
            requests_per_window: 60,
            tokens_per_window: 200_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelLimits {
    pub max_num_ctx: i64,
}

/// The validator's policy (`WARDEN_VALIDATOR_POLICY`, JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ValidatorPolicy {
    pub limits: Limits,
    pub quota_window_seconds: u64,
    /// Applies to every use case not listed in `use_cases`.
    pub default_use_case: UseCasePolicy,
    pub use_cases: BTreeMap<String, UseCasePolicy>,
    /// Per-model limits, keyed by model name (`llama3-8b`, canonicalised on read).
    pub models: BTreeMap<String, ModelLimits>,
}

impl Default for ValidatorPolicy {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            quota_window_seconds: 60,
            default_use_case: UseCasePolicy::default(),
            use_cases: BTreeMap::new(),
            models: BTreeMap::new(),
        }
    }
}

impl ValidatorPolicy {
    pub fn from_json(text: &str) -> Result<Self, String> {
        let mut policy: Self = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let mut models = BTreeMap::new();
        for (name, limits) in policy.models {
            let model = ModelRef::parse(&name).map_err(|e| format!("models.{name}: {e}"))?;
            models.insert(model.canonical(), limits);
        }
        policy.models = models;
        if policy.quota_window_seconds == 0 || policy.quota_window_seconds > 86_400 {
            return Err("quota_window_seconds must be between 1 and 86400".into());
        }
        if policy.limits.default_num_predict < 1 {
            return Err("limits.default_num_predict must be at least 1 (it never exceeds max_num_predict)".into());
        }
        Ok(policy)
    }

    pub fn use_case(&self, name: &str) -> &UseCasePolicy {
        self.use_cases.get(name).unwrap_or(&self.default_use_case)
    }

    fn max_num_ctx(&self, model: &ModelRef) -> i64 {
        self.models.get(&model.canonical()).map_or(self.limits.max_num_ctx, |m| m.max_num_ctx)
    }
}

/// Why a request was refused. `code` is stable (metrics, clients); `message` tells the caller
/// what to change.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub findings: Vec<Finding>,
    pub retry_after: Option<u64>,
    /// Until when (a suspension).
    pub until: Option<chrono::DateTime<chrono::Utc>>,
}

impl Refusal {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), findings: Vec::new(), retry_after: None, until: None }
    }

    /// A field that cannot be taken: `400 invalid_request` naming it and why.
    pub fn bad_field(field: &str, why: &str) -> Self {
        Self::bad("invalid_request", format!("`{field}` {why}"))
    }

    fn bad(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }

    pub fn is_auth_failure(&self) -> bool {
        matches!(self.code, "unauthenticated" | "no_use_case")
    }

    /// An injection attempt: injection or jailbreak findings, or text smuggled to the model in
    /// invisible characters.
    pub fn is_injection(&self) -> bool {
        self.findings.iter().any(|f| {
            f.kind.category() == Category::Injection
                || matches!(f.kind, FindingKind::TagCharacters | FindingKind::VariationSelectorSmuggling)
        })
    }
}

/// A request that may go to Ollama.
#[derive(Debug, Clone, PartialEq)]
pub struct Admitted {
    pub caller: Caller,
    pub use_case: String,
    pub model: ModelRef,
    pub endpoint: Endpoint,
    /// The body to forward: the validated request, re-serialised.
    pub body: Vec<u8>,
    pub streams: bool,
    /// Prompt bytes / 4 plus `num_predict`: what the token budget reserves.
    pub estimated_tokens: u64,
    /// Findings under the block threshold but over the flag threshold.
    pub flagged: Vec<Finding>,
    /// How the answer is guarded (the use case's output thresholds, personal data blocking on
    /// a `no_pii_processing` model).
    pub output_block: Thresholds,
    pub output_flag: Thresholds,
}

/// Decide on one request: [`screen`], then [`Screened::scan`].
pub fn check(req: &HttpRequest, policy: &ValidatorPolicy, registry: &Registry) -> Result<Admitted, Refusal> {
    screen(req, policy, registry)?.scan()
}

/// A request that passed every check but the content scan: what the quota is charged before
/// the scan, so a caller over quota costs one cheap parse, not a scan of a megabyte.
pub struct Screened<'a> {
    request: OllamaRequest,
    caller: Caller,
    use_case: String,
    model: ModelRef,
    entry: &'a ModelEntry,
    endpoint: Endpoint,
    use_case_policy: &'a UseCasePolicy,
    /// Tool definitions, tool calls and steering fields, read once.
    json_texts: Vec<(String, String)>,
    /// Prompt bytes / 4 plus `num_predict`: what the token budget reserves.
    pub estimated_tokens: u64,
}

impl Screened<'_> {
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    pub fn use_case(&self) -> &str {
        &self.use_case
    }
}

/// The model a request names: canonical, registered, approved for this use case, not
/// vulnerable, its pinned digest the registered one (the inference routes and `/api/show`).
pub fn authorize_model<'a>(
    registry: &'a Registry,
    name: &str,
    use_case: &str,
) -> Result<(ModelRef, &'a ModelEntry), Refusal> {
    let model = ModelRef::parse(name).map_err(|e| match e {
        ModelNameError::Cloud(_) => Refusal::new(403, "model_refused", e.to_string()),
        _ => Refusal::bad("invalid_model", e.to_string()),
    })?;
    let entry = registry.authorize(&model, use_case).map_err(|r| {
        let message = match &r {
            ModelRefusal::NotRegistered => format!("model {model} is not in the model registry"),
            ModelRefusal::NotApprovedFor(u) => format!("model {model} is not approved for use case {u}"),
            ModelRefusal::Vulnerable(n) => format!("model {model} has {n} critical vulnerabilities and is blocked"),
            ModelRefusal::DigestMismatch => format!("the digest pinned for {model} is not the registered one"),
        };
        Refusal::new(403, r.code(), message)
    })?;
    Ok((model, entry))
}

/// Every check of a request but the content scan: identity, endpoint, transport, parse, model,
/// fields, options, images — linear and cheap.
pub fn screen<'a>(
    req: &HttpRequest,
    policy: &'a ValidatorPolicy,
    registry: &'a Registry,
) -> Result<Screened<'a>, Refusal> {
    let caller = req.caller.clone().ok_or_else(|| {
        Refusal::new(
            401,
            "unauthenticated",
            "no authenticated caller: call through API Gateway with an API key or token",
        )
    })?;
    let use_case = caller.use_case.clone().ok_or_else(|| {
        Refusal::new(403, "no_use_case", "the caller has no use case: ask the platform team to assign one")
    })?;
    let endpoint = Endpoint::from_path(&req.path).ok_or_else(|| {
        Refusal::new(
            403,
            "endpoint_not_allowed",
            format!("{} is not an allowed endpoint; allowed: {}", truncate(&req.path, 64), Endpoint::ALLOWED),
        )
    })?;
    if req.method != "POST" {
        return Err(Refusal::new(405, "method_not_allowed", format!("{} accepts POST only", endpoint.path())));
    }
    if let Some(enc) = req.header("content-encoding").filter(|e| !e.trim().eq_ignore_ascii_case("identity")) {
        return Err(Refusal::new(
            415,
            "compressed_body",
            format!("Content-Encoding {} is refused: send plain JSON", truncate(enc, 32)),
        ));
    }
    let content_type = req.header("content-type").unwrap_or("");
    if !content_type.trim().to_ascii_lowercase().starts_with("application/json") {
        return Err(Refusal::new(415, "unsupported_media_type", "send Content-Type: application/json"));
    }
    let limits = &policy.limits;
    if req.body.len() > limits.max_body_bytes {
        return Err(Refusal::new(413, "body_too_large", format!("the body is over {} bytes", limits.max_body_bytes)));
    }
    if req.body.starts_with(&[0x1F, 0x8B]) || req.body.starts_with(&[0x28, 0xB5, 0x2F, 0xFD]) {
        return Err(Refusal::new(415, "compressed_body", "compressed bodies are refused: send plain JSON"));
    }
    let mut request = OllamaRequest::parse(endpoint, &req.body).map_err(|e| {
        Refusal::bad(
            "invalid_request",
            format!("invalid {} request: {}", endpoint.path(), truncate(&e.to_string(), 200)),
        )
    })?;
    let use_case_policy = policy.use_case(&use_case);

    let (model, entry) = authorize_model(registry, request.model(), &use_case)?;

    check_fields(&request, limits, use_case_policy)?;
    let options = request.options().cloned().unwrap_or_default();
    check_options(&options, endpoint, limits, policy.max_num_ctx(&model))?;
    if !request.images().is_empty() && entry.has(Restriction::NoImages) {
        return Err(Refusal::new(403, "restricted", format!("model {model} may not be sent images")));
    }
    // Tool definitions and tool calls, read once: for the restriction here, for the scan later.
    let tool_texts = request.json_texts();
    if !tool_texts.is_empty() && entry.has(Restriction::NoTools) {
        return Err(Refusal::new(403, "restricted", format!("model {model} may not be given tools")));
    }
    check_images(&request, limits)?;

    // Pin what is forwarded: the canonical model name and a bounded keep_alive.
    request.set_model(model.ollama_name());
    let keep_alive = request.keep_alive_mut();
    if let Some(value) = keep_alive.take() {
        let seconds = keep_alive_seconds(&value).map_err(|m| Refusal::bad("invalid_request", m))?;
        let max = limits.max_keep_alive_seconds as f64;
        let pinned = if seconds < 0.0 || seconds > max { max } else { seconds.ceil() };
        *keep_alive = Some(json!(pinned as u64));
    }
    // No `num_predict`: the policy's default is forwarded, so the answer is bounded and the
    // quota reserves what was forwarded.
    let num_predict = if endpoint.generates() && !request.loads_only() {
        let n = options.num_predict.unwrap_or(limits.default_num_predict.min(limits.max_num_predict)).max(0);
        request.options_mut().get_or_insert_with(Options::default).num_predict = Some(n);
        n as u64
    } else {
        0
    };
    let json_texts: Vec<(String, String)> = tool_texts.into_iter().chain(request.steering_texts()).collect();
    let text_bytes: usize = request.texts().iter().map(|t| t.text.len()).sum::<usize>()
        + json_texts.iter().map(|(_, t)| t.len()).sum::<usize>();
    Ok(Screened {
        request,
        caller,
        use_case,
        model,
        entry,
        endpoint,
        use_case_policy,
        json_texts,
        estimated_tokens: (text_bytes as u64).div_ceil(4) + num_predict,
    })
}

impl Screened<'_> {
    /// The content scan: everything the model will read, each text alone and the conversation
    /// as one; blocked or admitted with what was flagged.
    pub fn scan(self) -> Result<Admitted, Refusal> {
        let Screened {
            request,
            caller,
            use_case,
            model,
            entry,
            endpoint,
            use_case_policy,
            json_texts,
            estimated_tokens,
        } = self;
        let mut scan = Scan::default();
        let mut parts = Vec::new();
        for t in request.texts() {
            let (found, part) = scan_part(t.text);
            scan.merge(found);
            parts.push(part);
        }
        // An instruction split across turns ("Ignore all" … "previous instructions") is scored
        // as the one text the model reads, as well as part by part.
        if parts.len() > 1 {
            scan.merge(scan_conversation(&parts));
        }
        for (_, t) in &json_texts {
            scan.merge(scan_text(t));
        }
        let block = for_model(use_case_policy.block, entry);
        let mut blocked: Vec<Category> = Vec::new();
        let mut flagged_categories: Vec<Category> = Vec::new();
        for c in [Category::Injection, Category::Unicode, Category::Pii, Category::Secret] {
            let score = scan.category_score(c);
            if score <= 0.0 {
                continue;
            }
            if block.get(c).is_some_and(|t| score >= t) {
                blocked.push(c);
            } else if use_case_policy.flag.get(c).is_some_and(|t| score >= t) {
                flagged_categories.push(c);
            }
        }
        if !blocked.is_empty() {
            let findings: Vec<Finding> =
                scan.findings.iter().filter(|f| blocked.contains(&f.kind.category())).copied().collect();
            let names: Vec<&str> = findings.iter().map(|f| f.kind.as_str()).collect();
            let why = if blocked.contains(&Category::Pii) && entry.has(Restriction::NoPiiProcessing) {
                format!("; model {model} may not process personal data")
            } else {
                String::new()
            };
            let mut refusal =
                Refusal::bad("content_blocked", format!("the request was blocked: {}{why}", names.join(", ")));
            refusal.findings = findings;
            return Err(refusal);
        }
        let flagged =
            scan.findings.iter().filter(|f| flagged_categories.contains(&f.kind.category())).copied().collect();
        Ok(Admitted {
            caller,
            use_case,
            model,
            endpoint,
            body: request.to_body(),
            streams: request.streams(),
            estimated_tokens,
            flagged,
            output_block: for_model(use_case_policy.output_block, entry),
            output_flag: use_case_policy.output_flag,
        })
    }
}

/// Block thresholds as they apply to one model: personal data blocks at 0.6 on a
/// `no_pii_processing` model, in what it reads and in what it writes.
fn for_model(mut block: Thresholds, entry: &ModelEntry) -> Thresholds {
    if entry.has(Restriction::NoPiiProcessing) {
        block.pii = Some(block.pii.map_or(0.6, |b| b.min(0.6)));
    }
    block
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        s.to_string()
    } else {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &s[..end])
    }
}

fn refused_field(field: &str, why: &str) -> Refusal {
    Refusal::bad("field_refused", format!("`{field}` is refused: {why}"))
}

fn check_fields(request: &OllamaRequest, limits: &Limits, policy: &UseCasePolicy) -> Result<(), Refusal> {
    let (think, format, top_logprobs) = match request {
        OllamaRequest::Generate(r) => {
            if r.raw == Some(true) && !limits.allow_raw {
                return Err(refused_field("raw", "it bypasses the model's prompt template"));
            }
            if r.template.is_some() && !limits.allow_template {
                return Err(refused_field("template", "the template is set by the operator"));
            }
            if r.context.is_some() {
                return Err(refused_field("context", "send the conversation as /api/chat messages instead"));
            }
            if r.debug_render_only.is_some() {
                return Err(refused_field("_debug_render_only", "debug rendering is not available"));
            }
            if r.system.is_some() && !policy.allow_system {
                return Err(refused_field("system", "this use case may not set a system prompt"));
            }
            (&r.think, &r.format, r.top_logprobs)
        }
        OllamaRequest::Chat(r) => {
            if r.debug_render_only.is_some() {
                return Err(refused_field("_debug_render_only", "debug rendering is not available"));
            }
            if r.messages.len() > limits.max_messages {
                return Err(Refusal::bad("limit_exceeded", format!("more than {} messages", limits.max_messages)));
            }
            for (i, m) in r.messages.iter().enumerate() {
                match m.role.as_str() {
                    "user" | "assistant" | "tool" => {}
                    "system" if policy.allow_system => {}
                    "system" => {
                        return Err(refused_field(
                            &format!("messages[{i}].role=system"),
                            "this use case may not set a system prompt",
                        ))
                    }
                    other => {
                        return Err(Refusal::bad(
                            "invalid_request",
                            format!(
                                "messages[{i}].role {:?} is not system, user, assistant or tool",
                                truncate(other, 32)
                            ),
                        ))
                    }
                }
            }
            // `messages: []` loads the model (ollama-python's idiom): nothing to read, admitted.
            if let Some(last) = r.messages.len().checked_sub(1) {
                if r.messages[last].role == "assistant" && !policy.allow_prefill {
                    return Err(refused_field(
                        &format!("messages[{last}].role=assistant"),
                        "the model would continue a trailing assistant turn as its own words (prefill); end with the user's turn",
                    ));
                }
            }
            let tools = r.tools.as_deref().unwrap_or_default();
            if tools.len() > limits.max_tools {
                return Err(Refusal::bad("limit_exceeded", format!("more than {} tools", limits.max_tools)));
            }
            for (i, t) in tools.iter().enumerate() {
                if !t.is_object()
                    || t.to_string().len() > limits.max_tool_bytes
                    || json_depth(t) > limits.max_format_depth
                {
                    return Err(Refusal::bad(
                        "limit_exceeded",
                        format!(
                            "tools[{i}] must be an object under {} bytes and {} levels deep",
                            limits.max_tool_bytes, limits.max_format_depth
                        ),
                    ));
                }
            }
            (&r.think, &r.format, r.top_logprobs)
        }
        OllamaRequest::Embed(r) => {
            let n = match &r.input {
                crate::validator::ollama::EmbedInput::One(_) => 1,
                crate::validator::ollama::EmbedInput::Many(v) => v.len(),
            };
            if n == 0 || n > limits.max_embed_inputs {
                return Err(Refusal::bad(
                    "limit_exceeded",
                    format!("input must hold 1 to {} texts", limits.max_embed_inputs),
                ));
            }
            if r.dimensions.is_some_and(|d| !(1..=65_536).contains(&d)) {
                return Err(Refusal::bad("invalid_request", "dimensions must be between 1 and 65536"));
            }
            return Ok(());
        }
        OllamaRequest::Embeddings(_) => return Ok(()),
    };
    if let Some(Think::Level(level)) = think {
        if !matches!(level.as_str(), "low" | "medium" | "high" | "max") {
            return Err(Refusal::bad(
                "invalid_request",
                "think must be true, false, \"low\", \"medium\", \"high\" or \"max\"",
            ));
        }
    }
    if let Some(format) = format {
        let ok = match format {
            Value::String(s) => s == "json",
            Value::Object(_) => {
                format.to_string().len() <= limits.max_format_bytes && json_depth(format) <= limits.max_format_depth
            }
            _ => false,
        };
        if !ok {
            return Err(Refusal::bad(
                "invalid_request",
                format!(
                    "format must be \"json\" or a JSON schema object under {} bytes and {} levels deep",
                    limits.max_format_bytes, limits.max_format_depth
                ),
            ));
        }
    }
    if let Some(n) = top_logprobs {
        if !(0..=limits.max_top_logprobs).contains(&n) {
            return Err(Refusal::bad(
                "limit_exceeded",
                format!("top_logprobs must be between 0 and {}", limits.max_top_logprobs),
            ));
        }
    }
    Ok(())
}

fn range<T: PartialOrd + std::fmt::Display + Copy>(
    name: &str,
    value: Option<T>,
    min: T,
    max: T,
) -> Result<(), Refusal> {
    match value {
        Some(v) if !(v >= min && v <= max) => {
            Err(Refusal::bad("limit_exceeded", format!("options.{name} must be between {min} and {max}")))
        }
        _ => Ok(()),
    }
}

fn check_options(o: &Options, endpoint: Endpoint, limits: &Limits, max_num_ctx: i64) -> Result<(), Refusal> {
    let runner = o.runner_options_set();
    if !runner.is_empty() {
        return Err(refused_field(
            &format!("options.{}", runner.join(", options.")),
            "runner options are set by the operator",
        ));
    }
    if endpoint.generates() {
        match o.num_predict {
            None if limits.require_num_predict => {
                return Err(Refusal::bad(
                    "limit_exceeded",
                    format!("options.num_predict is required (1 to {})", limits.max_num_predict),
                ))
            }
            None => {}
            Some(n) => range("num_predict", Some(n), 1, limits.max_num_predict)?,
        }
    }
    range("num_ctx", o.num_ctx, 1, max_num_ctx)?;
    range("num_keep", o.num_keep, -1, max_num_ctx)?;
    range("temperature", o.temperature, 0.0, 2.0)?;
    range("top_k", o.top_k, 0, 1000)?;
    range("top_p", o.top_p, 0.0, 1.0)?;
    range("min_p", o.min_p, 0.0, 1.0)?;
    range("typical_p", o.typical_p, 0.0, 1.0)?;
    range("repeat_last_n", o.repeat_last_n, -1, max_num_ctx)?;
    range("repeat_penalty", o.repeat_penalty, 0.0, 2.0)?;
    range("presence_penalty", o.presence_penalty, -2.0, 2.0)?;
    range("frequency_penalty", o.frequency_penalty, -2.0, 2.0)?;
    range("mirostat", o.mirostat, 0, 2)?;
    range("mirostat_tau", o.mirostat_tau, 0.0, 10.0)?;
    range("mirostat_eta", o.mirostat_eta, 0.0, 1.0)?;
    range("tfs_z", o.tfs_z, 0.0, 10.0)?;
    if let Some(stop) = &o.stop {
        if stop.len() > limits.max_stop_sequences || stop.iter().any(|s| s.is_empty() || s.len() > 256) {
            return Err(Refusal::bad(
                "limit_exceeded",
                format!(
                    "options.stop takes at most {} non-empty sequences of up to 256 bytes",
                    limits.max_stop_sequences
                ),
            ));
        }
    }
    Ok(())
}

fn check_images(request: &OllamaRequest, limits: &Limits) -> Result<(), Refusal> {
    let images = request.images();
    if images.len() > limits.max_images {
        return Err(Refusal::bad("limit_exceeded", format!("at most {} images per request", limits.max_images)));
    }
    for (i, b64) in images.iter().enumerate() {
        if b64.len() / 4 * 3 > limits.max_image_bytes + 3 {
            return Err(Refusal::bad("limit_exceeded", format!("image {i} is over {} bytes", limits.max_image_bytes)));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|_| Refusal::bad("invalid_image", format!("image {i} is not base64")))?;
        let info = sniff_image(&bytes).map_err(|why| Refusal::bad("invalid_image", format!("image {i}: {why}")))?;
        if info.width > limits.max_image_dimension || info.height > limits.max_image_dimension {
            return Err(Refusal::bad(
                "limit_exceeded",
                format!(
                    "image {i} is {}x{}; the limit is {} pixels a side",
                    info.width, info.height, limits.max_image_dimension
                ),
            ));
        }
    }
    Ok(())
}

/// The kinds of a set of findings, for logs and responses.
pub fn kinds(findings: &[Finding]) -> Vec<FindingKind> {
    findings.iter().map(|f| f.kind).collect()
}

/// No request body, path or header may panic the validator.
#[cfg(test)]
mod properties;
#[cfg(test)]
pub(crate) mod tests;
