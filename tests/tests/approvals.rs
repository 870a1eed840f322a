//! Approvals a link scanner cannot click and a link alone cannot decide, against the local AWS
//! and a real OpenID Connect provider: the request and its email, a GET that never acts, a page
//! with only its link's decision, signing in as an approver, a POST that acts once as that
//! person, rejection, expiry, and every bad link, form, sign-in and person.

use std::time::Instant;

use chrono::{Duration, Utc};
use serde_json::Value;

use warden::approval::flow::SignIn;
use warden::approval::oidc::OidcProvider;
use warden::approval::ports::ApprovalStore;
use warden::approval::ApprovalStatus;
use warden::edge::events::{parse_event, Request};
use warden::isolation::executor::IncidentReport;
use warden_integration_tests::oidc::{form_of, LocalOidc, Visit};
use warden_integration_tests::{
    url_event, AwsApprovals, AwsIsolation, Fixture, GpuNode, IncidentStatusOf, TEST_APPROVALS_URL,
};

const FORM: &str = "application/x-www-form-urlencoded";
/// Alice approves isolations and releases; Bob releases only; Mallory has an account, no more.
const APPROVERS: &str = r#"{"isolate": ["alice@example.com"], "release": ["alice@example.com", "bob@example.com"]}"#;

struct Pending {
    f: Fixture,
    node: GpuNode,
    isolation: AwsIsolation,
    approvals: AwsApprovals,
    report: IncidentReport,
    request_id: String,
    approve_link: String,
    reject_link: String,
    sign_in: SignIn<OidcProvider>,
    _oidc: LocalOidc,
}

impl Pending {
    /// A fresh browser: no cookies.
    fn browser(&self) -> Visit<'_, AwsIsolation> {
        Visit { approvals: &self.approvals, runner: &self.isolation, sign_in: &self.sign_in, cookies: Vec::new() }
    }
}

/// A medium-severity finding: evidence protected, the rest waits for approval.
async fn pending() -> Pending {
    let oidc = LocalOidc::start(TEST_APPROVALS_URL);
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
    let message: Value = serde_json::from_str(&published.last().unwrap().1).unwrap();
    let email = message["email"].as_str().unwrap();
    Pending {
        approve_link: link_in(email, "Approve:"),
        reject_link: link_in(email, "Reject:"),
        request_id: request.id,
        sign_in: oidc.sign_in(APPROVERS),
        _oidc: oidc,
        f,
        node,
        isolation,
        approvals,
        report,
    }
}

/// The link on the email's line that starts with `label`.
fn link_in(email: &str, label: &str) -> String {
    let line = email.lines().find(|l| l.starts_with(label)).unwrap_or_else(|| panic!("no {label} line in:\n{email}"));
    line[label.len()..].trim().to_string()
}

fn query_of(link: &str) -> &str {
    link.split_once('?').unwrap().1
}

async fn contained(p: &Pending) -> bool {
    let groups = p.f.interface_groups(&p.node.interfaces[0].0).await;
    let mut original = p.node.interfaces[0].1.clone();
    original.sort();
    groups != original
}

async fn status_of(p: &Pending) -> ApprovalStatus {
    p.approvals.store.approval(&p.request_id).await.unwrap().unwrap().status
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
    let message: Value = serde_json::from_str(message).unwrap();
    let text = message["email"].as_str().unwrap().to_string();
    assert!(text.contains(&p.approve_link) && text.contains(&p.reject_link), "{text}");
    assert!(text.contains("nothing happens until you press a button"));
    // Whoever subscribes a queue, an endpoint or a phone to the topic gets no link.
    for protocol in ["default", "sqs", "lambda", "http", "https", "email-json"] {
        let body = message[protocol].as_str().unwrap();
        assert!(!body.contains("token="), "{protocol} carries a signed link: {body}");
    }

    // Asking again (a redelivered event) sends nothing new.
    let count = p.f.published().len();
    let again = p.approvals.ask_to_isolate(&p.report, Utc::now()).await.unwrap();
    assert_eq!(again.id, p.request_id);
    assert_eq!(p.f.published().len(), count);
}

#[tokio::test]
async fn each_link_opens_a_page_of_its_own_decision_only_and_a_get_changes_nothing() {
    let p = pending().await;
    let mut browser = p.browser();
    for (link, own, other) in [
        (&p.approve_link, "Sign in to approve", "reject"),
        (&p.reject_link, "Sign in to reject", "approve"),
        (&p.approve_link, "Sign in to approve", "reject"),
    ] {
        let page = browser.get(query_of(link)).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains(own) && page.body.contains("opening this page changes nothing"), "{}", page.body);
        assert_eq!(page.body.matches("<form").count(), 1, "one form: the link's decision");
        assert!(!page.body.contains(&format!(r#"value="{other}""#)), "no form for the other decision");
    }
    let request = p.approvals.store.approval(&p.request_id).await.unwrap().unwrap();
    assert_eq!(request.status, ApprovalStatus::Pending);
    assert!(request.decision.is_none());
    assert!(!contained(&p).await, "a link scanner's GET did not isolate anything");
}

#[tokio::test]
async fn a_link_alone_decides_nothing_without_signing_in() {
    // The attack: whoever holds the email (or subscribed to the topic) posts the link's fields.
    let p = pending().await;
    let mut browser = p.browser();
    let page = browser.get(query_of(&p.approve_link)).await;
    let link_form = form_of(&page.body);
    for body in [
        link_form.replace("step=sign_in", "step=confirm"),
        link_form.replace("&step=sign_in", ""),
        format!("{}&confirmation=eyJmb3JnZWQiOnRydWV9.AAAA", link_form.replace("step=sign_in", "step=confirm")),
    ] {
        let answer = browser.post(&body).await;
        assert_eq!(answer.status, 401, "{body}: {}", answer.body);
        assert!(answer.body.contains("Sign in first"));
    }
    // Pressing the button only sends the browser to the provider: nothing is decided.
    let started = browser.post(&link_form).await;
    assert_eq!(started.status, 303);
    assert!(started.location.as_deref().unwrap().starts_with(&p._oidc.issuer), "{:?}", started.location);
    let location = started.location.unwrap();
    assert!(location.contains("code_challenge_method=S256") && location.contains("nonce="), "{location}");
    assert!(started
        .cookies
        .iter()
        .any(|c| c.contains("HttpOnly") && c.contains("Secure") && c.contains("SameSite=Lax")));
    assert_eq!(status_of(&p).await, ApprovalStatus::Pending);
    assert!(!contained(&p).await);
}

#[tokio::test]
async fn an_approver_signs_in_and_approves_once_recorded_as_the_decider() {
    let p = pending().await;
    let mut browser = p.browser();
    let signed_in = browser.sign_in_from(&p.approve_link, "alice@example.com", "alice-password").await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.body);
    assert!(signed_in.body.contains("Signed in as <strong>alice@example.com</strong>"), "{}", signed_in.body);
    assert!(!contained(&p).await, "signing in decides nothing either");
    let confirm = form_of(&signed_in.body);
    let done = browser.post(&confirm).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("approved and done"), "{}", done.body);
    assert!(contained(&p).await, "the approved plan ran");

    let request = p.approvals.store.approval(&p.request_id).await.unwrap().unwrap();
    assert_eq!(request.status, ApprovalStatus::Approved);
    let decision = request.decision.unwrap();
    assert_eq!(decision.decided_by.as_deref(), Some("alice@example.com"));
    assert_eq!(decision.source_ip, "198.51.100.23");
    assert!(decision.outcome.contains("isolated"), "{}", decision.outcome);
    assert_eq!(p.isolation.store_incident(&p.report.incident_id).await, "isolated");
    let told = p.f.published();
    assert!(told.last().unwrap().1.contains("Decided by alice@example.com"), "{:?}", told.last());

    // The same signed-in form again, or from another browser: single use.
    let again = browser.post(&confirm).await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(again.body.contains("Already decided"));
    assert_eq!(p.browser().post(&confirm).await.status, 409);
}

#[tokio::test]
async fn people_who_are_not_approvers_of_the_kind_decide_nothing() {
    let p = pending().await;
    for (who, password) in [("mallory@example.com", "mallory-password"), ("bob@example.com", "bob-password")] {
        let mut browser = p.browser();
        let answer = browser.sign_in_from(&p.approve_link, who, password).await;
        assert_eq!(answer.status, 403, "{who}: {}", answer.body);
        assert!(answer.body.contains("not on the approvers list for &quot;isolate&quot;"), "{}", answer.body);
        assert!(!answer.body.contains("<form"), "no button for them");
    }
    assert_eq!(status_of(&p).await, ApprovalStatus::Pending);
    assert!(!contained(&p).await);
}

#[tokio::test]
async fn a_sign_in_counts_only_in_the_browser_that_started_it_and_for_its_own_link() {
    let p = pending().await;
    // Alice starts from the reject link; the provider's redirect back is replayed in another
    // browser (no cookie), then with the state altered.
    let mut alice = p.browser();
    let page = alice.get(query_of(&p.reject_link)).await;
    let started = alice.post(&form_of(&page.body)).await;
    let back = LocalOidc::person_signs_in(started.location.as_deref().unwrap(), "alice@example.com", "alice-password")
        .unwrap();
    let query = back.split_once('?').unwrap().1.to_string();
    let elsewhere = p.browser().get(&query).await;
    assert_eq!(elsewhere.status, 400, "{}", elsewhere.body);
    assert!(elsewhere.body.contains("did not start here"));
    let mut forged_state = p.browser();
    forged_state.cookies = alice.cookies.clone();
    let altered = forged_state.get(&query.replace("state=", "state=x")).await;
    assert_eq!(altered.status, 403, "{}", altered.body);
    // In her own browser it works, and offers only what her link was for: rejecting.
    let cookies_before = alice.cookies.clone();
    let signed_in = alice.get(&query).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.body);
    assert!(signed_in.body.contains(">Reject</button>") && !signed_in.body.contains(">Approve</button>"));
    // Turning the signed-in reject form into an approval is refused.
    let flipped = form_of(&signed_in.body).replace("decision=reject", "decision=approve");
    assert_eq!(alice.post(&flipped).await.status, 401);
    // A code is good once: the same redirect again, cookie and all, is refused by the provider.
    let mut again = p.browser();
    again.cookies = cookies_before;
    let replayed = again.get(&query).await;
    assert_eq!(replayed.status, 403, "{}", replayed.body);
    assert_eq!(status_of(&p).await, ApprovalStatus::Pending);
    let rejected = alice.post(&form_of(&signed_in.body)).await;
    assert_eq!(rejected.status, 200, "{}", rejected.body);
    assert!(rejected.body.contains("was rejected"));
    assert!(!contained(&p).await);
    assert_eq!(p.isolation.store_incident(&p.report.incident_id).await, "dismissed", "free for new incidents");
    assert_eq!(status_of(&p).await, ApprovalStatus::Rejected);
    assert!(p.f.published().last().unwrap().0.starts_with("[Warden] Rejected"));
}

#[tokio::test]
async fn an_unanswered_request_expires_is_escalated_and_can_no_longer_be_approved() {
    let p = pending().await;
    let mut browser = p.browser();
    let signed_in = browser.sign_in_from(&p.approve_link, "alice@example.com", "alice-password").await;
    let confirm = form_of(&signed_in.body);
    // The signed-in page is good for five minutes, and for people still on the list.
    let late = p
        .approvals
        .http(&url_event("POST", "", Some(&confirm), FORM), &p.isolation, &p.sign_in, Utc::now() + Duration::minutes(6))
        .await;
    assert_eq!(late["statusCode"], 410, "{}", late["body"]);
    let list_changed = p._oidc.sign_in(r#"{"release": ["alice@example.com"]}"#);
    let removed =
        p.approvals.http(&url_event("POST", "", Some(&confirm), FORM), &p.isolation, &list_changed, Utc::now()).await;
    assert_eq!(removed["statusCode"], 403, "{}", removed["body"]);
    assert_eq!(status_of(&p).await, ApprovalStatus::Pending);
    let report = p.approvals.expire(Utc::now() + Duration::hours(25)).await.unwrap();
    assert!(report.expired.contains(&p.request_id), "{report:?}");
    assert_eq!(status_of(&p).await, ApprovalStatus::Expired);
    assert!(p.f.published().last().unwrap().0.starts_with("[Warden] ESCALATION: approval expired unanswered"));
    let answer = browser.post(&form_of(&signed_in.body)).await;
    assert_eq!(answer.status, 409, "an expired request decides nothing");
    assert!(!contained(&p).await);
    assert!(p.approvals.expire(Utc::now() + Duration::hours(26)).await.unwrap().expired.is_empty());
}

#[tokio::test]
async fn bad_links_and_bodies_get_a_clear_page_and_execute_nothing() {
    let p = pending().await;
    let mut browser = p.browser();
    let page = browser.get(query_of(&p.approve_link)).await;
    let good = form_of(&page.body);
    let token = warden_integration_tests::oidc::field(&page.body, "token");
    let exp: i64 = warden_integration_tests::oidc::field(&page.body, "expires").parse().unwrap();
    let mut flipped = token.clone().into_bytes();
    flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
    let tampered = good.replace(&token, &String::from_utf8(flipped).unwrap());
    let wrong_decision = good.replace("decision=approve", "decision=reject");
    let unknown = good.replace(&p.request_id, "apr-00000000000000000000000000000000");
    let longer = good.replace(&format!("expires={exp}"), &format!("expires={}", exp + 86_400));
    let cases: [(&str, String, u16, &str); 6] = [
        ("tampered token", tampered, 403, "not valid"),
        ("wrong decision", wrong_decision, 403, "other decision"),
        ("unknown request", unknown, 404, "no such approval request"),
        ("longer expiry", longer, 403, "not valid"),
        ("missing fields", format!("request={}&step=sign_in", p.request_id), 400, "incomplete"),
        ("garbage", "%%%&&&==&step=sign_in".to_string(), 400, "incomplete"),
    ];
    for (what, body, want, text) in cases {
        let answer = browser.post(&body).await;
        assert_eq!(answer.status, want, "{what}: {}", answer.body);
        assert!(answer.body.contains(text), "{what}: {}", answer.body);
        assert!(answer.location.is_none(), "{what}: never sent to sign in");
    }
    let p = &p;
    let run = |event: Value| async move {
        p.approvals.http(&event, &p.isolation, &p.sign_in, Utc::now()).await["statusCode"].as_u64().unwrap()
    };
    let big = format!("{good}&pad={}", "x".repeat(10_000));
    assert_eq!(run(url_event("POST", "", Some(&big), FORM)).await, 413);
    assert_eq!(run(url_event("POST", "", Some(&good), "application/json")).await, 415);
    assert_eq!(run(url_event("DELETE", "", None, "")).await, 405);
    let mut b64 = url_event("POST", "", Some("!!!not base64!!!"), FORM);
    b64["isBase64Encoded"] = true.into();
    assert_eq!(run(b64).await, 400);
    // The provider's redirect with a made-up code, in the right browser: refused by the provider.
    let started = browser.post(&good).await;
    let state =
        started.location.as_deref().unwrap().split("state=").nth(1).unwrap().split('&').next().unwrap().to_string();
    let made_up = browser.get(&format!("code=made-up&state={state}")).await;
    assert_eq!(made_up.status, 403, "{}", made_up.body);

    assert_eq!(status_of(p).await, ApprovalStatus::Pending);
    assert!(!contained(p).await, "nothing executed");
    // …and the genuine flow still works afterwards.
    assert_eq!(p.browser().decide_as(&p.approve_link, "alice@example.com").await.status, 200);
    assert!(contained(p).await);
}

#[tokio::test]
async fn a_release_request_goes_through_the_same_flow() {
    let p = pending().await;
    assert_eq!(p.browser().decide_as(&p.approve_link, "alice@example.com").await.status, 200);
    let record = warden::isolation::ports::IncidentStore::incident(&p.isolation.store, &p.report.incident_id)
        .await
        .unwrap()
        .unwrap();
    let request = p.approvals.ask_to_release(&record, "alice@example.com", Utc::now()).await.unwrap();
    let message: Value = serde_json::from_str(&p.f.published().last().unwrap().1).unwrap();
    let facts: Value = serde_json::from_str(message["sqs"].as_str().unwrap()).unwrap();
    assert_eq!(facts["request"]["id"], request.id.as_str());
    let link = &link_in(message["email"].as_str().unwrap(), "Approve:");
    let page = p.browser().get(query_of(link)).await;
    assert!(page.body.contains("Release i-"));
    // Bob may release (not isolate).
    let answer = p.browser().decide_as(link, "bob@example.com").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
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
