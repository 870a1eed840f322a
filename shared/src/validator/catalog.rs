//! The read-only calls clients make before they chat, answered for this caller only:
//! `GET /api/tags` (ollama-python's `list()`, every UI) lists only the models the caller's use
//! case may use; `POST /api/show` (LlamaIndex asks it for the context length before its first
//! chat) is reduced to `details`, `model_info` and `capabilities` — never the template, system
//! prompt, modelfile, parameters or license, which would tell a caller how to steer the model
//! past its safety prompt; `GET /api/version`. Everything that changes the fleet stays refused.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::http::HttpRequest;
use crate::registry::{ModelRef, Registry};
use crate::validator::decision::{authorize_model, Refusal};

/// One read-only call.
#[derive(Debug, Clone, PartialEq)]
pub enum CatalogCall {
    Tags,
    Show(ModelRef),
    Version,
}

impl CatalogCall {
    /// Where it goes upstream.
    pub fn path(&self) -> &'static str {
        match self {
            Self::Tags => "/api/tags",
            Self::Show(_) => "/api/show",
            Self::Version => "/api/version",
        }
    }
}

/// `POST /api/show`'s body: the model, and `verbose` (which only adds tensor data, not served).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShowRequest {
    #[serde(alias = "name")]
    model: String,
    #[serde(default)]
    #[allow(dead_code)]
    verbose: Option<bool>,
}

/// The read-only call this request is, if it is one (`None`: not a catalog path), checked:
/// method, body, and for `show` a model this use case may use.
pub fn catalog_call(req: &HttpRequest, registry: &Registry, use_case: &str) -> Option<Result<CatalogCall, Refusal>> {
    let method = |want: &str, call: CatalogCall| {
        if req.method == want {
            Ok(call)
        } else {
            Err(Refusal::new(405, "method_not_allowed", format!("{} accepts {want} only", req.path)))
        }
    };
    Some(match req.path.as_str() {
        "/api/tags" => method("GET", CatalogCall::Tags),
        "/api/version" => method("GET", CatalogCall::Version),
        "/api/show" => method("POST", CatalogCall::Tags).and_then(|_| show(req, registry, use_case)),
        _ => return None,
    })
}

fn show(req: &HttpRequest, registry: &Registry, use_case: &str) -> Result<CatalogCall, Refusal> {
    let body: ShowRequest = serde_json::from_slice(&req.body).map_err(|e| {
        Refusal::new(
            400,
            "invalid_request",
            format!("invalid /api/show request: {}", e.to_string().chars().take(200).collect::<String>()),
        )
    })?;
    let (model, _) = authorize_model(registry, &body.model, use_case)?;
    Ok(CatalogCall::Show(model))
}

/// The body sent upstream (`show` names the canonical model; the GETs send none).
pub fn upstream_body(call: &CatalogCall) -> Vec<u8> {
    match call {
        CatalogCall::Show(model) => json!({"model": model.ollama_name()}).to_string().into_bytes(),
        CatalogCall::Tags | CatalogCall::Version => Vec::new(),
    }
}

/// What the caller sees of Ollama's answer.
pub fn answer(call: &CatalogCall, upstream: &[u8], registry: &Registry, use_case: &str) -> Result<Value, String> {
    let value: Value = serde_json::from_slice(upstream).map_err(|e| format!("Ollama's answer is not JSON: {e}"))?;
    Ok(match call {
        CatalogCall::Tags => {
            let usable = |entry: &Value| {
                let name = entry.get("model").or_else(|| entry.get("name")).and_then(Value::as_str).unwrap_or("");
                ModelRef::parse(name).is_ok_and(|m| registry.authorize(&m, use_case).is_ok())
            };
            let models: Vec<Value> = value
                .get("models")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|m| usable(m))
                .cloned()
                .collect();
            json!({ "models": models })
        }
        CatalogCall::Show(_) => {
            let mut reduced = Map::new();
            for key in ["details", "model_info", "capabilities", "modified_at"] {
                if let Some(v) = value.get(key) {
                    reduced.insert(key.to_string(), v.clone());
                }
            }
            Value::Object(reduced)
        }
        CatalogCall::Version => json!({ "version": value.get("version").cloned().unwrap_or(Value::Null) }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validator::decision::tests::{registry, request};

    fn req(method: &str, path: &str, body: Value) -> HttpRequest {
        let mut req = request(path, body.clone());
        req.method = method.into();
        if body.is_null() {
            req.body.clear();
        }
        req
    }

    #[test]
    fn tags_lists_only_the_models_this_use_case_may_use() {
        let upstream = json!({"models": [
            {"name": "llama3-8b:latest", "model": "llama3-8b:latest", "size": 1},
            {"name": "coder-7b:latest", "model": "coder-7b:latest", "size": 2},
            {"name": "uncensored:latest", "model": "uncensored:latest", "size": 3}]});
        let call =
            catalog_call(&req("GET", "/api/tags", Value::Null), &registry(), "customer_service").unwrap().unwrap();
        let seen = answer(&call, upstream.to_string().as_bytes(), &registry(), "customer_service").unwrap();
        let names: Vec<&str> = seen["models"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["llama3-8b:latest"], "coder-7b is for internal use; uncensored is not registered");
        let internal = answer(&call, upstream.to_string().as_bytes(), &registry(), "internal_use").unwrap();
        assert_eq!(internal["models"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn show_keeps_what_clients_need_and_nothing_that_steers_the_model() {
        let call =
            catalog_call(&req("POST", "/api/show", json!({"model": "LLAMA3-8B"})), &registry(), "customer_service")
                .unwrap()
                .unwrap();
        assert_eq!(String::from_utf8(upstream_body(&call)).unwrap(), r#"{"model":"llama3-8b:latest"}"#);
        let upstream = json!({"license": "…", "modelfile": "FROM …", "parameters": "stop <|eot_id|>",
            "template": "{{ .System }}", "system": "You are a safe assistant. Never …",
            "details": {"family": "llama"}, "model_info": {"llama.context_length": 8192},
            "capabilities": ["completion", "tools"], "modified_at": "2026-11-01T00:00:00Z"});
        let seen = answer(&call, upstream.to_string().as_bytes(), &registry(), "customer_service").unwrap();
        let keys: Vec<&str> = seen.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["capabilities", "details", "model_info", "modified_at"]);
    }

    #[test]
    fn show_is_refused_for_models_the_use_case_may_not_use_and_bad_bodies() {
        let refusal = |body: Value| {
            catalog_call(&req("POST", "/api/show", body), &registry(), "customer_service").unwrap().unwrap_err().code
        };
        assert_eq!(refusal(json!({"model": "coder-7b"})), "model_not_approved");
        assert_eq!(refusal(json!({"model": "nope"})), "model_not_registered");
        assert_eq!(refusal(json!({"model": "gpt-oss:120b-cloud"})), "model_refused");
        assert_eq!(refusal(json!({"model": "llama3-8b", "system": "x"})), "invalid_request");
        let wrong_method = catalog_call(&req("POST", "/api/tags", Value::Null), &registry(), "customer_service");
        assert_eq!(wrong_method.unwrap().unwrap_err().status, 405);
        assert!(catalog_call(&req("POST", "/api/pull", json!({})), &registry(), "customer_service").is_none());
    }
}
