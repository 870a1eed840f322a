//! The OpenAI-compatible surface, under the same rules: `POST /v1/chat/completions`,
//! `/v1/completions`, `/v1/embeddings` and `GET /v1/models` are parsed strictly (an unknown field
//! is an error), translated into the native request (`/api/chat`, `/api/generate`, `/api/embed`,
//! `/api/tags`) and decided by the very same decision as the native routes — identity, registry,
//! limits, content, quotas, the output guard — then the answer is translated back, streams into
//! server-sent events. Errors on these routes are in OpenAI's error shape. Other `/v1/*` routes
//! (`/v1/responses`, `/v1/messages`, …) are refused with a message naming what is served.

use base64::Engine;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::http::HttpResponse;
use crate::validator::decision::Refusal;

/// Which OpenAI route a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    ChatCompletions,
    Completions,
    Embeddings,
    Models,
    /// Any other `/v1/*` path: refused, in OpenAI's shape.
    Other,
}

pub fn route(path: &str) -> Option<Route> {
    Some(match path {
        "/v1/chat/completions" => Route::ChatCompletions,
        "/v1/completions" => Route::Completions,
        "/v1/embeddings" => Route::Embeddings,
        "/v1/models" => Route::Models,
        p if p == "/v1" || p.starts_with("/v1/") => Route::Other,
        _ => return None,
    })
}

/// The native request an OpenAI request becomes, and what translating the answer back needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Translated {
    pub route: Route,
    pub method: &'static str,
    pub path: &'static str,
    pub body: Vec<u8>,
    /// The model as the client named it (answers carry it back).
    pub model: String,
    pub streams: bool,
    pub include_usage: bool,
    /// `/v1/embeddings` with `encoding_format: "base64"` (the OpenAI SDK's default).
    pub base64: bool,
}

impl Translated {
    /// Only the route (what answering a request refused before translation needs), a POST
    /// with no body: the base the translations fill in.
    pub fn refused(route: Route) -> Self {
        Self {
            route,
            method: "POST",
            path: "",
            body: Vec::new(),
            model: String::new(),
            streams: false,
            include_usage: false,
            base64: false,
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Stop {
    One(String),
    Many(Vec<String>),
}

impl Stop {
    fn list(self) -> Vec<String> {
        match self {
            Self::One(s) => vec![s],
            Self::Many(v) => v,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StreamOptions {
    #[serde(default)]
    include_usage: Option<bool>,
    #[serde(default)]
    #[allow(dead_code)]
    include_obfuscation: Option<bool>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Content {
    Text(String),
    Parts(Vec<Part>),
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum Part {
    Text { text: String },
    ImageUrl { image_url: ImageUrl },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImageUrl {
    url: String,
    #[serde(default)]
    #[allow(dead_code)]
    detail: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ToolCall {
    #[serde(default)]
    id: Option<String>,
    #[serde(rename = "type", default)]
    #[allow(dead_code)]
    kind: Option<String>,
    function: FunctionCall,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FunctionCall {
    name: String,
    arguments: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Message {
    role: String,
    #[serde(default)]
    content: Option<Content>,
    #[serde(default)]
    #[allow(dead_code)]
    name: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<ToolCall>>,
    #[serde(default)]
    tool_call_id: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    refusal: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResponseFormat {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    json_schema: Option<JsonSchema>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonSchema {
    #[serde(default)]
    #[allow(dead_code)]
    name: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    #[serde(default)]
    schema: Option<Value>,
    #[serde(default)]
    #[allow(dead_code)]
    strict: Option<bool>,
}

/// Sampling fields chat and completions share (flattened into both; their keys are checked
/// against `SAMPLING_KEYS` instead, since serde cannot deny unknown fields through a flatten).
#[derive(Deserialize, Default)]
struct Sampling {
    #[serde(default)]
    max_tokens: Option<i64>,
    #[serde(default)]
    max_completion_tokens: Option<i64>,
    #[serde(default)]
    temperature: Option<f64>,
    #[serde(default)]
    top_p: Option<f64>,
    #[serde(default)]
    seed: Option<i64>,
    #[serde(default)]
    stop: Option<Stop>,
    #[serde(default)]
    presence_penalty: Option<f64>,
    #[serde(default)]
    frequency_penalty: Option<f64>,
    #[serde(default)]
    n: Option<i64>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    stream_options: Option<StreamOptions>,
}

const SAMPLING_KEYS: &[&str] = &[
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "seed",
    "stop",
    "presence_penalty",
    "frequency_penalty",
    "n",
    "user",
    "stream",
    "stream_options",
];
const CHAT_KEYS: &[&str] = &[
    "model",
    "messages",
    "response_format",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "logprobs",
    "top_logprobs",
    "reasoning_effort",
];
const COMPLETION_KEYS: &[&str] = &["model", "prompt", "suffix", "echo"];

#[derive(Deserialize)]
struct ChatCompletionRequest {
    model: String,
    messages: Vec<Message>,
    #[serde(default)]
    response_format: Option<ResponseFormat>,
    #[serde(default)]
    tools: Option<Vec<Value>>,
    #[serde(default)]
    tool_choice: Option<Value>,
    #[serde(default)]
    parallel_tool_calls: Option<bool>,
    #[serde(default)]
    logprobs: Option<bool>,
    #[serde(default)]
    top_logprobs: Option<i64>,
    #[serde(default)]
    reasoning_effort: Option<String>,
    #[serde(flatten)]
    sampling: Sampling,
}

#[derive(Deserialize)]
struct CompletionRequest {
    model: String,
    prompt: Stop,
    #[serde(default)]
    suffix: Option<String>,
    #[serde(default)]
    echo: Option<bool>,
    #[serde(flatten)]
    sampling: Sampling,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum EmbeddingInput {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmbeddingRequest {
    model: String,
    input: EmbeddingInput,
    #[serde(default)]
    encoding_format: Option<String>,
    #[serde(default)]
    dimensions: Option<i64>,
    #[serde(default)]
    #[allow(dead_code)]
    user: Option<String>,
}

fn invalid(message: impl Into<String>) -> Refusal {
    Refusal::new(400, "invalid_request", message)
}

fn parse<T: for<'de> Deserialize<'de>>(route: &str, body: &[u8]) -> Result<T, Refusal> {
    serde_json::from_slice(body).map_err(|e| {
        invalid(format!("invalid {route} request: {}", e.to_string().chars().take(200).collect::<String>()))
    })
}

/// A request whose top-level keys are all known (the flattened structs cannot check it).
fn parse_strict<T: for<'de> Deserialize<'de>>(route: &str, body: &[u8], keys: &[&[&str]]) -> Result<T, Refusal> {
    let value: Value = parse(route, body)?;
    let object = value.as_object().ok_or_else(|| invalid(format!("invalid {route} request: not a JSON object")))?;
    if let Some(unknown) = object.keys().find(|k| !keys.iter().any(|list| list.contains(&k.as_str()))) {
        return Err(invalid(format!(
            "invalid {route} request: unknown field `{}`",
            unknown.chars().take(64).collect::<String>()
        )));
    }
    serde_json::from_value(value).map_err(|e| {
        invalid(format!("invalid {route} request: {}", e.to_string().chars().take(200).collect::<String>()))
    })
}

/// Sampling fields into Ollama's options; `n` must be 1 (one answer per request).
fn options_of(s: &Sampling) -> Result<Map<String, Value>, Refusal> {
    if s.n.is_some_and(|n| n != 1) {
        return Err(Refusal::bad_field("n", "one choice per request (n = 1)"));
    }
    let mut o = Map::new();
    if let Some(n) = s.max_completion_tokens.or(s.max_tokens) {
        o.insert("num_predict".into(), json!(n));
    }
    for (key, value) in [
        ("temperature", s.temperature),
        ("top_p", s.top_p),
        ("presence_penalty", s.presence_penalty),
        ("frequency_penalty", s.frequency_penalty),
    ] {
        if let Some(v) = value {
            o.insert(key.into(), json!(v));
        }
    }
    if let Some(seed) = s.seed {
        o.insert("seed".into(), json!(seed));
    }
    Ok(o)
}

/// The native request for an OpenAI request (or why it is refused).
pub fn to_native(route: Route, method: &str, body: &[u8]) -> Result<Translated, Refusal> {
    let want = |m: &str| {
        if method == m {
            Ok(())
        } else {
            Err(Refusal::new(405, "method_not_allowed", format!("this route accepts {m} only")))
        }
    };
    match route {
        Route::Other => Err(Refusal::new(
            404,
            "endpoint_not_allowed",
            "served OpenAI routes: POST /v1/chat/completions, /v1/completions, /v1/embeddings and GET /v1/models",
        )),
        Route::Models => {
            want("GET")?;
            Ok(Translated { method: "GET", path: "/api/tags", ..Translated::refused(route) })
        }
        Route::Embeddings => {
            want("POST")?;
            let r: EmbeddingRequest = parse("/v1/embeddings", body)?;
            let base64 = match r.encoding_format.as_deref() {
                None | Some("float") => false,
                Some("base64") => true,
                Some(_) => return Err(Refusal::bad_field("encoding_format", "must be \"float\" or \"base64\"")),
            };
            let input = match r.input {
                EmbeddingInput::One(s) => json!(s),
                EmbeddingInput::Many(v) => json!(v),
            };
            let mut native = json!({"model": r.model, "input": input});
            if let Some(d) = r.dimensions {
                native["dimensions"] = json!(d);
            }
            Ok(Translated {
                path: "/api/embed",
                body: native.to_string().into_bytes(),
                model: r.model,
                base64,
                ..Translated::refused(route)
            })
        }
        Route::Completions => {
            want("POST")?;
            let r: CompletionRequest = parse_strict("/v1/completions", body, &[COMPLETION_KEYS, SAMPLING_KEYS])?;
            if r.echo == Some(true) {
                return Err(Refusal::bad_field("echo", "echoing the prompt is not supported"));
            }
            let prompt = match r.prompt {
                Stop::One(p) => p,
                Stop::Many(mut v) if v.len() == 1 => v.remove(0),
                Stop::Many(_) => return Err(Refusal::bad_field("prompt", "one prompt per request")),
            };
            let streams = r.sampling.stream.unwrap_or(false);
            let mut options = options_of(&r.sampling)?;
            if let Some(stop) = r.sampling.stop {
                options.insert("stop".into(), json!(stop.list()));
            }
            let mut native = json!({"model": r.model, "prompt": prompt, "stream": streams, "options": options});
            if let Some(s) = r.suffix {
                native["suffix"] = json!(s);
            }
            let _ = r.sampling.user;
            Ok(Translated {
                route,
                method: "POST",
                path: "/api/generate",
                body: native.to_string().into_bytes(),
                model: r.model,
                streams,
                include_usage: r.sampling.stream_options.and_then(|o| o.include_usage).unwrap_or(false),
                base64: false,
            })
        }
        Route::ChatCompletions => {
            want("POST")?;
            chat_to_native(parse_strict("/v1/chat/completions", body, &[CHAT_KEYS, SAMPLING_KEYS])?)
        }
    }
}

fn chat_to_native(r: ChatCompletionRequest) -> Result<Translated, Refusal> {
    let mut names_by_call: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let mut messages = Vec::with_capacity(r.messages.len());
    for (i, m) in r.messages.into_iter().enumerate() {
        let role = match m.role.as_str() {
            "developer" => "system".to_string(),
            "system" | "user" | "assistant" | "tool" => m.role.clone(),
            other => {
                return Err(Refusal::bad_field(
                    &format!("messages[{i}].role"),
                    &format!(
                        "{:?} is not system, developer, user, assistant or tool",
                        other.chars().take(32).collect::<String>()
                    ),
                ))
            }
        };
        let mut text = String::new();
        let mut images = Vec::new();
        match m.content {
            None => {}
            Some(Content::Text(t)) => text = t,
            Some(Content::Parts(parts)) => {
                for (j, part) in parts.into_iter().enumerate() {
                    match part {
                        Part::Text { text: t } => {
                            if !text.is_empty() {
                                text.push('\n');
                            }
                            text.push_str(&t);
                        }
                        Part::ImageUrl { image_url } => {
                            let data = image_url
                                .url
                                .strip_prefix("data:")
                                .and_then(|rest| rest.split_once(";base64,"))
                                .map(|(_, data)| data.to_string())
                                .ok_or_else(|| {
                                    Refusal::bad_field(
                                        &format!("messages[{i}].content[{j}].image_url"),
                                        "must be a data: URL (base64); the validator does not fetch images",
                                    )
                                })?;
                            images.push(data);
                        }
                    }
                }
            }
        }
        let mut native = json!({"role": role, "content": text});
        if !images.is_empty() {
            native["images"] = json!(images);
        }
        if let Some(calls) = m.tool_calls {
            let mut out = Vec::with_capacity(calls.len());
            for (j, call) in calls.into_iter().enumerate() {
                let arguments: Value =
                    serde_json::from_str(&call.function.arguments).ok().filter(Value::is_object).ok_or_else(|| {
                        Refusal::bad_field(
                            &format!("messages[{i}].tool_calls[{j}].function.arguments"),
                            "must be a JSON object",
                        )
                    })?;
                if let Some(id) = call.id {
                    names_by_call.insert(id, call.function.name.clone());
                }
                out.push(json!({"function": {"name": call.function.name, "arguments": arguments}}));
            }
            native["tool_calls"] = json!(out);
        }
        if let Some(id) = m.tool_call_id {
            if let Some(name) = names_by_call.get(&id) {
                native["tool_name"] = json!(name);
            }
            native["tool_call_id"] = json!(id);
        }
        messages.push(native);
    }
    let streams = r.sampling.stream.unwrap_or(false);
    let mut options = options_of(&r.sampling)?;
    if let Some(stop) = r.sampling.stop {
        options.insert("stop".into(), json!(stop.list()));
    }
    let mut native = json!({"model": r.model, "messages": messages, "stream": streams, "options": options});
    let mut tools = r.tools;
    match r.tool_choice.as_ref().map(|c| c.as_str()) {
        None | Some(Some("auto")) => {}
        Some(Some("none")) => tools = None,
        _ => return Err(Refusal::bad_field("tool_choice", "only \"auto\" and \"none\" are supported by Ollama")),
    }
    let _ = r.parallel_tool_calls;
    if let Some(t) = tools.filter(|t| !t.is_empty()) {
        native["tools"] = json!(t);
    }
    match r.response_format {
        None => {}
        Some(f) if f.kind == "text" => {}
        Some(f) if f.kind == "json_object" => native["format"] = json!("json"),
        Some(f) if f.kind == "json_schema" => {
            let schema = f.json_schema.and_then(|s| s.schema).ok_or_else(|| {
                Refusal::bad_field("response_format.json_schema.schema", "a json_schema format needs its schema")
            })?;
            native["format"] = schema;
        }
        Some(_) => return Err(Refusal::bad_field("response_format.type", "must be text, json_object or json_schema")),
    }
    if let Some(effort) = r.reasoning_effort {
        native["think"] = json!(effort);
    }
    if r.logprobs == Some(true) {
        native["logprobs"] = json!(true);
        if let Some(n) = r.top_logprobs {
            native["top_logprobs"] = json!(n);
        }
    }
    Ok(Translated {
        route: Route::ChatCompletions,
        method: "POST",
        path: "/api/chat",
        body: native.to_string().into_bytes(),
        model: r.model,
        streams,
        include_usage: r.sampling.stream_options.and_then(|o| o.include_usage).unwrap_or(false),
        base64: false,
    })
}

/// OpenAI's error type for a status.
fn error_type(status: u16) -> &'static str {
    match status {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        429 => "rate_limit_error",
        s if s >= 500 => "api_error",
        _ => "invalid_request_error",
    }
}

/// A refusal or error as OpenAI clients expect it: `{"error": {"message", "type", "code"}}`.
fn openai_error(native: &HttpResponse) -> HttpResponse {
    let body: Value = serde_json::from_str(&native.body).unwrap_or_default();
    let message = body["error"].as_str().unwrap_or("the request failed").to_string();
    let mut error = json!({"message": message, "type": error_type(native.status), "param": null, "code": body["code"]});
    if let Some(findings) = body.get("findings") {
        error["findings"] = findings.clone();
    }
    HttpResponse {
        status: native.status,
        content_type: "application/json",
        headers: native.headers.clone(),
        body: json!({ "error": error }).to_string(),
    }
}

/// The answer to an OpenAI request, from the native answer.
pub fn from_native(t: &Translated, native: &HttpResponse, request_id: &str, now: DateTime<Utc>) -> HttpResponse {
    if native.status >= 400 {
        return openai_error(native);
    }
    let created = now.timestamp();
    let answer = |body: String, content_type: &'static str| HttpResponse {
        status: 200,
        content_type,
        headers: native.headers.clone(),
        body,
    };
    let parse = |line: &str| serde_json::from_str::<Value>(line).unwrap_or_default();
    match t.route {
        Route::Models => {
            let tags = parse(&native.body);
            let data: Vec<Value> = tags["models"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|m| {
                    let created = m["modified_at"]
                        .as_str()
                        .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
                        .map_or(0, |d| d.timestamp());
                    json!({"id": m["model"], "object": "model", "created": created, "owned_by": "library"})
                })
                .collect();
            answer(json!({"object": "list", "data": data}).to_string(), "application/json")
        }
        Route::Embeddings => {
            let r = parse(&native.body);
            let data: Vec<Value> = r["embeddings"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
                .map(|(i, e)| {
                    let vector: Vec<f32> =
                        e.as_array().into_iter().flatten().filter_map(Value::as_f64).map(|f| f as f32).collect();
                    let embedding = if t.base64 {
                        let bytes: Vec<u8> = vector.iter().flat_map(|f| f.to_le_bytes()).collect();
                        json!(base64::engine::general_purpose::STANDARD.encode(bytes))
                    } else {
                        json!(vector)
                    };
                    json!({"object": "embedding", "index": i, "embedding": embedding})
                })
                .collect();
            let tokens = r["prompt_eval_count"].as_u64().unwrap_or(0);
            answer(
                json!({"object": "list", "data": data, "model": t.model,
                    "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})
                .to_string(),
                "application/json",
            )
        }
        Route::ChatCompletions | Route::Completions => {
            let chat = t.route == Route::ChatCompletions;
            let id = format!("{}-{request_id}", if chat { "chatcmpl" } else { "cmpl" });
            if !t.streams {
                let r = parse(&native.body);
                let choice = if chat {
                    json!({"index": 0, "message": message_of(&r["message"]), "finish_reason": finish_reason(&r), "logprobs": null})
                } else {
                    json!({"index": 0, "text": r["response"], "finish_reason": finish_reason(&r), "logprobs": null})
                };
                let object = if chat { "chat.completion" } else { "text_completion" };
                return answer(
                    json!({"id": id, "object": object, "created": created, "model": t.model,
                        "system_fingerprint": "fp_ollama", "choices": [choice], "usage": usage(&r)})
                    .to_string(),
                    "application/json",
                );
            }
            let mut events = SseEvents::new(t, request_id, now);
            let mut sse: String = native.body.lines().map(|line| events.event(line)).collect();
            sse.push_str(SseEvents::END);
            answer(sse, "text/event-stream")
        }
        Route::Other => openai_error(native),
    }
}

/// A streamed answer as server-sent events, one Ollama chunk at a time: the role in the first
/// delta only, the finish reason on the last, usage after it when asked for, and a cut stream's
/// error line as an error event.
pub struct SseEvents {
    id: String,
    object: &'static str,
    created: i64,
    model: String,
    chat: bool,
    include_usage: bool,
    first: bool,
}

impl SseEvents {
    /// What ends every stream.
    pub const END: &'static str = "data: [DONE]\n\n";

    pub fn new(t: &Translated, request_id: &str, now: DateTime<Utc>) -> Self {
        let chat = t.route == Route::ChatCompletions;
        Self {
            id: format!("{}-{request_id}", if chat { "chatcmpl" } else { "cmpl" }),
            object: if chat { "chat.completion.chunk" } else { "text_completion" },
            created: now.timestamp(),
            model: t.model.clone(),
            chat,
            include_usage: t.include_usage,
            first: true,
        }
    }

    /// The events for one NDJSON line (none for a blank one).
    pub fn event(&mut self, line: &str) -> String {
        if line.trim().is_empty() {
            return String::new();
        }
        let c = serde_json::from_str::<Value>(line).unwrap_or_default();
        let mut sse = String::new();
        let mut event = |value: Value| {
            sse.push_str("data: ");
            sse.push_str(&value.to_string());
            sse.push_str("\n\n");
        };
        if let Some(message) = c["error"].as_str() {
            event(json!({"error": {"message": message, "type": "api_error", "param": null, "code": c["code"]}}));
            return sse;
        }
        let done = c["done"].as_bool().unwrap_or(false);
        let finish = if done { finish_reason(&c) } else { Value::Null };
        let choice = if self.chat {
            let mut delta = message_of(&c["message"]);
            if !self.first {
                delta.as_object_mut().map(|d| d.remove("role"));
            }
            json!({"index": 0, "delta": delta, "finish_reason": finish, "logprobs": null})
        } else {
            json!({"index": 0, "text": c["response"], "finish_reason": finish, "logprobs": null})
        };
        self.first = false;
        let (id, object, created, model) = (&self.id, self.object, self.created, &self.model);
        event(json!({"id": id, "object": object, "created": created, "model": model,
            "system_fingerprint": "fp_ollama", "choices": [choice]}));
        if done && self.include_usage {
            event(
                json!({"id": id, "object": object, "created": created, "model": model, "choices": [], "usage": usage(&c)}),
            );
        }
        sse
    }
}

/// An Ollama message as OpenAI's: tool calls with ids and arguments as a JSON string.
fn message_of(m: &Value) -> Value {
    let mut out = json!({"role": "assistant", "content": m["content"].as_str().unwrap_or_default()});
    if let Some(thinking) = m["thinking"].as_str().filter(|t| !t.is_empty()) {
        out["reasoning"] = json!(thinking);
    }
    if let Some(calls) = m["tool_calls"].as_array().filter(|c| !c.is_empty()) {
        let calls: Vec<Value> = calls
            .iter()
            .enumerate()
            .map(|(i, c)| {
                json!({"id": format!("call_{i}"), "type": "function", "index": i, "function": {
                    "name": c["function"]["name"], "arguments": c["function"]["arguments"].to_string()}})
            })
            .collect();
        out["tool_calls"] = json!(calls);
    }
    out
}

fn finish_reason(r: &Value) -> Value {
    if r["message"]["tool_calls"].as_array().is_some_and(|c| !c.is_empty()) {
        return json!("tool_calls");
    }
    json!(if r["done_reason"].as_str() == Some("length") { "length" } else { "stop" })
}

fn usage(r: &Value) -> Value {
    let (prompt, completion) = (r["prompt_eval_count"].as_u64().unwrap_or(0), r["eval_count"].as_u64().unwrap_or(0));
    json!({"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion})
}

#[cfg(test)]
mod tests;
