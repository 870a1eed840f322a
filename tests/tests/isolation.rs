//! Isolation of a compromised GPU instance, end to end against the local AWS: an instance in an
//! Auto Scaling group behind a target group, with two network interfaces.

use std::time::Instant;

use chrono::Utc;
use serde_json::Value;

use warden::edge::events::{parse_event, Request, RELEASE_DETAIL_TYPE};
use warden::isolation::executor::{IncidentReport, INCIDENT_TAG};
use warden::isolation::ports::IncidentStore;
use warden::isolation::{IncidentStatus, StepState};
use warden::operator::Admission;
use warden_integration_tests::{
    create_instance_profile, operator_request, operator_session, AwsIsolation, Fixture, GpuNode, OPERATOR_ROLE,
};

async fn isolate(executor: &AwsIsolation, event: &Value) -> IncidentReport {
    match parse_event(event).expect("sample parses") {
        Request::Isolate(trigger) => executor.isolate(trigger, Instant::now(), Utc::now()).await.expect("isolation"),
        other => panic!("not an isolation event: {other:?}"),
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

async fn quarantine_group(f: &Fixture) -> String {
    let out = f
        .ec2
        .describe_security_groups()
        .filters(aws_sdk_ec2::types::Filter::builder().name("vpc-id").values(&f.vpc_id).build())
        .filters(aws_sdk_ec2::types::Filter::builder().name("tag:warden:role").values("quarantine").build())
        .send()
        .await
        .unwrap();
    out.security_groups()[0].group_id().unwrap().to_string()
}

async fn instance_attribute(
    f: &Fixture,
    node: &GpuNode,
    attribute: aws_sdk_ec2::types::InstanceAttributeName,
) -> aws_sdk_ec2::operation::describe_instance_attribute::DescribeInstanceAttributeOutput {
    f.ec2.describe_instance_attribute().instance_id(&node.instance_id).attribute(attribute).send().await.unwrap()
}

async fn lifecycle(f: &Fixture, node: &GpuNode) -> String {
    let out = f.autoscaling().describe_auto_scaling_instances().instance_ids(&node.instance_id).send().await.unwrap();
    out.auto_scaling_instances().first().and_then(|i| i.lifecycle_state()).unwrap_or("detached").to_string()
}

async fn profile(f: &Fixture, node: &GpuNode) -> Option<String> {
    let out = f
        .ec2
        .describe_iam_instance_profile_associations()
        .filters(aws_sdk_ec2::types::Filter::builder().name("instance-id").values(&node.instance_id).build())
        .send()
        .await
        .unwrap();
    out.iam_instance_profile_associations()
        .iter()
        .find_map(|a| a.iam_instance_profile().and_then(|p| p.arn()).map(str::to_string))
}

async fn eip_interface(f: &Fixture, node: &GpuNode) -> Option<String> {
    let out = f.ec2.describe_addresses().allocation_ids(&node.allocation_id).send().await.unwrap();
    out.addresses()[0].network_interface_id().filter(|s| !s.is_empty()).map(str::to_string)
}

#[tokio::test]
async fn a_high_severity_finding_isolates_the_node_keeps_evidence_and_release_restores_it() {
    let f = Fixture::new().await;
    let node = f.gpu_node().await;
    let quarantine_profile = create_instance_profile(&format!("warden-quarantine-{}", std::process::id()));
    let executor = f.isolation(Some(&quarantine_profile));
    let desired_before = f
        .autoscaling()
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(&node.asg)
        .send()
        .await
        .unwrap()
        .auto_scaling_groups()[0]
        .desired_capacity()
        .unwrap();

    let report = isolate(
        &executor,
        &f.sample_for_instance("guardduty-cryptocurrency-bitcointool-dns-high.json", &node.instance_id),
    )
    .await;

    assert_eq!(report.status, "isolated", "{report:#?}");
    assert_eq!(report.response, "isolate");
    assert!(report.time_to_containment_ms.is_some());

    // Both interfaces are in the quarantine group only, and it has no rules.
    let quarantine = quarantine_group(&f).await;
    for (eni, _) in &node.interfaces {
        assert_eq!(f.interface_groups(eni).await, vec![quarantine.clone()], "{eni}");
    }
    let rules = f
        .ec2
        .describe_security_group_rules()
        .filters(aws_sdk_ec2::types::Filter::builder().name("group-id").values(&quarantine).build())
        .send()
        .await
        .unwrap();
    assert!(rules.security_group_rules().is_empty(), "the quarantine group lets nothing in or out");

    // Evidence protected.
    let termination =
        instance_attribute(&f, &node, aws_sdk_ec2::types::InstanceAttributeName::DisableApiTermination).await;
    assert_eq!(termination.disable_api_termination().and_then(|v| v.value()), Some(true));
    let described = f.ec2.describe_instances().instance_ids(&node.instance_id).send().await.unwrap();
    let instance = &described.reservations()[0].instances()[0];
    assert!(instance
        .block_device_mappings()
        .iter()
        .all(|m| m.ebs().and_then(|e| e.delete_on_termination()) == Some(false)));
    let snapshots = f
        .ec2
        .describe_snapshots()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name(format!("tag:{INCIDENT_TAG}"))
                .values(&report.incident_id)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(!snapshots.snapshots().is_empty(), "snapshots tagged with the incident");

    // Out of service without shrinking capacity.
    assert!(lifecycle(&f, &node).await.starts_with("Standby"), "{}", lifecycle(&f, &node).await);
    let desired_after = f
        .autoscaling()
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(&node.asg)
        .send()
        .await
        .unwrap()
        .auto_scaling_groups()[0]
        .desired_capacity()
        .unwrap();
    assert_eq!(desired_after, desired_before, "desired capacity kept: a replacement starts");
    assert!(!f.targets(&node.asg_target_group).await.contains(&node.instance_id));
    assert!(!f.targets(&node.extra_target_group).await.contains(&node.instance_id));

    // Credentials and address.
    assert_eq!(profile(&f, &node).await.as_deref(), Some(quarantine_profile.as_str()));
    assert_eq!(eip_interface(&f, &node).await, None);

    // Audit: the recorded state and a done record for every step.
    let record = executor.store.incident(&report.incident_id).await.unwrap().unwrap();
    assert_eq!(record.status, IncidentStatus::Isolated);
    let state = record.state.as_ref().unwrap();
    assert_eq!(state.interfaces.len(), 2);
    assert_eq!(sorted(state.interfaces[0].groups.clone()), sorted(node.interfaces[0].1.clone()));
    assert_eq!(state.profile.as_ref().unwrap().profile_arn, node.profile_arn);
    assert_eq!(state.target_groups.len(), 2);
    let steps = executor.store.incident_steps(&report.incident_id).await.unwrap();
    for name in [
        "protect_evidence",
        "leave_auto_scaling_group",
        "deregister_targets",
        "snapshot_volumes",
        "quarantine_network",
        "detach_elastic_ips",
        "quarantine_profile",
        "tag_instance",
        "verify_containment",
    ] {
        assert!(
            steps.iter().any(|s| s.step == name && s.state == StepState::Done),
            "{name} not recorded as done: {steps:#?}"
        );
    }
    let published = f.published();
    assert_eq!(published.len(), 1);
    assert!(published[0].0.starts_with(&format!("[Warden] Isolated {}", node.instance_id)), "{}", published[0].0);

    // Replays and further triggers change nothing.
    let replay = isolate(
        &executor,
        &f.sample_for_instance("guardduty-cryptocurrency-bitcointool-dns-high.json", &node.instance_id),
    )
    .await;
    assert!(replay.duplicate);
    let alarm =
        isolate(&executor, &f.sample_for_instance("cloudwatch-alarm-gpu-utilization-instance.json", &node.instance_id))
            .await;
    assert!(alarm.duplicate, "{alarm:#?}");
    assert_eq!(alarm.incident_id, report.incident_id);
    assert_eq!(f.published().len(), 1);

    // Release: exactly as recorded; snapshots stay.
    let bob = operator_session(&f.sdk, OPERATOR_ROLE, "bob@example.com").await;
    let release_event = operator_request(&bob, RELEASE_DETAIL_TYPE, &report.incident_id).await;
    let Request::Release { incident_id, ask } = parse_event(&release_event).unwrap() else { panic!() };
    let desk = f.operator_desk(OPERATOR_ROLE);
    let admitted = desk.admit(ask.request(RELEASE_DETAIL_TYPE, &incident_id), &ask.proof, Utc::now()).await.unwrap();
    let Admission::Proceed(caller) = admitted else { panic!("{admitted:?}") };
    let requested_by = caller.arn;
    assert_eq!(requested_by, "arn:aws:sts::123456789012:assumed-role/warden-operator/bob@example.com");
    let released = executor.release(&incident_id, &requested_by, Instant::now(), Utc::now()).await.unwrap();
    assert_eq!(released.status, "released", "{released:#?}");
    for (eni, groups) in &node.interfaces {
        assert_eq!(f.interface_groups(eni).await, sorted(groups.clone()), "{eni} restored");
    }
    assert_eq!(profile(&f, &node).await.as_deref(), Some(node.profile_arn.as_str()));
    assert_eq!(eip_interface(&f, &node).await.as_deref(), Some(node.interfaces[0].0.as_str()));
    assert_eq!(lifecycle(&f, &node).await, "InService");
    assert!(f.targets(&node.asg_target_group).await.contains(&node.instance_id));
    assert!(f.targets(&node.extra_target_group).await.contains(&node.instance_id));
    let snapshots_after = f
        .ec2
        .describe_snapshots()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name(format!("tag:{INCIDENT_TAG}"))
                .values(&report.incident_id)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(snapshots_after.snapshots().len(), snapshots.snapshots().len());
    let again = executor.release(&incident_id, &requested_by, Instant::now(), Utc::now()).await.unwrap();
    assert!(again.duplicate);
}

#[tokio::test]
async fn a_failed_step_is_recorded_partial_and_the_next_trigger_completes_it() {
    let f = Fixture::new().await;
    let node = f.gpu_node().await;
    // The quarantine profile does not exist yet: replacing the instance's profile fails.
    let name = format!("warden-quarantine-late-{}", std::process::id());
    let arn = format!("arn:aws:iam::123456789012:instance-profile/{name}");
    let executor = f.isolation(Some(&arn));

    let first = isolate(
        &executor,
        &f.sample_for_instance("guardduty-instance-credential-exfiltration-high.json", &node.instance_id),
    )
    .await;

    assert_eq!(first.status, "partial", "{first:#?}");
    let failed: Vec<&str> =
        first.steps.iter().filter(|s| s.state == StepState::Failed).map(|s| s.step.as_str()).collect();
    assert_eq!(failed, ["quarantine_profile"]);
    assert_eq!(
        f.interface_groups(&node.interfaces[1].0).await,
        vec![quarantine_group(&f).await],
        "containment did not wait"
    );
    assert_eq!(
        profile(&f, &node).await.as_deref(),
        Some(node.profile_arn.as_str()),
        "the leaked credentials' profile is still there"
    );
    assert!(f.published()[0].0.contains("partial"));

    create_instance_profile(&name);
    let second =
        isolate(&executor, &f.sample_for_instance("cloudwatch-alarm-action-gpu-instance.json", &node.instance_id))
            .await;
    assert_eq!(second.incident_id, first.incident_id, "the later trigger resumed the same incident");
    assert_eq!(second.status, "isolated", "{second:#?}");
    assert_eq!(profile(&f, &node).await.as_deref(), Some(arn.as_str()));
    let changed: Vec<&str> =
        second.steps.iter().filter(|s| s.step != "verify_containment").map(|s| s.step.as_str()).collect();
    assert_eq!(changed, ["quarantine_profile"], "only the failed step ran again");
}

#[tokio::test]
async fn a_medium_finding_protects_evidence_and_records_the_rest_pending_approval() {
    let f = Fixture::new().await;
    let node = f.gpu_node().await;
    let executor = f.isolation(None);
    let report =
        isolate(&executor, &f.sample_for_instance("guardduty-trojan-dns-exfiltration-medium.json", &node.instance_id))
            .await;
    assert_eq!(report.status, "pending_approval", "{report:#?}");
    let termination =
        instance_attribute(&f, &node, aws_sdk_ec2::types::InstanceAttributeName::DisableApiTermination).await;
    assert_eq!(termination.disable_api_termination().and_then(|v| v.value()), Some(true));
    assert_eq!(
        f.interface_groups(&node.interfaces[0].0).await,
        sorted(node.interfaces[0].1.clone()),
        "network untouched"
    );
    assert_eq!(lifecycle(&f, &node).await, "InService");
    let record = executor.store.incident(&report.incident_id).await.unwrap().unwrap();
    let pending: Vec<&str> = record.plan.as_ref().unwrap().pending_approval.iter().map(|s| s.as_str()).collect();
    assert_eq!(
        pending,
        [
            "leave_auto_scaling_group",
            "deregister_targets",
            "quarantine_network",
            "detach_elastic_ips",
            "quarantine_profile"
        ]
    );

    // Approved later, the recorded plan runs unchanged.
    let approved =
        executor.execute_pending(&report.incident_id, "alice@example.com", Instant::now(), Utc::now()).await.unwrap();
    assert_eq!(approved.status, "isolated", "{approved:#?}");
    assert_eq!(profile(&f, &node).await, None, "no quarantine profile configured: removed");
    assert!(lifecycle(&f, &node).await.starts_with("Standby"));
}

#[tokio::test]
async fn a_whole_group_alarm_and_a_vanished_instance_end_in_a_recorded_outcome_and_a_notification() {
    let f = Fixture::new().await;
    let executor = f.isolation(None);
    let asg = isolate(&executor, &f.sample_for_instance("cloudwatch-alarm-asg-gpu-utilization.json", "unused")).await;
    assert_eq!(asg.status, "not_actionable");
    assert!(asg.summary.contains("whole Auto Scaling group ollama-gpu-fleet"), "{}", asg.summary);
    let gone = isolate(
        &executor,
        &f.sample_for_instance("guardduty-cryptocurrency-bitcointool-dns-high.json", "i-0000000000000dead"),
    )
    .await;
    assert_eq!(gone.status, "not_actionable");
    assert!(gone.summary.contains("not found"), "{}", gone.summary);
    assert_eq!(
        executor.store.incident(&gone.incident_id).await.unwrap().unwrap().status,
        IncidentStatus::NotActionable
    );
    assert_eq!(f.published().len(), 2);
}

/// The groups Warden keeps in a VPC for isolation (`warden:role` untrack and quarantine).
async fn warden_groups(f: &Fixture, vpc: &str) -> Vec<String> {
    let out = f
        .ec2
        .describe_security_groups()
        .filters(aws_sdk_ec2::types::Filter::builder().name("vpc-id").values(vpc).build())
        .filters(aws_sdk_ec2::types::Filter::builder().name("tag-key").values("warden:role").build())
        .send()
        .await
        .unwrap();
    let mut ids: Vec<String> = out.security_groups().iter().filter_map(|g| g.group_id()).map(String::from).collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn the_sweep_readies_quarantine_groups_in_the_fleets_vpcs_before_the_first_incident() {
    let f = Fixture::new().await;
    let node = f.gpu_node().await;
    // A VPC with no fleet instance gets nothing.
    let other_vpc = f.ec2.create_vpc().cidr_block("10.41.0.0/16").send().await.unwrap().vpc.unwrap().vpc_id.unwrap();
    assert!(warden_groups(&f, &f.vpc_id).await.is_empty(), "nothing before");

    let readiness = f.isolation(None).prepare_quarantine().await.unwrap();
    assert!(readiness.ready.contains(&f.vpc_id), "{readiness:?}");
    assert!(!readiness.ready.contains(&other_vpc) && readiness.failed.is_empty(), "{readiness:?}");
    let prepared = warden_groups(&f, &f.vpc_id).await;
    assert_eq!(prepared.len(), 2, "the untrack and the quarantine group");
    assert!(warden_groups(&f, &other_vpc).await.is_empty());

    // Idempotent: a second sweep (another process, empty cache) finds them.
    let again = f.isolation(None).prepare_quarantine().await.unwrap();
    assert!(again.ready.contains(&f.vpc_id));
    assert_eq!(warden_groups(&f, &f.vpc_id).await, prepared);

    // The first incident in the VPC uses them and creates nothing. (An event id of its own: the
    // incident id, which tags snapshots, comes from it, and other tests use the same sample.)
    let mut event = f.sample_for_instance("guardduty-cryptocurrency-bitcointool-dns-high.json", &node.instance_id);
    event["id"] = format!("prepared-vpc-{}", node.instance_id).into();
    let report = isolate(&f.isolation(None), &event).await;
    assert_eq!(report.status, "isolated", "{report:#?}");
    assert_eq!(warden_groups(&f, &f.vpc_id).await, prepared, "no group created during the incident");
    let quarantine = quarantine_group(&f).await;
    assert!(prepared.contains(&quarantine));
    for (eni, _) in &node.interfaces {
        assert_eq!(f.interface_groups(eni).await, vec![quarantine.clone()], "{eni}");
    }
}
