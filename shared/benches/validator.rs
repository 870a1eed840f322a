//! Validation latency of chat requests of 1 KB, 8 KB and 64 KB: the whole decision (parse the
//! gateway event's body, strict types, limits, registry, every content detector over the whole
//! text, re-serialisation), no I/O. Targets: p50 under 20 µs, 100 µs and 1 ms.
//! `cargo bench -p warden-shared --bench validator` (or `make bench`).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use warden::registry::{parse_registry_yaml, Registry};
use warden::validator::decision::{check, ValidatorPolicy};
use warden::validator::guard::normalise::normalise;
use warden::validator::guard::{injection, pii, scan_text, unicode};

// The prose and the requests the worst-case benchmark compares against.
#[allow(dead_code)]
#[path = "worst_case/inputs.rs"]
mod inputs;

use inputs::{prose as text_of, prose_chat as request};

const REGISTRY: &str = include_str!("../../events/request-validator/model-registry.yaml");

fn validation(c: &mut Criterion) {
    let registry = Registry { models: parse_registry_yaml(REGISTRY).unwrap() };
    let policy = ValidatorPolicy::default();
    let mut group = c.benchmark_group("validate_chat");
    for kb in [1usize, 8, 64] {
        let req = request(kb * 1024);
        assert!(check(&req, &policy, &registry).is_ok(), "the benchmark request must be admitted");
        group.throughput(Throughput::Bytes(req.body.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(format!("{kb}KB")), &req, |b, req| {
            b.iter(|| check(black_box(req), &policy, &registry))
        });
    }
    group.finish();
    // Each detector on 64 KB, to see where the time goes.
    let text = text_of(64 * 1024);
    let mut group = c.benchmark_group("detectors_64KB");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("all", |b| b.iter(|| scan_text(black_box(&text))));
    group.bench_function("normalise", |b| b.iter(|| normalise(black_box(&text))));
    let norm = normalise(&text);
    group.bench_function("injection", |b| b.iter(|| injection::scan(black_box(&text), &norm)));
    group.bench_function("unicode", |b| b.iter(|| unicode::scan(black_box(&text))));
    group.bench_function("pii", |b| b.iter(|| pii::scan(black_box(&text))));
    group.finish();
}

criterion_group!(benches, validation);
criterion_main!(benches);
