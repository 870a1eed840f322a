//! Real clients through the validator: the pinned ollama clients for Python
//! (`requirements-dev.txt`) and JavaScript (`tests/clients/package.json`) make their standard
//! calls over real HTTP to an API Gateway stand-in (a REST proxy event with a Lambda authorizer's
//! caller), which hands them to the validator over the local AWS, with the Ollama stand-in behind
//! it. Each call's outcome is asserted: a result for what is admitted, the documented refusal
//! (the message the client shows) for what is not.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use chrono::Utc;
use serde_json::Value;

use warden::aws::wiring::request_guard;
use warden::aws::DynamoStore;
use warden::config::ValidatorConfig;
use warden::http::GatewayEvent;
use warden::registry::parse_registry_yaml;
use warden::registry::ports::ModelRegistryStore;
use warden_integration_tests::fake_ollama::FakeOllama;
use warden_integration_tests::gateway_front::{GatewayFront, Principal, ACCOUNT_ID, API_ID};
use warden_integration_tests::{new_table, sdk};

const REGISTRY: &str = include_str!("../../events/request-validator/model-registry.yaml");
const KEY: &str = "support-desk-key";

/// The API, its validator and Ollama, as a client sees them: one URL.
async fn gateway() -> (GatewayFront, FakeOllama) {
    let sdk = sdk("us-east-1").await;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let table = new_table(&ddb).await;
    DynamoStore::new(ddb, &table).replace_models(&parse_registry_yaml(REGISTRY).unwrap(), Utc::now()).await.unwrap();
    let ollama = FakeOllama::start(0).await.unwrap();
    let vars = [
        ("WARDEN_TABLE_NAME", table.as_str()),
        ("OLLAMA_URL", ollama.url.as_str()),
        ("WARDEN_IDENTITY_SOURCE", "authorizer"),
        ("WARDEN_API_ID", API_ID),
        ("WARDEN_API_ACCOUNT_ID", ACCOUNT_ID),
    ];
    let config =
        ValidatorConfig::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())).unwrap();
    let guard = Arc::new(request_guard(&config, &sdk));
    let keys = HashMap::from([(
        KEY.to_string(),
        Principal { caller: "team-support".into(), use_case: "customer_service".into() },
    )]);
    let front = GatewayFront::start(keys, move |event| {
        let guard = guard.clone();
        async move { guard.serve(&GatewayEvent::from_value(event), Utc::now()).await }
    })
    .await
    .unwrap();
    (front, ollama)
}

/// Run a client script from `tests/clients/` (Python from the project's virtualenv, JavaScript
/// with node and the pinned packages there); its JSON report by call name.
fn run_client(script: &str, url: &str) -> HashMap<String, Value> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let clients = root.join("tests/clients");
    let mut command = if script.ends_with(".py") {
        let python = root.join(".venv/bin/python");
        assert!(python.exists(), "{} is missing: run `make venv` (it installs the pinned clients)", python.display());
        Command::new(python)
    } else {
        let modules = clients.join("node_modules/ollama");
        assert!(modules.exists(), "{} is missing: run `make client-deps`", modules.display());
        Command::new("node")
    };
    let out = command.arg(clients.join(script)).args([url, KEY]).current_dir(&clients).output().unwrap();
    assert!(out.status.success(), "{script} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let report: Vec<Value> = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{script} printed no report ({e}):\n{}", String::from_utf8_lossy(&out.stdout)));
    report.into_iter().map(|r| (r["call"].as_str().unwrap().to_string(), r)).collect()
}

/// Run a client script against a fresh gateway: its report, and the Ollama stand-in that saw
/// what was forwarded.
async fn drive(script: &'static str) -> (HashMap<String, Value>, FakeOllama) {
    let (front, ollama) = gateway().await;
    let url = front.url.clone();
    let report = tokio::task::spawn_blocking(move || run_client(script, &url)).await.unwrap();
    (report, ollama)
}

/// Every call is asserted: each of `admitted` returned a result, each of `refused` failed with
/// its status and the message the client shows its user (the message is `error`).
fn assert_outcomes(report: &HashMap<String, Value>, admitted: &[&str], refused: &[(&str, u64, &str)]) {
    for call in admitted {
        assert_eq!(report[*call]["ok"], true, "{call} was refused: {}", report[*call]);
    }
    for (call, status, message) in refused {
        let r = &report[*call];
        assert_eq!((r["ok"].as_bool(), r["status"].as_u64()), (Some(false), Some(*status)), "{call}: {r}");
        assert!(r["error"].as_str().unwrap_or_default().contains(message), "{call}: {r}");
    }
    assert_eq!(report.len(), admitted.len() + refused.len(), "every call is asserted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ollama_python_client_works_through_the_validator() {
    standard_calls_work("ollama_python.py").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ollama_javascript_client_works_through_the_validator() {
    standard_calls_work("ollama_js.mjs").await;
}

/// The calls every Ollama client makes, and what each must get.
async fn standard_calls_work(script: &'static str) {
    let (report, ollama) = drive(script).await;

    let admitted = [
        "chat",
        "chat_stream",
        "chat_system_prompt",
        "chat_multi_turn",
        "chat_tools",
        "chat_tool_result",
        "chat_format_json",
        "chat_format_schema",
        "chat_options",
        "chat_keep_alive",
        "chat_think",
        "chat_image",
        "load_model",
        "generate",
        "generate_stream",
        "generate_system",
        "embed",
        "embeddings_legacy",
        "list",
        "show",
        "version",
    ];
    assert_eq!(report["chat"]["detail"], "Sure, here is an answer.");
    assert!(report["chat_stream"]["detail"].as_u64().unwrap() > 1, "a streamed chat arrives in chunks");
    assert_eq!(report["embed"]["detail"], 2);
    // Only the models this use case may use, of all Ollama has pulled; of a model, nothing that
    // steers it.
    assert_eq!(report["list"]["detail"], serde_json::json!(["llama3-8b:latest", "nomic-embed-text:v1.5"]));
    assert_eq!(
        report["show"]["detail"],
        serde_json::json!({"family": "llama", "context_length": 8192, "template": null, "modelfile": null,
            "parameters": null, "license": null})
    );
    assert_eq!(report["version"]["detail"], "0.13.0");
    // Everything that was admitted reached Ollama, bounded: each generating call got a
    // num_predict although the client set none.
    let forwarded = ollama.received.all();
    assert_eq!(forwarded.len(), admitted.len());
    for (path, body) in &forwarded {
        if path == "/api/chat" && body["messages"].as_array().is_some_and(|m| !m.is_empty()) {
            assert!(body["options"]["num_predict"].as_i64().is_some_and(|n| (1..=4096).contains(&n)), "{body}");
        }
    }

    // Refused, each with the reason the client shows its user (Ollama's error shape: the
    // message is `error`).
    let refused = [
        ("pull", 403, "/api/pull is not an allowed endpoint"),
        ("delete", 403, "/api/delete is not an allowed endpoint"),
        ("anonymous_chat", 401, "no authenticated caller"),
        ("prompt_injection", 400, "the request was blocked: injection."),
    ];
    assert_outcomes(&report, &admitted, &refused);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openai_sdk_works_through_the_validator() {
    let (report, ollama) = drive("openai_python.py").await;
    let admitted = [
        "chat",
        "chat_stream",
        "chat_stream_usage",
        "chat_system_prompt",
        "chat_developer_prompt",
        "chat_max_tokens",
        "chat_tools",
        "chat_tool_result",
        "chat_json_object",
        "chat_json_schema",
        "chat_image",
        "completion",
        "embeddings",
        "embeddings_float",
        "models",
    ];
    assert_eq!(report["chat"]["detail"], "Sure, here is an answer.");
    assert!(report["chat_stream"]["detail"].as_u64().unwrap() > 1, "a streamed chat arrives in chunks");
    assert_eq!(report["chat_stream_usage"]["detail"], 5, "usage arrives last when asked for");
    assert_eq!(report["embeddings"]["detail"], serde_json::json!([3, 3]), "base64 floats decoded by the SDK");
    assert_eq!(report["models"]["detail"], serde_json::json!(["llama3-8b:latest", "nomic-embed-text:v1.5"]));
    // The same decision as the native routes: what reached Ollama is the validated native request.
    let forwarded = ollama.received.all();
    assert_eq!(forwarded.len(), admitted.len());
    let paths: std::collections::BTreeSet<&str> = forwarded.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["/api/chat", "/api/embed", "/api/generate", "/api/tags"].into_iter().collect());
    let max_tokens =
        forwarded.iter().find(|(_, b)| b["options"]["num_predict"] == 64).expect("max_tokens became num_predict");
    assert_eq!(max_tokens.1["options"]["temperature"], 0.2);

    let refused = [
        ("two_choices", 400, "`n`"),
        ("remote_image", 400, "data: URL"),
        ("responses_api", 404, "/v1/chat/completions"),
        ("unknown_key", 401, "no authenticated caller"),
        ("prompt_injection", 400, "the request was blocked: injection."),
    ];
    assert_outcomes(&report, &admitted, &refused);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn langchain_s_ollama_integration_works_through_the_validator() {
    let (report, ollama) = drive("langchain_python.py").await;
    let admitted = [
        "chat_invoke",
        "chat_stream",
        "chat_system",
        "chat_tools",
        "chat_json",
        "llm_invoke",
        "llm_stream",
        "embed_documents",
        "embed_query",
    ];
    assert_eq!(report["chat_invoke"]["detail"], "Sure, here is an answer.");
    assert!(report["chat_stream"]["detail"].as_u64().unwrap() > 1, "a streamed chat arrives in chunks");
    assert_eq!(report["embed_documents"]["detail"], serde_json::json!([3, 3]));
    // OllamaLLM always sends `format: ""`: it is no format, and nothing of it is forwarded.
    let forwarded = ollama.received.all();
    assert_eq!(forwarded.len(), admitted.len());
    assert!(forwarded.iter().all(|(_, body)| body.get("format") != Some(&serde_json::json!(""))));
    assert_outcomes(&report, &admitted, &[("prompt_injection", 400, "the request was blocked: injection.")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llamaindex_s_ollama_llm_works_through_the_validator() {
    let (report, ollama) = drive("llamaindex_python.py").await;
    let admitted = ["context_window", "complete", "stream_complete", "chat", "stream_chat", "chat_system", "json_mode"];
    // It could start: /api/show answered the context length (and nothing that steers the model).
    assert_eq!(report["context_window"]["detail"], 8192);
    assert_eq!(report["chat"]["detail"], "Sure, here is an answer.");
    assert!(report["stream_chat"]["detail"].as_u64().unwrap() > 1, "a streamed chat arrives in chunks");
    let forwarded = ollama.received.all();
    assert!(forwarded.iter().any(|(path, _)| path == "/api/show"));
    assert!(
        forwarded.iter().filter(|(p, _)| p == "/api/chat").all(|(_, b)| b["options"]["num_ctx"] == 8192),
        "{forwarded:?}"
    );
    assert_outcomes(&report, &admitted, &[("prompt_injection", 400, "the request was blocked: injection.")]);
}
