//! Closing the loop, against the local AWS: an abuse alarm suspends the caller (recorded,
//! notified), the validator refuses it within its cache bound, the suspension expires or is
//! lifted from the email's link, replays change nothing, repeats escalate to revoking the API
//! key, and a fleet-wide alarm asks to tighten everyone's quotas.

use std::time::Duration as StdDuration;

use chrono::{Duration, Utc};
use serde_json::{json, Value};

use warden::approval::flow::SignIn;
use warden::approval::oidc::OidcProvider;
use warden::approval::ports::ApprovalStore;
use warden::aws::wiring::{request_guard, suspension_service};
use warden::aws::{ApiGatewayKeys, DynamoStore, SnsNotifier};
use warden::config::ValidatorConfig;
use warden::edge::events::{parse_event, Request};
use warden::http::HttpResponse;
use warden::registry::parse_registry_yaml;
use warden::registry::ports::ModelRegistryStore;
use warden::suspension::ports::SuspensionStore;
use warden::suspension::service::SuspensionService;
use warden::suspension::CallerAlarm;
use warden::validator::service::RequestGuard;
use warden::validator::upstream::OllamaClient;
use warden_integration_tests::fake_ollama::FakeOllama;
use warden_integration_tests::oidc::{LocalOidc, Visit};
use warden_integration_tests::{sample_of, AwsApprovals, Fixture, TEST_APPROVALS_URL};

type Guard = RequestGuard<DynamoStore, DynamoStore, OllamaClient>;
type Suspensions = SuspensionService<DynamoStore, ApiGatewayKeys, SnsNotifier>;

struct Loop {
    f: Fixture,
    ollama: FakeOllama,
    approvals: AwsApprovals,
    suspensions: Suspensions,
    sign_in: SignIn<OidcProvider>,
    _oidc: LocalOidc,
}

async fn setup() -> Loop {
    let f = Fixture::new().await;
    let store = DynamoStore::new(f.ddb.clone(), &f.table);
    let registry = parse_registry_yaml(include_str!("../../events/request-validator/model-registry.yaml")).unwrap();
    store.replace_models(&registry, Utc::now()).await.unwrap();
    let ollama = FakeOllama::start(0).await.unwrap();
    let approvals = f.approvals();
    let suspensions = suspension_service(&f.config(false), &f.sdk);
    let oidc = LocalOidc::start(TEST_APPROVALS_URL);
    let sign_in = oidc.sign_in(r#"{"*": ["alice@example.com"]}"#);
    Loop { f, ollama, approvals, suspensions, sign_in, _oidc: oidc }
}

impl Loop {
    fn guard(&self, extra: &[(&str, &str)]) -> Guard {
        let mut vars = vec![
            ("WARDEN_TABLE_NAME", self.f.table.as_str()),
            ("OLLAMA_URL", self.ollama.url.as_str()),
            ("WARDEN_IDENTITY_SOURCE", "authorizer"),
        ];
        vars.extend_from_slice(extra);
        let config =
            ValidatorConfig::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())).unwrap();
        request_guard(&config, &self.f.sdk)
    }

    fn alarm(&self, name: &str, event_id: &str, caller: Option<&str>) -> CallerAlarm {
        let mut event = sample_of("remediator", name);
        event["id"] = json!(event_id);
        if let Some(c) = caller {
            event["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"]["Caller"] = json!(c);
        }
        let Request::CallerAlarm(alarm) = parse_event(&event).unwrap() else { panic!("not a caller alarm") };
        alarm
    }

    /// What the validator records when it refuses `n` of `caller`'s requests as offences:
    /// a per-caller alarm suspends only when these agree with it.
    async fn offend(&self, caller: &str, n: usize) {
        for _ in 0..n {
            self.suspensions.store.record_offence(caller, Utc::now()).await.unwrap();
        }
    }

    /// Open an approval link, press its button, sign in as an approver and decide, as a person
    /// would: the answer's status and page.
    async fn decide(&self, link: &str) -> (u16, String) {
        let runner =
            warden::approval::runners::Runners { isolation: self.f.isolation(None), suspensions: &self.suspensions };
        let mut browser =
            Visit { approvals: &self.approvals, runner: &runner, sign_in: &self.sign_in, cookies: Vec::new() };
        let done = browser.decide_as(link, "alice@example.com").await;
        (done.status, done.body)
    }

    async fn approve(&self, link: &str) -> String {
        let (status, body) = self.decide(link).await;
        assert_eq!(status, 200, "{body}");
        body
    }
}

/// A request of `caller` (the allowed chat sample, re-attributed).
fn chat_of(caller: &str) -> Value {
    let mut e = sample_of("request-validator", "chat-allowed.json");
    e["requestContext"]["authorizer"]["principalId"] = json!(caller);
    e
}

fn code(r: &HttpResponse) -> String {
    serde_json::from_str::<Value>(&r.body).ok().and_then(|v| v["code"].as_str().map(str::to_string)).unwrap_or_default()
}

#[tokio::test]
async fn an_alarm_suspends_the_caller_until_lifted_and_replays_change_nothing() {
    let l = setup().await;
    let guard = l.guard(&[("WARDEN_SUSPENSION_CACHE_SECONDS", "1")]);
    assert_eq!(guard.handle(&chat_of("team-web"), Utc::now()).await.0.status, 200);

    let alarm = l.alarm("cloudwatch-alarm-prompt-injection-caller.json", "alarm-1", None);
    l.offend("team-web", 5).await;
    let report = l.suspensions.handle_alarm(&alarm, &l.approvals, Utc::now()).await.unwrap();
    assert!(!report.duplicate && !report.escalated, "{report:?}");
    let until = report.until.unwrap();
    assert!((until - Utc::now() - Duration::minutes(60)).num_seconds().abs() < 5);

    // Recorded for audit, and notified with links to lift or extend.
    let record = l.suspensions.store.suspension(report.suspension_id.as_deref().unwrap()).await.unwrap().unwrap();
    assert_eq!((record.caller.as_str(), record.alarm.as_str()), ("team-web", "llm-prompt-injection-team-web"));
    let published = l.f.published();
    let (subject, message) =
        published.iter().find(|(s, _)| s.contains("Suspended team-web")).expect("a suspension email");
    assert!(subject.contains("team-web"));
    let text = serde_json::from_str::<Value>(message).unwrap()["email"].as_str().unwrap().to_string();
    let lift_link =
        text.lines().find(|l| l.contains("Lift it now")).unwrap().split_whitespace().last().unwrap().to_string();

    // The validator refuses within its cache bound (1 s here), with the end time.
    tokio::time::sleep(StdDuration::from_millis(1100)).await;
    let (r, o) = guard.handle(&chat_of("team-web"), Utc::now()).await;
    assert_eq!((r.status, code(&r).as_str()), (403, "caller_suspended"), "{}", r.body);
    let body: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(body["until"].as_str().unwrap(), until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    assert!(o.suspended);
    assert_eq!(guard.handle(&chat_of("team-support"), Utc::now()).await.0.status, 200, "only that caller");
    // It ends by itself: an hour later the same suspension no longer applies.
    assert_eq!(guard.handle(&chat_of("team-web"), until + Duration::seconds(1)).await.0.status, 200);

    // A replayed alarm: nothing new, no second email, the end unchanged.
    let emails = l.f.published().len();
    let replay = l.suspensions.handle_alarm(&alarm, &l.approvals, Utc::now() + Duration::minutes(5)).await.unwrap();
    assert!(replay.duplicate);
    assert_eq!(replay.until, Some(until));
    assert_eq!(l.f.published().len(), emails);

    // Lifted from the email's link (GET shows the page, the button acts).
    let done = l.approve(&lift_link).await;
    assert!(done.contains("may call the LLM API again"), "{done}");
    tokio::time::sleep(StdDuration::from_millis(1100)).await;
    assert_eq!(guard.handle(&chat_of("team-web"), Utc::now()).await.0.status, 200);
    let record = l.suspensions.store.suspension(&record.id).await.unwrap().unwrap();
    assert_eq!(record.status, warden::suspension::SuspensionStatus::Lifted);
    assert!(record.history[0].contains("lifted by"));
}

/// The "Lift it now" link of the newest suspension email about `caller`.
fn lift_link_of(published: &[(String, String)], caller: &str) -> String {
    let (_, message) =
        published.iter().rev().find(|(s, _)| s.contains(&format!("Suspended {caller}"))).expect("a suspension email");
    let text = serde_json::from_str::<Value>(message).unwrap()["email"].as_str().unwrap().to_string();
    text.lines().find(|l| l.contains("Lift it now")).unwrap().split_whitespace().last().unwrap().to_string()
}

#[tokio::test]
async fn an_old_lift_link_lifts_its_own_suspension_only() {
    let l = setup().await;
    l.offend("team-web", 5).await;
    let first = l.alarm("cloudwatch-alarm-prompt-injection-caller.json", "alarm-old", None);
    let old = l.suspensions.handle_alarm(&first, &l.approvals, Utc::now()).await.unwrap();
    let old_link = lift_link_of(&l.f.published(), "team-web");
    // A later alarm: a new suspension, in force until later.
    let second = l.alarm("cloudwatch-alarm-prompt-injection-caller.json", "alarm-new", None);
    let new = l.suspensions.handle_alarm(&second, &l.approvals, Utc::now() + Duration::minutes(30)).await.unwrap();
    let in_force = l.suspensions.store.restrictions().await.unwrap();
    let active = in_force.suspension_of("team-web", Utc::now()).expect("suspended").clone();
    assert_eq!(Some(&active.suspension_id), new.suspension_id.as_ref(), "the later suspension is the one in force");
    assert_ne!(old.suspension_id, new.suspension_id);

    // The old link: refused, and the suspension in force stays.
    let (_, body) = l.decide(&old_link).await;
    assert!(body.contains("nothing changed") && body.contains("the one in force"), "{body}");
    let after = l.suspensions.store.restrictions().await.unwrap();
    assert_eq!(after.suspension_of("team-web", Utc::now()), Some(&active), "still suspended, unchanged");

    // The new suspension's own link lifts it.
    let done = l.approve(&lift_link_of(&l.f.published(), "team-web")).await;
    assert!(done.contains("may call the LLM API again"), "{done}");
    assert!(l.suspensions.store.restrictions().await.unwrap().suspension_of("team-web", Utc::now()).is_none());
}

#[tokio::test]
async fn a_forged_alarm_suspends_no_one() {
    // Anyone who can create an alarm named llm-… or publish to Custom/LLM: the alarm names
    // team-web, but the validator never refused team-web.
    let l = setup().await;
    let guard = l.guard(&[("WARDEN_SUSPENSION_CACHE_SECONDS", "0")]);
    l.offend("team-web", 2).await;
    let alarm = l.alarm("cloudwatch-alarm-prompt-injection-caller.json", "alarm-forged", None);
    let report = l.suspensions.handle_alarm(&alarm, &l.approvals, Utc::now()).await.unwrap();
    assert_eq!((report.kind, report.suspension_id.as_deref()), ("uncorroborated", None), "{report:?}");
    assert!(report.summary.contains("refused only 2 of its requests"), "{}", report.summary);
    let restrictions = l.suspensions.store.restrictions().await.unwrap();
    assert!(restrictions.suspension_of("team-web", Utc::now()).is_none(), "nobody suspended");
    assert_eq!(guard.handle(&chat_of("team-web"), Utc::now()).await.0.status, 200);
    let published = l.f.published();
    assert!(published.iter().any(|(s, _)| s.contains("Not suspended: team-web")), "operations are told: {published:?}");
    // Once the validator has seen enough, the same kind of alarm acts.
    l.offend("team-web", 1).await;
    let alarm = l.alarm("cloudwatch-alarm-prompt-injection-caller.json", "alarm-real", None);
    let report = l.suspensions.handle_alarm(&alarm, &l.approvals, Utc::now()).await.unwrap();
    assert_eq!(report.kind, "suspension", "{report:?}");
}

#[tokio::test]
async fn repeated_suspensions_escalate_to_revoking_the_api_key() {
    let l = setup().await;
    let apigw = aws_sdk_apigateway::Client::new(&l.f.sdk);
    let key = apigw.create_api_key().name("team-web-key").enabled(true).send().await.unwrap().id.unwrap();
    let caller = format!("apikey:{key}");
    l.offend(&caller, 5).await;
    let mut last = None;
    for i in 0..3 {
        let alarm = l.alarm("cloudwatch-alarm-prompt-injection-caller.json", &format!("alarm-{i}"), Some(&caller));
        last = Some(l.suspensions.handle_alarm(&alarm, &l.approvals, Utc::now()).await.unwrap());
    }
    let report = last.unwrap();
    assert!(report.escalated, "{report:?}");
    let revoke_id = report.approval_requests.last().unwrap();
    let request = l.approvals.store.approval(revoke_id).await.unwrap().unwrap();
    assert!(request.action.label().starts_with("Revoke the access of apikey:"));
    let published = l.f.published();
    let email = published.iter().rev().find(|(s, _)| s.contains("Revoke the access")).expect("an approval email");
    let text = serde_json::from_str::<Value>(&email.1).unwrap()["email"].as_str().unwrap().to_string();
    let approve =
        text.lines().find(|l| l.starts_with("Approve:")).unwrap().split_whitespace().last().unwrap().to_string();
    let done = l.approve(&approve).await;
    assert!(done.contains("disabled"), "{done}");
    let key_now = apigw.get_api_key().api_key(&key).send().await.unwrap();
    assert!(!key_now.enabled(), "the API key is disabled");
    let r = l.suspensions.store.restrictions().await.unwrap();
    assert!(r.suspension_of(&caller, Utc::now() + Duration::days(300)).is_some(), "suspended until someone lifts it");
}

#[tokio::test]
async fn a_fleet_alarm_asks_to_tighten_and_names_the_top_offenders() {
    let l = setup().await;
    let guard = l.guard(&[
        ("WARDEN_SUSPENSION_CACHE_SECONDS", "0"),
        (
            "WARDEN_VALIDATOR_POLICY",
            r#"{"use_cases": {"customer_service": {"requests_per_window": 4}}, "quota_window_seconds": 3600}"#,
        ),
    ]);
    // Offences on record: three injection attempts by team-web, one by team-ops.
    let mut attack = sample_of("request-validator", "chat-prompt-injection.json");
    for _ in 0..3 {
        assert_eq!(guard.handle(&attack, Utc::now()).await.0.status, 400);
    }
    attack["requestContext"]["authorizer"]["principalId"] = json!("team-ops");
    guard.handle(&attack, Utc::now()).await;

    let alarm = l.alarm("cloudwatch-alarm-auth-failures-fleet.json", "fleet-1", None);
    let report = l.suspensions.handle_alarm(&alarm, &l.approvals, Utc::now()).await.unwrap();
    assert_eq!(report.top_callers, [("team-web".to_string(), 3), ("team-ops".to_string(), 1)]);
    assert!(l.suspensions.store.restrictions().await.unwrap().fleet.is_none(), "nothing tightened without approval");
    let replay = l.suspensions.handle_alarm(&alarm, &l.approvals, Utc::now() + Duration::seconds(30)).await.unwrap();
    assert!(replay.duplicate && replay.approval_requests == report.approval_requests);

    let email =
        l.f.published().into_iter().rev().find(|(s, _)| s.contains("Cut every caller")).expect("an approval email");
    let text = serde_json::from_str::<Value>(&email.1).unwrap()["email"].as_str().unwrap().to_string();
    assert!(text.contains("team-web (3)"), "{text}");
    let approve =
        text.lines().find(|l| l.starts_with("Approve:")).unwrap().split_whitespace().last().unwrap().to_string();
    assert!(l.approve(&approve).await.contains("50%"));
    // Quotas halved: 4 requests per window become 2.
    let statuses: Vec<u16> = futures_statuses(&guard, 3).await;
    assert_eq!(statuses, [200, 200, 429]);
}

async fn futures_statuses(guard: &Guard, n: usize) -> Vec<u16> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(guard.handle(&chat_of("team-support"), Utc::now()).await.0.status);
    }
    out
}
