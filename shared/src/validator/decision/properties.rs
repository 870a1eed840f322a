//! Properties of the decision: no input makes it panic, whatever its size or shape.

use std::collections::HashMap;

use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::http::{AuthSource, PayloadVersion};

fn req(path: String, body: Vec<u8>) -> HttpRequest {
    HttpRequest {
        version: PayloadVersion::Http,
        method: "POST".into(),
        path,
        headers: HashMap::from([("content-type".into(), "application/json".into())]),
        body,
        caller: Some(Caller {
            id: "p".into(),
            use_case: Some("internal_use".into()),
            source: AuthSource::Jwt,
            session: None,
        }),
        request_id: "p".into(),
        source_ip: None,
        query: String::new(),
        user_agent: None,
    }
}

fn value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(json!(null)),
        any::<bool>().prop_map(|b| json!(b)),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        "\\PC{0,40}".prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "model",
                    "messages",
                    "role",
                    "content",
                    "options",
                    "num_predict",
                    "num_ctx",
                    "images",
                    "format",
                    "think",
                    "keep_alive",
                    "tools",
                    "input",
                    "prompt",
                    "stream",
                    "raw",
                    "x"
                ])
                .prop_map(str::to_string),
                inner,
                0..6
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn any_bytes_on_any_path(path in "/\\PC{0,30}", body in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = check(&req(path, body), &ValidatorPolicy::default(), &super::tests::registry());
    }

    #[test]
    fn any_json_on_the_inference_endpoints(
        endpoint in prop::sample::select(vec!["/api/generate", "/api/chat", "/api/embed", "/api/embeddings"]),
        body in value(),
    ) {
        let _ = check(&req(endpoint.into(), body.to_string().into_bytes()), &ValidatorPolicy::default(), &super::tests::registry());
    }

    #[test]
    fn any_message_content_in_a_valid_chat(content in "\\PC{0,400}", model in "[A-Za-z0-9:./@-]{0,40}") {
        let body = json!({"model": model, "messages": [{"role": "user", "content": content}], "options": {"num_predict": 8}});
        let _ = check(&req("/api/chat".into(), body.to_string().into_bytes()), &ValidatorPolicy::default(), &super::tests::registry());
    }
}
