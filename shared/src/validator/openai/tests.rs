use serde_json::json;

use super::*;

fn native(route: Route, body: Value) -> Value {
    let t = to_native(route, "POST", body.to_string().as_bytes()).unwrap();
    serde_json::from_slice(&t.body).unwrap()
}

#[test]
fn a_chat_completion_becomes_the_native_chat_the_decision_reads() {
    let n = native(
        Route::ChatCompletions,
        json!({"model": "llama3-8b", "max_completion_tokens": 64, "temperature": 0.1, "stop": "END", "seed": 3,
            "response_format": {"type": "json_schema", "json_schema": {"name": "city", "schema": {"type": "object"}}},
            "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
            "messages": [
                {"role": "developer", "content": "Be brief."},
                {"role": "user", "content": [{"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]},
                {"role": "assistant", "content": null, "tool_calls": [{"id": "call_9", "type": "function",
                    "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
                {"role": "tool", "tool_call_id": "call_9", "content": "18 C"},
                {"role": "user", "content": "Thanks"}]}),
    );
    assert_eq!(n["options"], json!({"num_predict": 64, "temperature": 0.1, "seed": 3, "stop": ["END"]}));
    assert_eq!(n["format"], json!({"type": "object"}));
    assert_eq!(n["messages"][0], json!({"role": "system", "content": "Be brief."}));
    assert_eq!(n["messages"][1]["images"], json!(["iVBORw0KGgo="]));
    assert_eq!(n["messages"][2]["tool_calls"][0]["function"]["arguments"], json!({"city": "Paris"}));
    assert_eq!(n["messages"][3]["tool_name"], "get_weather", "the tool turn is named after the call it answers");
    assert_eq!(n["stream"], false);
}

#[test]
fn what_ollama_cannot_do_or_the_validator_will_not_is_refused_by_name() {
    let refused =
        |body: Value| to_native(Route::ChatCompletions, "POST", body.to_string().as_bytes()).unwrap_err().message;
    let user = json!([{"role": "user", "content": "hi"}]);
    assert!(refused(json!({"model": "m", "messages": user, "n": 2})).contains("`n`"));
    assert!(refused(json!({"model": "m", "messages": user, "functions": []})).contains("unknown field `functions`"));
    assert!(refused(json!({"model": "m", "messages": user, "tool_choice": "required"})).contains("`tool_choice`"));
    let remote = json!([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}]);
    assert!(refused(json!({"model": "m", "messages": remote})).contains("data: URL"));
    let bad_args = json!([{"role": "assistant", "tool_calls": [{"id": "1", "type": "function",
        "function": {"name": "f", "arguments": "not json"}}]}]);
    assert!(refused(json!({"model": "m", "messages": bad_args})).contains("must be a JSON object"));
    let other = to_native(Route::Other, "POST", b"{}").unwrap_err();
    assert_eq!((other.status, other.code), (404, "endpoint_not_allowed"));
    assert!(other.message.contains("/v1/chat/completions"));
    assert_eq!(to_native(Route::Models, "POST", b"").unwrap_err().status, 405);
}

#[test]
fn answers_come_back_in_openai_shapes() {
    let now = DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z").unwrap().with_timezone(&Utc);
    let t = to_native(
        Route::ChatCompletions,
        "POST",
        br#"{"model": "llama3-8b", "messages": [{"role": "user", "content": "hi"}]}"#,
    )
    .unwrap();
    let ok = |body: Value| HttpResponse {
        status: 200,
        content_type: "application/json",
        headers: vec![],
        body: body.to_string(),
    };
    let r = from_native(
        &t,
        &ok(json!({"model": "llama3-8b:latest", "message": {"role": "assistant", "content": "Hello",
        "tool_calls": [{"function": {"name": "f", "arguments": {"a": 1}}}]}, "done": true, "done_reason": "stop",
        "prompt_eval_count": 5, "eval_count": 2})),
        "r1",
        now,
    );
    let v: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["model"], "llama3-8b", "the model as the client named it");
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(v["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"], "{\"a\":1}");
    assert_eq!(v["usage"], json!({"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}));
    // A stream: server-sent events, the role once, usage when asked, [DONE] last.
    let mut t = to_native(Route::ChatCompletions, "POST", br#"{"model": "m", "stream": true, "stream_options": {"include_usage": true}, "messages": [{"role": "user", "content": "hi"}]}"#).unwrap();
    t.model = "m".into();
    let ndjson = "{\"message\":{\"role\":\"assistant\",\"content\":\"He\"},\"done\":false}\n{\"message\":{\"role\":\"assistant\",\"content\":\"llo\"},\"done\":false}\n{\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,\"done_reason\":\"stop\",\"prompt_eval_count\":1,\"eval_count\":2}\n";
    let r = from_native(
        &t,
        &HttpResponse { status: 200, content_type: "application/x-ndjson", headers: vec![], body: ndjson.into() },
        "r2",
        now,
    );
    assert_eq!(r.content_type, "text/event-stream");
    let events: Vec<&str> = r.body.split("\n\n").filter(|e| !e.is_empty()).collect();
    assert_eq!(events.len(), 5, "{}", r.body);
    assert!(events[0].contains("\"role\":\"assistant\"") && !events[1].contains("\"role\""));
    assert!(events[3].contains("\"usage\"") && events[3].contains("\"choices\":[]"));
    assert_eq!(events[4], "data: [DONE]");
    // Errors in OpenAI's shape.
    let refused = HttpResponse::error(
        400,
        "content_blocked",
        "the request was blocked: injection.jailbreak",
        json!({"findings": ["injection.jailbreak"]}),
    );
    let v: Value = serde_json::from_str(&from_native(&t, &refused, "r3", now).body).unwrap();
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert_eq!(v["error"]["code"], "content_blocked");
    assert!(v["error"]["message"].as_str().unwrap().contains("blocked"));
    // Embeddings as base64 floats, the SDK's default.
    let t = to_native(Route::Embeddings, "POST", br#"{"model": "e", "input": ["a"], "encoding_format": "base64"}"#)
        .unwrap();
    let r = from_native(&t, &ok(json!({"embeddings": [[1.0, 0.5]]})), "r4", now);
    let v: Value = serde_json::from_str(&r.body).unwrap();
    let bytes = base64::engine::general_purpose::STANDARD.decode(v["data"][0]["embedding"].as_str().unwrap()).unwrap();
    assert_eq!(bytes, [1.0f32.to_le_bytes(), 0.5f32.to_le_bytes()].concat());
}
