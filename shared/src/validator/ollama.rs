//! The Ollama API, exactly: the four inference endpoints that may pass, their request bodies as
//! strict types (an unknown field is an error, not something Ollama might act on), and the
//! checks on every field. What is forwarded is the re-serialised typed request — never the
//! caller's bytes — so Ollama cannot read anything the validator did not.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The inference endpoints that may reach Ollama. The read-only listing calls (`/api/tags`,
/// `/api/show`, `/api/version`) are served by `catalog`; everything else (`/api/pull`,
/// `/api/push`, `/api/create`, `/api/blobs/*`, `/api/delete`, `/api/copy`, `/api/ps`, `/v1/*` …)
/// is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    Generate,
    Chat,
    Embed,
    Embeddings,
}

impl Endpoint {
    pub const ALLOWED: &'static str = "POST /api/generate, /api/chat, /api/embed, /api/embeddings";

    pub fn from_path(path: &str) -> Option<Self> {
        match path {
            "/api/generate" => Some(Self::Generate),
            "/api/chat" => Some(Self::Chat),
            "/api/embed" => Some(Self::Embed),
            "/api/embeddings" => Some(Self::Embeddings),
            _ => None,
        }
    }

    pub fn path(self) -> &'static str {
        match self {
            Self::Generate => "/api/generate",
            Self::Chat => "/api/chat",
            Self::Embed => "/api/embed",
            Self::Embeddings => "/api/embeddings",
        }
    }

    /// Does this endpoint generate text (and so need a `num_predict` cap)?
    pub fn generates(self) -> bool {
        matches!(self, Self::Generate | Self::Chat)
    }
}

/// `think`: a switch, or a level for the models that take one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Think {
    Switch(bool),
    Level(String),
}

/// Model options. Every option Ollama documents is listed; anything else is refused.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_predict: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_ctx: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_keep: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_k: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub typical_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeat_last_n: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeat_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub penalize_newline: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mirostat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mirostat_tau: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mirostat_eta: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tfs_z: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<Vec<String>>,
    // Runner options: the operator sets these on the server; a caller setting them can exhaust
    // or crash the GPU node. Parsed so the refusal can name them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_gpu: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub main_gpu: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_mmap: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_mlock: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_thread: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_batch: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub numa: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub low_vram: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub f16_kv: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vocab_only: Option<Value>,
}

impl Options {
    pub fn runner_options_set(&self) -> Vec<&'static str> {
        let fields: [(&'static str, bool); 10] = [
            ("num_gpu", self.num_gpu.is_some()),
            ("main_gpu", self.main_gpu.is_some()),
            ("use_mmap", self.use_mmap.is_some()),
            ("use_mlock", self.use_mlock.is_some()),
            ("num_thread", self.num_thread.is_some()),
            ("num_batch", self.num_batch.is_some()),
            ("numa", self.numa.is_some()),
            ("low_vram", self.low_vram.is_some()),
            ("f16_kv", self.f16_kv.is_some()),
            ("vocab_only", self.vocab_only.is_some()),
        ];
        fields.iter().filter(|(_, set)| *set).map(|(name, _)| *name).collect()
    }
}

/// `POST /api/generate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerateRequest {
    pub model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suffix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub think: Option<Think>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Options>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_alive: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_logprobs: Option<i64>,
    // Refused unless the policy allows them: they bypass the model's template and safety prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Vec<i64>>,
    #[serde(default, rename = "_debug_render_only", skip_serializing_if = "Option::is_none")]
    pub debug_render_only: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Message {
    pub role: String,
    #[serde(default)]
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
    /// The call a tool turn answers (the OpenAI convention; Ollama reads `tool_name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

/// `POST /api/chat`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<Message>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub think: Option<Think>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Options>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_alive: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_logprobs: Option<i64>,
    #[serde(default, rename = "_debug_render_only", skip_serializing_if = "Option::is_none")]
    pub debug_render_only: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EmbedInput {
    One(String),
    Many(Vec<String>),
}

/// `POST /api/embed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbedRequest {
    pub model: String,
    pub input: EmbedInput,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncate: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Options>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_alive: Option<Value>,
}

/// `POST /api/embeddings` (the older single-prompt form).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingsRequest {
    pub model: String,
    pub prompt: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Options>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_alive: Option<Value>,
}

/// A parsed request to one of the allowed endpoints.
#[derive(Debug, Clone, PartialEq)]
pub enum OllamaRequest {
    Generate(GenerateRequest),
    Chat(ChatRequest),
    Embed(EmbedRequest),
    Embeddings(EmbeddingsRequest),
}

/// Every text the model will read, with where it came from (for the log, never the text).
pub struct TextField<'a> {
    pub field: String,
    pub text: &'a str,
}

impl OllamaRequest {
    pub fn parse(endpoint: Endpoint, body: &[u8]) -> Result<Self, serde_json::Error> {
        let mut request = Self::parse_exact(endpoint, body)?;
        // `format: ""` is no format (LangChain's `OllamaLLM` always sends it).
        if let Self::Generate(GenerateRequest { format, .. }) | Self::Chat(ChatRequest { format, .. }) = &mut request {
            if format.as_ref().is_some_and(|f| f.as_str() == Some("")) {
                *format = None;
            }
        }
        Ok(request)
    }

    fn parse_exact(endpoint: Endpoint, body: &[u8]) -> Result<Self, serde_json::Error> {
        Ok(match endpoint {
            Endpoint::Generate => Self::Generate(serde_json::from_slice(body)?),
            Endpoint::Chat => Self::Chat(serde_json::from_slice(body)?),
            Endpoint::Embed => Self::Embed(serde_json::from_slice(body)?),
            Endpoint::Embeddings => Self::Embeddings(serde_json::from_slice(body)?),
        })
    }

    pub fn endpoint(&self) -> Endpoint {
        match self {
            Self::Generate(_) => Endpoint::Generate,
            Self::Chat(_) => Endpoint::Chat,
            Self::Embed(_) => Endpoint::Embed,
            Self::Embeddings(_) => Endpoint::Embeddings,
        }
    }

    pub fn model(&self) -> &str {
        match self {
            Self::Generate(r) => &r.model,
            Self::Chat(r) => &r.model,
            Self::Embed(r) => &r.model,
            Self::Embeddings(r) => &r.model,
        }
    }

    pub fn set_model(&mut self, model: String) {
        match self {
            Self::Generate(r) => r.model = model,
            Self::Chat(r) => r.model = model,
            Self::Embed(r) => r.model = model,
            Self::Embeddings(r) => r.model = model,
        }
    }

    pub fn options(&self) -> Option<&Options> {
        match self {
            Self::Generate(r) => r.options.as_ref(),
            Self::Chat(r) => r.options.as_ref(),
            Self::Embed(r) => r.options.as_ref(),
            Self::Embeddings(r) => r.options.as_ref(),
        }
    }

    /// A call that only loads or unloads the model (`messages: []`, a generate without a
    /// prompt): Ollama generates nothing, so nothing is reserved for an answer.
    pub fn loads_only(&self) -> bool {
        match self {
            Self::Generate(r) => r.prompt.as_deref().unwrap_or_default().is_empty() && r.images.is_none(),
            Self::Chat(r) => r.messages.is_empty(),
            Self::Embed(_) | Self::Embeddings(_) => false,
        }
    }

    pub fn options_mut(&mut self) -> &mut Option<Options> {
        match self {
            Self::Generate(r) => &mut r.options,
            Self::Chat(r) => &mut r.options,
            Self::Embed(r) => &mut r.options,
            Self::Embeddings(r) => &mut r.options,
        }
    }

    pub fn keep_alive_mut(&mut self) -> &mut Option<Value> {
        match self {
            Self::Generate(r) => &mut r.keep_alive,
            Self::Chat(r) => &mut r.keep_alive,
            Self::Embed(r) => &mut r.keep_alive,
            Self::Embeddings(r) => &mut r.keep_alive,
        }
    }

    /// Streaming is Ollama's default for generate and chat.
    pub fn streams(&self) -> bool {
        match self {
            Self::Generate(r) => r.stream.unwrap_or(true),
            Self::Chat(r) => r.stream.unwrap_or(true),
            _ => false,
        }
    }

    pub fn images(&self) -> Vec<&str> {
        match self {
            Self::Generate(r) => r.images.iter().flatten().map(String::as_str).collect(),
            Self::Chat(r) => r.messages.iter().flat_map(|m| m.images.iter().flatten()).map(String::as_str).collect(),
            _ => Vec::new(),
        }
    }

    /// Everything the model reads: prompt, suffix, system, every message (assistant and tool
    /// turns included, since a client can forge them), tool definitions and tool calls, inputs.
    pub fn texts(&self) -> Vec<TextField<'_>> {
        fn push<'a>(out: &mut Vec<TextField<'a>>, field: String, text: &'a str) {
            if !text.is_empty() {
                out.push(TextField { field, text });
            }
        }
        let mut out = Vec::new();
        match self {
            Self::Generate(r) => {
                for (name, text) in [("prompt", &r.prompt), ("suffix", &r.suffix), ("system", &r.system)] {
                    if let Some(t) = text {
                        push(&mut out, name.into(), t);
                    }
                }
            }
            Self::Chat(r) => {
                for (i, m) in r.messages.iter().enumerate() {
                    push(&mut out, format!("messages[{i}].content"), &m.content);
                    if let Some(t) = &m.thinking {
                        push(&mut out, format!("messages[{i}].thinking"), t);
                    }
                }
            }
            Self::Embed(r) => match &r.input {
                EmbedInput::One(t) => push(&mut out, "input".into(), t),
                EmbedInput::Many(ts) => {
                    for (i, t) in ts.iter().enumerate() {
                        push(&mut out, format!("input[{i}]"), t);
                    }
                }
            },
            Self::Embeddings(r) => push(&mut out, "prompt".into(), &r.prompt),
        }
        out
    }

    /// JSON values the model reads as text: tool definitions and forged tool calls.
    pub fn json_texts(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Self::Chat(r) = self {
            for (i, tool) in r.tools.iter().flatten().enumerate() {
                out.push((format!("tools[{i}]"), strings_of(tool)));
            }
            for (i, m) in r.messages.iter().enumerate() {
                for (j, call) in m.tool_calls.iter().flatten().enumerate() {
                    out.push((format!("messages[{i}].tool_calls[{j}]"), strings_of(call)));
                }
            }
        }
        out
    }

    /// Text that steers the model without being a message: a `format` schema's names, enums and
    /// descriptions (the model is forced to write them) and a tool turn's `tool_name`.
    pub fn steering_texts(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let format = match self {
            Self::Generate(r) => r.format.as_ref(),
            Self::Chat(r) => r.format.as_ref(),
            Self::Embed(_) | Self::Embeddings(_) => None,
        };
        if let Some(schema) = format.filter(|f| f.is_object()) {
            out.push(("format".to_string(), strings_of(schema)));
        }
        if let Self::Chat(r) = self {
            for (i, m) in r.messages.iter().enumerate() {
                if let Some(name) = m.tool_name.as_ref().filter(|n| !n.is_empty()) {
                    out.push((format!("messages[{i}].tool_name"), name.clone()));
                }
            }
        }
        out
    }

    pub fn to_body(&self) -> Vec<u8> {
        let result = match self {
            Self::Generate(r) => serde_json::to_vec(r),
            Self::Chat(r) => serde_json::to_vec(r),
            Self::Embed(r) => serde_json::to_vec(r),
            Self::Embeddings(r) => serde_json::to_vec(r),
        };
        // Serialising plain data structs to a Vec cannot fail.
        result.unwrap_or_default()
    }
}

/// All string keys and values of a JSON value, one per line.
pub fn strings_of(value: &Value) -> String {
    fn walk(v: &Value, out: &mut String) {
        match v {
            Value::String(s) => {
                out.push_str(s);
                out.push('\n');
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            Value::Object(map) => {
                for (k, v) in map {
                    out.push_str(k);
                    out.push('\n');
                    walk(v, out);
                }
            }
            _ => {}
        }
    }
    let mut out = String::new();
    walk(value, &mut out);
    out
}

/// Depth of a JSON value (a scalar is 1).
pub fn json_depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(json_depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(json_depth).max().unwrap_or(0),
        _ => 1,
    }
}

/// `keep_alive` as Ollama reads it: a number of seconds, or a Go duration string (`5m`,
/// `1h30m`, `-1`). Negative means "keep the model loaded forever".
pub fn keep_alive_seconds(value: &Value) -> Result<f64, String> {
    match value {
        Value::Number(n) => n.as_f64().ok_or_else(|| "keep_alive is not a number".to_string()),
        Value::String(s) => parse_go_duration(s.trim()),
        _ => Err("keep_alive must be a number of seconds or a duration such as \"5m\"".into()),
    }
}

fn parse_go_duration(s: &str) -> Result<f64, String> {
    let bad = || format!("keep_alive {s:?} is not a duration such as \"300ms\", \"30s\", \"5m\" or \"1h\"");
    if s.len() > 32 {
        return Err(bad());
    }
    let (negative, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Ok(0.0);
    }
    if rest.is_empty() {
        return Err(bad());
    }
    // A bare number is seconds (Ollama accepts "-1" for forever).
    if let Ok(n) = rest.parse::<f64>() {
        return Ok(if negative { -n } else { n });
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(bad)?;
        if num_len == 0 {
            return Err(bad());
        }
        let n: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += n * factor;
        rest = &rest[unit_len..];
    }
    Ok(if negative { -total } else { total })
}

/// What an image turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageInfo {
    pub format: &'static str,
    pub width: u32,
    pub height: u32,
}

/// Check that bytes are an image of a format vision models take (PNG, JPEG, GIF, WebP) and
/// read its dimensions from the header structure, without decoding pixels.
pub fn sniff_image(b: &[u8]) -> Result<ImageInfo, &'static str> {
    let be16 = |i: usize| b.get(i..i + 2).map(|s| u16::from_be_bytes([s[0], s[1]]) as u32);
    let be32 = |i: usize| b.get(i..i + 4).map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]));
    let le16 = |i: usize| b.get(i..i + 2).map(|s| u16::from_le_bytes([s[0], s[1]]) as u32);
    let le24 = |i: usize| b.get(i..i + 3).map(|s| s[0] as u32 | (s[1] as u32) << 8 | (s[2] as u32) << 16);
    let info = if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        if b.get(12..16) != Some(b"IHDR") {
            return Err("PNG without an IHDR chunk");
        }
        ImageInfo { format: "png", width: be32(16).ok_or("truncated PNG")?, height: be32(20).ok_or("truncated PNG")? }
    } else if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        ImageInfo { format: "gif", width: le16(6).ok_or("truncated GIF")?, height: le16(8).ok_or("truncated GIF")? }
    } else if b.starts_with(b"RIFF") && b.get(8..12) == Some(b"WEBP") {
        match b.get(12..16) {
            Some(b"VP8 ") => ImageInfo {
                format: "webp",
                width: le16(26).ok_or("truncated WebP")? & 0x3FFF,
                height: le16(28).ok_or("truncated WebP")? & 0x3FFF,
            },
            Some(b"VP8L") => {
                let bits = b.get(21..25).ok_or("truncated WebP")?;
                let v = u32::from_le_bytes([bits[0], bits[1], bits[2], bits[3]]);
                ImageInfo { format: "webp", width: (v & 0x3FFF) + 1, height: ((v >> 14) & 0x3FFF) + 1 }
            }
            Some(b"VP8X") => ImageInfo {
                format: "webp",
                width: le24(24).ok_or("truncated WebP")? + 1,
                height: le24(27).ok_or("truncated WebP")? + 1,
            },
            _ => return Err("WebP with an unknown chunk"),
        }
    } else if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        // Walk the JPEG segments to the first start-of-frame marker.
        let mut i = 2;
        loop {
            if b.get(i) != Some(&0xFF) {
                return Err("JPEG with a broken segment");
            }
            let marker = *b.get(i + 1).ok_or("truncated JPEG")?;
            let len = be16(i + 2).ok_or("truncated JPEG")? as usize;
            if matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
                break ImageInfo {
                    format: "jpeg",
                    height: be16(i + 5).ok_or("truncated JPEG")?,
                    width: be16(i + 7).ok_or("truncated JPEG")?,
                };
            }
            if len < 2 {
                return Err("JPEG with a broken segment");
            }
            i += 2 + len;
        }
    } else {
        return Err("not a PNG, JPEG, GIF or WebP image");
    };
    if info.width == 0 || info.height == 0 {
        return Err("image with no pixels");
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_inference_endpoints_exist() {
        assert_eq!(Endpoint::from_path("/api/chat"), Some(Endpoint::Chat));
        for path in [
            "/api/pull",
            "/api/push",
            "/api/create",
            "/api/blobs/sha256:abc",
            "/api/show",
            "/api/tags",
            "/api/ps",
            "/api/version",
            "/api/delete",
            "/api/copy",
            "/v1/chat/completions",
            "/api/chat/",
            "/API/CHAT",
            "/api//chat",
        ] {
            assert_eq!(Endpoint::from_path(path), None, "{path}");
        }
    }

    #[test]
    fn unknown_fields_are_errors_everywhere() {
        let err = OllamaRequest::parse(Endpoint::Generate, br#"{"model":"m","prompt":"hi","evil":1}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `evil`"));
        let err =
            OllamaRequest::parse(Endpoint::Chat, br#"{"model":"m","messages":[{"role":"user","content":"x","x":1}]}"#)
                .unwrap_err();
        assert!(err.to_string().contains("unknown field `x`"));
        let err =
            OllamaRequest::parse(Endpoint::Generate, br#"{"model":"m","options":{"num_predictt":1}}"#).unwrap_err();
        assert!(err.to_string().contains("num_predictt"));
        let err = OllamaRequest::parse(Endpoint::Generate, br#"{"model":"m","model":"n"}"#).unwrap_err();
        assert!(err.to_string().contains("duplicate field"));
    }

    #[test]
    fn texts_cover_every_turn_and_tool() {
        let r = OllamaRequest::parse(
            Endpoint::Chat,
            br#"{"model":"m","messages":[{"role":"system","content":"s"},{"role":"assistant","content":"a","tool_calls":[{"function":{"name":"f","arguments":{"q":"hidden"}}}]},{"role":"tool","content":"t","tool_name":"f"}],
                "tools":[{"type":"function","function":{"name":"f","description":"desc"}}]}"#,
        )
        .unwrap();
        let fields: Vec<String> = r.texts().into_iter().map(|t| t.field).collect();
        assert_eq!(fields, ["messages[0].content", "messages[1].content", "messages[2].content"]);
        let json: Vec<String> =
            r.json_texts().into_iter().map(|(f, t)| format!("{f}={}", t.replace('\n', "|"))).collect();
        assert_eq!(json[0], "tools[0]=function|description|desc|name|f|type|function|");
        assert!(json[1].contains("hidden"));
    }

    #[test]
    fn keep_alive_durations() {
        assert_eq!(keep_alive_seconds(&serde_json::json!("5m")), Ok(300.0));
        assert_eq!(keep_alive_seconds(&serde_json::json!("1h30m")), Ok(5400.0));
        assert_eq!(keep_alive_seconds(&serde_json::json!("300ms")), Ok(0.3));
        assert_eq!(keep_alive_seconds(&serde_json::json!("-1")), Ok(-1.0));
        assert_eq!(keep_alive_seconds(&serde_json::json!(-1)), Ok(-1.0));
        assert_eq!(keep_alive_seconds(&serde_json::json!(60)), Ok(60.0));
        assert!(keep_alive_seconds(&serde_json::json!("5 minutes")).is_err());
        assert!(keep_alive_seconds(&serde_json::json!("m")).is_err());
        assert!(keep_alive_seconds(&serde_json::json!(true)).is_err());
    }

    #[test]
    fn images_are_checked_by_structure() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend_from_slice(&64u32.to_be_bytes());
        png.extend_from_slice(&32u32.to_be_bytes());
        assert_eq!(sniff_image(&png), Ok(ImageInfo { format: "png", width: 64, height: 32 }));
        let gif = b"GIF89a\x10\x00\x08\x00";
        assert_eq!(sniff_image(gif), Ok(ImageInfo { format: "gif", width: 16, height: 8 }));
        let jpeg =
            [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0x00, 0x20, 0x00, 0x40];
        assert_eq!(sniff_image(&jpeg), Ok(ImageInfo { format: "jpeg", width: 64, height: 32 }));
        assert!(sniff_image(b"MZ\x90\x00 not an image").is_err());
        assert!(sniff_image(b"\x89PNG\r\n\x1a\n").is_err());
        assert!(sniff_image(&[0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x00]).is_err());
    }
}
