//! Approvals a link scanner cannot click, against the local AWS: the request and its email,
//! a GET that never acts, a POST that acts once, rejection, expiry, and every bad link.

use std::time::Instant;

use chrono::{Duration, Utc};
use serde_json::Value;

use warden::approval::ports::ApprovalStore;
use warden::approval::ApprovalStatus;
use warden::edge::events::{parse_event, Request};
use warden::isolation::executor::IncidentReport;
use warden_integration_tests::{form_for, url_event, AwsApprovals, AwsIsolation, Fixture, GpuNode, IncidentStatusOf};

const FORM: &str = "application/x-www-form-urlencoded";

struct Pending {
    f: Fixture,
    node: GpuNode,
    isolation: AwsIsolation,
    approvals: AwsApprovals,
    report: IncidentReport,
    request_id: String,
    approve_link: String,
    reject_link: String,
}

/// A medium-severity finding: evidence protected, the rest waits for approval.
async fn pending() -> Pending {
    let f = Fixture::new().await;
    let node = f.gpu_node().await;
    let isolation = f.isolation(None);
    let approvals = f.approvals();
    let event = f.sample_for_instance("guardduty-trojan-dns-exfiltration-medium.json", &node.instance_id);
    let Request::Isolate(trigger) = parse_event(&event).unwrap() else { panic!() };
    let report = isolation.isolate(trigger, Instant::now(), Utc::now()).await.unwrap();
    assert_eq!(report.status, "pending_approval");
    let request = approvals.ask_to_isolate(&report, Utc::now()).await.unwrap();
    let published = f.published();
    let email: Value = serde_json::from_str(&published.last().unwrap().1).unwrap();
    let facts: Value = serde_json::from_str(email["sqs"].as_str().unwrap()).unwrap();
    Pending {
        approve_link: facts["approve_url"].as_str().unwrap().to_string(),
        reject_link: facts["reject_url"].as_str().unwrap().to_string(),
        request_id: request.id,
        f,
        node,
        isolation,
        approvals,
        report,
    }
}

fn query_of(link: &str) -> &str {
    link.split_once('?').unwrap().1
}

async fn get(p: &Pending, query: &str) -> (u16, String) {
    let r = p.approvals.http(&url_event("GET", query, None, ""), &p.isolation, Utc::now()).await;
    (r["statusCode"].as_u64().unwrap() as u16, r["body"].as_str().unwrap().to_string())
}

async fn post(p: &Pending, body: &str) -> (u16, String) {
    let r = p.approvals.http(&url_event("POST", "", Some(body), FORM), &p.isolation, Utc::now()).await;
    (r["statusCode"].as_u64().unwrap() as u16, r["body"].as_str().unwrap().to_string())
}

async fn contained(p: &Pending) -> bool {
    let groups = p.f.interface_groups(&p.node.interfaces[0].0).await;
    let mut original = p.node.interfaces[0].1.clone();
    original.sort();
    groups != original
}

#[tokio::test]
async fn a_pending_plan_becomes_one_request_and_one_readable_email() {
    let p = pending().await;
    let request = p.approvals.store.approval(&p.request_id).await.unwrap().unwrap();
    assert_eq!(request.status, ApprovalStatus::Pending);
    assert!(request.expires_at > Utc::now() + Duration::hours(23));
    assert!(request.will_do.iter().any(|s| s.contains("Cut its network")), "{:?}", request.will_do);
    assert!(request.why.contains("Trojan:EC2/DNSDataExfiltration"));

    let published = p.f.published();
    let (subject, message) = published.last().unwrap();
    assert!(subject.starts_with("[Warden] APPROVAL NEEDED: Isolate i-"), "{subject}");
    let text = serde_json::from_str::<Value>(message).unwrap()["default"].as_str().unwrap().to_string();
    assert!(text.contains(&p.approve_link) && text.contains(&p.reject_link), "{text}");
    assert!(text.contains("nothing happens until you press a button"));

    // Asking again (a redelivered event) sends nothing new.
    let count = p.f.published().len();
    let again = p.approvals.ask_to_isolate(&p.report, Utc::now()).await.unwrap();
    assert_eq!(again.id, p.request_id);
    assert_eq!(p.f.published().len(), count);
}

#[tokio::test]
async fn get_shows_the_page_and_changes_nothing_however_often() {
    let p = pending().await;
    for link in [&p.approve_link, &p.reject_link, &p.approve_link, &p.approve_link] {
        let (status, html) = get(&p, query_of(link)).await;
        assert_eq!(status, 200);
        assert!(
            html.contains("Approve") && html.contains("Reject") && html.contains("opening this page changes nothing")
        );
    }
    let request = p.approvals.store.approval(&p.request_id).await.unwrap().unwrap();
    assert_eq!(request.status, ApprovalStatus::Pending);
    assert!(request.decision.is_none());
    assert!(!contained(&p).await, "a link scanner's GET did not isolate anything");
}

#[tokio::test]
async fn approve_executes_exactly_the_stored_plan_once() {
    let p = pending().await;
    let (_, page) = get(&p, query_of(&p.approve_link)).await;
    let (status, html) = post(&p, &form_for(&page, "approve")).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("approved and done"), "{html}");
    assert!(contained(&p).await, "the approved plan ran");

    let request = p.approvals.store.approval(&p.request_id).await.unwrap().unwrap();
    assert_eq!(request.status, ApprovalStatus::Approved);
    let decision = request.decision.unwrap();
    assert_eq!(decision.source_ip, "198.51.100.23");
    assert_eq!(decision.user_agent, "integration-test/1.0");
    assert!(decision.outcome.contains("isolated"), "{}", decision.outcome);
    let record = p.isolation.store_incident(&p.report.incident_id).await;
    assert_eq!(record, "isolated");

    // The same form again: single use.
    let (status, html) = post(&p, &form_for(&page, "approve")).await;
    assert_eq!(status, 409, "{html}");
    assert!(html.contains("Already decided"));
    let (status, _) = post(&p, &form_for(&page, "reject")).await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn reject_is_recorded_notified_and_changes_nothing() {
    let p = pending().await;
    let (_, page) = get(&p, query_of(&p.reject_link)).await;
    let before = p.f.published().len();
    let (status, html) = post(&p, &form_for(&page, "reject")).await;
    assert_eq!(status, 200);
    assert!(html.contains("was rejected"));
    assert!(!contained(&p).await);
    assert_eq!(
        p.isolation.store_incident(&p.report.incident_id).await,
        "dismissed",
        "the instance is free for new incidents"
    );
    assert_eq!(p.approvals.store.approval(&p.request_id).await.unwrap().unwrap().status, ApprovalStatus::Rejected);
    let published = p.f.published();
    assert_eq!(published.len(), before + 1);
    assert!(published.last().unwrap().0.starts_with("[Warden] Rejected"));
}

#[tokio::test]
async fn an_unanswered_request_expires_is_escalated_and_can_no_longer_be_approved() {
    let p = pending().await;
    let (_, page) = get(&p, query_of(&p.approve_link)).await;
    let report = p.approvals.expire(Utc::now() + Duration::hours(25)).await.unwrap();
    assert!(report.expired.contains(&p.request_id), "{report:?}");
    assert_eq!(p.approvals.store.approval(&p.request_id).await.unwrap().unwrap().status, ApprovalStatus::Expired);
    assert!(p.f.published().last().unwrap().0.starts_with("[Warden] ESCALATION: approval expired unanswered"));
    let (status, _) = post(&p, &form_for(&page, "approve")).await;
    assert_eq!(status, 409, "an expired request decides nothing");
    assert!(!contained(&p).await);
    // A second sweep finds nothing more.
    assert!(p.approvals.expire(Utc::now() + Duration::hours(26)).await.unwrap().expired.is_empty());
}

#[tokio::test]
async fn bad_links_and_bodies_get_a_clear_page_and_execute_nothing() {
    let p = pending().await;
    let (_, page) = get(&p, query_of(&p.approve_link)).await;
    let good = form_for(&page, "approve");
    let tampered = {
        let i = good.find("token=").unwrap() + 8;
        let mut b = good.clone().into_bytes();
        b[i] = if b[i] == b'A' { b'B' } else { b'A' };
        String::from_utf8(b).unwrap()
    };
    let wrong_decision = good.replace("decision=approve", "decision=reject");
    let unknown = good.replace(&p.request_id, "apr-00000000000000000000000000000000");
    let longer = {
        let exp: i64 = good.split("expires=").nth(1).unwrap().split('&').next().unwrap().parse().unwrap();
        good.replace(&format!("expires={exp}"), &format!("expires={}", exp + 86_400))
    };
    let cases: [(&str, String, u16, &str); 6] = [
        ("tampered token", tampered, 403, "not valid"),
        ("wrong decision", wrong_decision, 403, "other decision"),
        ("unknown request", unknown, 404, "no such approval request"),
        ("longer expiry", longer, 403, "not valid"),
        ("missing fields", format!("request={}", p.request_id), 400, "incomplete"),
        ("garbage", "%%%&&&==".to_string(), 400, "incomplete"),
    ];
    for (what, body, want, text) in cases {
        let (status, html) = post(&p, &body).await;
        assert_eq!(status, want, "{what}: {html}");
        assert!(html.contains(text), "{what}: {html}");
    }
    let big = format!("{good}&pad={}", "x".repeat(10_000));
    let r = p.approvals.http(&url_event("POST", "", Some(&big), FORM), &p.isolation, Utc::now()).await;
    assert_eq!(r["statusCode"], 413);
    let r = p.approvals.http(&url_event("POST", "", Some(&good), "application/json"), &p.isolation, Utc::now()).await;
    assert_eq!(r["statusCode"], 415);
    let r = p.approvals.http(&url_event("DELETE", "", None, ""), &p.isolation, Utc::now()).await;
    assert_eq!(r["statusCode"], 405);
    let mut b64 = url_event("POST", "", Some("!!!not base64!!!"), FORM);
    b64["isBase64Encoded"] = true.into();
    assert_eq!(p.approvals.http(&b64, &p.isolation, Utc::now()).await["statusCode"], 400);

    assert_eq!(p.approvals.store.approval(&p.request_id).await.unwrap().unwrap().status, ApprovalStatus::Pending);
    assert!(!contained(&p).await, "nothing executed");
    // …and the genuine form still works afterwards.
    assert_eq!(post(&p, &good).await.0, 200);
    assert!(contained(&p).await);
}

#[tokio::test]
async fn a_release_request_goes_through_the_same_flow() {
    let p = pending().await;
    let (_, page) = get(&p, query_of(&p.approve_link)).await;
    assert_eq!(post(&p, &form_for(&page, "approve")).await.0, 200);
    let record = warden::isolation::ports::IncidentStore::incident(&p.isolation.store, &p.report.incident_id)
        .await
        .unwrap()
        .unwrap();
    let request = p.approvals.ask_to_release(&record, "alice@example.com", Utc::now()).await.unwrap();
    let email: Value = serde_json::from_str(&p.f.published().last().unwrap().1).unwrap();
    let facts: Value = serde_json::from_str(email["sqs"].as_str().unwrap()).unwrap();
    assert_eq!(facts["request"]["id"], request.id.as_str());
    let (_, release_page) = get(&p, query_of(facts["approve_url"].as_str().unwrap())).await;
    assert!(release_page.contains("Release i-"));
    let (status, html) = post(&p, &form_for(&release_page, "approve")).await;
    assert_eq!(status, 200, "{html}");
    assert!(!contained(&p).await, "released: the interfaces have their own groups back");
}

#[tokio::test]
async fn the_signing_key_is_read_from_ssm_parameter_store_and_refused_when_unusable() {
    use warden::approval::token::SigningKey;
    use warden::approval::Decision;
    use warden::config::ApprovalKeySource;
    let f = Fixture::new().await;
    let ssm = aws_sdk_ssm::Client::new(&f.sdk);
    let name = format!("/warden/test/approval-key-{}", std::process::id());
    let secret = "a-secure-string-key-0123456789abcdef";
    ssm.put_parameter()
        .name(&name)
        .value(secret)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .unwrap();
    let key =
        warden::aws::wiring::load_approval_key(&f.sdk, &ApprovalKeySource::SsmParameter(name.clone())).await.unwrap();
    let same = SigningKey::new(secret.as_bytes().to_vec()).unwrap();
    assert_eq!(key.sign("apr-1", Decision::Approve, 1), same.sign("apr-1", Decision::Approve, 1));

    let missing =
        warden::aws::wiring::load_approval_key(&f.sdk, &ApprovalKeySource::SsmParameter("/warden/none".into())).await;
    assert!(missing.unwrap_err().contains("/warden/none"));
    ssm.put_parameter()
        .name(&name)
        .value("short")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .unwrap();
    let short =
        warden::aws::wiring::load_approval_key(&f.sdk, &ApprovalKeySource::SsmParameter(name)).await.unwrap_err();
    assert!(short.contains("at least 32 bytes") && !short.contains("short"), "{short}");
}

#[tokio::test]
async fn the_approvals_url_is_read_from_an_ssm_parameter_and_must_be_https() {
    use warden::config::ApprovalsUrlSource;
    let f = Fixture::new().await;
    let ssm = aws_sdk_ssm::Client::new(&f.sdk);
    let name = format!("/warden/test/approvals-url-{}", std::process::id());
    let put = |value: &'static str| {
        ssm.put_parameter()
            .name(&name)
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .overwrite(true)
            .send()
    };
    put("https://abc123.lambda-url.us-east-1.on.aws/").await.unwrap();
    let url =
        warden::aws::wiring::load_approvals_url(&f.sdk, &ApprovalsUrlSource::SsmParameter(name.clone())).await.unwrap();
    assert_eq!(url, "https://abc123.lambda-url.us-east-1.on.aws/");

    put("http://phish.example.com/").await.unwrap();
    let refused =
        warden::aws::wiring::load_approvals_url(&f.sdk, &ApprovalsUrlSource::SsmParameter(name)).await.unwrap_err();
    assert!(refused.contains("WARDEN_APPROVALS_URL_PARAMETER") && refused.contains("https"), "{refused}");
    let missing =
        warden::aws::wiring::load_approvals_url(&f.sdk, &ApprovalsUrlSource::SsmParameter("/warden/none-url".into()))
            .await;
    assert!(missing.unwrap_err().contains("/warden/none-url"));
}
