//! The remediation executor over in-memory fakes: record, revoke, resume, parts, undo.

use super::*;
use crate::exposure::plan::{Exemption, ExemptionTarget, RuleSpec, TriggerKind};
use crate::exposure::{ExposureDefinition, RuleSource, SensitivePort};
use crate::ports::ErrorKind;
use crate::ports::ExecutorError;
use crate::testing::{FakeGroups, FakeNotifier, FakeStore};

const SG: &str = "sg-0a1b2c3d4e5f60718";

fn rule(id: &str, proto: &str, from: i32, to: i32, source: RuleSource) -> IngressRule {
    IngressRule {
        group_id: SG.into(),
        rule_id: id.into(),
        ip_protocol: proto.into(),
        from_port: from,
        to_port: to,
        source,
        description: Some(format!("rule {id}")),
        tags: BTreeMap::new(),
    }
}

fn account() -> Vec<IngressRule> {
    vec![
        rule("sgr-ollama", "tcp", 11434, 11434, RuleSource::CidrIpv4("0.0.0.0/0".into())),
        rule("sgr-ssh6", "tcp", 22, 22, RuleSource::CidrIpv6("::/0".into())),
        rule("sgr-https", "tcp", 443, 443, RuleSource::CidrIpv4("0.0.0.0/0".into())),
        rule("sgr-vpc", "tcp", 11434, 11434, RuleSource::CidrIpv4("10.0.0.0/16".into())),
    ]
}

fn now() -> DateTime<Utc> {
    "2026-11-26T12:00:00Z".parse().unwrap()
}

fn trigger(event_id: &str) -> Trigger {
    Trigger::new(
        event_id,
        TriggerKind::CloudTrail {
            event_name: "AuthorizeSecurityGroupIngress".into(),
            group_ids: vec![SG.into()],
            actor: None,
            source_ip: None,
        },
        now(),
    )
}

fn executor(dry_run: bool) -> Executor<FakeGroups, FakeStore, FakeNotifier> {
    Executor::new(
        FakeGroups::with(account()),
        FakeStore::default(),
        FakeNotifier::default(),
        Settings {
            exposure: ExposureDefinition {
                sensitive_ports: vec![SensitivePort::new(11434), SensitivePort::new(22)],
                max_public_share: crate::exposure::DEFAULT_MAX_PUBLIC_SHARE,
            },
            dry_run,
            lease: Duration::seconds(60),
        },
    )
}

fn ids(rules: &[IngressRule]) -> Vec<&str> {
    rules.iter().map(|r| r.rule_id.as_str()).collect()
}

#[tokio::test]
async fn revokes_exactly_the_offenders_records_and_notifies() {
    let ex = executor(false);
    let report = ex.remediate(trigger("e1"), "{}", now()).await.unwrap();
    assert_eq!(report.status, "completed");
    assert_eq!(ids(&report.revoked), ["sgr-ollama", "sgr-ssh6"]);
    assert_eq!(ex.groups.ids(), ["sgr-https", "sgr-vpc"]);
    assert_eq!(*ex.groups.revoke_calls.lock().unwrap(), 1, "one call per group");

    let id = trigger("e1").remediation_id();
    let record = ex.store.records.lock().unwrap()[&id].clone();
    assert_eq!(record.status, RemediationStatus::Completed);
    assert!(record.notified);
    let steps = ex.store.steps(&id, false).await.unwrap();
    assert!(steps.iter().all(|s| s.status == StepStatus::Done));
    assert_eq!(steps.len(), 2);

    let sent = ex.notifier.sent.lock().unwrap();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].subject.contains("Revoked 2"), "{}", sent[0].subject);
    assert!(sent[0].text.contains(&format!("warden undo {id}")));
    assert_eq!(sent[0].facts["remediation_id"], id);
}

#[tokio::test]
async fn the_same_event_twice_is_one_remediation() {
    let ex = executor(false);
    ex.remediate(trigger("e1"), "{}", now()).await.unwrap();
    // Someone re-opens the port; a redelivery of the *old* event must not act again.
    ex.groups.rules.lock().unwrap().push(rule("sgr-again", "tcp", 22, 22, RuleSource::CidrIpv4("0.0.0.0/0".into())));
    let again = ex.remediate(trigger("e1"), "{}", now()).await.unwrap();
    assert!(again.duplicate);
    assert!(again.revoked.is_empty());
    assert_eq!(*ex.groups.revoke_calls.lock().unwrap(), 1);
    assert_eq!(ex.notifier.sent.lock().unwrap().len(), 1);
    assert!(ex.groups.ids().contains(&"sgr-again".to_string()));
}

#[tokio::test]
async fn a_later_event_for_a_fixed_group_is_a_recorded_no_op() {
    let ex = executor(false);
    ex.remediate(trigger("e1"), "{}", now()).await.unwrap();
    let later = ex.remediate(trigger("e2"), "{}", now()).await.unwrap();
    assert_eq!(later.status, "no_op");
    assert!(!later.duplicate);
    let id = trigger("e2").remediation_id();
    assert_eq!(ex.store.records.lock().unwrap()[&id].status, RemediationStatus::NoOp);
    assert_eq!(ex.notifier.sent.lock().unwrap().len(), 1, "no-ops are not emailed");
}

#[tokio::test]
async fn dry_run_records_the_plan_and_changes_nothing() {
    let ex = executor(true);
    let report = ex.remediate(trigger("e1"), "{}", now()).await.unwrap();
    assert_eq!(report.status, "dry_run");
    assert_eq!(ids(&report.would_revoke), ["sgr-ollama", "sgr-ssh6"]);
    assert!(report.revoked.is_empty());
    assert_eq!(ex.groups.ids().len(), 4);
    assert_eq!(*ex.groups.revoke_calls.lock().unwrap(), 0);
    assert!(ex.notifier.sent.lock().unwrap()[0].subject.contains("DRY RUN"));
}

#[tokio::test]
async fn exempt_rules_stay_and_expired_exemptions_do_not_protect() {
    let ex = executor(false);
    let exemption = |rule: &str, expires_in: i64| Exemption {
        group_id: SG.into(),
        target: ExemptionTarget::Rule(rule.into()),
        granted_for: account().iter().find(|r| r.rule_id == rule).map(RuleSpec::of),
        ports: Vec::new(),
        granted_by: "alice".into(),
        reason: "demo".into(),
        created_at: now(),
        expires_at: now() + Duration::seconds(expires_in),
    };
    ex.store.exemptions.lock().unwrap().extend([exemption("sgr-ollama", 3600), exemption("sgr-ssh6", -1)]);
    let report = ex.remediate(trigger("e1"), "{}", now()).await.unwrap();
    assert_eq!(ids(&report.revoked), ["sgr-ssh6"]);
    assert_eq!(report.exempted.len(), 1);
    assert_eq!(report.expired_exemptions.len(), 1);
    assert!(ex.groups.ids().contains(&"sgr-ollama".to_string()));
}

#[tokio::test]
async fn a_failed_step_is_recorded_as_partial_and_a_redelivery_finishes_it() {
    let ex = executor(false);
    ex.groups.fail_revoke.lock().unwrap().insert("sgr-ssh6".into(), ErrorKind::Throttled);
    let first = ex.remediate(trigger("e1"), "{}", now()).await.unwrap();
    assert_eq!(first.status, "partial");
    assert!(first.needs_retry());
    assert_eq!(ids(&first.revoked), ["sgr-ollama"]);
    assert_eq!(first.failed[0].rule_id, "sgr-ssh6");

    let second = ex.remediate(trigger("e1"), "{}", now()).await.unwrap();
    assert_eq!(second.status, "completed");
    assert!(!second.needs_retry());
    assert_eq!(ids(&second.revoked), ["sgr-ollama", "sgr-ssh6"]);
    assert_eq!(ex.groups.ids(), ["sgr-https", "sgr-vpc"]);
}

#[tokio::test]
async fn a_crash_after_the_revoke_call_is_resumed_and_still_undoable() {
    let ex = executor(false);
    // The record is the write-ahead entry and put_steps #1 the outcomes: crash before they are
    // written.
    *ex.store.fail_put_steps_at.lock().unwrap() = Some(1);
    assert!(ex.remediate(trigger("e1"), "{}", now()).await.is_err());
    assert_eq!(ex.groups.ids(), ["sgr-https", "sgr-vpc"], "the AWS call happened");

    // Redelivered before the lease ends: reported as in progress, nothing done.
    let early = ex.remediate(trigger("e1"), "{}", now() + Duration::seconds(10)).await.unwrap();
    assert!(early.duplicate);

    let later = now() + Duration::seconds(61);
    let resumed = ex.remediate(trigger("e1"), "{}", later).await.unwrap();
    assert_eq!(resumed.status, "completed");
    assert_eq!(ids(&resumed.revoked), ["sgr-ollama", "sgr-ssh6"], "started steps found absent count as ours");

    let undo = ex.undo(&trigger("e1").remediation_id(), "bob", later).await.unwrap();
    assert_eq!(undo.restored.len(), 2);
}

#[tokio::test]
async fn nothing_is_revoked_before_the_plan_is_recorded() {
    let ex = executor(false);
    *ex.store.fail_create.lock().unwrap() = true;
    assert!(ex.remediate(trigger("e1"), "{}", now()).await.is_err());
    assert_eq!(*ex.groups.revoke_calls.lock().unwrap(), 0);
    assert_eq!(ex.groups.ids().len(), 4, "every rule is still there");
}

#[tokio::test]
async fn a_rule_deleted_by_someone_else_before_the_first_revoke_is_not_counted_as_ours() {
    let ex = executor(false);
    ex.groups.gone_before_revoke.lock().unwrap().push("sgr-ssh6".into());
    let report = ex.remediate(trigger("e1"), "{}", now()).await.unwrap();
    assert_eq!(report.status, "completed");
    assert_eq!(ids(&report.revoked), ["sgr-ollama"]);
    assert_eq!(report.already_absent, ["sgr-ssh6"]);
    // So the undo restores only what Warden removed.
    let undo = ex.undo(&trigger("e1").remediation_id(), "bob", now()).await.unwrap();
    assert_eq!(undo.restored.len(), 1);
    assert_eq!(undo.restored[0].rule.rule_id, "sgr-ollama");
}

#[tokio::test]
async fn groups_are_revoked_together_and_every_outcome_is_written_once() {
    let mut rules = account();
    let mut other = rule("sgr-other", "tcp", 22, 22, RuleSource::CidrIpv4("0.0.0.0/0".into()));
    other.group_id = "sg-0ffffffffffffffff".into();
    rules.push(other);
    let mut ex = executor(false);
    ex.groups = FakeGroups::with(rules);
    let sweep = Trigger::new("sweep-1", TriggerKind::ScheduledSweep { rule: "warden-sweep".into() }, now());
    let report = ex.remediate(sweep, "{}", now()).await.unwrap();
    assert_eq!(report.status, "completed");
    assert_eq!(report.revoked.len(), 3);
    assert_eq!(*ex.groups.revoke_calls.lock().unwrap(), 2, "one call per group");
    assert_eq!(ex.store.put_steps_calls(), 1, "the outcomes of both groups in one write");
}

#[tokio::test]
async fn undo_restores_exactly_the_revoked_rules_once() {
    let ex = executor(false);
    let id = trigger("e1").remediation_id();
    ex.remediate(trigger("e1"), "{}", now()).await.unwrap();
    let undo = ex.undo(&id, "bob", now()).await.unwrap();
    assert_eq!(undo.status, "undone");
    assert_eq!(undo.restored.len(), 2);
    let rules = ex.groups.rules.lock().unwrap().clone();
    assert_eq!(rules.len(), 4);
    for original in account() {
        assert!(
            rules.iter().any(|r| r.source == original.source
                && r.from_port == original.from_port
                && r.ip_protocol == original.ip_protocol
                && r.description == original.description),
            "{original} not back"
        );
    }
    let again = ex.undo(&id, "bob", now()).await.unwrap();
    assert!(again.duplicate);
    assert_eq!(ex.groups.rules.lock().unwrap().len(), 4);
    assert_eq!(ex.store.records.lock().unwrap()[&id].undo_requested_by.as_deref(), Some("bob"));
}

#[tokio::test]
async fn undo_of_unknown_or_no_op_remediations_is_a_clear_error() {
    let ex = executor(false);
    assert!(matches!(ex.undo("rem-nope", "bob", now()).await, Err(ExecutorError::UnknownRemediation(_))));
    ex.groups.rules.lock().unwrap().clear();
    ex.remediate(trigger("e1"), "{}", now()).await.unwrap();
    let err = ex.undo(&trigger("e1").remediation_id(), "bob", now()).await.unwrap_err();
    assert!(err.to_string().contains("changed nothing"), "{err}");
}

#[tokio::test]
async fn a_failed_notification_is_sent_on_redelivery_without_acting_again() {
    let ex = executor(false);
    ex.notifier.failures.lock().unwrap().push_back(true);
    let first = ex.remediate(trigger("e1"), "{}", now()).await.unwrap();
    assert_eq!(first.status, "completed");
    assert!(first.needs_retry());
    assert!(ex.notifier.sent.lock().unwrap().is_empty());

    let second = ex.remediate(trigger("e1"), "{}", now()).await.unwrap();
    assert!(second.duplicate && second.notified && !second.needs_retry());
    let sent = ex.notifier.sent.lock().unwrap();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].text.contains("sgr-ollama"), "the re-sent message names what was revoked");
    assert_eq!(*ex.groups.revoke_calls.lock().unwrap(), 1);
}

#[tokio::test]
async fn a_large_exposure_is_remediated_in_parts_each_its_own_record() {
    let ex = executor(false);
    let mut rules = Vec::new();
    for g in 0..50 {
        for r in 0..19 {
            let mut rule = rule(&format!("sgr-{g}-{r}"), "tcp", 22, 22, RuleSource::CidrIpv4("0.0.0.0/0".into()));
            rule.group_id = format!("sg-{g:017x}");
            rules.push(rule);
        }
    }
    *ex.groups.rules.lock().unwrap() = rules;
    let sweep = Trigger::new("sweep-1", TriggerKind::ScheduledSweep { rule: "r".into() }, now());
    let report = ex.remediate(sweep.clone(), "{}", now()).await.unwrap();
    assert_eq!(report.revoked.len(), 950);
    assert!(ex.groups.ids().is_empty());
    assert_eq!(report.parts.len(), 2, "{:?}", report.parts);
    let records = ex.store.records.lock().unwrap().clone();
    assert_eq!(records.len(), 3);
    assert!(records.values().all(|r| r.plan.actions.len() <= MAX_ACTIONS_PER_RECORD));
    assert!(records.values().all(|r| r.status == RemediationStatus::Completed));
    assert_eq!(ex.notifier.sent.lock().unwrap().len(), 3);

    let again = ex.remediate(sweep, "{}", now()).await.unwrap();
    assert!(again.duplicate);
    assert_eq!(ex.store.records.lock().unwrap().len(), 3, "a redelivery adds no part");
}

#[tokio::test]
async fn a_missing_group_is_a_recorded_no_op_that_says_so() {
    let ex = executor(false);
    ex.groups.rules.lock().unwrap().clear();
    let report = ex.remediate(trigger("e1"), "{}", now()).await.unwrap();
    assert_eq!(report.status, "no_op");
    assert!(report.summary.contains("not found"), "{}", report.summary);
}
