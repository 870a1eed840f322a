//! The AWS adapters on their own, against the local AWS: the behaviour the executor relies on.

use chrono::{Duration, Utc};

use warden::aws::{DynamoStore, Ec2SecurityGroups};
use warden::exposure::plan::{Plan, RemediationRecord, RemediationStatus, Trigger, TriggerKind};
use warden::exposure::ports::{AuditStore, RevokeResult, SecurityGroups};
use warden_integration_tests::{tcp, Fixture, Source};

#[tokio::test]
async fn revoke_by_rule_id_reports_each_rule_even_when_one_is_already_gone() {
    let f = Fixture::new().await;
    let a = f.allow(&f.group_id, tcp(22, 22, Source::V4("0.0.0.0/0"), "a")).await;
    let b = f.allow(&f.group_id, tcp(11434, 11434, Source::V6("::/0"), "b")).await;
    let keep = f.allow(&f.group_id, tcp(443, 443, Source::V4("0.0.0.0/0"), "keep")).await;
    let groups = Ec2SecurityGroups::new(f.ec2.clone());
    // `b` disappears between planning and revoking.
    assert_eq!(groups.revoke_ingress(&f.group_id, std::slice::from_ref(&b)).await, vec![RevokeResult::Revoked]);

    let results = groups.revoke_ingress(&f.group_id, &[a.clone(), b.clone()]).await;

    assert_eq!(results, vec![RevokeResult::Revoked, RevokeResult::AlreadyAbsent]);
    assert_eq!(f.rule_ids(&f.group_id).await, vec![keep]);
}

#[tokio::test]
async fn ingress_rules_skip_egress_and_missing_groups() {
    let f = Fixture::new().await;
    let id = f.allow(&f.group_id, tcp(22, 22, Source::V4("0.0.0.0/0"), "a")).await;
    let groups = Ec2SecurityGroups::new(f.ec2.clone());
    let rules = groups.ingress_rules(Some(&[f.group_id.clone(), "sg-0000000000000dead".into()])).await.unwrap();
    assert_eq!(
        rules.iter().map(|r| r.rule_id.clone()).collect::<Vec<_>>(),
        vec![id],
        "the default egress rule is not listed"
    );
}

#[tokio::test]
async fn store_creates_once_and_claims_respect_leases() {
    let f = Fixture::new().await;
    let store = DynamoStore::new(f.ddb.clone(), &f.table);
    let now = Utc::now();
    let trigger = Trigger::new("evt-adapter", TriggerKind::ScheduledSweep { rule: "r".into() }, now);
    let record = RemediationRecord {
        id: trigger.remediation_id(),
        status: RemediationStatus::Executing,
        plan: Plan::new(trigger),
        event: "{}".into(),
        dry_run: false,
        created_at: now,
        updated_at: now,
        lease_until: Some(now + Duration::seconds(60)),
        notified: false,
        undo_requested_by: None,
    };
    assert_eq!(store.create_remediation(&record).await.unwrap(), None);
    let existing = store.create_remediation(&record).await.unwrap().expect("second create finds the first");
    assert_eq!(existing.id, record.id);
    assert_eq!(existing.lease_until.map(|l| l.timestamp_millis()), record.lease_until.map(|l| l.timestamp_millis()));

    let claim = |at| {
        store.claim(
            &record.id,
            &[RemediationStatus::Executing],
            RemediationStatus::Executing,
            at,
            at + Duration::seconds(60),
            None,
        )
    };
    assert!(!claim(now + Duration::seconds(30)).await.unwrap(), "a live lease is not taken over");
    assert!(claim(now + Duration::seconds(61)).await.unwrap(), "an expired lease is");

    store.finish(&record.id, RemediationStatus::Completed, now).await.unwrap();
    let done = store.remediation(&record.id).await.unwrap().unwrap();
    assert_eq!(done.status, RemediationStatus::Completed);
    assert_eq!(done.lease_until, None);
    assert!(!store
        .claim(&record.id, &[RemediationStatus::Partial], RemediationStatus::Executing, now, now, None)
        .await
        .unwrap());
}
