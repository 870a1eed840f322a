//! HTTP at the edge: API Gateway REST proxy events (payload 1.0), HTTP API events and function
//! URL requests (payload 2.0) become one typed [`HttpRequest`] with the caller's identity, and
//! one [`HttpResponse`] goes back in the shape all of them accept.
//!
//! Who is calling, and for which use case, comes from what API Gateway has already
//! authenticated — never from the request body or a header the caller can set:
//!
//! | source (first found wins)                         | caller                         | use case                         |
//! |---------------------------------------------------|--------------------------------|----------------------------------|
//! | Lambda authorizer context (REST: `authorizer.*`, HTTP: `authorizer.lambda.*`) | `caller`, else `principalId` | `use_case` |
//! | JWT / Cognito claims (`authorizer.jwt.claims`, `authorizer.claims`) | `sub`          | `use_case` or `custom:use_case`  |
//! | IAM (`authorizer.iam.userArn`, `identity.userArn`) | the ARN                       | `WARDEN_API_KEY_USE_CASES[arn]`  |
//! | API key (`identity.apiKeyId`)                     | `apikey:<id>`                  | `WARDEN_API_KEY_USE_CASES[id]`   |

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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub id: String,
    pub use_case: Option<String>,
    pub source: AuthSource,
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
    /// Parse a REST (1.0) or HTTP API (2.0) proxy event. `key_use_cases` maps API key ids and
    /// IAM ARNs to use cases.
    pub fn from_event(event: &Value, key_use_cases: &HashMap<String, String>) -> Result<Self, GatewayError> {
        Self::from_gateway(&GatewayEvent::from_value(event.clone()), key_use_cases)
    }

    pub fn from_gateway(event: &GatewayEvent, key_use_cases: &HashMap<String, String>) -> Result<Self, GatewayError> {
        match event {
            GatewayEvent::Invalid(e) => Err(e.clone()),
            GatewayEvent::Http(e) => {
                let ctx = &e.request_context;
                let raw = e.raw_path.as_deref().unwrap_or("/");
                // rawPath carries the stage unless it is `$default`.
                let stage = nonempty(ctx.stage.as_deref()).unwrap_or("$default");
                let path = match raw.strip_prefix(&format!("/{stage}")) {
                    Some(rest) if stage != "$default" && rest.starts_with('/') => rest,
                    _ => raw,
                };
                let auth = ctx.authorizer.clone().unwrap_or_default();
                let iam_arn = auth.iam.as_ref().and_then(|i| nonempty(i.user_arn.as_deref())).map(str::to_string);
                Ok(Self {
                    version: PayloadVersion::Http,
                    method: ctx.http.method.as_str().to_string(),
                    path: path.to_string(),
                    headers: headers_of(&e.headers),
                    body: body_of(e.body.as_deref(), e.is_base64_encoded)?,
                    caller: caller_of(&auth, iam_arn, None, key_use_cases),
                    request_id: nonempty(ctx.request_id.as_deref()).unwrap_or("-").to_string(),
                    source_ip: nonempty(ctx.http.source_ip.as_deref()).map(str::to_string),
                    query: e.raw_query_string.clone().unwrap_or_default(),
                    user_agent: nonempty(ctx.http.user_agent.as_deref()).map(str::to_string),
                })
            }
            GatewayEvent::Rest(e) => {
                let ctx = &e.request_context;
                let identity = &ctx.identity;
                let iam_arn = ctx
                    .authorizer
                    .iam
                    .as_ref()
                    .and_then(|i| nonempty(i.user_arn.as_deref()))
                    .or_else(|| nonempty(identity.user_arn.as_deref()))
                    .map(str::to_string);
                let api_key = nonempty(identity.api_key_id.as_deref()).map(str::to_string);
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
                    caller: caller_of(&ctx.authorizer, iam_arn, api_key, key_use_cases),
                    request_id: nonempty(ctx.request_id.as_deref()).unwrap_or("-").to_string(),
                    source_ip: nonempty(identity.source_ip.as_deref()).map(str::to_string),
                    query: query.finish(),
                    user_agent: nonempty(identity.user_agent.as_deref()).map(str::to_string),
                })
            }
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

fn caller_of(
    auth: &ApiGatewayRequestAuthorizer,
    iam_arn: Option<String>,
    api_key: Option<String>,
    key_use_cases: &HashMap<String, String>,
) -> Option<Caller> {
    let text = |v: Option<&Value>| nonempty(v.and_then(Value::as_str)).map(str::to_string);
    // Lambda authorizer: HTTP puts the context under `lambda`, REST at the top.
    let lambda = |k: &str| text(auth.fields.get(k));
    let rest = |k: &str| text(auth.other.get(k));
    for context in [&lambda as &dyn Fn(&str) -> Option<String>, &rest] {
        if let Some(id) = context("caller").or_else(|| context("principalId")) {
            return Some(Caller { id, use_case: context("use_case"), source: AuthSource::LambdaAuthorizer });
        }
    }
    // JWT (HTTP API) and Cognito user pool (REST `claims`) claims.
    let rest_claims = auth.other.get("claims").and_then(Value::as_object);
    let jwt = |k: &str| auth.jwt.as_ref().and_then(|j| j.claims.get(k)).cloned();
    let cognito = |k: &str| rest_claims.and_then(|c| c.get(k)).and_then(Value::as_str).map(str::to_string);
    for claim in [&jwt as &dyn Fn(&str) -> Option<String>, &cognito] {
        if let Some(sub) = claim("sub").filter(|s| !s.trim().is_empty()) {
            let use_case = claim("use_case").filter(|s| !s.trim().is_empty()).or_else(|| claim("custom:use_case"));
            return Some(Caller { id: sub, use_case, source: AuthSource::Jwt });
        }
    }
    if let Some(arn) = iam_arn {
        return Some(Caller { use_case: key_use_cases.get(&arn).cloned(), id: arn, source: AuthSource::Iam });
    }
    if let Some(key) = api_key {
        return Some(Caller {
            id: format!("apikey:{key}"),
            use_case: key_use_cases.get(&key).cloned(),
            source: AuthSource::ApiKey,
        });
    }
    None
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

    /// `{"error": {"code": …, "message": …}}` plus any extra fields.
    pub fn error(status: u16, code: &str, message: &str, extra: Value) -> Self {
        let mut error = json!({"code": code, "message": message});
        if let (Some(e), Some(x)) = (error.as_object_mut(), extra.as_object()) {
            for (k, v) in x {
                e.insert(k.clone(), v.clone());
            }
        }
        Self::json(status, &json!({ "error": error }))
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    pub fn to_event(&self) -> Value {
        let mut headers = serde_json::Map::new();
        headers.insert("content-type".into(), json!(self.content_type));
        headers.insert("cache-control".into(), json!("no-store"));
        headers.insert("x-content-type-options".into(), json!("nosniff"));
        for (k, v) in &self.headers {
            headers.insert(k.clone(), json!(v));
        }
        json!({
            "statusCode": self.status,
            "headers": headers,
            "body": self.body,
            "isBase64Encoded": false,
        })
    }

    /// For a function URL: the same, with the `cookies` list function URLs answer with (a REST
    /// API refuses keys it does not know, so `to_event` has none).
    pub fn to_function_url_event(&self) -> Value {
        let mut event = self.to_event();
        event["cookies"] = json!([]);
        event
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> HashMap<String, String> {
        HashMap::from([("k1abc".to_string(), "internal_use".to_string())])
    }

    #[test]
    fn rest_event_with_a_lambda_authorizer() {
        let e = json!({
            "resource": "/{proxy+}", "path": "/api/chat", "httpMethod": "POST",
            "headers": {"Content-Type": "application/json"}, "body": "{}", "isBase64Encoded": false,
            "requestContext": {"requestId": "r1", "stage": "prod", "identity": {"sourceIp": "10.0.0.1", "apiKeyId": "k1abc"},
                "authorizer": {"principalId": "team-a", "use_case": "customer_service"}}
        });
        let r = HttpRequest::from_event(&e, &keys()).unwrap();
        assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/api/chat"));
        assert_eq!(r.header("content-type"), Some("application/json"));
        let c = r.caller.unwrap();
        assert_eq!(
            (c.id.as_str(), c.use_case.as_deref(), c.source),
            ("team-a", Some("customer_service"), AuthSource::LambdaAuthorizer)
        );
    }

    #[test]
    fn http_event_with_jwt_claims_and_a_stage_prefix() {
        let e = json!({
            "version": "2.0", "rawPath": "/prod/api/generate", "headers": {},
            "body": "eyJhIjoxfQ==", "isBase64Encoded": true,
            "requestContext": {"requestId": "r2", "stage": "prod", "http": {"method": "POST", "sourceIp": "10.0.0.2"},
                "authorizer": {"jwt": {"claims": {"sub": "user-1", "custom:use_case": "internal_use"}, "scopes": null}}}
        });
        let r = HttpRequest::from_event(&e, &keys()).unwrap();
        assert_eq!(r.path, "/api/generate");
        assert_eq!(r.body, br#"{"a":1}"#);
        let c = r.caller.unwrap();
        assert_eq!((c.id.as_str(), c.use_case.as_deref(), c.source), ("user-1", Some("internal_use"), AuthSource::Jwt));
    }

    #[test]
    fn api_keys_map_to_use_cases_and_no_identity_is_none() {
        let e =
            json!({"path": "/api/chat", "httpMethod": "POST", "requestContext": {"identity": {"apiKeyId": "k1abc"}}});
        let c = HttpRequest::from_event(&e, &keys()).unwrap().caller.unwrap();
        assert_eq!((c.id.as_str(), c.use_case.as_deref()), ("apikey:k1abc", Some("internal_use")));
        let e =
            json!({"path": "/api/chat", "httpMethod": "POST", "requestContext": {"identity": {"sourceIp": "1.2.3.4"}}});
        assert_eq!(HttpRequest::from_event(&e, &keys()).unwrap().caller, None);
        // A caller-set header is not an identity.
        let e =
            json!({"path": "/api/chat", "httpMethod": "POST", "headers": {"x-caller": "admin"}, "requestContext": {}});
        assert_eq!(HttpRequest::from_event(&e, &keys()).unwrap().caller, None);
    }

    #[test]
    fn not_a_gateway_event() {
        assert!(HttpRequest::from_event(&json!({"source": "aws.events"}), &keys()).is_err());
        let e = json!({"version": "2.0", "rawPath": "/x", "body": "%%%", "isBase64Encoded": true,
            "requestContext": {"http": {"method": "POST"}}});
        assert_eq!(HttpRequest::from_event(&e, &keys()), Err(GatewayError::BadBase64));
    }
}
