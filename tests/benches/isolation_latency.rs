//! Time-to-containment of a compromised GPU node, against the local AWS with a fixed latency
//! added in front of every AWS call (the real adapters, the real HTTP client, one more hop).
//!
//! Reports, per run: time-to-containment (event received -> quarantine group on every
//! interface), the number of sequential AWS round trips before containment, the AWS calls
//! made, and total handler time. `make bench` runs it; `WARDEN_BENCH_LATENCY_MS` sets the
//! added latency (default 50).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use chrono::Utc;

use warden::aws::wiring::isolation_executor;
use warden::edge::events::{parse_event, Request};
use warden_integration_tests::Fixture;

type CallLog = Arc<Mutex<Vec<(Instant, Instant)>>>;

#[derive(Debug, Clone)]
struct DelayedClient {
    inner: SharedHttpClient,
    delay: Duration,
    log: CallLog,
}

#[derive(Debug)]
struct DelayedConnector {
    inner: SharedHttpConnector,
    delay: Duration,
    log: CallLog,
}

impl HttpClient for DelayedClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(DelayedConnector {
            inner: self.inner.http_connector(settings, components),
            delay: self.delay,
            log: self.log.clone(),
        })
    }
}

impl HttpConnector for DelayedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let (inner, delay, log) = (self.inner.clone(), self.delay, self.log.clone());
        HttpConnectorFuture::new(async move {
            let start = Instant::now();
            tokio::time::sleep(delay).await;
            let response = inner.call(request).await;
            log.lock().unwrap().push((start, Instant::now()));
            response
        })
    }
}

/// The longest chain of calls, each starting after the previous ended, that ends by `by`.
fn sequential_round_trips(calls: &[(Instant, Instant)], by: Instant) -> usize {
    let mut calls: Vec<_> = calls.iter().filter(|(_, end)| *end <= by).copied().collect();
    calls.sort_by_key(|(start, _)| *start);
    let mut depth = vec![1usize; calls.len()];
    for i in 0..calls.len() {
        for j in 0..i {
            if calls[j].1 <= calls[i].0 {
                depth[i] = depth[i].max(depth[j] + 1);
            }
        }
    }
    depth.into_iter().max().unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let latency_ms: u64 = std::env::var("WARDEN_BENCH_LATENCY_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(50);
    let region = "eu-central-1";
    let f = Fixture::in_region(region).await;
    let log: CallLog = Arc::default();
    let delayed = DelayedClient {
        inner: aws_smithy_http_client::Builder::new().build_http(),
        delay: Duration::from_millis(latency_ms),
        log: log.clone(),
    };
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region))
        .http_client(delayed)
        .load()
        .await;
    let executor = isolation_executor(&f.config(false), &sdk);

    println!("isolation against the local AWS with {latency_ms} ms added to every AWS call:");
    let mut warm = Vec::new();
    for run in 0..6 {
        let node = f.gpu_node().await;
        let mut event = f.sample_for_instance("guardduty-cryptocurrency-bitcointool-dns-high.json", &node.instance_id);
        event["id"] = format!("bench-{run}-{}", Utc::now().timestamp_nanos_opt().unwrap_or_default()).into();
        log.lock().unwrap().clear();
        let received = Instant::now();
        let Request::Isolate(trigger) = parse_event(&event).unwrap() else { panic!("sample must isolate") };
        let report = executor.isolate(trigger, received, Utc::now()).await.expect("isolation");
        assert_eq!(report.status, "isolated", "{report:#?}");
        let ttc = report.time_to_containment_ms.expect("contained");
        let calls = log.lock().unwrap().clone();
        let trips = sequential_round_trips(&calls, received + Duration::from_millis(ttc));
        let label = if run == 0 { "first in the VPC (creates the quarantine groups)" } else { "warm (groups known)" };
        println!(
            "  run {run}: time-to-containment {ttc:>4} ms, {trips} sequential round trips before containment, {:>2} AWS calls, handler {:>4} ms  [{label}]",
            calls.len(),
            report.duration_ms
        );
        if run > 0 {
            warm.push((ttc, trips, report.duration_ms, calls.len()));
        }
    }
    warm.sort();
    let (ttc, trips, handler, calls) = warm[warm.len() / 2];
    println!("  median warm run: time-to-containment {ttc} ms ({trips} round trips), handler {handler} ms, {calls} AWS calls");

    // A new VPC of the fleet, readied by a sweep; then its first incident, in a fresh process
    // (nothing cached): the groups are found beside the record, not created before the swap.
    let g = Fixture::in_region(region).await;
    let node = g.gpu_node().await;
    let sweep = isolation_executor(&g.config(false), &sdk);
    let readiness = sweep.prepare_quarantine().await.expect("quarantine groups readied");
    assert!(readiness.ready.contains(&g.vpc_id), "{readiness:?}");
    let fresh = isolation_executor(&g.config(false), &sdk);
    let mut event = g.sample_for_instance("guardduty-cryptocurrency-bitcointool-dns-high.json", &node.instance_id);
    event["id"] = format!("bench-prepared-{}", Utc::now().timestamp_nanos_opt().unwrap_or_default()).into();
    log.lock().unwrap().clear();
    let received = Instant::now();
    let Request::Isolate(trigger) = parse_event(&event).unwrap() else { panic!("sample must isolate") };
    let report = fresh.isolate(trigger, received, Utc::now()).await.expect("isolation");
    assert_eq!(report.status, "isolated", "{report:#?}");
    let ttc = report.time_to_containment_ms.expect("contained");
    let calls = log.lock().unwrap().clone();
    let trips = sequential_round_trips(&calls, received + Duration::from_millis(ttc));
    println!(
        "  first in a VPC the sweep readied, fresh process: time-to-containment {ttc:>4} ms, {trips} sequential round trips before containment, {:>2} AWS calls, handler {:>4} ms",
        calls.len(),
        report.duration_ms
    );
}
