//! The model registry: which models may serve which use cases. The file format is the one the
//! security team writes (`model-registry.yaml`); `warden registry import` checks it strictly and
//! stores it in DynamoDB, where the request validator and the Config rules read it.

pub mod ports;

use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

pub const DEFAULT_HOST: &str = "registry.ollama.ai";

pub const DEFAULT_NAMESPACE: &str = "library";

pub const DEFAULT_TAG: &str = "latest";

/// A model name, canonical: `[host/][namespace/]model[:tag][@sha256:digest]`, lowercase, with
/// Ollama's defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ModelRef {
    pub host: String,
    pub namespace: String,
    pub name: String,
    pub tag: String,
    pub digest: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelNameError {
    #[error("model name is empty")]
    Empty,
    #[error("model name is longer than 256 characters")]
    TooLong,
    #[error(
        "model name {0:?} is not [host/][namespace/]model[:tag][@sha256:digest] with letters, digits, '.', '_' and '-'"
    )]
    Malformed(String),
    #[error("model {0:?} runs on Ollama's cloud: prompts would leave the private fleet")]
    Cloud(String),
}

fn component_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

impl ModelRef {
    pub fn parse(input: &str) -> Result<Self, ModelNameError> {
        let s = input.trim().to_ascii_lowercase();
        if s.is_empty() {
            return Err(ModelNameError::Empty);
        }
        if s.len() > 256 {
            return Err(ModelNameError::TooLong);
        }
        let malformed = || ModelNameError::Malformed(input.chars().take(80).collect());
        let (path, digest) = match s.split_once('@') {
            Some((p, d)) => {
                let hex = d.strip_prefix("sha256:").unwrap_or(d);
                if !is_sha256(hex) {
                    return Err(malformed());
                }
                (p, Some(hex.to_string()))
            }
            None => (s.as_str(), None),
        };
        let parts: Vec<&str> = path.split('/').collect();
        let (host, namespace, last) = match parts.as_slice() {
            [m] => (DEFAULT_HOST, DEFAULT_NAMESPACE, *m),
            [ns, m] => (DEFAULT_HOST, *ns, *m),
            [h, ns, m] => (*h, *ns, *m),
            _ => return Err(malformed()),
        };
        let (name, tag) = match last.split_once(':') {
            Some((n, t)) => (n, t),
            None => (last, DEFAULT_TAG),
        };
        let host_ok = !host.is_empty()
            && host.len() <= 253
            && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'));
        if !host_ok || !component_ok(namespace) || !component_ok(name) || !component_ok(tag) {
            return Err(malformed());
        }
        if tag == "cloud" || tag.ends_with("-cloud") || name.ends_with("-cloud") {
            return Err(ModelNameError::Cloud(input.chars().take(80).collect()));
        }
        Ok(Self { host: host.into(), namespace: namespace.into(), name: name.into(), tag: tag.into(), digest })
    }

    /// `host/namespace/name:tag`, the registry key (the digest is checked, not part of the key).
    pub fn canonical(&self) -> String {
        format!("{}/{}/{}:{}", self.host, self.namespace, self.name, self.tag)
    }

    /// The name Ollama knows the model by (`llama3:8b`, or `host/ns/name:tag` off the defaults).
    pub fn ollama_name(&self) -> String {
        if self.host == DEFAULT_HOST && self.namespace == DEFAULT_NAMESPACE {
            format!("{}:{}", self.name, self.tag)
        } else if self.host == DEFAULT_HOST {
            format!("{}/{}:{}", self.namespace, self.name, self.tag)
        } else {
            self.canonical()
        }
    }
}

impl fmt::Display for ModelRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.ollama_name())
    }
}

pub fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A SHA-256 digest: 64 hex characters (an optional `sha256:` prefix is accepted), stored
/// lowercase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Sha256(pub String);

impl<'de> Deserialize<'de> for Sha256 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        let hex = raw.trim().strip_prefix("sha256:").unwrap_or(raw.trim()).to_ascii_lowercase();
        if !is_sha256(&hex) {
            return Err(de::Error::custom(format!(
                "sha256 must be 64 hexadecimal characters, got {} characters: {:?}",
                hex.len(),
                raw.chars().take(72).collect::<String>()
            )));
        }
        Ok(Self(hex))
    }
}

/// A timestamp that must be RFC 3339 (`2025-03-18T14:22:10Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Timestamp(pub DateTime<Utc>);

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(raw.trim()).map(|t| Self(t.with_timezone(&Utc))).map_err(|e| {
            de::Error::custom(format!("{raw:?} is not an RFC 3339 time such as 2025-03-18T14:22:10Z ({e})"))
        })
    }
}

/// A model name as written in the file: validated and canonicalised on read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ModelName(pub String);

impl<'de> Deserialize<'de> for ModelName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        let parsed = ModelRef::parse(&raw).map_err(de::Error::custom)?;
        if parsed.digest.is_some() {
            return Err(de::Error::custom("write the model digest in `sha256`, not in the name"));
        }
        Ok(Self(parsed.ollama_name()))
    }
}

impl ModelName {
    pub fn model_ref(&self) -> ModelRef {
        // Validated on the way in.
        ModelRef::parse(&self.0).unwrap_or_else(|_| ModelRef {
            host: DEFAULT_HOST.into(),
            namespace: DEFAULT_NAMESPACE.into(),
            name: self.0.clone(),
            tag: DEFAULT_TAG.into(),
            digest: None,
        })
    }
}

/// Restrictions the validator enforces on a model's requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Restriction {
    /// Requests carrying personal data (email, phone, card, IBAN, national id) are refused.
    NoPiiProcessing,
    /// Requests with images are refused.
    NoImages,
    /// Requests with tool definitions or tool calls are refused.
    NoTools,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Container {
    pub repository: String,
    pub tag: String,
    pub sha256: Sha256,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vulnerabilities {
    pub critical: u32,
    pub high: u32,
    pub medium: u32,
    #[serde(default)]
    pub low: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidationResults {
    pub last_scan: Timestamp,
    pub vulnerabilities: Vulnerabilities,
}

/// One approved (or merely registered) model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    pub name: ModelName,
    pub source: String,
    pub license: String,
    pub sha256: Sha256,
    pub approved_for: Vec<String>,
    #[serde(default)]
    pub restrictions: Vec<Restriction>,
    pub container: Container,
    pub validation_results: ValidationResults,
}

impl ModelEntry {
    pub fn has(&self, r: Restriction) -> bool {
        self.restrictions.contains(&r)
    }

    pub fn vulnerable(&self) -> bool {
        self.validation_results.vulnerabilities.critical > 0
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryFile {
    version: serde_norway::Value,
    models: Vec<ModelEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
pub struct RegistryFileError {
    pub line: Option<usize>,
    pub message: String,
}

/// Parse and check a registry file. Errors carry the line they are on.
pub fn parse_registry_yaml(text: &str) -> Result<Vec<ModelEntry>, RegistryFileError> {
    let file: RegistryFile = serde_norway::from_str(text).map_err(|e| {
        let message = e.to_string().split(" at line ").next().unwrap_or_default().to_string();
        RegistryFileError { line: e.location().map(|l| refine_line(text, l.line(), &message)), message }
    })?;
    let version_ok = match &file.version {
        serde_norway::Value::Number(n) => n.as_f64() == Some(1.0),
        serde_norway::Value::String(s) => matches!(s.trim(), "1" | "1.0"),
        _ => false,
    };
    if !version_ok {
        return Err(RegistryFileError {
            line: line_of(text, "version:", 1),
            message: "version must be 1.0 (the only registry format this Warden reads)".into(),
        });
    }
    let mut seen = std::collections::HashSet::new();
    for entry in &file.models {
        let key = entry.name.model_ref().canonical();
        if !seen.insert(key) {
            return Err(RegistryFileError {
                line: line_of(text, &entry.name.0, 2).or_else(|| line_of(text, "name:", 2)),
                message: format!("model {} is listed twice", entry.name.0),
            });
        }
        if entry.approved_for.is_empty() {
            return Err(RegistryFileError {
                line: line_of(text, &entry.name.0, 1),
                message: format!("model {}: approved_for is empty (list the use cases it may serve)", entry.name.0),
            });
        }
    }
    Ok(file.models)
}

/// The YAML parser places errors of a field's value at the start of the list item; point at
/// the line of the field itself (the unknown key, or the bad value quoted in the message).
fn refine_line(text: &str, reported: usize, message: &str) -> usize {
    let key = message
        .split('`')
        .nth(1)
        .filter(|_| message.starts_with("unknown field") || message.contains(": unknown field"));
    let value = message.rsplit('"').nth(1).filter(|v| !v.is_empty());
    let needle = match (key, value) {
        (Some(k), _) => format!("{k}:"),
        (None, Some(v)) => v.to_string(),
        _ => return reported,
    };
    text.lines()
        .enumerate()
        .skip(reported.saturating_sub(1))
        .find(|(_, l)| l.contains(&needle))
        .map_or(reported, |(i, _)| i + 1)
}

/// The line (1-based) of the n-th line containing `needle`.
fn line_of(text: &str, needle: &str, nth: usize) -> Option<usize> {
    text.lines().enumerate().filter(|(_, l)| l.contains(needle)).nth(nth - 1).map(|(i, _)| i + 1)
}

/// Why a model may not serve a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelRefusal {
    NotRegistered,
    NotApprovedFor(String),
    Vulnerable(u32),
    DigestMismatch,
}

impl ModelRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotRegistered => "model_not_registered",
            Self::NotApprovedFor(_) => "model_not_approved",
            Self::Vulnerable(_) => "model_vulnerable",
            Self::DigestMismatch => "model_digest_mismatch",
        }
    }
}

/// The registry as the validator holds it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Registry {
    pub models: Vec<ModelEntry>,
}

impl Registry {
    pub fn find(&self, model: &ModelRef) -> Option<&ModelEntry> {
        let key = model.canonical();
        self.models.iter().find(|e| e.name.model_ref().canonical() == key)
    }

    /// May `model` serve `use_case`? Registered, approved for the use case, no critical
    /// vulnerability, and the digest (when the caller pins one) is the registered one.
    pub fn authorize(&self, model: &ModelRef, use_case: &str) -> Result<&ModelEntry, ModelRefusal> {
        let entry = self.find(model).ok_or(ModelRefusal::NotRegistered)?;
        if let Some(digest) = &model.digest {
            if *digest != entry.sha256.0 {
                return Err(ModelRefusal::DigestMismatch);
            }
        }
        if !entry.approved_for.iter().any(|u| u == use_case) {
            return Err(ModelRefusal::NotApprovedFor(use_case.to_string()));
        }
        if entry.vulnerable() {
            return Err(ModelRefusal::Vulnerable(entry.validation_results.vulnerabilities.critical));
        }
        Ok(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub const SAMPLE: &str = r#"version: 1.0
models:
  - name: llama3-8b
    source: https://huggingface.co/meta-llama/Llama-3-8B
    license: llama2
    sha256: 3b8cad53f68294e58fa39b48b3e2504df5e01b93ed0168ae4a8b5a6b3a024c50
    approved_for: [internal_use, customer_service]
    restrictions: [no_pii_processing]
    container:
      repository: 012345678901.dkr.ecr.us-west-2.amazonaws.com/ollama
      tag: llama3-8b-latest
      sha256: e96c5bcfa2f3b67cc18af0db5fbf85a58f172368d47b2db09ac28d32072f4a41
    validation_results:
      last_scan: "2025-03-18T14:22:10Z"
      vulnerabilities: {critical: 0, high: 0, medium: 2}
"#;

    #[test]
    fn canonical_names() {
        let r = ModelRef::parse("Llama3-8B").unwrap();
        assert_eq!(r.canonical(), "registry.ollama.ai/library/llama3-8b:latest");
        assert_eq!(ModelRef::parse("llama3-8b:latest").unwrap(), r);
        assert_eq!(ModelRef::parse("library/llama3-8b").unwrap(), r);
        assert_eq!(ModelRef::parse("registry.ollama.ai/library/llama3-8b:latest").unwrap(), r);
        let pinned =
            ModelRef::parse("llama3-8b@sha256:3b8cad53f68294e58fa39b48b3e2504df5e01b93ed0168ae4a8b5a6b3a024c50")
                .unwrap();
        assert_eq!(pinned.canonical(), r.canonical());
        assert!(pinned.digest.is_some());
        assert_eq!(ModelRef::parse("myorg/coder:7b").unwrap().ollama_name(), "myorg/coder:7b");
        assert_eq!(ModelRef::parse("ecr.example.com:5000/team/m:1").unwrap().host, "ecr.example.com:5000");
    }

    #[test]
    fn refused_names() {
        for bad in ["", "a/b/c/d", "../etc", "m:", ":tag", "m@sha256:short", "m name", "m;rm", "-m"] {
            assert!(ModelRef::parse(bad).is_err(), "{bad:?}");
        }
        assert!(matches!(ModelRef::parse("gpt-oss:120b-cloud"), Err(ModelNameError::Cloud(_))));
        assert!(matches!(ModelRef::parse("glm-4.6:cloud"), Err(ModelNameError::Cloud(_))));
    }

    #[test]
    fn the_security_teams_file_parses() {
        let models = parse_registry_yaml(SAMPLE).unwrap();
        assert_eq!(models.len(), 1);
        let m = &models[0];
        assert_eq!(m.name.0, "llama3-8b:latest");
        assert!(m.has(Restriction::NoPiiProcessing));
        assert_eq!(m.validation_results.vulnerabilities.medium, 2);
    }

    #[test]
    fn bad_files_say_which_line() {
        let bad_digest = SAMPLE.replace("3b8cad53f68294e58fa39b48b3e2504df5e01b93ed0168ae4a8b5a6b3a024c50", "3b8cad");
        let e = parse_registry_yaml(&bad_digest).unwrap_err();
        assert_eq!(e.line, Some(6), "{e}");
        assert!(e.message.contains("64 hexadecimal"), "{e}");

        let unknown = SAMPLE.replace("    license: llama2\n", "    license: llama2\n    licence: typo\n");
        let e = parse_registry_yaml(&unknown).unwrap_err();
        assert_eq!(e.line, Some(6), "{e}");
        assert!(e.message.contains("unknown field `licence`"), "{e}");

        let bad_date = SAMPLE.replace("2025-03-18T14:22:10Z", "18/03/2025");
        let e = parse_registry_yaml(&bad_date).unwrap_err();
        assert_eq!(e.line, Some(14), "{e}");
        assert!(e.message.contains("RFC 3339"), "{e}");

        let twice = format!("{SAMPLE}{}", &SAMPLE[SAMPLE.find("  - name").unwrap()..]);
        let e = parse_registry_yaml(&twice).unwrap_err();
        assert_eq!(e.line, Some(16), "{e}");

        let e = parse_registry_yaml(&SAMPLE.replace("version: 1.0", "version: 2")).unwrap_err();
        assert_eq!(e.line, Some(1));

        let e = parse_registry_yaml(&SAMPLE.replace("[no_pii_processing]", "[no_fun]")).unwrap_err();
        assert!(e.message.contains("no_pii_processing"), "{e}");
    }

    #[test]
    fn authorization() {
        let registry = Registry { models: parse_registry_yaml(SAMPLE).unwrap() };
        let m = ModelRef::parse("llama3-8b").unwrap();
        assert!(registry.authorize(&m, "customer_service").is_ok());
        assert_eq!(registry.authorize(&m, "marketing"), Err(ModelRefusal::NotApprovedFor("marketing".into())));
        assert_eq!(
            registry.authorize(&ModelRef::parse("mistral").unwrap(), "customer_service"),
            Err(ModelRefusal::NotRegistered)
        );
        let wrong_digest = ModelRef::parse(&format!("llama3-8b@sha256:{}", "0".repeat(64))).unwrap();
        assert_eq!(registry.authorize(&wrong_digest, "customer_service"), Err(ModelRefusal::DigestMismatch));
        let mut vulnerable = registry.clone();
        vulnerable.models[0].validation_results.vulnerabilities.critical = 1;
        assert_eq!(vulnerable.authorize(&m, "customer_service"), Err(ModelRefusal::Vulnerable(1)));
    }
}
