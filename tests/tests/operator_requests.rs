//! Operator requests (undo, release) against the local AWS: who asks is who STS says signed the
//! request, that person must be an operator, and every answer is kept for the requester.
//!
//! moto's STS answers `GetCallerIdentity` for the access key in the signature without checking
//! the signature itself (real STS does); so these tests prove everything around it — the
//! binding Warden computes, freshness, region, the operator list, the kept outcomes — and the
//! binding's effect on the signature is proven by a unit test with the SDK's own signer
//! (`shared/src/aws/sts.rs`).

use chrono::{Duration, Utc};

use warden::edge::events::{parse_event, Request, RELEASE_DETAIL_TYPE, UNDO_DETAIL_TYPE};
use warden::exposure::ports::AuditStore;
use warden::operator::{Admission, OperatorAsk, RequestOutcomes};
use warden_integration_tests::{operator_request, operator_session, Fixture, OPERATOR_ROLE};

fn undo_ask(event: &serde_json::Value) -> (String, OperatorAsk) {
    match parse_event(event).expect("the request parses") {
        Request::Undo { remediation_id, ask } => (remediation_id, ask),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_signer_who_is_not_an_operator_is_refused_and_the_refusal_is_kept() {
    let f = Fixture::new().await;
    let desk = f.operator_desk(OPERATOR_ROLE);
    // Another role of the same account, and the account's plain keys (moto's default user).
    let mallory = operator_session(&f.sdk, "arn:aws:iam::123456789012:role/developer", "mallory").await;
    for signer in [&mallory, &f.sdk] {
        let event = operator_request(signer, UNDO_DETAIL_TYPE, "rem-20261202T120000Z-0123456789ab").await;
        let (target, ask) = undo_ask(&event);
        let request = ask.request(UNDO_DETAIL_TYPE, &target);
        let Admission::Answered(refused) = desk.admit(request, &ask.proof, Utc::now()).await.unwrap() else {
            panic!("a non-operator was admitted")
        };
        assert!(!refused.accepted);
        assert!(refused.summary.contains("is not an operator"), "{}", refused.summary);
        let who = refused.requested_by.clone().expect("the refused signer is named");
        assert!(who.starts_with("arn:aws:"), "{who}");
        assert!(!who.contains("warden-operator"), "{who}");
        // The requester reads the refusal back; a second delivery answers the same.
        assert_eq!(desk.outcomes.outcome(&ask.request_id).await.unwrap().as_ref(), Some(&refused));
        let Admission::Answered(again) = desk.admit(request, &ask.proof, Utc::now()).await.unwrap() else { panic!() };
        assert_eq!(again, refused);
    }
}

#[tokio::test]
async fn with_no_operators_configured_nobody_is_admitted() {
    let f = Fixture::new().await;
    let desk = f.operator_desk("");
    let alice = operator_session(&f.sdk, OPERATOR_ROLE, "alice@example.com").await;
    let event = operator_request(&alice, RELEASE_DETAIL_TYPE, "inc-20261202T120000Z-0123456789ab").await;
    let Request::Release { incident_id, ask } = parse_event(&event).unwrap() else { panic!() };
    let admitted = desk.admit(ask.request(RELEASE_DETAIL_TYPE, &incident_id), &ask.proof, Utc::now()).await.unwrap();
    assert!(matches!(admitted, Admission::Answered(ref o) if !o.accepted), "{admitted:?}");
}

#[tokio::test]
async fn a_held_request_replayed_later_is_refused_before_sts_is_asked() {
    let f = Fixture::new().await;
    let desk = f.operator_desk(OPERATOR_ROLE);
    let alice = operator_session(&f.sdk, OPERATOR_ROLE, "alice@example.com").await;
    let event = operator_request(&alice, UNDO_DETAIL_TYPE, "rem-20261202T120000Z-0123456789ab").await;
    let (target, ask) = undo_ask(&event);
    let later = Utc::now() + Duration::minutes(6);
    let Admission::Answered(refused) =
        desk.admit(ask.request(UNDO_DETAIL_TYPE, &target), &ask.proof, later).await.unwrap()
    else {
        panic!("a stale proof was admitted")
    };
    assert!(!refused.accepted && refused.summary.contains("more than 5 minutes"), "{}", refused.summary);
    assert_eq!(refused.requested_by, None, "nobody is named from a proof that was not verified");
}

#[tokio::test]
async fn the_proof_of_one_request_does_not_carry_another_request_id_or_target() {
    let f = Fixture::new().await;
    let desk = f.operator_desk(OPERATOR_ROLE);
    let alice = operator_session(&f.sdk, OPERATOR_ROLE, "alice@example.com").await;
    let event = operator_request(&alice, UNDO_DETAIL_TYPE, "rem-20261202T120000Z-0123456789ab").await;
    let (target, ask) = undo_ask(&event);
    // Warden computes the header STS checks from the request it received, never from the
    // proof: another target gives another binding, which the signature does not cover.
    let signed = ask.request(UNDO_DETAIL_TYPE, &target).binding();
    assert_ne!(ask.request(UNDO_DETAIL_TYPE, "rem-20261202T120000Z-ffffffffffff").binding(), signed);
    assert_ne!(ask.request(RELEASE_DETAIL_TYPE, &target).binding(), signed);
    // And the signature says it covers that header.
    let scope = ask.proof.check(Utc::now(), "us-east-1").unwrap();
    assert!(scope.signed_headers.iter().any(|h| h == "x-warden-request"), "{scope:?}");
    assert!(scope.signed_headers.iter().any(|h| h == "x-amz-security-token"), "a session's token is signed too");
    // An admitted request records who asked when the work is done.
    let Admission::Proceed(caller) =
        desk.admit(ask.request(UNDO_DETAIL_TYPE, &target), &ask.proof, Utc::now()).await.unwrap()
    else {
        panic!()
    };
    let err = f.executor(false).undo(&target, &caller.arn, Utc::now()).await.unwrap_err();
    assert!(err.to_string().contains("no remediation"), "{err}");
    assert!(f.executor(false).store.remediation(&target).await.unwrap().is_none());
}
