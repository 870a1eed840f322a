//! World-open security-group exposure, remediated end to end against the local AWS.

use chrono::{Duration, Utc};
use serde_json::Value;

use warden::edge::events::{parse_event, Request, UNDO_DETAIL_TYPE};
use warden::exposure::executor::Report;
use warden::exposure::plan::{Exemption, ExemptionTarget, RemediationStatus, RuleSpec, StepStatus};
use warden::exposure::ports::AuditStore;
use warden::exposure::IngressRule;
use warden::operator::Admission;
use warden_integration_tests::{
    operator_request, operator_session, tcp, AwsExecutor, Fixture, Rule, Source, OPERATOR_ROLE,
};

async fn run(executor: &AwsExecutor, event: &Value) -> Report {
    match parse_event(event).expect("sample parses") {
        Request::Remediate(trigger) => {
            executor.remediate(trigger, &event.to_string(), Utc::now()).await.expect("remediation")
        }
        Request::Ignore { event_id, reason } => Report::ignored(&event_id, &reason),
        other => panic!("not an exposure event: {other:?}"),
    }
}

/// The account of the demo: an Ollama group open to the world beside legitimate rules.
struct Seeded {
    offending: Vec<String>,
    legitimate: Vec<String>,
}

async fn seed(f: &Fixture) -> Seeded {
    let peer = f.new_group("alb").await;
    let offending = vec![
        f.allow(&f.group_id, tcp(11434, 11434, Source::V4("0.0.0.0/0"), "quick test from home")).await,
        f.allow(&f.group_id, tcp(22, 22, Source::V6("::/0"), "ssh for debugging")).await,
        f.allow(&f.group_id, tcp(11000, 12000, Source::V4("0.0.0.0/0"), "range covering ollama")).await,
        f.allow(
            &f.group_id,
            Rule {
                protocol: "-1",
                from: -1,
                to: -1,
                source: Source::V6("::/0"),
                description: "all traffic",
                tag: Some(("ticket", "OPS-7")),
            },
        )
        .await,
    ];
    let legitimate = vec![
        f.allow(&f.group_id, tcp(443, 443, Source::V4("0.0.0.0/0"), "public HTTPS")).await,
        f.allow(&f.group_id, tcp(11434, 11434, Source::V4("10.40.0.0/16"), "ollama from the VPC")).await,
        f.allow(&f.group_id, tcp(22, 22, Source::V6("2001:db8::/32"), "ssh from the office")).await,
        f.allow(&f.group_id, tcp(11434, 11434, Source::Group(&peer), "ollama from the ALB")).await,
        f.allow(
            &f.group_id,
            Rule {
                protocol: "udp",
                from: 22,
                to: 22,
                source: Source::V4("0.0.0.0/0"),
                description: "udp is not ssh",
                tag: None,
            },
        )
        .await,
    ];
    Seeded { offending, legitimate }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// A rule without its id: what an exact undo must bring back.
fn spec(r: &IngressRule) -> IngressRule {
    IngressRule { rule_id: String::new(), ..r.clone() }
}

#[tokio::test]
async fn cloudtrail_event_revokes_exactly_the_offending_rules_records_and_notifies() {
    let f = Fixture::new().await;
    let seeded = seed(&f).await;
    let before = f.rules(&f.group_id).await;
    let executor = f.executor(false);

    let report = run(&executor, &f.sample("cloudtrail-authorize-sg-ingress-11434.json")).await;

    assert_eq!(report.status, "completed", "{report:#?}");
    assert_eq!(sorted(report.revoked.iter().map(|r| r.rule_id.clone()).collect()), sorted(seeded.offending.clone()));
    assert_eq!(f.rule_ids(&f.group_id).await, sorted(seeded.legitimate.clone()), "legitimate rules stay");

    // Audit: the record with the raw event and the plan's full rule specs, and a step per rule.
    let id = report.remediation_id.clone().unwrap();
    let record = executor.store.remediation(&id).await.unwrap().expect("record");
    assert_eq!(record.status, RemediationStatus::Completed);
    assert!(record.notified);
    assert!(record.event.contains("AuthorizeSecurityGroupIngress"));
    for planned in record.plan.revocations() {
        let original = before.iter().find(|r| r.rule_id == planned.rule_id).unwrap();
        assert_eq!(planned, original, "the plan records the full spec");
    }
    let steps = executor.store.steps(&id, false).await.unwrap();
    assert_eq!(steps.len(), seeded.offending.len());
    assert!(steps.iter().all(|s| s.status == StepStatus::Done));

    // Notified: one message, readable, naming the group, the rules and the undo.
    let published = f.published();
    assert_eq!(published.len(), 1, "{published:?}");
    let (subject, message) = &published[0];
    assert!(subject.contains("Revoked 4") && subject.contains(&f.group_id), "{subject}");
    let body: Value = serde_json::from_str(message).expect("MessageStructure=json body");
    let text = body["default"].as_str().unwrap();
    assert!(text.contains(&format!("warden undo {id}")), "{text}");
    assert!(text.contains("11434") && text.contains("::/0"), "{text}");
    let facts: Value = serde_json::from_str(body["sqs"].as_str().unwrap()).unwrap();
    assert_eq!(facts["remediation_id"], id.as_str());
    assert_eq!(facts["revoked"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn a_replayed_event_changes_nothing() {
    let f = Fixture::in_region("eu-west-3").await;
    seed(&f).await;
    let executor = f.executor(false);
    let event = f.sample("cloudtrail-authorize-sg-ingress-ssh-ipv6.json");
    let first = run(&executor, &event).await;
    assert_eq!(first.status, "completed");

    // Someone opens SSH again; the replay of the *old* event must not act on it.
    let reopened = f.allow(&f.group_id, tcp(22, 22, Source::V4("0.0.0.0/0"), "again")).await;
    let replay = run(&executor, &event).await;
    assert!(replay.duplicate, "{replay:#?}");
    assert!(replay.revoked.is_empty());
    assert_eq!(replay.remediation_id, first.remediation_id);
    assert!(f.rule_ids(&f.group_id).await.contains(&reopened));
    assert_eq!(f.published().len(), 1, "one notification for one remediation");

    // A new event for the now-fixed group (the sweep) revokes the new rule; one more after it
    // is a recorded no-op.
    let sweep = run(&executor, &f.sample("scheduled-sweep.json")).await;
    assert_eq!(sweep.revoked.iter().map(|r| r.rule_id.clone()).collect::<Vec<_>>(), vec![reopened]);
    let mut later = f.sample("config-compliance-change-sg-noncompliant.json");
    later["id"] = "a-later-event".into();
    let no_op = run(&executor, &later).await;
    assert_eq!(no_op.status, "no_op");
    let record = executor.store.remediation(no_op.remediation_id.as_deref().unwrap()).await.unwrap().unwrap();
    assert_eq!(record.status, RemediationStatus::NoOp);
}

#[tokio::test]
async fn exempt_rule_stays_and_an_expired_exemption_does_not_protect() {
    let f = Fixture::new().await;
    let ollama = f.allow(&f.group_id, tcp(11434, 11434, Source::V4("0.0.0.0/0"), "public demo")).await;
    let ssh = f.allow(&f.group_id, tcp(22, 22, Source::V4("0.0.0.0/0"), "old exemption")).await;
    let executor = f.executor(false);
    let now = Utc::now();
    let rules = f.rules(&f.group_id).await;
    let exemption = |rule: &str, expires_at| Exemption {
        group_id: f.group_id.clone(),
        target: ExemptionTarget::Rule(rule.to_string()),
        granted_for: rules.iter().find(|r| r.rule_id == rule).map(RuleSpec::of),
        ports: Vec::new(),
        granted_by: "alice@example.com".into(),
        reason: "SEC-482 public demo".into(),
        created_at: now - Duration::days(2),
        expires_at,
    };
    executor.store.put_exemption(&exemption(&ollama, now + Duration::hours(4))).await.unwrap();
    executor.store.put_exemption(&exemption(&ssh, now - Duration::minutes(1))).await.unwrap();

    let report = run(&executor, &f.sample("cloudtrail-authorize-sg-ingress-11434.json")).await;

    assert_eq!(report.revoked.iter().map(|r| r.rule_id.clone()).collect::<Vec<_>>(), vec![ssh]);
    assert_eq!(f.rule_ids(&f.group_id).await, vec![ollama]);
    assert_eq!(report.exempted.len(), 1);
    assert_eq!(report.expired_exemptions.len(), 1);
}

#[tokio::test]
async fn a_group_wide_exemption_protects_every_rule_of_that_group_only() {
    let f = Fixture::in_region("ap-southeast-2").await;
    let other = f.new_group("other").await;
    let kept = f.allow(&f.group_id, tcp(22, 22, Source::V4("0.0.0.0/0"), "bastion")).await;
    let revoked = f.allow(&other, tcp(22, 22, Source::V4("0.0.0.0/0"), "not exempt")).await;
    let executor = f.executor(false);
    let now = Utc::now();
    executor
        .store
        .put_exemption(&Exemption {
            group_id: f.group_id.clone(),
            target: ExemptionTarget::Group,
            granted_for: None,
            ports: vec![22],
            granted_by: "alice".into(),
            reason: "bastion host".into(),
            created_at: now,
            expires_at: now + Duration::days(1),
        })
        .await
        .unwrap();
    let report = run(&executor, &f.sample("scheduled-sweep.json")).await;
    assert!(report.revoked.iter().any(|r| r.rule_id == revoked));
    assert!(f.rule_ids(&f.group_id).await.contains(&kept));
    assert!(f.rule_ids(&other).await.is_empty());
}

#[tokio::test]
async fn dry_run_records_the_plan_and_changes_nothing() {
    let f = Fixture::new().await;
    let seeded = seed(&f).await;
    let before = f.rule_ids(&f.group_id).await;
    let executor = f.executor(true);

    let report = run(&executor, &f.sample("config-compliance-change-sg-noncompliant.json")).await;

    assert_eq!(report.status, "dry_run");
    assert_eq!(report.would_revoke.len(), seeded.offending.len());
    assert!(report.revoked.is_empty());
    assert_eq!(f.rule_ids(&f.group_id).await, before, "nothing changed");
    let record = executor.store.remediation(report.remediation_id.as_deref().unwrap()).await.unwrap().unwrap();
    assert_eq!(record.status, RemediationStatus::DryRun);
    assert_eq!(record.plan.actions.len(), seeded.offending.len());
    assert!(executor.store.steps(&record.id, false).await.unwrap().is_empty());
    assert!(f.published()[0].0.contains("DRY RUN"));
}

#[tokio::test]
async fn undo_restores_exactly_the_revoked_rules_once() {
    let f = Fixture::new().await;
    seed(&f).await;
    let before = f.rules(&f.group_id).await;
    let executor = f.executor(false);
    let report = run(&executor, &f.sample("cloudtrail-authorize-sg-ingress-11434.json")).await;
    let id = report.remediation_id.clone().unwrap();

    // The undo arrives as an event, as `warden undo` sends it: signed by an operator's session.
    let alice = operator_session(&f.sdk, OPERATOR_ROLE, "alice@example.com").await;
    let undo_event = operator_request(&alice, UNDO_DETAIL_TYPE, &id).await;
    let desk = f.operator_desk(OPERATOR_ROLE);
    let Request::Undo { remediation_id, ask } = parse_event(&undo_event).unwrap() else { panic!() };
    let request = ask.request(UNDO_DETAIL_TYPE, &remediation_id);
    let Admission::Proceed(caller) = desk.admit(request, &ask.proof, Utc::now()).await.unwrap() else { panic!() };
    let alice_arn = "arn:aws:sts::123456789012:assumed-role/warden-operator/alice@example.com";
    assert_eq!(caller.arn, alice_arn, "who asks is who AWS says signed the request");
    let undo = executor.undo(&remediation_id, &caller.arn, Utc::now()).await.expect("undo");
    assert_eq!(undo.status, "undone", "{undo:#?}");
    let kept = desk
        .finish(
            request,
            Some(caller.arn.clone()),
            true,
            undo.summary.clone(),
            serde_json::to_value(&undo).unwrap(),
            Utc::now(),
        )
        .await
        .unwrap();
    // The same event delivered again is answered from the kept outcome.
    let Admission::Answered(again) = desk.admit(request, &ask.proof, Utc::now()).await.unwrap() else { panic!() };
    assert_eq!(again, kept);
    assert_eq!(undo.restored.len(), 4);

    let mut want: Vec<_> = before.iter().map(spec).collect();
    let mut got: Vec<_> = f.rules(&f.group_id).await.iter().map(spec).collect();
    want.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    got.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    assert_eq!(got, want, "protocol, ports, source, description and tags all back");

    let again = executor.undo(&remediation_id, &caller.arn, Utc::now()).await.expect("undo");
    assert!(again.duplicate);
    assert_eq!(f.rules(&f.group_id).await.len(), before.len(), "a second undo restores nothing twice");
    let record = executor.store.remediation(&id).await.unwrap().unwrap();
    assert_eq!(record.status, RemediationStatus::Undone);
    assert_eq!(record.undo_requested_by.as_deref(), Some(alice_arn));
    let undo_steps = executor.store.steps(&id, true).await.unwrap();
    assert!(undo_steps.iter().all(|s| s.status == StepStatus::Restored && s.restored_rule_id.is_some()));
    assert_eq!(f.published().len(), 2, "the remediation and its undo");
}

#[tokio::test]
async fn the_internet_in_pieces_or_in_a_prefix_list_is_revoked_and_restored_exactly() {
    let f = Fixture::new().await;
    let everyone = f.prefix_list(&["0.0.0.0/0"]).await;
    let offices = f.prefix_list(&["81.2.69.0/24", "198.51.100.0/24"]).await;
    let offending = vec![
        f.allow(&f.group_id, tcp(11434, 11434, Source::V4("0.0.0.0/1"), "the lower half")).await,
        f.allow(&f.group_id, tcp(11434, 11434, Source::V4("128.0.0.0/1"), "the upper half")).await,
        f.allow(&f.group_id, tcp(22, 22, Source::V6("2000::/3"), "all of global unicast")).await,
        f.allow(&f.group_id, tcp(0, 65535, Source::PrefixList(&everyone), "everyone, by list")).await,
    ];
    let legitimate = vec![
        f.allow(&f.group_id, tcp(22, 22, Source::V4("81.2.69.10/32"), "the office")).await,
        f.allow(&f.group_id, tcp(11434, 11434, Source::PrefixList(&offices), "the offices, by list")).await,
    ];
    let before = f.rules(&f.group_id).await;
    let executor = f.executor(false);

    let report = run(&executor, &f.sample("cloudtrail-authorize-sg-ingress-11434.json")).await;
    assert_eq!(report.status, "completed", "{report:#?}");
    assert_eq!(sorted(report.revoked.iter().map(|r| r.rule_id.clone()).collect()), sorted(offending.clone()));
    assert_eq!(f.rule_ids(&f.group_id).await, sorted(legitimate), "the office and its list stay");

    // (Who may ask for an undo is tested with the request path above; here, what it restores.)
    let id = report.remediation_id.clone().unwrap();
    let undo =
        executor.undo(&id, "arn:aws:sts::123456789012:assumed-role/warden-operator/alice", Utc::now()).await.unwrap();
    assert_eq!((undo.status.as_str(), undo.restored.len()), ("undone", 4), "{undo:#?}");
    let mut want: Vec<_> = before.iter().map(spec).collect();
    let mut got: Vec<_> = f.rules(&f.group_id).await.iter().map(spec).collect();
    want.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    got.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    assert_eq!(got, want, "the prefix-list rule is back as it was, with the others");
}

#[tokio::test]
async fn an_exempt_rule_changed_afterwards_is_no_longer_exempt() {
    // A bastion's SSH rule is exempt; then it is changed to all traffic from anywhere.
    let f = Fixture::new().await;
    let bastion = f.allow(&f.group_id, tcp(22, 22, Source::V4("0.0.0.0/0"), "bastion SSH")).await;
    let executor = f.executor(false);
    let now = Utc::now();
    let as_granted = f.rules(&f.group_id).await.iter().find(|r| r.rule_id == bastion).map(RuleSpec::of);
    executor
        .store
        .put_exemption(&Exemption {
            group_id: f.group_id.clone(),
            target: ExemptionTarget::Rule(bastion.clone()),
            granted_for: as_granted,
            ports: Vec::new(),
            granted_by: "alice@example.com".into(),
            reason: "SEC-482 bastion".into(),
            created_at: now,
            expires_at: now + Duration::days(300),
        })
        .await
        .unwrap();
    let first = run(&executor, &f.sample("cloudtrail-authorize-sg-ingress-11434.json")).await;
    assert!(first.revoked.is_empty() && first.exempted.len() == 1, "exempt as granted: {first:#?}");

    f.ec2
        .modify_security_group_rules()
        .group_id(&f.group_id)
        .security_group_rules(
            aws_sdk_ec2::types::SecurityGroupRuleUpdate::builder()
                .security_group_rule_id(&bastion)
                .security_group_rule(
                    aws_sdk_ec2::types::SecurityGroupRuleRequest::builder()
                        .ip_protocol("-1")
                        .from_port(-1)
                        .to_port(-1)
                        .cidr_ipv4("0.0.0.0/0")
                        .description("bastion SSH")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("ModifySecurityGroupRules");
    let report = run(&executor, &f.sample("cloudtrail-modify-sg-rules-all-traffic.json")).await;
    assert_eq!(report.revoked.iter().map(|r| r.rule_id.clone()).collect::<Vec<_>>(), vec![bastion], "{report:#?}");
    assert!(report.exempted.is_empty());
    assert!(report.expired_exemptions.iter().any(|e| e.contains("no longer matches")), "{report:#?}");
}

#[tokio::test]
async fn a_group_exemption_covers_its_ports_only() {
    let f = Fixture::new().await;
    let ssh = f.allow(&f.group_id, tcp(22, 22, Source::V4("0.0.0.0/0"), "bastion SSH")).await;
    let ollama = f.allow(&f.group_id, tcp(11434, 11434, Source::V4("0.0.0.0/0"), "not covered")).await;
    let executor = f.executor(false);
    let now = Utc::now();
    executor
        .store
        .put_exemption(&Exemption {
            group_id: f.group_id.clone(),
            target: ExemptionTarget::Group,
            granted_for: None,
            ports: vec![22],
            granted_by: "alice@example.com".into(),
            reason: "bastion host".into(),
            created_at: now,
            expires_at: now + Duration::days(1),
        })
        .await
        .unwrap();
    let report = run(&executor, &f.sample("cloudtrail-authorize-sg-ingress-11434.json")).await;
    assert_eq!(report.revoked.iter().map(|r| r.rule_id.clone()).collect::<Vec<_>>(), vec![ollama]);
    assert_eq!(f.rule_ids(&f.group_id).await, vec![ssh], "11434 was never exempt; 22 is");
}

#[tokio::test]
async fn modify_security_group_rules_event_is_remediated() {
    let f = Fixture::new().await;
    let rule = f.allow(&f.group_id, tcp(443, 443, Source::V4("0.0.0.0/0"), "https")).await;
    f.ec2
        .modify_security_group_rules()
        .group_id(&f.group_id)
        .security_group_rules(
            aws_sdk_ec2::types::SecurityGroupRuleUpdate::builder()
                .security_group_rule_id(&rule)
                .security_group_rule(
                    aws_sdk_ec2::types::SecurityGroupRuleRequest::builder()
                        .ip_protocol("tcp")
                        .from_port(0)
                        .to_port(65535)
                        .cidr_ipv4("0.0.0.0/0")
                        .description("temporary: everything")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("ModifySecurityGroupRules");
    let report = run(&f.executor(false), &f.sample("cloudtrail-modify-sg-rules-all-traffic.json")).await;
    assert_eq!(report.revoked.iter().map(|r| r.rule_id.clone()).collect::<Vec<_>>(), vec![rule]);
    assert!(f.rule_ids(&f.group_id).await.is_empty());
}

#[tokio::test]
async fn an_event_for_a_group_that_no_longer_exists_is_a_recorded_no_op() {
    let f = Fixture::new().await;
    let executor = f.executor(false);
    let event: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../events/remediator/cloudtrail-authorize-sg-ingress-11434.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let report = run(&executor, &event).await;
    assert_eq!(report.status, "no_op");
    assert!(report.summary.contains("not found"), "{}", report.summary);
    assert!(executor.store.remediation(report.remediation_id.as_deref().unwrap()).await.unwrap().is_some());
}

#[tokio::test]
async fn undo_of_an_unknown_remediation_is_a_clear_error_and_changes_nothing() {
    let f = Fixture::new().await;
    let err = f.executor(false).undo("rem-20260101T000000Z-000000000000", "bob", Utc::now()).await.unwrap_err();
    assert_eq!(err.to_string(), "no remediation rem-20260101T000000Z-000000000000 is on record");
    assert!(f.published().is_empty());
}

#[tokio::test]
async fn a_sweep_too_large_for_one_record_is_remediated_in_parts() {
    let f = Fixture::in_region("sa-east-1").await;
    let mut groups = Vec::new();
    for g in 0..9 {
        let group = f.new_group(&format!("wide-open-{g}")).await;
        let mut permissions = Vec::new();
        for port in 0..50 {
            permissions.push(
                aws_sdk_ec2::types::IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(22)
                    .to_port(22 + port)
                    .ip_ranges(aws_sdk_ec2::types::IpRange::builder().cidr_ip("0.0.0.0/0").build())
                    .build(),
            );
        }
        f.ec2
            .authorize_security_group_ingress()
            .group_id(&group)
            .set_ip_permissions(Some(permissions))
            .send()
            .await
            .unwrap();
        groups.push(group);
    }
    let executor = f.executor(false);
    let report = run(&executor, &f.sample("scheduled-sweep.json")).await;
    assert_eq!(report.status, "completed", "{}", report.summary);
    assert_eq!(report.revoked.len(), 450);
    assert_eq!(report.parts.len(), 1, "400 + 50: two records");
    for group in &groups {
        assert!(f.rule_ids(group).await.is_empty(), "{group}");
    }
    for id in std::iter::once(report.remediation_id.clone().unwrap()).chain(report.parts.clone()) {
        let record = executor.store.remediation(&id).await.unwrap().expect("each part is on record");
        assert_eq!(record.status, RemediationStatus::Completed);
    }
}

#[tokio::test]
async fn groups_that_share_an_interface_are_judged_together() {
    // Two groups on one interface, each letting in a /11 on 11434: under the share alone, over
    // it together. An event about one group finds the other through the interface.
    let f = Fixture::new().await;
    let second = f.new_group("ollama-extra").await;
    let office = f.allow(&f.group_id, tcp(22, 22, Source::V4("81.2.69.10/32"), "the office")).await;
    let low = f.allow(&f.group_id, tcp(11434, 11434, Source::V4("64.0.0.0/11"), "a partner, they said")).await;
    let high = f.allow(&second, tcp(11434, 11434, Source::V4("96.0.0.0/11"), "another partner")).await;
    let apart = f.executor(false);
    let report = run(&apart, &f.sample("cloudtrail-authorize-sg-ingress-11434.json")).await;
    assert_eq!(report.status, "no_op", "no interface carries both groups yet: {report:#?}");

    let subnet = f
        .ec2
        .create_subnet()
        .vpc_id(&f.vpc_id)
        .cidr_block("10.40.77.0/24")
        .send()
        .await
        .expect("CreateSubnet")
        .subnet
        .and_then(|s| s.subnet_id)
        .unwrap();
    let interface = f
        .ec2
        .create_network_interface()
        .subnet_id(&subnet)
        .groups(&f.group_id)
        .groups(&second)
        .send()
        .await
        .expect("CreateNetworkInterface")
        .network_interface
        .and_then(|n| n.network_interface_id)
        .unwrap();
    let mut event = f.sample("cloudtrail-authorize-sg-ingress-11434.json");
    event["id"] = format!("{}-again", event["id"].as_str().unwrap()).into();
    let executor = f.executor(false);
    let report = run(&executor, &event).await;
    assert_eq!(report.status, "completed", "{report:#?}");
    let revoked: Vec<String> = report.revoked.iter().map(|r| r.rule_id.clone()).collect();
    assert!(!revoked.is_empty() && revoked.iter().all(|r| *r == low || *r == high), "{revoked:?}");
    let record = executor.store.remediation(report.remediation_id.as_deref().unwrap()).await.unwrap().unwrap();
    let reasons: Vec<String> = record
        .plan
        .actions
        .iter()
        .map(|a| match a {
            warden::exposure::plan::Action::RevokeIngressRule { reason, .. } => reason.clone(),
        })
        .collect();
    assert!(reasons.iter().any(|r| r.contains(&format!("on interface {interface}"))), "{reasons:?}");
    assert!(f.rule_ids(&f.group_id).await.contains(&office), "the office stays");
}
