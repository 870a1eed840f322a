//! Caller proofs over STS: signing one (the `warden` command line, with the operator's
//! credentials) and having STS verify one (the remediator). See [`crate::operator`].

use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_xml::decode::{try_data, Document};
use bytes::Bytes;
use http_body_util::Full;

use crate::https_client::HttpsClient;
use crate::operator::{
    CallerProof, CallerVerifier, ProofError, ProvenCaller, REQUEST_HEADER, STS_BODY, STS_CONTENT_TYPE,
};

const TIMEOUT: Duration = Duration::from_secs(5);

/// Where STS is for this configuration: `AWS_ENDPOINT_URL_STS`, else `AWS_ENDPOINT_URL` (a
/// local AWS), else the region's own endpoint. The signer and the verifier agree on it, and the
/// verifier never sends a proof anywhere else.
pub fn sts_endpoint(sdk: &SdkConfig) -> Result<(String, String), String> {
    let region = sdk.region().map(|r| r.as_ref().to_string()).ok_or("no AWS region is configured: set AWS_REGION")?;
    let endpoint = std::env::var("AWS_ENDPOINT_URL_STS")
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| sdk.endpoint_url().map(str::to_string))
        .unwrap_or_else(|| {
            let suffix = if region.starts_with("cn-") { "amazonaws.com.cn" } else { "amazonaws.com" };
            format!("https://sts.{region}.{suffix}")
        });
    let uri: http::Uri = endpoint.parse().map_err(|e| format!("the STS endpoint {endpoint:?} is not a URL: {e}"))?;
    if uri.host().is_none() || !matches!(uri.scheme_str(), Some("https" | "http")) {
        return Err(format!("the STS endpoint {endpoint:?} must be an http(s) URL with a host"));
    }
    Ok((format!("{}://{}/", uri.scheme_str().unwrap_or("https"), uri.authority().map_or("", |a| a.as_str())), region))
}

/// Sign (not send) `GetCallerIdentity` with the configured credentials, bound to one request.
pub async fn sign_caller_proof(sdk: &SdkConfig, binding: &str) -> Result<CallerProof, String> {
    let (endpoint, region) = sts_endpoint(sdk)?;
    let provider = sdk.credentials_provider().ok_or("no AWS credentials are configured")?;
    let credentials = provider.provide_credentials().await.map_err(|e| format!("no AWS credentials: {e}"))?;
    sign_at(credentials, &region, &endpoint, binding, SystemTime::now())
}

fn sign_at(
    credentials: Credentials,
    region: &str,
    endpoint: &str,
    binding: &str,
    time: SystemTime,
) -> Result<CallerProof, String> {
    let identity = credentials.into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| format!("cannot sign: {e}"))?
        .into();
    let headers = [("content-type", STS_CONTENT_TYPE), (REQUEST_HEADER, binding)];
    let signable =
        SignableRequest::new("POST", endpoint, headers.into_iter(), SignableBody::Bytes(STS_BODY.as_bytes()))
            .map_err(|e| format!("cannot sign: {e}"))?;
    let (instructions, _) = sign(signable, &params).map_err(|e| format!("cannot sign: {e}"))?.into_parts();
    let (mut authorization, mut amz_date, mut security_token) = (None, None, None);
    for (name, value) in instructions.headers() {
        match name {
            "authorization" => authorization = Some(value.to_string()),
            "x-amz-date" => amz_date = Some(value.to_string()),
            "x-amz-security-token" => security_token = Some(value.to_string()),
            _ => {}
        }
    }
    Ok(CallerProof {
        authorization: authorization.ok_or("the signer gave no Authorization header")?,
        amz_date: amz_date.ok_or("the signer gave no X-Amz-Date header")?,
        security_token,
    })
}

/// Asks this region's STS who signed a proof.
pub struct StsCallers {
    client: HttpsClient,
    endpoint: String,
    region: String,
}

impl StsCallers {
    pub fn new(sdk: &SdkConfig) -> Result<Self, String> {
        let (endpoint, region) = sts_endpoint(sdk)?;
        Ok(Self { client: HttpsClient::new(TIMEOUT)?, endpoint, region })
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

impl CallerVerifier for StsCallers {
    fn region(&self) -> &str {
        &self.region
    }

    async fn caller(&self, proof: &CallerProof, binding: &str) -> Result<ProvenCaller, ProofError> {
        // Everything but the signature is Warden's own: endpoint, body, and the binding header
        // computed from the request received. hyper sets `host` from the endpoint.
        let mut request = http::Request::post(&self.endpoint)
            .header("content-type", STS_CONTENT_TYPE)
            .header(REQUEST_HEADER, binding)
            .header("x-amz-date", &proof.amz_date)
            .header("authorization", &proof.authorization)
            .header("accept", "text/xml");
        if let Some(token) = &proof.security_token {
            request = request.header("x-amz-security-token", token);
        }
        let request = request
            .body(Full::new(Bytes::from_static(STS_BODY.as_bytes())))
            .map_err(|e| ProofError::Malformed(format!("not a valid header value: {e}")))?;
        let (status, body) = self.client.send(request).await.map_err(ProofError::Unavailable)?;
        let body = std::str::from_utf8(&body).unwrap_or("");
        match status {
            200 => parse_identity(body).ok_or_else(|| ProofError::Unavailable("STS answered without an ARN".into())),
            400..=499 => Err(ProofError::Refused(error_code(body).unwrap_or_else(|| format!("HTTP {status}")))),
            _ => Err(ProofError::Unavailable(format!("STS answered HTTP {status}"))),
        }
    }
}

/// `GetCallerIdentityResponse/GetCallerIdentityResult/{Arn,Account}`.
fn parse_identity(xml: &str) -> Option<ProvenCaller> {
    let mut doc = Document::try_from(xml.as_bytes()).ok()?;
    let mut root = doc.root_element().ok()?;
    if !root.start_el().matches("GetCallerIdentityResponse") {
        return None;
    }
    let (mut arn, mut account) = (None, None);
    while let Some(mut result) = root.next_tag() {
        if !result.start_el().matches("GetCallerIdentityResult") {
            continue;
        }
        while let Some(mut field) = result.next_tag() {
            if field.start_el().matches("Arn") {
                arn = try_data(&mut field).ok().map(|s| s.trim().to_string());
            } else if field.start_el().matches("Account") {
                account = try_data(&mut field).ok().map(|s| s.trim().to_string());
            }
        }
    }
    Some(ProvenCaller { arn: arn.filter(|a| !a.is_empty())?, account: account.filter(|a| !a.is_empty())? })
}

/// `ErrorResponse/Error/Code` (`SignatureDoesNotMatch`, `InvalidClientTokenId`, `ExpiredToken`).
fn error_code(xml: &str) -> Option<String> {
    let mut doc = Document::try_from(xml.as_bytes()).ok()?;
    let mut root = doc.root_element().ok()?;
    while let Some(mut error) = root.next_tag() {
        if !error.start_el().matches("Error") {
            continue;
        }
        while let Some(mut field) = error.next_tag() {
            if field.start_el().matches("Code") {
                return try_data(&mut field).ok().map(|s| s.trim().chars().take(100).collect());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operator::OperatorRequest;

    fn proof_for(binding: &str, token: Option<&str>) -> CallerProof {
        let credentials = Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            token.map(String::from),
            None,
            "test",
        );
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_212_800); // 2026-12-02T12:00:00Z
        sign_at(credentials, "us-east-1", "https://sts.us-east-1.amazonaws.com/", binding, at).unwrap()
    }

    #[test]
    fn a_proof_signs_the_binding_of_its_own_request_only() {
        let undo =
            OperatorRequest { detail_type: "Warden Undo Request", target: "rem-1", request_id: "r".repeat(43).leak() };
        let other = OperatorRequest { target: "rem-2", ..undo };
        let proof = proof_for(&undo.binding(), None);
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-02T12:01:00Z").unwrap().to_utc();
        let scope = proof.check(now, "us-east-1").expect("a fresh proof for this region passes the local checks");
        assert_eq!(scope.access_key_id, "AKIDEXAMPLE");
        assert!(scope.signed_headers.iter().any(|h| h == REQUEST_HEADER), "{:?}", scope.signed_headers);
        // SigV4 is deterministic: the same request signs the same, another request differently,
        // so STS (which recomputes it with the header Warden sends) accepts it for this one only.
        assert_eq!(proof_for(&undo.binding(), None), proof);
        assert_ne!(proof_for(&other.binding(), None).authorization, proof.authorization);
        let with_token = proof_for(&undo.binding(), Some("session-token"));
        assert_eq!(with_token.security_token.as_deref(), Some("session-token"));
        assert!(with_token.check(now, "us-east-1").unwrap().signed_headers.iter().any(|h| h == "x-amz-security-token"));
        assert!(matches!(proof.check(now, "eu-west-1"), Err(ProofError::WrongRegion(..))));
    }

    /// The sample requests in events/ were signed by botocore (the AWS CLI's signer): the same
    /// request signed here gives the same signature, so the two agree on SigV4.
    #[test]
    fn the_signature_agrees_with_botocore() {
        let sample: serde_json::Value =
            serde_json::from_str(include_str!("../../../events/remediator/warden-undo-request.json")).unwrap();
        let detail = &sample["detail"];
        let request = OperatorRequest {
            detail_type: "Warden Undo Request",
            target: detail["remediation_id"].as_str().unwrap(),
            request_id: detail["request_id"].as_str().unwrap(),
        };
        let credentials =
            Credentials::new("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", None, None, "doc");
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-26T10:12:25Z").unwrap();
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(at.timestamp() as u64);
        let ours =
            sign_at(credentials, "us-east-1", "https://sts.us-east-1.amazonaws.com/", &request.binding(), at).unwrap();
        assert_eq!(ours.authorization, detail["proof"]["authorization"].as_str().unwrap());
        assert_eq!(ours.amz_date, detail["proof"]["amz_date"].as_str().unwrap());
    }

    #[test]
    fn the_arn_is_read_from_sts_answer() {
        let xml = r#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>arn:aws:sts::123456789012:assumed-role/warden-operator/alice@example.com</Arn>
    <UserId>AROAEXAMPLE:alice@example.com</UserId>
    <Account>123456789012</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata><RequestId>01234567-89ab</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>"#;
        assert_eq!(
            parse_identity(xml),
            Some(ProvenCaller {
                arn: "arn:aws:sts::123456789012:assumed-role/warden-operator/alice@example.com".into(),
                account: "123456789012".into()
            })
        );
        assert_eq!(parse_identity("<ErrorResponse/>"), None);
        assert_eq!(parse_identity("not xml"), None);
        let err = r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>…</Message></Error></ErrorResponse>"#;
        assert_eq!(error_code(err).as_deref(), Some("SignatureDoesNotMatch"));
    }
}
