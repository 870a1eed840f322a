//! Any body on any of the inference endpoints (and any path): the validator decides without
//! panicking, and whatever it admits re-parses as the typed request it forwards.
#![no_main]

use std::collections::HashMap;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use warden::http::{AuthSource, Caller, HttpRequest, PayloadVersion};
use warden::validator::ollama::{Endpoint, OllamaRequest};
use warden::registry::{Registry, parse_registry_yaml};
use warden::validator::decision::{ValidatorPolicy, check};

const REGISTRY: &str = include_str!("../../events/request-validator/model-registry.yaml");
const PATHS: [&str; 6] = ["/api/generate", "/api/chat", "/api/embed", "/api/embeddings", "/api/pull", "/api/chat/"];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    static SAMPLE: OnceLock<Registry> = OnceLock::new();
    let registry = SAMPLE.get_or_init(|| Registry { models: parse_registry_yaml(REGISTRY).expect("the sample registry parses") });
    let req = HttpRequest {
        version: PayloadVersion::Rest,
        method: "POST".into(),
        path: PATHS[selector as usize % PATHS.len()].into(),
        headers: HashMap::from([("content-type".into(), "application/json".into())]),
        body: body.to_vec(),
        caller: Some(Caller { id: "fuzz".into(), use_case: Some("internal_use".into()), source: AuthSource::Jwt, session: None }),
        request_id: "fuzz".into(),
        source_ip: None,
        query: String::new(),
        user_agent: None,
    };
    if let Ok(admitted) = check(&req, &ValidatorPolicy::default(), registry) {
        let endpoint = Endpoint::from_path(&req.path).expect("admitted on an allowed endpoint");
        OllamaRequest::parse(endpoint, &admitted.body).expect("what is forwarded re-parses");
    }
});
