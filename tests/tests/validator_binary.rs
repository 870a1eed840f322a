//! The request validator's own binary, as Lambda runs it: started against a stand-in of the
//! Lambda runtime API in streaming mode (`WARDEN_RESPONSE_MODE=stream`, what API Gateway's
//! streaming integration reads), with the registry on the local AWS and a paced Ollama stand-in
//! behind it. Proves the prelude, that tokens leave before Ollama's last chunk, and that a
//! refusal is answered in the same format.

use std::time::Duration;

use chrono::Utc;
use serde_json::Value;

use warden::aws::DynamoStore;
use warden::registry::parse_registry_yaml;
use warden::registry::ports::ModelRegistryStore;
use warden_integration_tests::fake_ollama::FakeOllama;
use warden_integration_tests::lambda_runtime_api::{Answer, RuntimeApi};
use warden_integration_tests::{function_binary, new_table, sample_of, sdk};

const REGISTRY: &str = include_str!("../../events/request-validator/model-registry.yaml");

async fn body_of(mut body: tokio::sync::mpsc::UnboundedReceiver<(std::time::Instant, Vec<u8>)>) -> String {
    let mut all = Vec::new();
    while let Some((_, piece)) = body.recv().await {
        all.extend(piece);
    }
    String::from_utf8(all).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_streams_the_answer_as_ollama_writes_it_and_refuses_in_the_same_format() {
    let binary = tokio::task::spawn_blocking(|| function_binary("request-validator")).await.unwrap();
    let sdk = sdk("us-east-1").await;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let table = new_table(&ddb).await;
    DynamoStore::new(ddb, &table).replace_models(&parse_registry_yaml(REGISTRY).unwrap(), Utc::now()).await.unwrap();
    let ollama = FakeOllama::start_paced(0, Duration::from_millis(100)).await.unwrap();
    let api = RuntimeApi::start().await.unwrap();
    let _function = api.start_function(
        &binary,
        &[
            ("WARDEN_TABLE_NAME", table.as_str()),
            ("OLLAMA_URL", ollama.url.as_str()),
            ("WARDEN_IDENTITY_SOURCE", "authorizer"),
            ("WARDEN_RESPONSE_MODE", "stream"),
        ],
    );

    let Answer::Streamed { prelude, mut body } = api.invoke(sample_of("request-validator", "chat-streamed.json")).await
    else {
        panic!("a streaming function answers in the streaming format")
    };
    assert_eq!(prelude["statusCode"], 200, "{prelude}");
    assert_eq!(prelude["headers"]["content-type"], "application/x-ndjson", "{prelude}");
    assert!(prelude["headers"]["x-request-id"].is_string(), "{prelude}");
    let (_, first) = body.recv().await.expect("a first piece");
    let written = ollama.written.load(std::sync::atomic::Ordering::SeqCst);
    assert!(written < 6, "the first piece left when Ollama had written {written} of its 6 chunks");
    let rest = body_of(body).await;
    let all = format!("{}{rest}", String::from_utf8(first).unwrap());
    let lines: Vec<Value> = all.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let text: String = lines.iter().map(|l| l["message"]["content"].as_str().unwrap()).collect();
    assert_eq!((text.as_str(), lines.last().unwrap()["done"].as_bool()), ("Sure, here is an answer.", Some(true)));

    // A refusal: decided before Ollama, answered whole in the same format.
    let Answer::Streamed { prelude, body } =
        api.invoke(sample_of("request-validator", "chat-prompt-injection.json")).await
    else {
        panic!("a refusal is streamed too")
    };
    assert_eq!(prelude["statusCode"], 400, "{prelude}");
    let error: Value = serde_json::from_str(&body_of(body).await).unwrap();
    assert_eq!(error["code"], "content_blocked", "{error}");
    assert_eq!(ollama.written.load(std::sync::atomic::Ordering::SeqCst), 6, "the refused request never reached Ollama");
}
