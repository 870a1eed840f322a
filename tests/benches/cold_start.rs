//! Cold start of the request validator's release binary: from process start to the first
//! "next invocation" request on the Lambda runtime API (config read, SDK configured, clients
//! built), measured against a local stand-in of the runtime API. Needs the release binary:
//! `cargo build --release --bin request-validator` (or `make bench`).

use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn binary() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let path = target.join("release/request-validator");
    if !path.exists() {
        eprintln!("{} is missing: run `cargo build --release --bin request-validator` first", path.display());
        std::process::exit(2);
    }
    path
}

fn one_start(bin: &PathBuf) -> Duration {
    let api = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = api.local_addr().unwrap();
    let started = Instant::now();
    let mut child = Command::new(bin)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "request-validator")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/request-validator")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("WARDEN_TABLE_NAME", "warden")
        .env("OLLAMA_URL", "http://127.0.0.1:11434")
        .env("WARDEN_IDENTITY_SOURCE", "iam")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the validator");
    // Ready = the runtime asks for its first event.
    let (mut conn, _) = api.accept().unwrap();
    let elapsed = started.elapsed();
    let mut buf = [0u8; 512];
    let n = conn.read(&mut buf).unwrap_or(0);
    assert!(String::from_utf8_lossy(&buf[..n]).contains("/runtime/invocation/next"), "unexpected first request");
    let _ = child.kill();
    let _ = child.wait();
    elapsed
}

fn main() {
    let bin = binary();
    let size = std::fs::metadata(&bin).map(|m| m.len()).unwrap_or(0);
    one_start(&bin); // page cache warm, as a re-used Lambda host is
    let mut runs: Vec<Duration> = (0..30).map(|_| one_start(&bin)).collect();
    runs.sort();
    let pct = |p: usize| runs[(runs.len() * p / 100).min(runs.len() - 1)];
    println!(
        "request-validator cold start (process start → first runtime API call), {} runs, binary {:.1} MB:\n  p50 {:.1} ms   p95 {:.1} ms   min {:.1} ms",
        runs.len(),
        size as f64 / 1e6,
        pct(50).as_secs_f64() * 1e3,
        pct(95).as_secs_f64() * 1e3,
        runs[0].as_secs_f64() * 1e3
    );
}
