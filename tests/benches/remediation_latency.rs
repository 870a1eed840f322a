//! End-to-end remediation latency against the local AWS: from the parsed event to the returned
//! report, through every AWS call a real remediation makes (describe, exemptions, record, steps,
//! revoke, finish, publish). `make bench` runs it with the local AWS up.
//!
//! The local AWS answers in milliseconds, as AWS does in-region; the figure is Warden's own
//! cost plus one round trip per call, which is what "contained in seconds" rests on.

use std::time::{Duration, Instant};

use chrono::Utc;

use warden::edge::events::{parse_event, Request};
use warden_integration_tests::{tcp, Fixture, Source};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let f = Fixture::in_region("ca-central-1").await;
    let executor = f.executor(false);
    let runs = 40;
    let mut samples = Vec::with_capacity(runs);
    for i in 0..runs {
        let group = f.new_group("bench").await;
        f.allow(&group, tcp(11434, 11434, Source::V4("0.0.0.0/0"), "open")).await;
        f.allow(&group, tcp(22, 22, Source::V6("::/0"), "open")).await;
        f.allow(&group, tcp(443, 443, Source::V4("0.0.0.0/0"), "keep")).await;
        let mut event = f.sample("cloudtrail-authorize-sg-ingress-11434.json");
        event["id"] = format!("bench-{i}-{}", Utc::now().timestamp_nanos_opt().unwrap_or_default()).into();
        event["detail"]["requestParameters"]["groupId"] = group.clone().into();
        event["detail"]["responseElements"]["securityGroupRuleSet"]["items"][0]["groupId"] = group.clone().into();
        let raw = event.to_string();
        let start = Instant::now();
        let Request::Remediate(trigger) = parse_event(&event).unwrap() else { panic!("sample must remediate") };
        let report = executor.remediate(trigger, &raw, Utc::now()).await.expect("remediation");
        samples.push(start.elapsed());
        assert_eq!(report.revoked.len(), 2, "{report:#?}");
    }
    samples.sort();
    println!(
        "CloudTrail event -> 2 rules revoked, recorded, notified: p50 {:.1?}  p95 {:.1?}  max {:.1?}  ({runs} runs, local AWS)",
        percentile(&samples, 0.5),
        percentile(&samples, 0.95),
        samples[samples.len() - 1]
    );

    // A sweep of the whole region: 40 groups already fixed plus 20 newly opened ones.
    for _ in 0..20 {
        let group = f.new_group("bench-sweep").await;
        f.allow(&group, tcp(0, 65535, Source::V4("0.0.0.0/0"), "open")).await;
    }
    let mut sweep = f.sample("scheduled-sweep.json");
    sweep["id"] = format!("bench-sweep-{}", Utc::now().timestamp_nanos_opt().unwrap_or_default()).into();
    let start = Instant::now();
    let Request::Remediate(trigger) = parse_event(&sweep).unwrap() else { panic!() };
    let report = executor.remediate(trigger, &sweep.to_string(), Utc::now()).await.expect("sweep");
    println!(
        "Sweep of {} rules in the region -> {} rules revoked in {} groups: {:.1?}",
        report.rules_checked,
        report.revoked.len(),
        report.groups.len(),
        start.elapsed()
    );
}
