//! Time to first byte of a streamed answer through the request validator's release binary, as
//! Lambda runs it (a stand-in of the runtime API), against an Ollama stand-in that writes six
//! chunks 50 ms apart (its last chunk at ~300 ms). Side by side in one run: the same binary in
//! streaming mode (`WARDEN_RESPONSE_MODE=stream`, what the CDK app deploys) and buffered (the
//! whole answer, as before). Target: in streaming mode the first byte reaches the caller before
//! Ollama's last chunk, at p95. Needs the local AWS (registry, quotas) and the release binary:
//! `make bench`.

use std::time::{Duration, Instant};

use chrono::Utc;

use warden::aws::DynamoStore;
use warden::registry::parse_registry_yaml;
use warden::registry::ports::ModelRegistryStore;
use warden_integration_tests::fake_ollama::FakeOllama;
use warden_integration_tests::lambda_runtime_api::{Answer, FunctionProcess, RuntimeApi};
use warden_integration_tests::{new_table, sample_of, sdk};

const REGISTRY: &str = include_str!("../../events/request-validator/model-registry.yaml");
const PACE: Duration = Duration::from_millis(50);
const CHUNKS: u32 = 6;
const RUNS: usize = 30;

/// The validator in `mode`, against the runtime API, the local AWS and the paced Ollama.
fn start(binary: &std::path::Path, api: &RuntimeApi, table: &str, ollama: &str, mode: &str) -> FunctionProcess {
    // The bench sends more requests than one caller's default quota allows.
    let policy = r#"{"default_use_case": {"requests_per_window": 100000, "tokens_per_window": 100000000}}"#;
    api.start_function(
        binary,
        &[
            ("WARDEN_TABLE_NAME", table),
            ("OLLAMA_URL", ollama),
            ("WARDEN_IDENTITY_SOURCE", "authorizer"),
            ("WARDEN_RESPONSE_MODE", mode),
            ("WARDEN_VALIDATOR_POLICY", policy),
        ],
    )
}

/// One streamed chat: (time to the first body byte, time to the last).
async fn one(api: &RuntimeApi) -> (Duration, Duration) {
    let started = Instant::now();
    match api.invoke(sample_of("request-validator", "chat-streamed.json")).await {
        Answer::Streamed { prelude, mut body } => {
            assert_eq!(prelude["statusCode"], 200, "{prelude}");
            let (first, _) = body.recv().await.expect("a body");
            let mut last = first;
            while let Some((at, _)) = body.recv().await {
                last = at;
            }
            (first - started, last - started)
        }
        Answer::Buffered(v) => {
            assert_eq!(v["statusCode"], 200, "{v}");
            let at = started.elapsed();
            (at, at)
        }
        Answer::Failed(e) => panic!("the function failed: {e}"),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let binary = target.join("release/request-validator");
    if !binary.exists() {
        eprintln!("{} is missing: run `cargo build --release --bin request-validator` first", binary.display());
        std::process::exit(2);
    }
    let sdk = sdk("us-east-1").await;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let table = new_table(&ddb).await;
    DynamoStore::new(ddb, &table).replace_models(&parse_registry_yaml(REGISTRY).unwrap(), Utc::now()).await.unwrap();
    let ollama = FakeOllama::start_paced(0, PACE).await.unwrap();
    let last_chunk = PACE * (CHUNKS);
    println!(
        "Ollama stand-in: {CHUNKS} chunks, {} ms apart (its last chunk at ~{} ms); {RUNS} requests per mode",
        PACE.as_millis(),
        last_chunk.as_millis()
    );
    println!("{:<10} {:>12} {:>12} {:>12} {:>12}", "mode", "TTFB p50", "TTFB p95", "last p50", "last p95");
    let mut streamed_p95 = Duration::MAX;
    for mode in ["stream", "buffered"] {
        let api = RuntimeApi::start().await.unwrap();
        let _function = start(&binary, &api, &table, &ollama.url, mode);
        one(&api).await; // warm: the registry read, the connection to Ollama
        let mut first = Vec::new();
        let mut last = Vec::new();
        for _ in 0..RUNS {
            let (f, l) = one(&api).await;
            first.push(f);
            last.push(l);
        }
        first.sort();
        last.sort();
        let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1e3);
        println!(
            "{mode:<10} {:>12} {:>12} {:>12} {:>12}",
            ms(percentile(&first, 0.5)),
            ms(percentile(&first, 0.95)),
            ms(percentile(&last, 0.5)),
            ms(percentile(&last, 0.95))
        );
        if mode == "stream" {
            streamed_p95 = percentile(&first, 0.95);
        }
    }
    if streamed_p95 >= last_chunk {
        eprintln!("streaming: the first byte (p95 {streamed_p95:?}) did not arrive before Ollama's last chunk ({last_chunk:?})");
        std::process::exit(1);
    }
    println!(
        "streaming: the first byte reaches the caller before Ollama's last chunk (p95 {:.1} ms < {} ms)",
        streamed_p95.as_secs_f64() * 1e3,
        last_chunk.as_millis()
    );
}
