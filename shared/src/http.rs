//! HTTP at the edge: API Gateway REST proxy events (payload 1.0), HTTP API events and function
//! URL requests (payload 2.0) become one typed [`HttpRequest`] with the caller's identity, and
//! one [`HttpResponse`] goes back in the shape all of them accept.
//!
//! Who is calling, and for which use case, comes from what API Gateway has already
//! authenticated — never from the request body or a header the caller can set — and from the
//! one source the deployment names (`WARDEN_IDENTITY_SOURCE`): an event that carries its
//! identity anywhere else has no caller, so nobody can pick the source that suits them.
//!
//! | source (`WARDEN_IDENTITY_SOURCE`)                  | caller                         | use case                         |
//! |---------------------------------------------------|--------------------------------|----------------------------------|
//! | `authorizer`: Lambda authorizer context (REST: `authorizer.*`, HTTP: `authorizer.lambda.*`) | `caller`, else `principalId` | `use_case` |
//! | `jwt`: JWT / Cognito claims (`authorizer.jwt.claims`, `authorizer.claims`) | `sub`          | `use_case` or `custom:use_case`  |
//! | `iam`: IAM (`authorizer.iam.userArn`, `identity.userArn`); an assumed role is its role | the ARN    | `WARDEN_API_KEY_USE_CASES[arn]`  |
//! | `api_key`: API key (`identity.apiKeyId`)           | `apikey:<id>`                  | `WARDEN_API_KEY_USE_CASES[id]`   |
//!
//! With `WARDEN_API_ID` / `WARDEN_API_ACCOUNT_ID` set, an event from any other API or account
//! is refused before it is read.

use std::collections::HashMap;

use aws_lambda_events::event::apigw::{ApiGatewayProxyRequest, ApiGatewayRequestAuthorizer, ApiGatewayV2httpRequest};
use aws_lambda_events::http::HeaderMap;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

/// How the caller was authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthSource {
    LambdaAuthorizer,
    Jwt,
    Iam,
    ApiKey,
}

impl AuthSource {
    /// The name `WARDEN_IDENTITY_SOURCE` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LambdaAuthorizer => "authorizer",
            Self::Jwt => "jwt",
            Self::Iam => "iam",
            Self::ApiKey => "api_key",
        }
    }

    pub const NAMES: &'static str = "authorizer, jwt, iam or api_key";
}

impl std::str::FromStr for AuthSource {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "authorizer" => Ok(Self::LambdaAuthorizer),
            "jwt" => Ok(Self::Jwt),
            "iam" => Ok(Self::Iam),
            "api_key" => Ok(Self::ApiKey),
            _ => Err(format!("must be {}", Self::NAMES)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub id: String,
    pub use_case: Option<String>,
    pub source: AuthSource,
    /// The session of an assumed role (`arn:aws:sts::…:assumed-role/<role>/<session>`): the
    /// caller is the role, so quotas and suspensions hold whatever session name is chosen; the
    /// session is kept for the log line.
    pub session: Option<String>,
}

/// Where the caller's identity is read from, and which API's events are accepted at all.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IdentityPolicy {
    /// `WARDEN_IDENTITY_SOURCE`; `None` reads no caller (the approvals page needs none).
    pub source: Option<AuthSource>,
    /// `WARDEN_API_ID`: the API Gateway API ids whose events are accepted (empty: any).
    pub api_ids: Vec<String>,
    /// `WARDEN_API_ACCOUNT_ID`: the account those APIs are in (unset: any).
    pub account_id: Option<String>,
    /// `WARDEN_API_KEY_USE_CASES`: API key ids and IAM ARNs to use cases.
    pub key_use_cases: HashMap<String, String>,
}

impl IdentityPolicy {
    /// Read the caller from `source` alone.
    pub fn from_source(source: AuthSource) -> Self {
        Self { source: Some(source), ..Self::default() }
    }

    fn check_origin(&self, api_id: Option<&str>, account_id: Option<&str>) -> Result<(), GatewayError> {
        if !self.api_ids.is_empty() && !api_id.is_some_and(|id| self.api_ids.iter().any(|a| a == id)) {
            return Err(GatewayError::ForeignApi {
                field: "apiId",
                value: api_id.unwrap_or("(none)").chars().take(64).collect(),
            });
        }
        if let Some(account) = &self.account_id {
            if account_id != Some(account.as_str()) {
                return Err(GatewayError::ForeignApi {
                    field: "accountId",
                    value: account_id.unwrap_or("(none)").chars().take(64).collect(),
                });
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadVersion {
    Rest,
    Http,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest {
    pub version: PayloadVersion,
    pub method: String,
    /// The path below the stage (`/api/chat`).
    pub path: String,
    /// Header names lowercased.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    pub caller: Option<Caller>,
    pub request_id: String,
    pub source_ip: Option<String>,
    /// The raw query string (`rawQueryString`, or REST's parameters re-encoded).
    pub query: String,
    pub user_agent: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    #[error("not an API Gateway proxy event: {0}")]
    NotAGatewayEvent(&'static str),
    #[error("the body is marked base64 but does not decode")]
    BadBase64,
    /// A direct invocation, or another API wired to this function.
    #[error("requestContext.{field} {value} is not the API this validator serves")]
    ForeignApi { field: &'static str, value: String },
}

/// An API Gateway proxy event, typed at the edge: REST (payload 1.0) or HTTP API and function
/// URLs (payload 2.0), as `aws_lambda_events` defines them, or why it is neither.
#[derive(Debug, Clone)]
pub enum GatewayEvent {
    Rest(Box<ApiGatewayProxyRequest>),
    Http(Box<ApiGatewayV2httpRequest>),
    Invalid(GatewayError),
}

impl<'de> Deserialize<'de> for GatewayEvent {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self::from_value(Value::deserialize(deserializer)?))
    }
}

impl GatewayEvent {
    pub fn from_value(mut raw: Value) -> Self {
        if !raw.get("requestContext").is_some_and(Value::is_object) {
            return Self::Invalid(GatewayError::NotAGatewayEvent("no requestContext"));
        }
        if raw.get("version").and_then(Value::as_str) == Some("2.0") {
            if raw.pointer("/requestContext/http/method").and_then(Value::as_str).is_none() {
                return Self::Invalid(GatewayError::NotAGatewayEvent("no requestContext.http.method"));
            }
            if raw.get("rawPath").and_then(Value::as_str).is_none() {
                return Self::Invalid(GatewayError::NotAGatewayEvent("no rawPath"));
            }
            return match serde_json::from_value(raw) {
                Ok(event) => Self::Http(Box::new(event)),
                Err(_) => Self::Invalid(GatewayError::NotAGatewayEvent("not an HTTP API (2.0) event")),
            };
        }
        // API Gateway puts the method in the context too; hand-made events may not.
        if let (Some(method), Some(ctx)) =
            (raw.get("httpMethod").cloned(), raw.get_mut("requestContext").and_then(Value::as_object_mut))
        {
            ctx.entry("httpMethod").or_insert(method);
        }
        if raw.get("httpMethod").and_then(Value::as_str).is_none() {
            return Self::Invalid(GatewayError::NotAGatewayEvent("no httpMethod"));
        }
        if raw.get("path").and_then(Value::as_str).is_none() {
            return Self::Invalid(GatewayError::NotAGatewayEvent("no path"));
        }
        match serde_json::from_value(raw) {
            Ok(event) => Self::Rest(Box::new(event)),
            Err(_) => Self::Invalid(GatewayError::NotAGatewayEvent("not a REST API proxy (1.0) event")),
        }
    }
}

fn nonempty(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.trim().is_empty())
}

/// Header names lowercased (the `http` crate does that), the first value of each.
fn headers_of(map: &HeaderMap) -> HashMap<String, String> {
    let mut headers = HashMap::new();
    for (name, value) in map {
        headers
            .entry(name.as_str().to_string())
            .or_insert_with(|| String::from_utf8_lossy(value.as_bytes()).into_owned());
    }
    headers
}

fn body_of(body: Option<&str>, base64: bool) -> Result<Vec<u8>, GatewayError> {
    match body {
        None => Ok(Vec::new()),
        Some(b) if base64 => base64::engine::general_purpose::STANDARD.decode(b).map_err(|_| GatewayError::BadBase64),
        Some(b) => Ok(b.as_bytes().to_vec()),
    }
}

impl HttpRequest {
    /// Parse a REST (1.0) or HTTP API (2.0) proxy event, the caller read as `identity` says.
    pub fn from_event(event: &Value, identity: &IdentityPolicy) -> Result<Self, GatewayError> {
        Self::from_gateway(&GatewayEvent::from_value(event.clone()), identity)
    }

    pub fn from_gateway(event: &GatewayEvent, identity: &IdentityPolicy) -> Result<Self, GatewayError> {
        match event {
            GatewayEvent::Invalid(e) => Err(e.clone()),
            GatewayEvent::Http(e) => {
                let ctx = &e.request_context;
                identity.check_origin(ctx.apiid.as_deref(), ctx.account_id.as_deref())?;
                let raw = e.raw_path.as_deref().unwrap_or("/");
                // rawPath carries the stage unless it is `$default`.
                let stage = nonempty(ctx.stage.as_deref()).unwrap_or("$default");
                let path = match raw.strip_prefix(&format!("/{stage}")) {
                    Some(rest) if stage != "$default" && rest.starts_with('/') => rest,
                    _ => raw,
                };
                let auth = ctx.authorizer.clone().unwrap_or_default();
                let iam_arn = auth.iam.as_ref().and_then(|i| nonempty(i.user_arn.as_deref())).map(str::to_string);
                let mut headers = headers_of(&e.headers);
                // Payload 2.0 moves cookies out of the headers; one `cookie` header, as sent.
                if let Some(cookies) = e.cookies.as_ref().filter(|c| !c.is_empty()) {
                    headers.entry("cookie".to_string()).or_insert_with(|| cookies.join("; "));
                }
                Ok(Self {
                    version: PayloadVersion::Http,
                    method: ctx.http.method.as_str().to_string(),
                    path: path.to_string(),
                    headers,
                    body: body_of(e.body.as_deref(), e.is_base64_encoded)?,
                    caller: caller_of(&auth, iam_arn, None, identity),
                    request_id: nonempty(ctx.request_id.as_deref()).unwrap_or("-").to_string(),
                    source_ip: nonempty(ctx.http.source_ip.as_deref()).map(str::to_string),
                    query: e.raw_query_string.clone().unwrap_or_default(),
                    user_agent: nonempty(ctx.http.user_agent.as_deref()).map(str::to_string),
                })
            }
            GatewayEvent::Rest(e) => {
                let ctx = &e.request_context;
                identity.check_origin(ctx.apiid.as_deref(), ctx.account_id.as_deref())?;
                let identity_ctx = &ctx.identity;
                let iam_arn = ctx
                    .authorizer
                    .iam
                    .as_ref()
                    .and_then(|i| nonempty(i.user_arn.as_deref()))
                    .or_else(|| nonempty(identity_ctx.user_arn.as_deref()))
                    .map(str::to_string);
                let api_key = nonempty(identity_ctx.api_key_id.as_deref()).map(str::to_string);
                let mut query = form_urlencoded::Serializer::new(String::new());
                for (k, v) in e.query_string_parameters.iter() {
                    query.append_pair(k, v);
                }
                Ok(Self {
                    version: PayloadVersion::Rest,
                    method: e.http_method.as_str().to_string(),
                    path: e.path.clone().unwrap_or_default(),
                    headers: headers_of(&e.headers),
                    body: body_of(e.body.as_deref(), e.is_base64_encoded)?,
                    caller: caller_of(&ctx.authorizer, iam_arn, api_key, identity),
                    request_id: nonempty(ctx.request_id.as_deref()).unwrap_or("-").to_string(),
                    source_ip: nonempty(identity_ctx.source_ip.as_deref()).map(str::to_string),
                    query: query.finish(),
                    user_agent: nonempty(identity_ctx.user_agent.as_deref()).map(str::to_string),
                })
            }
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// The caller, from the configured source only.
fn caller_of(
    auth: &ApiGatewayRequestAuthorizer,
    iam_arn: Option<String>,
    api_key: Option<String>,
    identity: &IdentityPolicy,
) -> Option<Caller> {
    let text = |v: Option<&Value>| nonempty(v.and_then(Value::as_str)).map(str::to_string);
    let caller = |id, use_case, source| Some(Caller { id, use_case, source, session: None });
    match identity.source? {
        AuthSource::LambdaAuthorizer => {
            // HTTP puts the context under `lambda`, REST at the top.
            let lambda = |k: &str| text(auth.fields.get(k));
            let rest = |k: &str| text(auth.other.get(k));
            for context in [&lambda as &dyn Fn(&str) -> Option<String>, &rest] {
                if let Some(id) = context("caller").or_else(|| context("principalId")) {
                    return caller(id, context("use_case"), AuthSource::LambdaAuthorizer);
                }
            }
            None
        }
        AuthSource::Jwt => {
            // JWT (HTTP API) and Cognito user pool (REST `claims`) claims.
            let rest_claims = auth.other.get("claims").and_then(Value::as_object);
            let jwt = |k: &str| auth.jwt.as_ref().and_then(|j| j.claims.get(k)).cloned();
            let cognito = |k: &str| rest_claims.and_then(|c| c.get(k)).and_then(Value::as_str).map(str::to_string);
            for claim in [&jwt as &dyn Fn(&str) -> Option<String>, &cognito] {
                if let Some(sub) = claim("sub").filter(|s| !s.trim().is_empty()) {
                    let use_case =
                        claim("use_case").filter(|s| !s.trim().is_empty()).or_else(|| claim("custom:use_case"));
                    return caller(sub, use_case, AuthSource::Jwt);
                }
            }
            None
        }
        AuthSource::Iam => {
            let (arn, session) = principal_of(&iam_arn?);
            let use_case = identity.key_use_cases.get(&arn).cloned();
            Some(Caller { id: arn, use_case, source: AuthSource::Iam, session })
        }
        AuthSource::ApiKey => {
            let key = api_key?;
            caller(format!("apikey:{key}"), identity.key_use_cases.get(&key).cloned(), AuthSource::ApiKey)
        }
    }
}

/// An assumed-role ARN names its role and a session the caller chose:
/// `arn:aws:sts::123456789012:assumed-role/ops/anything` is the role
/// `arn:aws:iam::123456789012:role/ops`, session `anything`. Other ARNs are themselves.
pub fn principal_of(arn: &str) -> (String, Option<String>) {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if let [prefix, partition, "sts", "", account, resource] = parts[..] {
        if let Some((role, session)) = resource.strip_prefix("assumed-role/").and_then(|r| r.split_once('/')) {
            if !role.is_empty() && !session.is_empty() {
                return (format!("{prefix}:{partition}:iam::{account}:role/{role}"), Some(session.to_string()));
            }
        }
    }
    (arn.to_string(), None)
}

/// A response both payload versions accept.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpResponse {
    pub status: u16,
    pub content_type: &'static str,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    pub fn json(status: u16, body: &Value) -> Self {
        Self { status, content_type: "application/json", headers: Vec::new(), body: body.to_string() }
    }

    /// Ollama's error shape, which every Ollama client shows its user: `{"error": "<message>"}`,
    /// with the machine-readable `code` and any extra fields (`findings`, `until`) beside it.
    pub fn error(status: u16, code: &str, message: &str, extra: Value) -> Self {
        let mut body = json!({"error": message, "code": code});
        if let (Some(b), Some(x)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in x {
                b.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        Self::json(status, &body)
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// Every header the caller gets: the content type, no caching, no sniffing, then its own.
    pub fn header_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        [("content-type", self.content_type), ("cache-control", "no-store"), ("x-content-type-options", "nosniff")]
            .into_iter()
            .chain(self.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    pub fn to_event(&self) -> Value {
        let mut headers = serde_json::Map::new();
        for (k, v) in self.header_pairs() {
            headers.insert(k.to_string(), json!(v));
        }
        json!({
            "statusCode": self.status,
            "headers": headers,
            "body": self.body,
            "isBase64Encoded": false,
        })
    }

    /// For a function URL: the same, with the `cookies` list function URLs answer with (a REST
    /// API refuses keys it does not know, so `to_event` has none): `set-cookie` headers go there.
    pub fn to_function_url_event(&self) -> Value {
        let mut event = self.to_event();
        let cookies: Vec<&str> = self
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .map(|(_, v)| v.as_str())
            .collect();
        if let Some(headers) = event["headers"].as_object_mut() {
            headers.remove("set-cookie");
        }
        event["cookies"] = json!(cookies);
        event
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(source: AuthSource) -> IdentityPolicy {
        IdentityPolicy {
            key_use_cases: HashMap::from([
                ("k1abc".to_string(), "internal_use".to_string()),
                ("arn:aws:iam::123456789012:role/ops".to_string(), "internal_use".to_string()),
            ]),
            ..IdentityPolicy::from_source(source)
        }
    }

    fn rest_event() -> Value {
        json!({
            "resource": "/{proxy+}", "path": "/api/chat", "httpMethod": "POST",
            "headers": {"Content-Type": "application/json"}, "body": "{}", "isBase64Encoded": false,
            "requestContext": {"requestId": "r1", "stage": "prod", "apiId": "a1b2c3d4e5", "accountId": "123456789012",
                "identity": {"sourceIp": "10.0.0.1", "apiKeyId": "k1abc",
                    "userArn": "arn:aws:sts::123456789012:assumed-role/ops/i-0abc-session"},
                "authorizer": {"principalId": "team-a", "use_case": "customer_service"}}
        })
    }

    #[test]
    fn rest_event_with_a_lambda_authorizer() {
        let r = HttpRequest::from_event(&rest_event(), &with(AuthSource::LambdaAuthorizer)).unwrap();
        assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/api/chat"));
        assert_eq!(r.header("content-type"), Some("application/json"));
        let c = r.caller.unwrap();
        assert_eq!(
            (c.id.as_str(), c.use_case.as_deref(), c.source),
            ("team-a", Some("customer_service"), AuthSource::LambdaAuthorizer)
        );
    }

    #[test]
    fn the_caller_comes_from_the_configured_source_only() {
        // The same event carries an authorizer context, an API key and an IAM identity: each
        // configuration reads its own, and none falls back to another.
        let e = rest_event();
        let id = |source| HttpRequest::from_event(&e, &with(source)).unwrap().caller.map(|c| c.id);
        assert_eq!(id(AuthSource::LambdaAuthorizer).as_deref(), Some("team-a"));
        assert_eq!(id(AuthSource::ApiKey).as_deref(), Some("apikey:k1abc"));
        assert_eq!(id(AuthSource::Iam).as_deref(), Some("arn:aws:iam::123456789012:role/ops"));
        assert_eq!(id(AuthSource::Jwt), None, "no claims: no caller, not the next source");
        let mut no_authorizer = e.clone();
        no_authorizer["requestContext"]["authorizer"] = json!({});
        let r = HttpRequest::from_event(&no_authorizer, &with(AuthSource::LambdaAuthorizer)).unwrap();
        assert_eq!(r.caller, None, "an API key is not an authorizer's verdict");
        assert_eq!(HttpRequest::from_event(&e, &IdentityPolicy::default()).unwrap().caller, None);
    }

    #[test]
    fn an_assumed_role_is_its_role_whatever_the_session() {
        let c = HttpRequest::from_event(&rest_event(), &with(AuthSource::Iam)).unwrap().caller.unwrap();
        assert_eq!(c.id, "arn:aws:iam::123456789012:role/ops");
        assert_eq!(c.use_case.as_deref(), Some("internal_use"), "the use case is the role's");
        assert_eq!(c.session.as_deref(), Some("i-0abc-session"));
        assert_eq!(
            principal_of("arn:aws-us-gov:sts::111122223333:assumed-role/r/s/with/slashes"),
            ("arn:aws-us-gov:iam::111122223333:role/r".to_string(), Some("s/with/slashes".to_string()))
        );
        let user = "arn:aws:iam::123456789012:user/alice";
        assert_eq!(principal_of(user), (user.to_string(), None));
        assert_eq!(principal_of("arn:aws:sts::1:assumed-role/"), ("arn:aws:sts::1:assumed-role/".to_string(), None));
    }

    #[test]
    fn events_from_another_api_or_account_are_refused() {
        let mut policy = with(AuthSource::LambdaAuthorizer);
        policy.api_ids = vec!["a1b2c3d4e5".into()];
        policy.account_id = Some("123456789012".into());
        assert!(HttpRequest::from_event(&rest_event(), &policy).is_ok());
        let mut other = rest_event();
        other["requestContext"]["apiId"] = json!("zzzzzzzzzz");
        assert!(matches!(
            HttpRequest::from_event(&other, &policy),
            Err(GatewayError::ForeignApi { field: "apiId", .. })
        ));
        let mut missing = rest_event();
        missing["requestContext"].as_object_mut().unwrap().remove("apiId");
        assert!(HttpRequest::from_event(&missing, &policy).is_err(), "a hand-made event without an apiId");
        let mut account = rest_event();
        account["requestContext"]["accountId"] = json!("999999999999");
        assert!(matches!(
            HttpRequest::from_event(&account, &policy),
            Err(GatewayError::ForeignApi { field: "accountId", .. })
        ));
    }

    #[test]
    fn http_event_with_jwt_claims_and_a_stage_prefix() {
        let e = json!({
            "version": "2.0", "rawPath": "/prod/api/generate", "headers": {},
            "body": "eyJhIjoxfQ==", "isBase64Encoded": true,
            "requestContext": {"requestId": "r2", "stage": "prod", "http": {"method": "POST", "sourceIp": "10.0.0.2"},
                "authorizer": {"jwt": {"claims": {"sub": "user-1", "custom:use_case": "internal_use"}, "scopes": null}}}
        });
        let r = HttpRequest::from_event(&e, &with(AuthSource::Jwt)).unwrap();
        assert_eq!(r.path, "/api/generate");
        assert_eq!(r.body, br#"{"a":1}"#);
        let c = r.caller.unwrap();
        assert_eq!((c.id.as_str(), c.use_case.as_deref(), c.source), ("user-1", Some("internal_use"), AuthSource::Jwt));
    }

    #[test]
    fn api_keys_map_to_use_cases_and_no_identity_is_none() {
        let keys = with(AuthSource::ApiKey);
        let e =
            json!({"path": "/api/chat", "httpMethod": "POST", "requestContext": {"identity": {"apiKeyId": "k1abc"}}});
        let c = HttpRequest::from_event(&e, &keys).unwrap().caller.unwrap();
        assert_eq!((c.id.as_str(), c.use_case.as_deref()), ("apikey:k1abc", Some("internal_use")));
        let e =
            json!({"path": "/api/chat", "httpMethod": "POST", "requestContext": {"identity": {"sourceIp": "1.2.3.4"}}});
        assert_eq!(HttpRequest::from_event(&e, &keys).unwrap().caller, None);
        // A caller-set header is not an identity.
        let e =
            json!({"path": "/api/chat", "httpMethod": "POST", "headers": {"x-caller": "admin"}, "requestContext": {}});
        assert_eq!(HttpRequest::from_event(&e, &keys).unwrap().caller, None);
    }

    #[test]
    fn not_a_gateway_event() {
        let keys = with(AuthSource::ApiKey);
        assert!(HttpRequest::from_event(&json!({"source": "aws.events"}), &keys).is_err());
        let e = json!({"version": "2.0", "rawPath": "/x", "body": "%%%", "isBase64Encoded": true,
            "requestContext": {"http": {"method": "POST"}}});
        assert_eq!(HttpRequest::from_event(&e, &keys), Err(GatewayError::BadBase64));
    }
}
