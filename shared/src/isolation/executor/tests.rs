//! The isolation executor over in-memory fakes: every path, every resume, every release.

use super::*;
use crate::isolation::InstanceState;
use crate::isolation::{
    AsgMembership, ElasticIp, InterfaceState, ProfileAssociation, Response, TargetRegistration, ThreatSource,
    VolumeState,
};
use crate::testing::{FakeCompute, FakeFleet, FakeIncidents, FakeNotifier};

const I: &str = "i-0a1b2c3d4e5f67890";

fn state() -> InstanceState {
    InstanceState {
        tags: [("Service".to_string(), "Ollama".to_string())].into_iter().collect(),
        instance_id: I.into(),
        vpc_id: "vpc-1".into(),
        state: "running".into(),
        interfaces: vec![
            InterfaceState {
                interface_id: "eni-0".into(),
                device_index: 0,
                groups: vec!["sg-app".into(), "sg-ssh".into()],
            },
            InterfaceState { interface_id: "eni-1".into(), device_index: 1, groups: vec!["sg-data".into()] },
        ],
        volumes: vec![VolumeState {
            volume_id: "vol-1".into(),
            device_name: "/dev/xvda".into(),
            delete_on_termination: true,
        }],
        profile: None,
        asg: None,
        target_groups: vec![],
        target_groups_known: true,
        elastic_ips: vec![ElasticIp {
            allocation_id: "eipalloc-1".into(),
            association_id: "eipassoc-1".into(),
            public_ip: "198.51.100.10".into(),
            interface_id: Some("eni-0".into()),
            private_ip: Some("10.0.1.27".into()),
        }],
    }
}

fn profile() -> ProfileAssociation {
    ProfileAssociation {
        association_id: "iip-assoc-1".into(),
        profile_arn: "arn:aws:iam::123456789012:instance-profile/ollama".into(),
    }
}

fn executor() -> IsolationExecutor<FakeCompute, FakeFleet, FakeIncidents, FakeNotifier> {
    let fleet = FakeFleet::default();
    *fleet.asg.lock().unwrap() =
        Some(AsgMembership { name: "ollama-gpu-fleet".into(), lifecycle_state: "InService".into() });
    *fleet.registrations.lock().unwrap() =
        vec![TargetRegistration { target_group_arn: "arn:tg/ollama".into(), port: Some(11434) }];
    *fleet.in_service.lock().unwrap() = true;
    IsolationExecutor::new(
        FakeCompute::with(state(), Some(profile())),
        fleet,
        FakeIncidents::default(),
        FakeNotifier::default(),
        IsolationSettings {
            policy: IsolationPolicy::default(),
            quarantine_profile_arn: None,
            lease: Duration::seconds(60),
            fleet: crate::isolation::FleetScope { tag: Some(("Service".into(), "Ollama".into())), asgs: vec![] },
        },
    )
}

fn finding(event_id: &str, severity: f64) -> IsolationTrigger {
    IsolationTrigger {
        event_id: event_id.into(),
        event_time: "2026-11-26T11:31:52Z".parse().unwrap(),
        source: ThreatSource::GuardDuty {
            finding_id: "f1".into(),
            finding_type: "CryptoCurrency:EC2/BitcoinTool.B!DNS".into(),
            severity,
            title: None,
        },
        instance_id: Some(I.into()),
        asg_name: None,
        account: None,
        region: None,
    }
}

fn now() -> DateTime<Utc> {
    "2026-11-26T11:32:00Z".parse().unwrap()
}

fn groups(
    ex: &IsolationExecutor<FakeCompute, FakeFleet, FakeIncidents, FakeNotifier>,
) -> BTreeMap<String, Vec<String>> {
    ex.compute.interface_groups.lock().unwrap().clone()
}

#[tokio::test]
async fn a_high_severity_finding_isolates_the_instance_completely() {
    let ex = executor();
    let report = ex.isolate(finding("e1", 8.0), Instant::now(), now()).await.unwrap();
    assert_eq!(report.status, "isolated", "{report:#?}");
    assert_eq!(report.failed_steps(), 0);
    for g in groups(&ex).values() {
        assert_eq!(g, &vec!["sg-quarantine".to_string()]);
    }
    assert!(*ex.compute.protected.lock().unwrap());
    assert_eq!(ex.compute.snapshots.lock().unwrap().len(), 1);
    assert!(!*ex.compute.eips_attached.lock().unwrap());
    assert_eq!(*ex.compute.profile.lock().unwrap(), None, "no quarantine profile configured: removed");
    assert!(!*ex.fleet.in_service.lock().unwrap());
    assert!(ex.fleet.registrations.lock().unwrap().is_empty());
    assert!(report.time_to_containment_ms.is_some());
    // The untrack group came first on every interface, then the quarantine group.
    let calls = ex.compute.calls.lock().unwrap().clone();
    assert_eq!(calls.iter().filter(|c| *c == "ModifyNetworkInterfaceAttribute").count(), 4);
    let record = ex.store.incidents.lock().unwrap()[&report.incident_id].clone();
    assert_eq!(record.state.as_ref().unwrap().interfaces[0].groups, ["sg-app", "sg-ssh"], "original groups recorded");
    assert!(report.steps.iter().any(|s| s.step == "verify_containment" && s.state == StepState::Done));
    let sent = ex.notifier.sent.lock().unwrap();
    assert!(sent[0].subject.starts_with("[Warden] Isolated i-0a1b2c3d4e5f67890"), "{}", sent[0].subject);
    assert!(sent[0].text.contains("Timeline"));
}

#[tokio::test]
async fn a_second_trigger_for_an_isolated_instance_is_a_recorded_no_op() {
    let ex = executor();
    let first = ex.isolate(finding("e1", 8.0), Instant::now(), now()).await.unwrap();
    let calls = ex.compute.calls.lock().unwrap().len();
    let second = ex.isolate(finding("e2", 8.0), Instant::now(), now()).await.unwrap();
    assert!(second.duplicate);
    assert_eq!(second.incident_id, first.incident_id);
    assert_eq!(ex.store.triggers.lock().unwrap().as_slice(), [(first.incident_id.clone(), "e2".to_string())]);
    let after: Vec<String> = ex.compute.calls.lock().unwrap()[calls..].to_vec();
    assert!(after.iter().all(|c| c.starts_with("Describe")), "only reads: {after:?}");
    let replay = ex.isolate(finding("e1", 8.0), Instant::now(), now()).await.unwrap();
    assert!(replay.duplicate);
}

#[tokio::test]
async fn a_failed_step_leaves_a_partial_incident_that_the_next_trigger_completes() {
    let ex = executor();
    ex.compute.fail_once.lock().unwrap().push("CreateSnapshots");
    let first = ex.isolate(finding("e1", 8.0), Instant::now(), now()).await.unwrap();
    assert_eq!(first.status, "partial");
    assert!(first.needs_retry());
    assert!(
        groups(&ex).values().all(|g| g == &vec!["sg-quarantine".to_string()]),
        "containment did not wait for the snapshot"
    );
    assert!(ex.compute.snapshots.lock().unwrap().is_empty());

    let later = now() + Duration::seconds(5);
    let resumed = ex.isolate(finding("e2", 8.0), Instant::now(), later).await.unwrap();
    assert_eq!(resumed.status, "isolated", "{resumed:#?}");
    // Only the failed step runs again; containment is re-verified, not redone.
    assert_eq!(
        resumed.steps.iter().map(|s| s.step.as_str()).collect::<Vec<_>>(),
        ["snapshot_volumes", "verify_containment"]
    );
    assert_eq!(ex.compute.snapshots.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_medium_finding_protects_evidence_now_and_waits_for_approval_for_the_rest() {
    let ex = executor();
    let report = ex.isolate(finding("e1", 5.0), Instant::now(), now()).await.unwrap();
    assert_eq!(report.status, "pending_approval");
    assert_eq!(report.response, Response::ProtectThenApprove.as_str());
    assert!(*ex.compute.protected.lock().unwrap());
    assert_eq!(ex.compute.snapshots.lock().unwrap().len(), 1);
    assert_eq!(groups(&ex)["eni-0"], ["sg-app", "sg-ssh"], "network untouched");
    assert!(*ex.fleet.in_service.lock().unwrap());
    assert!(report.pending_approval.contains(&"quarantine_network".to_string()));
    assert!(ex.notifier.sent.lock().unwrap()[0].subject.contains("APPROVAL NEEDED"));

    // The recorded plan, approved later, runs unchanged.
    let approved = ex.execute_pending(&report.incident_id, "alice", Instant::now(), now()).await.unwrap();
    assert_eq!(approved.status, "isolated", "{approved:#?}");
    assert!(groups(&ex).values().all(|g| g == &vec!["sg-quarantine".to_string()]));
    assert!(!*ex.fleet.in_service.lock().unwrap());
    assert_eq!(ex.compute.snapshots.lock().unwrap().len(), 1, "done steps are not repeated");
}

#[tokio::test]
async fn a_stronger_trigger_escalates_a_pending_isolation_at_once() {
    let ex = executor();
    let pending = ex.isolate(finding("e1", 5.0), Instant::now(), now()).await.unwrap();
    assert_eq!(pending.status, "pending_approval");
    let escalated = ex.isolate(finding("e2", 8.0), Instant::now(), now()).await.unwrap();
    assert_eq!(escalated.incident_id, pending.incident_id);
    assert_eq!(escalated.status, "isolated", "{escalated:#?}");
    assert!(groups(&ex).values().all(|g| g == &vec!["sg-quarantine".to_string()]));
    // The approval asked for earlier finds nothing left to do.
    let action = ApprovalAction::Isolate { incident_id: pending.incident_id.clone(), instance_id: I.into() };
    let late = ex.run_approved(&action, "alice", now()).await.unwrap();
    assert!(late.starts_with("nothing left to do"), "{late}");
}

#[tokio::test]
async fn a_rejected_plan_dismisses_the_incident_and_frees_the_instance() {
    let ex = executor();
    let pending = ex.isolate(finding("e1", 5.0), Instant::now(), now()).await.unwrap();
    let dismissed = ex.dismiss(&pending.incident_id, "bob", now()).await.unwrap();
    assert_eq!(dismissed.status, "dismissed");
    assert!(ex.store.locks.lock().unwrap().is_empty());
    assert_eq!(groups(&ex)["eni-0"], ["sg-app", "sg-ssh"], "nothing disruptive happened");
    let later = ex.isolate(finding("e3", 8.0), Instant::now(), now()).await.unwrap();
    assert_ne!(later.incident_id, pending.incident_id, "a new incident");
    assert_eq!(later.status, "isolated");
    assert!(ex.dismiss(&pending.incident_id, "bob", now()).await.is_err(), "only a pending plan can be dismissed");
}

#[tokio::test]
async fn a_whole_group_alarm_and_a_vanished_instance_are_recorded_outcomes_not_errors() {
    let ex = executor();
    let mut asg = finding("e1", 8.0);
    asg.instance_id = None;
    asg.asg_name = Some("ollama-gpu-fleet".into());
    let report = ex.isolate(asg, Instant::now(), now()).await.unwrap();
    assert_eq!(report.status, "not_actionable");
    assert!(report.summary.contains("whole Auto Scaling group ollama-gpu-fleet"));

    *ex.compute.instance.lock().unwrap() = None;
    let gone = ex.isolate(finding("e2", 8.0), Instant::now(), now()).await.unwrap();
    assert_eq!(gone.status, "not_actionable");
    assert!(gone.summary.contains("not found"));
    assert!(ex.store.locks.lock().unwrap().is_empty(), "no lock left behind");
    assert_eq!(ex.notifier.sent.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn an_instance_outside_the_fleet_is_recorded_and_notified_never_touched() {
    // A GuardDuty finding on an unrelated host: no fleet tag, its group not the fleet's.
    let mut ex = executor();
    let mut outsider = state();
    outsider.tags.clear();
    *ex.compute.instance.lock().unwrap() = Some(outsider);
    let report = ex.isolate(finding("e-out", 8.0), Instant::now(), now()).await.unwrap();
    assert_eq!(report.status, "not_actionable", "{report:#?}");
    assert!(report.summary.contains("not in the Ollama fleet") && report.summary.contains("tagged Service=Ollama"));
    assert_eq!(groups(&ex)["eni-0"], ["sg-app", "sg-ssh"], "its groups untouched");
    assert!(*ex.compute.eips_attached.lock().unwrap(), "its address untouched");
    assert!(ex.compute.tags.lock().unwrap().is_empty(), "not even tagged");
    assert!(ex.store.locks.lock().unwrap().is_empty(), "no lock left behind");
    assert_eq!(ex.notifier.sent.lock().unwrap().len(), 1, "notified");
    // In a configured Auto Scaling group it is the fleet, tag or not.
    ex.settings.fleet.asgs = vec!["ollama-gpu-fleet".into()];
    let report = ex.isolate(finding("e-asg", 8.0), Instant::now(), now()).await.unwrap();
    assert_eq!(report.status, "isolated", "{report:#?}");
}

#[tokio::test]
async fn release_restores_exactly_what_was_recorded_once() {
    let ex = executor();
    let isolated = ex.isolate(finding("e1", 8.0), Instant::now(), now()).await.unwrap();
    let released = ex.release(&isolated.incident_id, "bob", Instant::now(), now()).await.unwrap();
    assert_eq!(released.status, "released", "{released:#?}");
    assert_eq!(groups(&ex)["eni-0"], ["sg-app", "sg-ssh"]);
    assert_eq!(groups(&ex)["eni-1"], ["sg-data"]);
    assert_eq!(*ex.compute.profile.lock().unwrap(), Some(profile()));
    assert!(*ex.compute.eips_attached.lock().unwrap());
    assert!(*ex.fleet.in_service.lock().unwrap());
    assert_eq!(ex.fleet.registrations.lock().unwrap().len(), 1);
    assert_eq!(ex.compute.snapshots.lock().unwrap().len(), 1, "snapshots stay");
    assert!(ex.store.locks.lock().unwrap().is_empty());
    let again = ex.release(&isolated.incident_id, "bob", Instant::now(), now()).await.unwrap();
    assert!(again.duplicate);

    // Released, the instance can be isolated again by a new finding; a replay of the old
    // one changes nothing and leaves no lock behind.
    let replay = ex.isolate(finding("e1", 8.0), Instant::now(), now()).await.unwrap();
    assert!(replay.duplicate);
    assert!(ex.store.locks.lock().unwrap().is_empty());
    let next = ex.isolate(finding("e9", 8.0), Instant::now(), now()).await.unwrap();
    assert_ne!(next.incident_id, isolated.incident_id);
    assert_eq!(next.status, "isolated");
}
