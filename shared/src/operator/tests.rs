use super::*;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn proof(authorization: &str) -> CallerProof {
    CallerProof { authorization: authorization.into(), amz_date: "20261202T120000Z".into(), security_token: None }
}

const SIG: &str = "fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024";

fn auth(credential: &str, headers: &str) -> String {
    format!("AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders={headers}, Signature={SIG}")
}

const NOW: &str = "2026-12-02T12:02:00Z";
const SCOPE: &str = "AKIDEXAMPLE/20261202/us-east-1/sts/aws4_request";
const HEADERS: &str = "content-type;host;x-amz-date;x-warden-request";

#[test]
fn a_well_formed_fresh_proof_passes_the_local_checks() {
    let scope = proof(&auth(SCOPE, HEADERS)).check(at(NOW), "us-east-1").unwrap();
    assert_eq!(scope.access_key_id, "AKIDEXAMPLE");
    assert_eq!(scope.signed_at, at("2026-12-02T12:00:00Z"));
}

#[test]
fn a_proof_must_be_fresh_bound_and_for_sts_in_warden_region() {
    let now = at(NOW);
    let stale = proof(&auth(SCOPE, HEADERS)).check(at("2026-12-02T12:05:01Z"), "us-east-1");
    assert!(matches!(stale, Err(ProofError::Stale { .. })), "{stale:?}");
    let early = proof(&auth(SCOPE, HEADERS)).check(at("2026-12-02T11:54:59Z"), "us-east-1");
    assert!(matches!(early, Err(ProofError::Stale { .. })), "signed in the future: {early:?}");
    let unbound = proof(&auth(SCOPE, "content-type;host;x-amz-date")).check(now, "us-east-1");
    assert_eq!(unbound, Err(ProofError::NotBound(REQUEST_HEADER)));
    let no_host = proof(&auth(SCOPE, "x-amz-date;x-warden-request")).check(now, "us-east-1");
    assert_eq!(no_host, Err(ProofError::NotBound("host")));
    let region = proof(&auth("AKIDEXAMPLE/20261202/eu-west-1/sts/aws4_request", HEADERS)).check(now, "us-east-1");
    assert!(matches!(region, Err(ProofError::WrongRegion(..))));
    for (credential, headers, why) in [
        ("AKIDEXAMPLE/20261202/us-east-1/s3/aws4_request", HEADERS, "another service"),
        ("AKIDEXAMPLE/20261201/us-east-1/sts/aws4_request", HEADERS, "the scope's date is not the signing date"),
        ("AKIDEXAMPLE/20261202/us-east-1/sts", HEADERS, "a short scope"),
        ("AKID EXAMPLE/20261202/us-east-1/sts/aws4_request", HEADERS, "a key id with a space"),
        (SCOPE, "host;x-warden-request;x-forwarded-for", "a header Warden does not send"),
    ] {
        assert!(
            matches!(proof(&auth(credential, headers)).check(now, "us-east-1"), Err(ProofError::Malformed(_))),
            "{why}"
        );
    }
    for authorization in [
        String::new(),
        format!("AWS4-HMAC-SHA512 Credential={SCOPE}, SignedHeaders={HEADERS}, Signature={SIG}"),
        format!("AWS4-HMAC-SHA256 Credential={SCOPE}, SignedHeaders={HEADERS}"),
        format!("AWS4-HMAC-SHA256 Credential={SCOPE}, SignedHeaders={HEADERS}, Signature=abc"),
        format!("AWS4-HMAC-SHA256 Credential={SCOPE}, Credential={SCOPE}, SignedHeaders={HEADERS}, Signature={SIG}"),
        format!("AWS4-HMAC-SHA256 Credential={SCOPE}, SignedHeaders={HEADERS}, Signature={SIG}, {}", "x".repeat(1024)),
    ] {
        assert!(matches!(proof(&authorization).check(now, "us-east-1"), Err(ProofError::Malformed(_))));
    }
    let mut bad_date = proof(&auth(SCOPE, HEADERS));
    bad_date.amz_date = "2026-12-02T12:00:00Z".into();
    assert!(matches!(bad_date.check(now, "us-east-1"), Err(ProofError::Malformed(_))));
    // A session token is either sent and signed, or neither.
    let mut unsigned_token = proof(&auth(SCOPE, HEADERS));
    unsigned_token.security_token = Some("token".into());
    assert!(matches!(unsigned_token.check(now, "us-east-1"), Err(ProofError::Malformed(_))));
    let missing_token = proof(&auth(SCOPE, "host;x-amz-date;x-amz-security-token;x-warden-request"));
    assert!(matches!(missing_token.check(now, "us-east-1"), Err(ProofError::Malformed(_))));
}

#[test]
fn the_binding_names_kind_target_and_request() {
    let undo = OperatorRequest { detail_type: "Warden Undo Request", target: "rem-1", request_id: "abc" };
    let b = undo.binding();
    assert_eq!(b.len(), 64);
    for other in [
        OperatorRequest { detail_type: "Warden Release Request", ..undo },
        OperatorRequest { target: "rem-2", ..undo },
        OperatorRequest { request_id: "abd", ..undo },
        // Text cannot move between fields: the edge refuses ids with a newline.
        OperatorRequest { target: "rem-1\nabc", request_id: "", ..undo },
    ] {
        assert_ne!(other.binding(), b, "{other:?}");
    }
    assert!(valid_request_id(&"a".repeat(43)));
    assert!(!valid_request_id("short") && !valid_request_id(&format!("{}\n", "a".repeat(20))));
}

fn caller(arn: &str) -> ProvenCaller {
    ProvenCaller { arn: arn.into(), account: arn.split(':').nth(4).unwrap_or("").into() }
}

#[test]
fn operators_are_roles_and_users_by_arn() {
    let ops =
        Operators::parse("arn:aws:iam::123456789012:role/ops/warden-operator, arn:aws:iam::123456789012:user/carol")
            .unwrap();
    assert!(ops.admits(&caller("arn:aws:sts::123456789012:assumed-role/warden-operator/alice@example.com")));
    assert!(ops.admits(&caller("arn:aws:iam::123456789012:user/carol")));
    for outsider in [
        "arn:aws:sts::123456789012:assumed-role/warden-operator-2/alice",
        "arn:aws:sts::210987654321:assumed-role/warden-operator/alice",
        "arn:aws:sts::123456789012:assumed-role/warden-operator/",
        "arn:aws:iam::123456789012:role/warden-operator",
        "arn:aws:iam::123456789012:user/carol2",
        "arn:aws:iam::123456789012:root",
        "arn:aws:sts::123456789012:user/moto",
        "arn:aws-cn:sts::123456789012:assumed-role/warden-operator/alice",
        "",
    ] {
        assert!(!ops.admits(&caller(outsider)), "{outsider}");
    }
    // The account STS answers must be the ARN's.
    let mut lying = caller("arn:aws:sts::123456789012:assumed-role/warden-operator/alice");
    lying.account = "210987654321".into();
    assert!(!ops.admits(&lying));
    assert!(Operators::parse("").unwrap().is_empty());
    for bad in [
        "warden-operator",
        "arn:aws:iam::123:role/x",
        "arn:aws:iam::123456789012:group/ops",
        "arn:aws:iam::123456789012:role/",
    ] {
        assert!(Operators::parse(bad).is_err(), "{bad}");
    }
}

struct AnswersWith(Result<ProvenCaller, ProofError>);

impl CallerVerifier for AnswersWith {
    fn region(&self) -> &str {
        "us-east-1"
    }
    async fn caller(&self, _: &CallerProof, binding: &str) -> Result<ProvenCaller, ProofError> {
        assert_eq!(binding.len(), 64, "the verifier is asked with the request's binding");
        self.0.clone()
    }
}

#[tokio::test]
async fn only_an_operator_proven_by_sts_is_admitted() {
    let ops = Operators::parse("arn:aws:iam::123456789012:role/warden-operator").unwrap();
    let request = OperatorRequest { detail_type: "Warden Undo Request", target: "rem-1", request_id: "abc" };
    let good = proof(&auth(SCOPE, HEADERS));
    let alice = caller("arn:aws:sts::123456789012:assumed-role/warden-operator/alice");
    let admitted = prove_operator(&AnswersWith(Ok(alice.clone())), &ops, request, &good, at(NOW)).await;
    assert_eq!(admitted, Ok(alice));
    let mallory = caller("arn:aws:sts::123456789012:assumed-role/dev/mallory");
    let refused = prove_operator(&AnswersWith(Ok(mallory)), &ops, request, &good, at(NOW)).await;
    assert!(matches!(refused, Err(ProofError::NotAnOperator(ref arn)) if arn.ends_with("dev/mallory")));
    let sts_says_no = AnswersWith(Err(ProofError::Refused("SignatureDoesNotMatch".into())));
    assert!(matches!(prove_operator(&sts_says_no, &ops, request, &good, at(NOW)).await, Err(ProofError::Refused(_))));
    // A stale proof is refused before STS is asked.
    let never = AnswersWith(Err(ProofError::Unavailable("must not be asked".into())));
    let late = prove_operator(&never, &ops, request, &good, at("2026-12-02T13:00:00Z")).await;
    assert!(matches!(late, Err(ProofError::Stale { .. })));
}

proptest::proptest! {
    /// Whatever an event carries, the checks answer (never panic) and admit nothing malformed:
    /// anything they pass has the shape STS will be asked about.
    #[test]
    fn any_proof_is_answered_and_only_a_well_formed_one_passes(
        credential in "[A-Za-z0-9/_-]{0,80}",
        headers in "[a-z;-]{0,80}",
        signature in "[0-9a-fA-F]{0,70}",
        amz_date in "[0-9TZ]{0,20}",
        token in proptest::option::of(".{0,40}"),
        junk in ".{0,40}",
    ) {
        let authorization = format!("AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders={headers}, Signature={signature}{junk}");
        let p = CallerProof { authorization, amz_date, security_token: token };
        if let Ok(scope) = p.check(at(NOW), "us-east-1") {
            proptest::prop_assert_eq!(scope.region, "us-east-1");
            proptest::prop_assert!(scope.signed_headers.iter().any(|h| h == REQUEST_HEADER));
            proptest::prop_assert!((at(NOW) - scope.signed_at).abs() <= PROOF_LIFETIME);
        }
        let _ = Operators::parse(&credential);
    }
}
