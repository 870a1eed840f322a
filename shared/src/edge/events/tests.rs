//! The remediator's events: every sample, every refusal, never a panic.

#[test]
fn abuse_alarms_become_caller_alarms() {
    let raw: Value = serde_json::from_str(include_str!(
        "../../../../events/remediator/cloudwatch-alarm-prompt-injection-caller.json"
    ))
    .unwrap();
    let Request::CallerAlarm(a) = parse_event(&raw).unwrap() else { panic!("expected a caller alarm") };
    assert_eq!(
        (a.caller.as_deref(), a.metric, a.alarm_name.as_str()),
        (Some("team-web"), AbuseMetric::PromptInjectionAttempts, "llm-prompt-injection-team-web")
    );
    let raw: Value =
        serde_json::from_str(include_str!("../../../../events/remediator/cloudwatch-alarm-auth-failures-fleet.json"))
            .unwrap();
    let Request::CallerAlarm(a) = parse_event(&raw).unwrap() else { panic!("expected a caller alarm") };
    assert_eq!((a.caller, a.metric), (None, AbuseMetric::AuthFailures));
    // Back to OK: nothing to do.
    let mut ok = raw.clone();
    ok["detail"]["state"]["value"] = "OK".into();
    ok["detail"]["previousState"]["value"] = "ALARM".into();
    assert!(matches!(parse_event(&ok).unwrap(), Request::Ignore { .. }));
    // A caller id that cannot be a key is an error, not a suspension.
    let mut bad: Value = serde_json::from_str(include_str!(
        "../../../../events/remediator/cloudwatch-alarm-prompt-injection-caller.json"
    ))
    .unwrap();
    bad["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"]["Caller"] = "a#b".into();
    assert!(parse_event(&bad).is_err());
}
use super::*;
use serde_json::json;

fn sample(name: &str) -> Value {
    let path = format!("{}/../events/remediator/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn groups_of(req: Request) -> Vec<String> {
    match req {
        Request::Remediate(t) => t.scope().expect("scoped trigger").to_vec(),
        other => panic!("expected a remediation, got {other:?}"),
    }
}

#[test]
fn cloudtrail_authorize_sample_names_its_group_and_actor() {
    let req = parse_event(&sample("cloudtrail-authorize-sg-ingress-11434.json")).unwrap();
    let Request::Remediate(t) = req else { panic!("{req:?}") };
    assert_eq!(t.scope().unwrap(), ["sg-0a1b2c3d4e5f60718"]);
    let TriggerKind::CloudTrail { event_name, actor, source_ip, .. } = &t.kind else { panic!() };
    assert_eq!(event_name, "AuthorizeSecurityGroupIngress");
    assert!(actor.as_deref().unwrap().starts_with("arn:aws:sts::"));
    assert!(source_ip.is_some());
}

#[test]
fn every_remediating_sample_parses() {
    for name in [
        "cloudtrail-authorize-sg-ingress-11434.json",
        "cloudtrail-authorize-sg-ingress-ssh-ipv6.json",
        "cloudtrail-modify-sg-rules-all-traffic.json",
        "config-compliance-change-sg-noncompliant.json",
    ] {
        assert_eq!(groups_of(parse_event(&sample(name)).unwrap()), ["sg-0a1b2c3d4e5f60718"], "{name}");
    }
    let sweep = parse_event(&sample("scheduled-sweep.json")).unwrap();
    let Request::Remediate(t) = sweep else { panic!() };
    assert_eq!(t.scope(), None);
    assert_eq!(t.kind, TriggerKind::ScheduledSweep { rule: "warden-exposure-sweep".into() });
}

#[test]
fn undo_sample_parses() {
    let req = parse_event(&sample("warden-undo-request.json")).unwrap();
    let Request::Undo { remediation_id, ask } = req else { panic!("{req:?}") };
    assert!(remediation_id.starts_with("rem-"));
    // Signed when the sample was made: today it is a held request, refused as stale.
    let signed =
        ask.proof.check(chrono::DateTime::parse_from_rfc3339("2026-11-26T10:13:00Z").unwrap().to_utc(), "us-east-1");
    assert!(signed.is_ok(), "{signed:?}");
    assert!(matches!(ask.proof.check(chrono::Utc::now(), "us-east-1"), Err(crate::operator::ProofError::Stale { .. })));
    let release = parse_event(&sample("warden-release-request.json")).unwrap();
    assert!(matches!(release, Request::Release { ref incident_id, .. } if incident_id.starts_with("inc-")));
}

#[test]
fn compliant_config_change_is_ignored_not_an_error() {
    let mut ev = sample("config-compliance-change-sg-noncompliant.json");
    ev["detail"]["newEvaluationResult"]["complianceType"] = json!("COMPLIANT");
    assert!(matches!(parse_event(&ev).unwrap(), Request::Ignore { .. }));
}

#[test]
fn failed_api_call_is_ignored() {
    let mut ev = sample("cloudtrail-authorize-sg-ingress-11434.json");
    ev["detail"]["errorCode"] = json!("Client.UnauthorizedOperation");
    let Request::Ignore { reason, .. } = parse_event(&ev).unwrap() else { panic!() };
    assert!(reason.contains("UnauthorizedOperation"));
}

#[test]
fn unknown_event_is_a_clear_error() {
    let mut ev = sample("scheduled-sweep.json");
    ev["source"] = json!("aws.s3");
    ev["detail-type"] = json!("Object Created");
    let err = parse_event(&ev).unwrap_err();
    assert!(matches!(err, EventError::Unsupported { .. }));
    assert!(err.to_string().contains("aws.s3"));
}

#[test]
fn malformed_events_are_clear_errors_never_panics() {
    for (ev, needle) in [
        (json!(null), "event"),
        (json!("text"), "event"),
        (json!({}), "id"),
        (json!({"id": "x", "detail-type": "Scheduled Event", "source": "aws.events"}), "time"),
        (
            json!({"id": "x", "detail-type": "Scheduled Event", "source": "aws.events", "time": "yesterday", "detail": {}}),
            "time",
        ),
        (
            json!({"id": "x", "detail-type": "Scheduled Event", "source": "aws.events", "time": "2026-11-26T12:00:00Z", "detail": []}),
            "detail",
        ),
        (
            json!({"id": "x", "detail-type": "AWS API Call via CloudTrail", "source": "aws.ec2", "time": "2026-11-26T12:00:00Z", "detail": {"eventName": "AuthorizeSecurityGroupIngress"}}),
            "groupId",
        ),
        (
            json!({"id": "x", "detail-type": "AWS API Call via CloudTrail", "source": "aws.ec2", "time": "2026-11-26T12:00:00Z", "detail": {"eventName": "AuthorizeSecurityGroupIngress", "requestParameters": {"groupId": "sg-'; drop"}}}),
            "not a security group id",
        ),
        (
            json!({"id": "x", "detail-type": "Warden Undo Request", "source": "warden", "time": "2026-11-26T12:00:00Z", "detail": {"remediation_id": "rem-1"}}),
            "request_id",
        ),
        // Who asks is proven, never typed: a payload that names its requester is refused.
        (
            json!({"id": "x", "detail-type": "Warden Undo Request", "source": "warden", "time": "2026-11-26T12:00:00Z", "detail": {"remediation_id": "rem-1", "requested_by": "alice@example.com"}}),
            "requested_by",
        ),
        (
            json!({"id": "x", "detail-type": "Warden Release Request", "source": "warden", "time": "2026-11-26T12:00:00Z", "detail": {"incident_id": "inc-1", "request_id": "r".repeat(43)}}),
            "proof",
        ),
        (
            json!({"id": "x", "detail-type": "Warden Release Request", "source": "warden", "time": "2026-11-26T12:00:00Z", "detail": {"incident_id": "inc-1", "request_id": "short", "proof": {"authorization": "a", "amz_date": "b"}}}),
            "request_id",
        ),
    ] {
        let err = parse_event(&ev).unwrap_err().to_string();
        assert!(err.contains(needle), "{ev}: {err}");
    }
}

#[test]
fn group_ids_are_validated() {
    assert!(is_security_group_id("sg-0a1b2c3d4e5f60718"));
    assert!(is_security_group_id("sg-4e386e22"));
    assert!(!is_security_group_id("sg-"));
    assert!(!is_security_group_id("sg-xyz12345"));
    assert!(!is_security_group_id("i-0a1b2c3d4e5f60718"));
}

#[test]
fn the_approvals_function_gets_pages_schedules_or_a_clear_refusal() {
    let page = |name: &str| {
        let path = format!("{}/../events/approvals/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str::<ApprovalsEvent>(&std::fs::read_to_string(&path).unwrap()).unwrap()
    };
    let ApprovalsEvent::Page(get) = page("function-url-get-approve-link.json") else { panic!("a page request") };
    let get = (*get).unwrap();
    assert_eq!(get.method, "GET");
    assert!(get.query.contains("decision=approve"), "{}", get.query);
    let ApprovalsEvent::Page(post) = page("function-url-post-approve-form.json") else { panic!("a page request") };
    assert_eq!((*post).unwrap().method, "POST");
    let ApprovalsEvent::Schedule(s) = page("scheduled-expiry-sweep.json") else { panic!("a schedule") };
    assert_eq!(s.detail_type.as_deref(), Some("Scheduled Event"));
    let other: ApprovalsEvent =
        serde_json::from_value(json!({"source": "aws.s3", "detail-type": "Object Created"})).unwrap();
    assert!(matches!(other, ApprovalsEvent::Unrecognised { ref source, .. } if source == "aws.s3"));
    // A page request whose body does not decode is still a page (the page says why), never a panic.
    let bad: ApprovalsEvent = serde_json::from_value(json!({"version": "2.0", "rawPath": "/", "body": "%%%",
        "isBase64Encoded": true, "requestContext": {"http": {"method": "POST"}}}))
    .unwrap();
    assert!(matches!(bad, ApprovalsEvent::Page(ref r) if r.as_ref().as_ref().is_err()));
}

#[test]
fn only_trusted_alarms_make_warden_act() {
    let trusted = TrustedAlarms::parse(
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:llm-prompt-injection-team-web, \
         arn:aws:cloudwatch:us-east-1:123456789012:alarm:ollama-gpu-*",
    )
    .unwrap();
    let of = |name: &str| RemediatorEvent::from_value(sample(name));
    // Named exactly, or by a prefix the operator chose: acted on.
    let caller = of("cloudwatch-alarm-prompt-injection-caller.json");
    assert!(matches!(caller.request_within(&trusted).unwrap(), Request::CallerAlarm(_)));
    let gpu = of("cloudwatch-alarm-gpu-utilization-instance.json");
    assert!(matches!(gpu.request_within(&trusted).unwrap(), Request::Isolate(_)));
    let action = of("cloudwatch-alarm-action-gpu-instance.json");
    assert!(matches!(action.request_within(&trusted).unwrap(), Request::Isolate(_)));
    // The same alarm with a name anyone could give theirs, in another account, or with no ARN
    // at all: ignored, whatever it watches.
    for (field, arn) in [
        ("resources", json!(["arn:aws:cloudwatch:us-east-1:123456789012:alarm:llm-prompt-injection-team-web-2"])),
        ("resources", json!(["arn:aws:cloudwatch:us-east-1:999999999999:alarm:llm-prompt-injection-team-web"])),
        ("resources", json!([])),
    ] {
        let mut forged = sample("cloudwatch-alarm-prompt-injection-caller.json");
        forged[field] = arn.clone();
        let request = RemediatorEvent::from_value(forged).request_within(&trusted).unwrap();
        let Request::Ignore { reason, .. } = request else { panic!("{arn}: acted on") };
        assert!(reason.contains("not one Warden trusts"), "{reason}");
    }
    let mut forged = sample("cloudwatch-alarm-action-gpu-instance.json");
    forged["alarmArn"] = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:llm-anything".into();
    assert!(matches!(RemediatorEvent::from_value(forged).request_within(&trusted).unwrap(), Request::Ignore { .. }));
    // Nothing trusted: nothing acted on; events that are not alarms are untouched by trust.
    let none = TrustedAlarms::default();
    assert!(matches!(caller.request_within(&none).unwrap(), Request::Ignore { .. }));
    let trail = of("cloudtrail-authorize-sg-ingress-11434.json");
    assert!(matches!(trail.request_within(&none).unwrap(), Request::Remediate(_)));
    // Malformed alarm events are still errors, not ignored.
    let mut bad = sample("cloudwatch-alarm-prompt-injection-caller.json");
    bad["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"]["Caller"] = "a#b".into();
    assert!(RemediatorEvent::from_value(bad).request_within(&none).is_err());
}
