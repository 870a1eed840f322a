//! Validation latency of chat requests of 1 KB, 8 KB and 64 KB: the whole decision (parse the
//! gateway event's body, strict types, limits, registry, every content detector over the whole
//! text, re-serialisation), no I/O. Targets: p50 under 20 µs, 100 µs and 1 ms.
//! `cargo bench -p warden-shared --bench validator` (or `make bench`).

use std::collections::HashMap;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use serde_json::json;

use warden::http::{AuthSource, Caller, HttpRequest, PayloadVersion};
use warden::registry::{parse_registry_yaml, Registry};
use warden::validator::decision::{check, ValidatorPolicy};
use warden::validator::guard::normalise::normalise;
use warden::validator::guard::{injection, pii, scan_text, unicode};

const REGISTRY: &str = include_str!("../../events/request-validator/model-registry.yaml");

/// Realistic support-desk text: prose, a log excerpt, a little code, some non-ASCII.
const PARAGRAPHS: &[&str] = &[
    "Hello, I am writing about my order from last week. The package arrived with a damaged box and the charger inside does not work when I plug it in. ",
    "I already tried a different outlet and a different cable, and I restarted the device twice as the manual suggests, but nothing changed. ",
    "Here is what the diagnostics page printed: `ERR 0x1F power negotiation failed (5V/3A expected, 0V measured)` followed by a reboot loop. ",
    "Could you tell me whether this is covered by the warranty, and how long a replacement usually takes? I need it before my trip to München next month. ",
    "For reference, the serial number on the sticker is SN-48213-B and the invoice number is INV-2026-0042. Thanks a lot for your help — best regards. ",
    "fn main() { let total: u32 = items.iter().map(|i| i.price).sum(); println!(\"{total}\"); } ",
];

fn text_of(bytes: usize) -> String {
    let mut text = String::with_capacity(bytes + 256);
    let mut i = 0;
    while text.len() < bytes {
        text.push_str(PARAGRAPHS[i % PARAGRAPHS.len()]);
        i += 1;
    }
    text.truncate(text.floor_char_boundary(bytes));
    text
}

fn request(bytes: usize) -> HttpRequest {
    // A conversation: the size is spread over several turns, as real chats are.
    let turns = (bytes / 4096).clamp(1, 16);
    let per_turn = bytes / turns;
    let messages: Vec<_> = (0..turns)
        .map(|t| json!({"role": if t % 2 == 0 { "user" } else { "assistant" }, "content": text_of(per_turn)}))
        .collect();
    let body = json!({"model": "llama3-8b", "messages": messages, "stream": false, "options": {"num_predict": 256, "temperature": 0.2}});
    HttpRequest {
        version: PayloadVersion::Rest,
        method: "POST".into(),
        path: "/api/chat".into(),
        headers: HashMap::from([("content-type".into(), "application/json".into())]),
        body: body.to_string().into_bytes(),
        caller: Some(Caller {
            id: "team-support".into(),
            use_case: Some("internal_use".into()),
            source: AuthSource::LambdaAuthorizer,
        }),
        request_id: "bench".into(),
        source_ip: None,
        query: String::new(),
        user_agent: None,
    }
}

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
    // Crafted input beside prose of the same size: one letter between gaps that are all
    // different (two private-use characters each) once made the spaced-letter merge quadratic.
    let crafted = spaced_letters_with_distinct_gaps(64 * 1024);
    let mut group = c.benchmark_group("worst_case_64KB");
    group.throughput(Throughput::Bytes(crafted.len() as u64));
    group.bench_function("normalise_prose", |b| b.iter(|| normalise(black_box(&text))));
    group.bench_function("normalise_spaced_distinct_gaps", |b| b.iter(|| normalise(black_box(&crafted))));
    group.bench_function("scan_spaced_distinct_gaps", |b| b.iter(|| scan_text(black_box(&crafted))));
    group.finish();
}

/// `x` + two private-use characters, every pair different, up to `bytes`.
fn spaced_letters_with_distinct_gaps(bytes: usize) -> String {
    let mut s = String::with_capacity(bytes + 8);
    let mut i = 0u32;
    while s.len() < bytes {
        s.push('x');
        s.push(char::from_u32(0xE000 + i / 6400).expect("private use"));
        s.push(char::from_u32(0xE000 + i % 6400).expect("private use"));
        i += 1;
    }
    s
}

criterion_group!(benches, validation);
criterion_main!(benches);
