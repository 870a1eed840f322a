//! The validator under crafted input: every shape in `inputs.rs` at 64 KB and 1 MiB through the
//! whole decision (`check`: parse, limits, every detector over every text), beside prose of the
//! same size. Target: each crafted shape within 3× of prose. After criterion's report a table
//! gives each shape's ratio (best of 7 runs each, interleaved) and the run fails if one is over.
//! The output guard the same way: answers streamed in 4-byte chunks, crafted to be held back
//! (one long word, digit groups, PEM headers), beside a prose answer of the same size.
//! `cargo bench -p warden-shared --no-default-features --bench worst_case` (part of `make bench`).

mod inputs;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};

use warden::http::HttpRequest;
use warden::registry::{parse_registry_yaml, Registry};
use warden::validator::decision::{check, Thresholds, ValidatorPolicy};
use warden::validator::output;

const REGISTRY: &str = include_str!("../../../events/request-validator/model-registry.yaml");
const SIZES: [(usize, &str); 2] = [(64 * 1024, "64KB"), (1024 * 1024, "1MiB")];
const TARGET_RATIO: f64 = 3.0;

/// Every shape as a request whose body is at most `bytes` (the body limit, by default 1 MiB):
/// texts that JSON escapes (newlines, quotes) are made shorter until the body fits.
fn shapes(bytes: usize) -> Vec<(&'static str, HttpRequest)> {
    let room = bytes - 512;
    let mut all = vec![("prose", fit(room, inputs::prose_chat))];
    for (i, (name, _)) in inputs::crafted(64).into_iter().enumerate() {
        all.push((name, fit(room, |n| inputs::chat_of(&inputs::crafted(n).swap_remove(i).1))));
    }
    for (i, (name, _)) in inputs::crafted_requests(64 * 1024).into_iter().enumerate() {
        all.push((name, fit(room, |n| inputs::crafted_requests(n).swap_remove(i).1)));
    }
    for (name, req) in &all {
        assert!(req.body.len() <= bytes, "{name}: {} bytes is over the body limit", req.body.len());
    }
    all
}

/// The request `make` builds for `room` bytes of content, built smaller if its body would not
/// fit in `room` (JSON escapes newlines and quotes; messages add their keys).
fn fit(room: usize, make: impl Fn(usize) -> HttpRequest) -> HttpRequest {
    let req = make(room);
    if req.body.len() <= room {
        return req;
    }
    make(room * room / req.body.len() - 1024)
}

fn best_of(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// An answer of `bytes` of text as Ollama streams it: NDJSON chat chunks of 4 bytes.
fn streamed(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 24);
    let chars: Vec<char> = text.chars().collect();
    for piece in chars.chunks(4) {
        let piece: String = piece.iter().collect();
        out.push_str(
            &serde_json::json!({"message": {"role": "assistant", "content": piece}, "done": false}).to_string(),
        );
        out.push('\n');
    }
    out.push_str("{\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true}\n");
    out
}

/// The output guard on crafted streamed answers, each against prose of the same size.
fn output_guard_ratios() -> Vec<(&'static str, &'static str, usize, String, Duration, f64)> {
    let block = Thresholds { injection: None, unicode: None, pii: Some(0.6), secret: Some(0.8) };
    let flag = Thresholds { injection: None, unicode: None, pii: Some(0.6), secret: Some(0.5) };
    let mut rows = Vec::new();
    for (bytes, label) in SIZES {
        let repeat = |unit: &str| unit.repeat(bytes / unit.len());
        let prose = streamed(&inputs::prose(bytes));
        let shapes = [
            ("answer: one long word", streamed(&repeat("abcdefgh"))),
            ("answer: digit groups", streamed(&repeat("12 "))),
            ("answer: PEM headers", streamed(&repeat("-----BEGIN "))),
            ("answer: newlines", streamed(&repeat("\n"))),
        ];
        let time = |body: &str| best_of(5, || drop(black_box(output::guard(black_box(body), true, &block, &flag))));
        for (name, body) in &shapes {
            let base = time(&prose);
            let crafted = time(body);
            let verdict = if output::guard(body, true, &block, &flag).blocked.is_empty() { "passed" } else { "cut" };
            rows.push((
                label,
                *name,
                body.len(),
                verdict.to_string(),
                crafted,
                crafted.as_secs_f64() / base.as_secs_f64(),
            ));
        }
    }
    rows
}

fn main() {
    let registry = Registry { models: parse_registry_yaml(REGISTRY).expect("the sample registry parses") };
    let policy = ValidatorPolicy::default();
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .configure_from_args();
    let mut table = Vec::new();
    for (bytes, label) in SIZES {
        let all = shapes(bytes);
        let mut group = c.benchmark_group(format!("worst_case_{label}"));
        for (name, req) in &all {
            group.throughput(Throughput::Bytes(req.body.len() as u64));
            group.bench_with_input(BenchmarkId::from_parameter(name), req, |b, req| {
                b.iter(|| check(black_box(req), &policy, &registry))
            });
        }
        group.finish();
        // Ratios, prose timed between shapes so drift in the machine hits both alike.
        let time = |req: &HttpRequest| best_of(7, || drop(black_box(check(black_box(req), &policy, &registry))));
        assert!(check(&all[0].1, &policy, &registry).is_ok(), "the prose request must be admitted");
        for (name, req) in all.iter().skip(1) {
            let prose = time(&all[0].1);
            let crafted = time(req);
            let verdict = match check(req, &policy, &registry) {
                Ok(_) => "admitted".to_string(),
                Err(refusal) => refusal.code.to_string(),
            };
            table.push((label, *name, req.body.len(), verdict, crafted, crafted.as_secs_f64() / prose.as_secs_f64()));
        }
    }
    table.extend(output_guard_ratios());
    c.final_summary();
    println!("\n{:<6} {:<28} {:>9} {:<20} {:>10} {:>7}", "size", "shape", "bytes", "verdict", "time", "×prose");
    let mut over = Vec::new();
    for (label, name, bytes, verdict, time, ratio) in &table {
        println!("{label:<6} {name:<28} {bytes:>9} {verdict:<20} {:>8.3}ms {ratio:>6.2}×", time.as_secs_f64() * 1e3);
        if *ratio > TARGET_RATIO {
            over.push(format!("{label} {name} ({ratio:.2}×)"));
        }
    }
    if !over.is_empty() {
        eprintln!("over the {TARGET_RATIO}× target: {}", over.join(", "));
        std::process::exit(1);
    }
    println!("every crafted shape within {TARGET_RATIO}× of prose of the same size");
}
