//! Any body on the OpenAI-compatible routes: translation never panics, whatever it produces is
//! decided by the native decision without panicking, and an answer in any shape translates back.
#![no_main]

use std::collections::HashMap;
use std::sync::OnceLock;

use chrono::Utc;
use libfuzzer_sys::fuzz_target;
use warden::http::{AuthSource, Caller, HttpRequest, HttpResponse, PayloadVersion};
use warden::registry::{parse_registry_yaml, Registry};
use warden::validator::decision::{check, ValidatorPolicy};
use warden::validator::openai::{from_native, route, to_native};

const REGISTRY: &str = include_str!("../../events/request-validator/model-registry.yaml");
const PATHS: [&str; 5] = ["/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/models", "/v1/responses"];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    static SAMPLE: OnceLock<Registry> = OnceLock::new();
    let registry = SAMPLE.get_or_init(|| Registry { models: parse_registry_yaml(REGISTRY).expect("the sample registry parses") });
    let path = PATHS[selector as usize % PATHS.len()];
    let method = if selector & 0x80 != 0 { "GET" } else { "POST" };
    let Some(r) = route(path) else { return };
    let Ok(translated) = to_native(r, method, body) else { return };
    let req = HttpRequest {
        version: PayloadVersion::Rest,
        method: translated.method.into(),
        path: translated.path.into(),
        headers: HashMap::from([("content-type".into(), "application/json".into())]),
        body: translated.body.clone(),
        caller: Some(Caller { id: "fuzz".into(), use_case: Some("internal_use".into()), source: AuthSource::Jwt, session: None }),
        request_id: "fuzz".into(),
        source_ip: None,
        query: String::new(),
        user_agent: None,
    };
    let _ = check(&req, &ValidatorPolicy::default(), registry);
    // The fuzzer's bytes as Ollama's answer, whole and as NDJSON.
    let answer = HttpResponse { status: 200, content_type: "application/json", headers: vec![], body: String::from_utf8_lossy(body).into_owned() };
    let _ = from_native(&translated, &answer, "fuzz", Utc::now());
});
