//! The Config rules against the local AWS: every kind of invocation, verdicts reported through
//! `PutEvaluations` (TESTMODE, as the RDK does and moto accepts), evidence rows written, and a
//! periodic rule over 250 instances reported in batches of at most 100.

use chrono::{Duration, Utc};
use serde_json::Value;

use warden::aws::wiring::config_rules;
use warden::aws::DynamoStore;
use warden::compliance::ports::EvidenceStore;
use warden::compliance::Compliance;
use warden::registry::parse_registry_yaml;
use warden::registry::ports::ModelRegistryStore;
use warden_integration_tests::{new_table, sample_of, sdk};

async fn table(region: &'static str) -> (aws_config::SdkConfig, String) {
    let sdk = sdk(region).await;
    let table = new_table(&aws_sdk_dynamodb::Client::new(&sdk)).await;
    (sdk, table)
}

#[tokio::test]
async fn change_deleted_left_scope_and_oversized_notifications() {
    let (sdk, table) = table("us-east-1").await;
    let rules = config_rules(&table, &sdk);
    let started = Utc::now();
    let r = rules.handle(&sample_of("config-rules", "change-sg-noncompliant.json"), Utc::now()).await.unwrap();
    assert_eq!((r.evaluations, r.non_compliant, r.batches, r.test_mode), (1, 1, 1, true), "{r:?}");
    assert!(r.findings[0].contains("11434 open to 0.0.0.0/0") && r.findings[0].contains("22 open to ::/0"), "{r:?}");

    for sample in ["change-sg-deleted.json", "change-sg-left-scope.json", "oversized-instance.json"] {
        let r = rules.handle(&sample_of("config-rules", sample), Utc::now()).await.unwrap();
        assert_eq!((r.evaluations, r.not_applicable), (1, 1), "{sample}: {r:?}");
    }

    // Evidence: rule, resource, verdict, annotation, capture time, evaluation time.
    let evidence = rules.evidence.evidence_since(started - Duration::seconds(1)).await.unwrap();
    assert_eq!(evidence.len(), 4);
    let first = evidence.iter().find(|e| e.compliance == Compliance::NonCompliant).unwrap();
    assert_eq!(
        (first.resource_type.as_str(), first.resource_id.as_str()),
        ("AWS::EC2::SecurityGroup", "sg-0a1b2c3d4e5f60718")
    );
    assert_eq!(first.captured_at.to_rfc3339(), "2026-11-26T14:10:12.531+00:00");
    assert!(first.evaluated_at >= started);

    // A malformed event is a clear error, not a verdict.
    let err = rules
        .handle(&serde_json::json!({"invokingEvent": "{}", "resultToken": "TESTMODE"}), Utc::now())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no rule to apply"), "{err}");
}

#[tokio::test]
async fn the_approved_model_rule_reads_the_registry() {
    let (sdk, table) = table("us-east-1").await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), &table);
    let models = parse_registry_yaml(include_str!("../../events/request-validator/model-registry.yaml")).unwrap();
    store.replace_models(&models, Utc::now()).await.unwrap();
    let rules = config_rules(&table, &sdk);
    let event = sample_of("config-rules", "change-instance-approved-model.json");
    let r = rules.handle(&event, Utc::now()).await.unwrap();
    assert_eq!(r.compliant, 1, "{r:?}");
    // The same instance declaring a model that is not registered.
    let mut other = event.clone();
    let mut invoking: Value = serde_json::from_str(other["invokingEvent"].as_str().unwrap()).unwrap();
    invoking["configurationItem"]["tags"]["ollama:model"] = "mistral:7b".into();
    other["invokingEvent"] = invoking.to_string().into();
    let r = rules.handle(&other, Utc::now()).await.unwrap();
    assert!(r.non_compliant == 1 && r.findings[0].contains("not in the model registry"), "{r:?}");
}

#[tokio::test]
async fn periodic_rules_list_everything_and_report_in_batches_of_100() {
    // A region no other test uses: a periodic rule (and the remediator's sweep) covers a whole region.
    let (sdk, table) = table("ca-central-1").await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let tag = aws_sdk_ec2::types::Tag::builder().key("Service").value("Ollama").build();
    ec2.run_instances()
        .image_id(warden_integration_tests::AMI)
        .instance_type(aws_sdk_ec2::types::InstanceType::G5Xlarge)
        .min_count(250)
        .max_count(250)
        .tag_specifications(
            aws_sdk_ec2::types::TagSpecification::builder()
                .resource_type(aws_sdk_ec2::types::ResourceType::Instance)
                .tags(tag)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let rules = config_rules(&table, &sdk);
    let r = rules.handle(&sample_of("config-rules", "scheduled-imdsv2-only.json"), Utc::now()).await.unwrap();
    assert_eq!(r.evaluations, 250, "{r:?}");
    assert_eq!(r.batches, 3, "PutEvaluations takes at most 100 at a time");
    assert_eq!(r.compliant + r.non_compliant, 250);
    let evidence = rules.evidence.evidence_since(Utc::now() - Duration::minutes(5)).await.unwrap();
    assert_eq!(evidence.len(), 250);

    // Security groups, listed from EC2: one open to the world on 11434 over IPv6.
    let vpc = ec2.create_vpc().cidr_block("10.60.0.0/16").send().await.unwrap().vpc.unwrap().vpc_id.unwrap();
    let group =
        ec2.create_security_group().group_name("ollama-open").description("test").vpc_id(&vpc).send().await.unwrap();
    let group_id = group.group_id.unwrap();
    ec2.authorize_security_group_ingress()
        .group_id(&group_id)
        .ip_permissions(
            aws_sdk_ec2::types::IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(11000)
                .to_port(12000)
                .ipv6_ranges(aws_sdk_ec2::types::Ipv6Range::builder().cidr_ipv6("::/0").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mut sweep = sample_of("config-rules", "scheduled-imdsv2-only.json");
    sweep["configRuleName"] = "warden-sensitive-ports-not-public".into();
    let r = rules.handle(&sweep, Utc::now()).await.unwrap();
    assert_eq!(r.non_compliant, 1, "{r:?}");
    assert!(
        r.findings[0].contains(&group_id) && r.findings[0].contains("11434 open to ::/0 (tcp 11000-12000)"),
        "{r:?}"
    );
    assert!(r.compliant >= 2, "the default groups are fine: {r:?}");

    // CloudTrail: nothing set up in this region.
    let r = rules.handle(&sample_of("config-rules", "scheduled-cloudtrail.json"), Utc::now()).await.unwrap();
    assert_eq!((r.evaluations, r.non_compliant), (1, 1), "{r:?}");
    assert!(r.findings[0].contains("no CloudTrail trail exists"), "{r:?}");
}
