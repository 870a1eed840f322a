//! Planner and parser throughput: the pure part of a remediation, with no AWS in the way.
//! `cargo bench -p warden-shared --bench planner` (or `make bench`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::Value;

use warden::edge::events::parse_event;
use warden::exposure::plan::plan_exposure_remediation;
use warden::exposure::plan::{Exemption, ExemptionTarget, Trigger, TriggerKind};
use warden::exposure::{
    ExposureDefinition, IngressRule, RuleContext, RuleSource, SensitivePort, DEFAULT_MAX_PUBLIC_SHARE,
};

/// Run `f` repeatedly for about `budget` and return the mean time per call.
fn measure(budget: Duration, mut f: impl FnMut()) -> (Duration, u64) {
    for _ in 0..10 {
        f();
    }
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget {
        f();
        n += 1;
    }
    (start.elapsed() / n as u32, n)
}

fn account(groups: usize, rules_per_group: usize) -> Vec<IngressRule> {
    let mut rules = Vec::with_capacity(groups * rules_per_group);
    for g in 0..groups {
        for r in 0..rules_per_group {
            let (proto, from, to, source) = match r % 5 {
                0 => ("tcp", 11434, 11434, RuleSource::CidrIpv4("0.0.0.0/0".into())),
                1 => ("tcp", 443, 443, RuleSource::CidrIpv4("0.0.0.0/0".into())),
                2 => ("tcp", 22, 22, RuleSource::CidrIpv6("2001:db8::/32".into())),
                3 => ("-1", -1, -1, RuleSource::SecurityGroup(format!("sg-{g:017x}"))),
                _ => ("tcp", 8000, 9000, RuleSource::CidrIpv6("::/0".into())),
            };
            rules.push(IngressRule {
                group_id: format!("sg-{g:017x}"),
                rule_id: format!("sgr-{g:08x}{r:09x}"),
                ip_protocol: proto.into(),
                from_port: from,
                to_port: to,
                source,
                description: Some("benchmark rule".into()),
                tags: Default::default(),
            });
        }
    }
    rules
}

fn main() {
    let budget = Duration::from_secs(2);
    let sample: Value =
        serde_json::from_str(include_str!("../../events/remediator/cloudtrail-authorize-sg-ingress-11434.json"))
            .unwrap();
    let (parse, n) = measure(budget, || {
        black_box(parse_event(black_box(&sample)).unwrap());
    });
    println!("parse CloudTrail event                      {:>10.2?} /event   ({n} runs)", parse);

    let definition = ExposureDefinition {
        sensitive_ports: vec![SensitivePort::new(11434), SensitivePort::new(22)],
        max_public_share: DEFAULT_MAX_PUBLIC_SHARE,
    };
    let lists = RuleContext::default();
    let now = Utc::now();
    for (groups, per_group, exemptions) in [(1, 10, 0), (100, 10, 10), (1000, 10, 100)] {
        let rules = account(groups, per_group);
        let ex: Vec<Exemption> = (0..exemptions)
            .map(|g| Exemption {
                group_id: format!("sg-{g:017x}"),
                target: ExemptionTarget::Group,
                granted_for: None,
                ports: vec![11434, 22],
                granted_by: "bench".into(),
                reason: "bench".into(),
                created_at: now,
                expires_at: now + chrono::Duration::days(1),
            })
            .collect();
        let trigger = Trigger::new("bench", TriggerKind::ScheduledSweep { rule: "bench".into() }, now);
        let (t, n) = measure(budget, || {
            black_box(plan_exposure_remediation(trigger.clone(), black_box(&rules), &lists, &ex, &definition, now));
        });
        println!(
            "plan {:>5} rules in {:>4} groups, {:>3} exempt {:>10.2?} /plan    ({n} runs, {:.0} rules/ms)",
            rules.len(),
            groups,
            exemptions,
            t,
            rules.len() as f64 / t.as_secs_f64() / 1000.0
        );
    }
}
