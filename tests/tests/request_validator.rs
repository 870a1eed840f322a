//! The request validator in front of a local Ollama stand-in, over the local AWS (registry and
//! quotas in DynamoDB): allowed, refused, streamed, quota exhausted, registry down, Ollama down.

use chrono::Utc;
use serde_json::{json, Value};

use warden::aws::wiring::request_guard;
use warden::aws::DynamoStore;
use warden::config::ValidatorConfig;
use warden::http::{GatewayEvent, HttpResponse};
use warden::registry::parse_registry_yaml;
use warden::registry::ports::ModelRegistryStore;
use warden::validator::relay::{Piece, Served};
use warden::validator::service::{Outcome, RequestGuard};
use warden::validator::upstream::OllamaClient;
use warden_integration_tests::fake_ollama::FakeOllama;
use warden_integration_tests::{new_table, sample_of, sdk};

const REGISTRY: &str = include_str!("../../events/request-validator/model-registry.yaml");

type Guard = RequestGuard<DynamoStore, DynamoStore, OllamaClient>;

struct Setup {
    ddb: aws_sdk_dynamodb::Client,
    table: String,
    ollama: FakeOllama,
    sdk: aws_config::SdkConfig,
}

/// The demo registry plus three models the fake Ollama misbehaves with.
fn registry_yaml() -> String {
    let llama = &REGISTRY[REGISTRY.find("  - name: llama3-8b").unwrap()..REGISTRY.find("  - name: coder-7b").unwrap()];
    format!(
        "{REGISTRY}\n{}\n{}\n{}",
        llama.replace("llama3-8b\n", "slow\n"),
        llama.replace("llama3-8b\n", "broken\n"),
        llama.replace("llama3-8b\n", "leaky\n")
    )
}

async fn setup() -> Setup {
    let sdk = sdk("us-east-1").await;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let table = new_table(&ddb).await;
    let store = DynamoStore::new(ddb.clone(), &table);
    let models = parse_registry_yaml(&registry_yaml()).unwrap();
    store.replace_models(&models, Utc::now()).await.unwrap();
    let ollama = FakeOllama::start(0).await.unwrap();
    Setup { ddb, table, ollama, sdk }
}

impl Setup {
    fn guard_with(&self, extra: &[(&str, &str)]) -> Guard {
        let mut vars = vec![
            ("WARDEN_TABLE_NAME", self.table.as_str()),
            ("OLLAMA_URL", self.ollama.url.as_str()),
            ("WARDEN_IDENTITY_SOURCE", "authorizer"),
        ];
        vars.extend_from_slice(extra);
        let config =
            ValidatorConfig::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())).unwrap();
        request_guard(&config, &self.sdk)
    }

    fn guard(&self) -> Guard {
        self.guard_with(&[])
    }
}

async fn send(guard: &Guard, event: &Value) -> (HttpResponse, Outcome) {
    guard.handle(event, Utc::now()).await
}

fn error_code(r: &HttpResponse) -> String {
    let v: Value = serde_json::from_str(&r.body).unwrap();
    // Ollama's shape (`error` is the message clients show), the code beside it.
    assert!(v["error"].is_string(), "{v}");
    v["code"].as_str().unwrap_or_default().to_string()
}

fn header<'a>(r: &'a HttpResponse, name: &str) -> Option<&'a str> {
    r.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn allowed_requests_reach_ollama_exactly_as_validated() {
    let s = setup().await;
    let guard = s.guard();
    let (r, o) = send(&guard, &sample_of("request-validator", "chat-allowed.json")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let answer: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(answer["message"]["content"], "Sure, here is an answer.");
    assert_eq!(
        (o.caller.as_deref(), o.model.as_deref(), o.reason),
        (Some("team-support"), Some("llama3-8b:latest"), None)
    );
    let received = s.ollama.received.all();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].0, "/api/chat");
    // What Ollama got is the typed request re-serialised: canonical model, nothing extra.
    let body = &received[0].1;
    assert_eq!(body["model"], "llama3-8b:latest");
    assert_eq!(body.as_object().unwrap().keys().collect::<Vec<_>>(), ["messages", "model", "options", "stream"]);

    let (r, o) = send(&guard, &sample_of("request-validator", "generate-allowed-http-api.json")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(o.caller.as_deref(), Some("user-7f3a"), "the Lambda authorizer's caller in the HTTP API event");
    let (r, _) = send(&guard, &sample_of("request-validator", "embed-allowed-http-api.json")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let embed: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(embed["embeddings"].as_array().unwrap().len(), 2);
    assert_eq!(s.ollama.received.count(), 3);
}

#[tokio::test]
async fn streamed_responses_pass_through_as_ndjson() {
    let s = setup().await;
    let (r, _) = send(&s.guard(), &sample_of("request-validator", "chat-streamed.json")).await;
    assert_eq!((r.status, r.content_type), (200, "application/x-ndjson"), "{}", r.body);
    let lines: Vec<Value> = r.body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 6);
    assert_eq!(lines.last().unwrap()["done"], true);
    let text: String = lines.iter().map(|l| l["message"]["content"].as_str().unwrap()).collect();
    assert_eq!(text, "Sure, here is an answer.");
}

/// The streamed sample against an Ollama that takes `pace` per chunk (six chunks).
async fn streamed(pace: std::time::Duration, extra: &[(&str, &str)]) -> (Setup, Served) {
    let mut s = setup().await;
    s.ollama = FakeOllama::start_paced(0, pace).await.unwrap();
    let event = sample_of("request-validator", "chat-streamed.json");
    let served = s.guard_with(extra).serve(&GatewayEvent::from_value(event), Utc::now()).await;
    (s, served)
}

#[tokio::test]
async fn a_streamed_answer_reaches_the_caller_while_ollama_is_still_writing() {
    let (s, served) = streamed(std::time::Duration::from_millis(100), &[]).await;
    let Served::Streaming(head, mut pieces) = served else { panic!("a streamed request is answered as a stream") };
    assert_eq!((head.status, head.content_type), (200, "application/x-ndjson"));
    let Some(Piece::Data(first)) = pieces.recv().await else { panic!("data comes first") };
    let written = s.ollama.written.load(std::sync::atomic::Ordering::SeqCst);
    assert!(written < 6, "the first chunk went out when Ollama had written {written} of its 6");
    let first: Value = serde_json::from_slice(&first).unwrap();
    assert_eq!(first["message"]["content"], "Sure");
    let mut rest = Vec::new();
    let mut outcome = None;
    while let Some(piece) = pieces.recv().await {
        match piece {
            Piece::Data(bytes) => rest.push(String::from_utf8(bytes.to_vec()).unwrap()),
            Piece::Done(o) => outcome = Some(o),
        }
    }
    assert_eq!(rest.len(), 5, "every other chunk, once: {rest:?}");
    let outcome = outcome.expect("the outcome comes last");
    assert_eq!((outcome.status, outcome.reason), (200, None));
    assert!(outcome.upstream_ms.unwrap() >= 500, "measured to the last chunk: {:?}", outcome.upstream_ms);
}

#[tokio::test]
async fn a_stream_that_outlasts_the_timeout_ends_with_an_error_line() {
    let (_s, served) = streamed(std::time::Duration::from_millis(400), &[("WARDEN_OLLAMA_TIMEOUT_SECONDS", "1")]).await;
    let (r, o) = served.collect().await;
    assert_eq!(r.status, 200, "the head went out before the timeout");
    let lines: Vec<Value> = r.body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(lines.len() >= 2, "what came in time, then the error: {}", r.body);
    assert_eq!(lines[0]["message"]["content"], "Sure");
    let last = lines.last().unwrap();
    assert_eq!(last["code"], "upstream_timeout");
    assert!(last["error"].as_str().unwrap().contains("did not answer within 1 s"), "{last}");
    assert_eq!(o.reason, Some("upstream_timeout"));
}

#[tokio::test]
async fn refused_requests_never_reach_ollama() {
    let s = setup().await;
    let guard = s.guard();
    for (sample, status, code) in [
        ("chat-prompt-injection.json", 400, "content_blocked"),
        ("chat-jailbreak-obfuscated.json", 400, "content_blocked"),
        ("chat-tag-smuggling.json", 400, "content_blocked"),
        ("chat-pii-restricted-model.json", 400, "content_blocked"),
        ("generate-raw-mode.json", 400, "field_refused"),
        ("generate-runner-options.json", 400, "field_refused"),
        ("pull-admin-endpoint.json", 403, "endpoint_not_allowed"),
        ("blobs-upload.json", 403, "endpoint_not_allowed"),
        ("chat-cloud-model.json", 403, "model_refused"),
        ("chat-unregistered-model.json", 403, "model_not_registered"),
        ("chat-no-identity.json", 401, "unauthenticated"),
    ] {
        let (r, o) = send(&guard, &sample_of("request-validator", sample)).await;
        assert_eq!((r.status, error_code(&r).as_str()), (status, code), "{sample}: {}", r.body);
        assert_eq!(o.reason, Some(code));
        // The response names the finding kinds, never the text that triggered them.
        if code == "content_blocked" {
            let v: Value = serde_json::from_str(&r.body).unwrap();
            assert!(!v["findings"].as_array().unwrap().is_empty(), "{sample}");
            assert!(!r.body.contains("4111") && !r.body.to_lowercase().contains("ignore all"), "{sample}: {}", r.body);
        }
    }
    let (_, o) = send(&guard, &sample_of("request-validator", "chat-prompt-injection.json")).await;
    assert!(o.injection);
    let (_, o) = send(&guard, &sample_of("request-validator", "chat-no-identity.json")).await;
    assert!(o.auth_failure);
    assert_eq!(s.ollama.received.count(), 0, "nothing refused was forwarded");
}

#[tokio::test]
async fn quotas_hold_across_instances_and_say_when_to_retry() {
    let s = setup().await;
    let policy = json!({"use_cases": {"customer_service": {"requests_per_window": 3, "tokens_per_window": 100000}},
        "quota_window_seconds": 3600})
    .to_string();
    // Two validator instances share the counters in DynamoDB.
    let a = s.guard_with(&[("WARDEN_VALIDATOR_POLICY", &policy)]);
    let b = s.guard_with(&[("WARDEN_VALIDATOR_POLICY", &policy)]);
    let event = sample_of("request-validator", "chat-allowed.json");
    assert_eq!(send(&a, &event).await.0.status, 200);
    assert_eq!(send(&b, &event).await.0.status, 200);
    assert_eq!(send(&a, &event).await.0.status, 200);
    let (r, o) = send(&b, &event).await;
    assert_eq!((r.status, error_code(&r).as_str()), (429, "quota_exceeded"), "{}", r.body);
    let retry: u64 = header(&r, "retry-after").unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry), "{retry}");
    assert_eq!(o.reason, Some("quota_exceeded"));
    assert_eq!(s.ollama.received.count(), 3);
    // The quota is charged before the content is scanned: over quota, even an attack costs
    // only the cheap checks (a refusal for the quota, not for the content).
    let mut attack = sample_of("request-validator", "chat-prompt-injection.json");
    attack["requestContext"]["authorizer"]["principalId"] = json!("team-support");
    let (r, o) = send(&a, &attack).await;
    assert_eq!((r.status, error_code(&r).as_str()), (429, "quota_exceeded"), "{}", r.body);
    assert!(o.findings.is_empty(), "nothing was scanned: {:?}", o.findings);

    // The token budget: one request that alone needs more than the budget.
    let tight =
        json!({"use_cases": {"customer_service": {"requests_per_window": 100, "tokens_per_window": 100}}}).to_string();
    let (r, _) = send(&s.guard_with(&[("WARDEN_VALIDATOR_POLICY", &tight)]), &event).await;
    assert_eq!((r.status, error_code(&r).as_str()), (413, "over_token_budget"));
}

#[tokio::test]
async fn registry_or_quota_store_down_fails_closed() {
    let s = setup().await;
    let event = sample_of("request-validator", "chat-allowed.json");
    // No table at all: the suspensions in force cannot be read, so nothing passes.
    let mut missing = setup_missing_table(&s);
    let (r, _) = send(&missing, &event).await;
    assert_eq!((r.status, error_code(&r).as_str()), (503, "restrictions_unavailable"), "{}", r.body);
    assert!(header(&r, "retry-after").is_some());

    // The registry unreadable (an entry that does not parse): refused, not served without it.
    let broken = |sk: &str, entry: &str| {
        s.ddb
            .put_item()
            .table_name(&s.table)
            .item("pk", aws_sdk_dynamodb::types::AttributeValue::S("REGISTRY".into()))
            .item("sk", aws_sdk_dynamodb::types::AttributeValue::S(sk.into()))
            .item("entry", aws_sdk_dynamodb::types::AttributeValue::S(entry.into()))
            .send()
    };
    broken("MODEL#registry.ollama.ai/library/zz-broken:latest", "{not json").await.unwrap();
    let (r, _) = send(&s.guard(), &event).await;
    assert_eq!((r.status, error_code(&r).as_str()), (503, "registry_unavailable"), "{}", r.body);
    s.ddb
        .delete_item()
        .table_name(&s.table)
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S("REGISTRY".into()))
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("MODEL#registry.ollama.ai/library/zz-broken:latest".into()),
        )
        .send()
        .await
        .unwrap();

    // Registry cached, then the table goes away: quotas cannot be counted, so nothing passes.
    let guard = s.guard();
    assert_eq!(send(&guard, &event).await.0.status, 200);
    s.ddb.delete_table().table_name(&s.table).send().await.unwrap();
    let (r, _) = send(&guard, &event).await;
    assert_eq!((r.status, error_code(&r).as_str()), (503, "quota_unavailable"), "{}", r.body);
    missing = s.guard_with(&[("WARDEN_REGISTRY_CACHE_SECONDS", "0")]);
    assert_eq!(send(&missing, &event).await.0.status, 503);
    assert_eq!(s.ollama.received.count(), 1);
}

fn setup_missing_table(s: &Setup) -> Guard {
    let vars = [
        ("WARDEN_TABLE_NAME", "no-such-table"),
        ("OLLAMA_URL", s.ollama.url.as_str()),
        ("WARDEN_IDENTITY_SOURCE", "authorizer"),
    ];
    let config =
        ValidatorConfig::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())).unwrap();
    request_guard(&config, &s.sdk)
}

fn with_model(event: &Value, model: &str) -> Value {
    let mut event = event.clone();
    let mut body: Value = serde_json::from_str(event["body"].as_str().unwrap()).unwrap();
    body["model"] = json!(model);
    event["body"] = json!(body.to_string());
    event
}

#[tokio::test]
async fn ollama_failures_become_clear_errors() {
    let s = setup().await;
    let event = sample_of("request-validator", "chat-allowed.json");
    let (r, _) = send(&s.guard(), &with_model(&event, "broken")).await;
    assert_eq!((r.status, error_code(&r).as_str()), (502, "upstream_error"), "{}", r.body);
    assert!(r.body.contains("llama runner process has terminated"));

    let (r, _) = send(&s.guard_with(&[("WARDEN_OLLAMA_TIMEOUT_SECONDS", "1")]), &with_model(&event, "slow")).await;
    assert_eq!((r.status, error_code(&r).as_str()), (504, "upstream_timeout"), "{}", r.body);

    // Registered but not pulled on the fleet: Ollama's 404, said as such.
    let (r, _) = send(&s.guard(), &with_model(&event, "coder-7b")).await;
    assert_eq!(r.status, 403, "coder-7b is not approved for customer_service: {}", r.body);

    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let vars = [
        ("WARDEN_TABLE_NAME", s.table.as_str()),
        ("OLLAMA_URL", closed.as_str()),
        ("WARDEN_IDENTITY_SOURCE", "authorizer"),
    ];
    let config =
        ValidatorConfig::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())).unwrap();
    let (r, _) = send(&request_guard(&config, &s.sdk), &event).await;
    assert_eq!((r.status, error_code(&r).as_str()), (502, "upstream_unavailable"), "{}", r.body);
}

#[tokio::test]
async fn registry_import_replaces_the_whole_registry() {
    let s = setup().await;
    let store = DynamoStore::new(s.ddb.clone(), &s.table);
    assert_eq!(store.models().await.unwrap().len(), 7);
    let fewer = parse_registry_yaml(REGISTRY).unwrap();
    let report = store.replace_models(&fewer[..2], Utc::now()).await.unwrap();
    assert_eq!(report.written, ["llama3-8b:latest", "coder-7b:latest"]);
    let mut removed = report.removed.clone();
    removed.sort();
    assert_eq!(removed, ["broken:latest", "leaky:latest", "legacy-13b:latest", "nomic-embed-text:v1.5", "slow:latest"]);
    let names: Vec<String> = store.models().await.unwrap().into_iter().map(|m| m.name.0).collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"coder-7b:latest".to_string()));
}

#[tokio::test]
async fn an_answer_that_leaks_a_key_is_cut_before_the_key() {
    let s = setup().await;
    let guard = s.guard();
    let mut event = sample_of("request-validator", "chat-allowed.json");
    let mut body: Value = serde_json::from_str(event["body"].as_str().unwrap()).unwrap();
    body["model"] = json!("leaky");
    body["stream"] = json!(true);
    event["body"] = json!(body.to_string());
    // Streamed: what came before the key, then one error line the client raises.
    let (r, o) = send(&guard, &event).await;
    assert_eq!(r.status, 200);
    let lines: Vec<Value> = r.body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.first().unwrap()["message"]["content"], "The deploy key");
    assert_eq!(lines.last().unwrap()["code"], "output_blocked");
    assert!(!r.body.contains("AKIA") && !r.body.contains("IOSFODNN7"), "{}", r.body);
    assert_eq!(o.reason, Some("output_blocked"));
    assert!(o.findings.iter().any(|f| f.kind.as_str() == "secret.aws_access_key"));
    // Not streamed: the answer is withheld.
    body["stream"] = json!(false);
    event["body"] = json!(body.to_string());
    let (r, _) = send(&guard, &event).await;
    assert_eq!((r.status, error_code(&r).as_str()), (502, "output_blocked"), "{}", r.body);
    assert!(!r.body.contains("AKIA"));
}

#[tokio::test]
async fn the_openai_sample_is_decided_as_the_native_chat() {
    let s = setup().await;
    // What the OpenAI SDK sends to /v1/chat/completions: decided as the native chat, answered in
    // OpenAI's shape.
    let (r, o) = send(&s.guard(), &sample_of("request-validator", "openai-chat-completions.json")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["choices"][0]["message"]["content"], "Sure, here is an answer.");
    assert_eq!(o.model.as_deref(), Some("llama3-8b:latest"));
    let (path, forwarded) = s.ollama.received.all().remove(0);
    assert_eq!(path, "/api/chat");
    assert_eq!(forwarded["options"]["num_predict"], 256, "max_tokens became num_predict");
}
