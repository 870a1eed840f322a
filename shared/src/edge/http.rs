//! API Gateway at the edge: REST API proxy events (payload 1.0) and HTTP API events (payload
//! 2.0) become one typed [`HttpRequest`] with the caller's identity, and responses go back in
//! the shape both accept.
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

use base64::Engine;
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

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str).filter(|s| !s.trim().is_empty())
}

impl HttpRequest {
    /// Parse a REST (1.0) or HTTP API (2.0) proxy event. `key_use_cases` maps API key ids and
    /// IAM ARNs to use cases.
    pub fn from_event(event: &Value, key_use_cases: &HashMap<String, String>) -> Result<Self, GatewayError> {
        let ctx = event.get("requestContext").ok_or(GatewayError::NotAGatewayEvent("no requestContext"))?;
        let version = if event.get("version").and_then(Value::as_str) == Some("2.0") {
            PayloadVersion::Http
        } else {
            PayloadVersion::Rest
        };
        let (method, path) = match version {
            PayloadVersion::Http => {
                let method = str_at(ctx, "/http/method")
                    .ok_or(GatewayError::NotAGatewayEvent("no requestContext.http.method"))?;
                let raw = str_at(event, "/rawPath").ok_or(GatewayError::NotAGatewayEvent("no rawPath"))?;
                // rawPath carries the stage unless it is `$default`.
                let stage = str_at(ctx, "/stage").unwrap_or("$default");
                let path = match raw.strip_prefix(&format!("/{stage}")) {
                    Some(rest) if stage != "$default" && rest.starts_with('/') => rest,
                    _ => raw,
                };
                (method, path)
            }
            PayloadVersion::Rest => {
                let method = str_at(event, "/httpMethod").ok_or(GatewayError::NotAGatewayEvent("no httpMethod"))?;
                let path = str_at(event, "/path").ok_or(GatewayError::NotAGatewayEvent("no path"))?;
                (method, path)
            }
        };
        let mut headers = HashMap::new();
        if let Some(h) = event.get("headers").and_then(Value::as_object) {
            for (k, v) in h {
                if let Some(v) = v.as_str() {
                    headers.insert(k.to_ascii_lowercase(), v.to_string());
                }
            }
        }
        let body = match event.get("body").and_then(Value::as_str) {
            None => Vec::new(),
            Some(b) if event.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) => {
                base64::engine::general_purpose::STANDARD.decode(b).map_err(|_| GatewayError::BadBase64)?
            }
            Some(b) => b.as_bytes().to_vec(),
        };
        let request_id = str_at(ctx, "/requestId").unwrap_or("-").to_string();
        let source_ip = str_at(ctx, "/identity/sourceIp").or_else(|| str_at(ctx, "/http/sourceIp")).map(str::to_string);
        let user_agent =
            str_at(ctx, "/http/userAgent").or_else(|| str_at(ctx, "/identity/userAgent")).map(str::to_string);
        let query = match str_at(event, "/rawQueryString") {
            Some(q) => q.to_string(),
            None => {
                let params = event.get("queryStringParameters").and_then(Value::as_object);
                let mut q = form_urlencoded::Serializer::new(String::new());
                for (k, v) in params.into_iter().flatten() {
                    if let Some(v) = v.as_str() {
                        q.append_pair(k, v);
                    }
                }
                q.finish()
            }
        };
        Ok(Self {
            version,
            method: method.to_string(),
            path: path.to_string(),
            headers,
            body,
            caller: caller_of(ctx, key_use_cases),
            request_id,
            source_ip,
            query,
            user_agent,
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

fn caller_of(ctx: &Value, key_use_cases: &HashMap<String, String>) -> Option<Caller> {
    let auth = ctx.get("authorizer").unwrap_or(&Value::Null);
    // Lambda authorizer: REST puts the context at the top, HTTP under `lambda`.
    for lambda in [auth.get("lambda").unwrap_or(&Value::Null), auth] {
        if let Some(id) = str_at(lambda, "/caller").or_else(|| str_at(lambda, "/principalId")) {
            return Some(Caller {
                id: id.to_string(),
                use_case: str_at(lambda, "/use_case").map(str::to_string),
                source: AuthSource::LambdaAuthorizer,
            });
        }
    }
    for claims in [auth.pointer("/jwt/claims"), auth.get("claims")].into_iter().flatten() {
        if let Some(sub) = str_at(claims, "/sub") {
            let use_case =
                str_at(claims, "/use_case").or_else(|| claims.get("custom:use_case").and_then(Value::as_str));
            return Some(Caller {
                id: sub.to_string(),
                use_case: use_case.map(str::to_string),
                source: AuthSource::Jwt,
            });
        }
    }
    if let Some(arn) = str_at(auth, "/iam/userArn").or_else(|| str_at(ctx, "/identity/userArn")) {
        return Some(Caller {
            id: arn.to_string(),
            use_case: key_use_cases.get(arn).cloned(),
            source: AuthSource::Iam,
        });
    }
    if let Some(key) = str_at(ctx, "/identity/apiKeyId") {
        return Some(Caller {
            id: format!("apikey:{key}"),
            use_case: key_use_cases.get(key).cloned(),
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
