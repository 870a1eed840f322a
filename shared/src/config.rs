//! Typed configuration read once from the environment at start. Anything missing or invalid
//! fails the start with a message naming the variable (fail fast, fail closed).

use chrono::Duration;

use crate::exposure::SensitivePort;
use crate::isolation::IsolationPolicy;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{var} is not set: {what}")]
    Missing { var: &'static str, what: &'static str },
    #[error("{var}={value:?} is invalid: {why}")]
    Invalid { var: &'static str, value: String, why: String },
}

/// `WARDEN_TABLE_NAME`, the one table every function and the `warden` command record to: the
/// only place it is read.
pub fn table_name(get: impl Fn(&str) -> Option<String>) -> Result<String, ConfigError> {
    get("WARDEN_TABLE_NAME").map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).ok_or(ConfigError::Missing {
        var: "WARDEN_TABLE_NAME",
        what: "the DynamoDB table Warden records to (e.g. warden)",
    })
}

/// [`table_name`] from the process environment.
pub fn table_name_from_env() -> Result<String, ConfigError> {
    table_name(|k| std::env::var(k).ok())
}

/// Environment of the remediator (and of the `warden` command, which shares the table).
#[derive(Debug, Clone, PartialEq)]
pub struct RemediatorConfig {
    /// `WARDEN_TABLE_NAME`: the DynamoDB table for audit, state and exemptions (required).
    pub table_name: String,
    /// `WARDEN_TOPIC_ARN`: the SNS topic remediations are announced on (required).
    pub topic_arn: String,
    /// `WARDEN_SENSITIVE_PORTS`: TCP ports never to be open to the world (default `11434,22`).
    pub sensitive_ports: Vec<SensitivePort>,
    /// `WARDEN_MAX_PUBLIC_SHARE`: the share (0–1) of the public IPv4 or IPv6 internet a group's
    /// rules may let in on a sensitive port, together, before they count as exposed (default
    /// 0.001: a /10 of IPv4 is over it, any company's ranges under it).
    pub max_public_share: f64,
    /// `WARDEN_DRY_RUN`: plan and record, change nothing (default `false`).
    pub dry_run: bool,
    /// `WARDEN_LEASE_SECONDS`: how long a remediation in progress is protected from being taken
    /// over by a redelivery (default 90, above the function timeout).
    pub lease_seconds: i64,
    /// `WARDEN_METRICS_NAMESPACE`: CloudWatch namespace of the EMF metrics (default `Warden`).
    pub metrics_namespace: String,
    /// `WARDEN_ISOLATION_POLICY`: the isolation policy as JSON, inline or `@/path/to/file.json`
    /// (default: `IsolationPolicy::default()`, documented in the README).
    pub isolation_policy: IsolationPolicy,
    /// `WARDEN_QUARANTINE_PROFILE_ARN`: an instance profile that grants nothing, put in place of
    /// an isolated instance's own (default: unset, the profile is removed).
    pub quarantine_profile_arn: Option<String>,
    /// `WARDEN_FLEET_TAG` (`key=value`, default `Service=Ollama`; empty: none) and
    /// `WARDEN_FLEET_ASGS` (comma-separated Auto Scaling group names, default none): the
    /// instances Warden may isolate. Others are recorded and notified, never touched.
    pub fleet: crate::isolation::FleetScope,
    /// `WARDEN_SUSPENSION_POLICY`: how abuse alarms suspend callers, as JSON inline or
    /// `@/path/to/file.json` (default: `SuspensionPolicy::default()`, documented in the README).
    pub suspension_policy: crate::suspension::SuspensionPolicy,
    /// `WARDEN_TRUSTED_ALARMS`: comma-separated ARNs of the alarms Warden acts on (a trailing
    /// `*` admits a name prefix). Default: none — every alarm is recorded as ignored. The CDK
    /// app sets the alarms its monitoring stack creates.
    pub trusted_alarms: crate::edge::events::TrustedAlarms,
    /// `WARDEN_OPERATORS`: comma-separated IAM role ARNs (any session of the role) and user ARNs
    /// whose undo and release requests Warden acts on, as STS proves the signer. Default: none —
    /// every operator request is refused. The CDK app sets `warden:operatorRoleArns`.
    pub operators: crate::operator::Operators,
}

pub const DEFAULT_SENSITIVE_PORTS: &str = "11434,22";

impl RemediatorConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |var: &'static str, what: &'static str| {
            get(var)
                .filter(|v| !v.trim().is_empty())
                .map(|v| v.trim().to_string())
                .ok_or(ConfigError::Missing { var, what })
        };
        let table_name = table_name(&get)?;
        let topic_arn = required("WARDEN_TOPIC_ARN", "the SNS topic ARN for notifications")?;
        if !topic_arn.starts_with("arn:") {
            return Err(ConfigError::Invalid {
                var: "WARDEN_TOPIC_ARN",
                value: topic_arn,
                why: "must be an SNS topic ARN".into(),
            });
        }
        let sensitive_ports =
            parse_ports(&get("WARDEN_SENSITIVE_PORTS").unwrap_or_else(|| DEFAULT_SENSITIVE_PORTS.into()))?;
        let max_public_share = match get("WARDEN_MAX_PUBLIC_SHARE").filter(|v| !v.trim().is_empty()) {
            None => crate::exposure::DEFAULT_MAX_PUBLIC_SHARE,
            Some(v) => {
                v.trim().parse::<f64>().ok().filter(|s| (0.0..1.0).contains(s)).ok_or_else(|| ConfigError::Invalid {
                    var: "WARDEN_MAX_PUBLIC_SHARE",
                    value: v,
                    why: "must be a share of the internet at least 0 and under 1 (0.001 is a thousandth)".into(),
                })?
            }
        };
        let dry_run = parse_bool("WARDEN_DRY_RUN", get("WARDEN_DRY_RUN"), false)?;
        let lease_seconds = match get("WARDEN_LEASE_SECONDS") {
            None => 90,
            Some(v) => v.trim().parse::<i64>().ok().filter(|s| (10..=3600).contains(s)).ok_or_else(|| {
                ConfigError::Invalid {
                    var: "WARDEN_LEASE_SECONDS",
                    value: v,
                    why: "must be a whole number of seconds between 10 and 3600".into(),
                }
            })?,
        };
        let metrics_namespace =
            get("WARDEN_METRICS_NAMESPACE").filter(|v| !v.trim().is_empty()).unwrap_or_else(|| "Warden".into());
        let isolation_policy =
            json_setting("WARDEN_ISOLATION_POLICY", get("WARDEN_ISOLATION_POLICY"), IsolationPolicy::from_json)?
                .unwrap_or_default();
        let suspension_policy = json_setting(
            "WARDEN_SUSPENSION_POLICY",
            get("WARDEN_SUSPENSION_POLICY"),
            crate::suspension::SuspensionPolicy::from_json,
        )?
        .unwrap_or_default();
        let fleet_tag = match get("WARDEN_FLEET_TAG") {
            None => Some(("Service".to_string(), "Ollama".to_string())),
            Some(v) if v.trim().is_empty() => None,
            Some(v) => match v.trim().split_once('=') {
                Some((k, val)) if !k.trim().is_empty() && !val.trim().is_empty() => {
                    Some((k.trim().to_string(), val.trim().to_string()))
                }
                _ => {
                    return Err(ConfigError::Invalid {
                        var: "WARDEN_FLEET_TAG",
                        value: v,
                        why: "must be key=value, the tag every Ollama instance carries (e.g. Service=Ollama)".into(),
                    })
                }
            },
        };
        let fleet_asgs: Vec<String> = get("WARDEN_FLEET_ASGS")
            .unwrap_or_default()
            .split(',')
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty())
            .collect();
        let fleet = crate::isolation::FleetScope { tag: fleet_tag, asgs: fleet_asgs };
        let quarantine_profile_arn = get("WARDEN_QUARANTINE_PROFILE_ARN").filter(|v| !v.trim().is_empty());
        if let Some(arn) = &quarantine_profile_arn {
            if !arn.starts_with("arn:") || !arn.contains(":instance-profile/") {
                return Err(ConfigError::Invalid {
                    var: "WARDEN_QUARANTINE_PROFILE_ARN",
                    value: arn.clone(),
                    why: "must be an instance profile ARN (arn:aws:iam::<account>:instance-profile/<name>)".into(),
                });
            }
        }
        let trusted_alarms = match get("WARDEN_TRUSTED_ALARMS") {
            None => crate::edge::events::TrustedAlarms::default(),
            Some(v) => crate::edge::events::TrustedAlarms::parse(&v).map_err(|why| ConfigError::Invalid {
                var: "WARDEN_TRUSTED_ALARMS",
                value: v.chars().take(200).collect(),
                why,
            })?,
        };
        let operators = match get("WARDEN_OPERATORS") {
            None => crate::operator::Operators::default(),
            Some(v) => crate::operator::Operators::parse(&v).map_err(|why| ConfigError::Invalid {
                var: "WARDEN_OPERATORS",
                value: v.chars().take(200).collect(),
                why,
            })?,
        };
        Ok(Self {
            trusted_alarms,
            operators,
            table_name,
            topic_arn,
            sensitive_ports,
            max_public_share,
            dry_run,
            lease_seconds,
            metrics_namespace,
            isolation_policy,
            quarantine_profile_arn,
            fleet,
            suspension_policy,
        })
    }

    pub fn lease(&self) -> Duration {
        Duration::seconds(self.lease_seconds)
    }
}

/// Environment of the request validator.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidatorConfig {
    /// `WARDEN_TABLE_NAME`: the table holding the model registry and quota counters (required).
    pub table_name: String,
    /// `OLLAMA_URL`: where admitted requests go, `http://host:port` (required).
    pub ollama_url: String,
    /// `WARDEN_VALIDATOR_POLICY`: limits, per-use-case thresholds and quotas as JSON, inline or
    /// `@/path/to/file.json` (default: `ValidatorPolicy::default()`, documented in the README).
    pub policy: crate::validator::decision::ValidatorPolicy,
    /// Where callers are read from and which API's events are accepted:
    /// `WARDEN_IDENTITY_SOURCE` (authorizer | jwt | iam | api_key, required),
    /// `WARDEN_API_ID` (comma-separated API ids, default: any), `WARDEN_API_ACCOUNT_ID`
    /// (default: any), `WARDEN_API_KEY_USE_CASES` (JSON object mapping API key ids and IAM ARNs
    /// to use cases, default `{}`).
    pub identity: crate::http::IdentityPolicy,
    /// `WARDEN_REGISTRY_CACHE_SECONDS`: how long a read of the registry is reused (default 30).
    pub registry_cache_seconds: u64,
    /// `WARDEN_OLLAMA_TIMEOUT_SECONDS`: the whole exchange with Ollama (default 120).
    pub ollama_timeout_seconds: u64,
    /// `WARDEN_OLLAMA_CONNECT_TIMEOUT_MS`: connecting to Ollama (default 2000).
    pub ollama_connect_timeout_ms: u64,
    /// `WARDEN_MAX_RESPONSE_BYTES`: Ollama responses over this are refused (default 5 MiB; Lambda
    /// returns at most 6 MB).
    pub max_response_bytes: usize,
    /// `WARDEN_LLM_METRICS_NAMESPACE`: CloudWatch namespace of the validator's metrics
    /// (default `Custom/LLM`).
    pub metrics_namespace: String,
    /// `WARDEN_SUSPENSION_CACHE_SECONDS`: how long the validator reuses a read of the suspensions
    /// in force — the bound on how long a new suspension takes to apply (default 5).
    pub suspension_cache_seconds: u64,
    /// `WARDEN_RESPONSE_MODE`: `stream` (Lambda response streaming: the status and headers, then
    /// the body as Ollama writes it; what API Gateway's `STREAM` integration expects, and what the
    /// CDK app sets) or `buffered` (one proxy response; `cargo lambda invoke`, a buffered
    /// integration). Default `buffered`. It must match the integration's response transfer mode.
    pub streams_responses: bool,
}

impl ValidatorConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let set = |var: &str| get(var).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let table_name = table_name(&get)?;
        let ollama_url = set("OLLAMA_URL").ok_or(ConfigError::Missing {
            var: "OLLAMA_URL",
            what: "the Ollama endpoint, e.g. http://ollama.internal:11434",
        })?;
        if !ollama_url.starts_with("http://") || ollama_url["http://".len()..].trim_end_matches('/').contains('/') {
            return Err(ConfigError::Invalid {
                var: "OLLAMA_URL",
                value: ollama_url,
                why: "must be http://host:port with no path (Ollama inside the VPC)".into(),
            });
        }
        let policy = json_setting(
            "WARDEN_VALIDATOR_POLICY",
            set("WARDEN_VALIDATOR_POLICY"),
            crate::validator::decision::ValidatorPolicy::from_json,
        )?
        .unwrap_or_default();
        let key_use_cases = match set("WARDEN_API_KEY_USE_CASES") {
            None => Default::default(),
            Some(v) => serde_json::from_str(&v).map_err(|e| ConfigError::Invalid {
                var: "WARDEN_API_KEY_USE_CASES",
                value: v.clone(),
                why: format!("must be a JSON object of key id to use case: {e}"),
            })?,
        };
        let source = set("WARDEN_IDENTITY_SOURCE").ok_or(ConfigError::Missing {
            var: "WARDEN_IDENTITY_SOURCE",
            what: "where API Gateway puts the caller: authorizer, jwt, iam or api_key",
        })?;
        let source = source.parse::<crate::http::AuthSource>().map_err(|why| ConfigError::Invalid {
            var: "WARDEN_IDENTITY_SOURCE",
            value: source.clone(),
            why,
        })?;
        let api_ids: Vec<String> = set("WARDEN_API_ID")
            .map(|v| v.split(',').map(|id| id.trim().to_string()).filter(|id| !id.is_empty()).collect())
            .unwrap_or_default();
        let account_id = set("WARDEN_API_ACCOUNT_ID");
        if let Some(account) = account_id.as_ref().filter(|a| a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit())) {
            return Err(ConfigError::Invalid {
                var: "WARDEN_API_ACCOUNT_ID",
                value: account.clone(),
                why: "must be a 12-digit AWS account id".into(),
            });
        }
        let identity = crate::http::IdentityPolicy { source: Some(source), api_ids, account_id, key_use_cases };
        let number = |var: &'static str, default: u64, min: u64, max: u64| -> Result<u64, ConfigError> {
            match set(var) {
                None => Ok(default),
                Some(v) => v.parse::<u64>().ok().filter(|n| (min..=max).contains(n)).ok_or(ConfigError::Invalid {
                    var,
                    value: v,
                    why: format!("must be a whole number between {min} and {max}"),
                }),
            }
        };
        Ok(Self {
            table_name,
            ollama_url,
            policy,
            identity,
            registry_cache_seconds: number("WARDEN_REGISTRY_CACHE_SECONDS", 30, 0, 3600)?,
            ollama_timeout_seconds: number("WARDEN_OLLAMA_TIMEOUT_SECONDS", 120, 1, 900)?,
            ollama_connect_timeout_ms: number("WARDEN_OLLAMA_CONNECT_TIMEOUT_MS", 2000, 10, 60_000)?,
            max_response_bytes: number("WARDEN_MAX_RESPONSE_BYTES", 5 * 1024 * 1024, 1024, 6_000_000)? as usize,
            metrics_namespace: set("WARDEN_LLM_METRICS_NAMESPACE").unwrap_or_else(|| "Custom/LLM".into()),
            suspension_cache_seconds: number("WARDEN_SUSPENSION_CACHE_SECONDS", 5, 0, 300)?,
            streams_responses: match set("WARDEN_RESPONSE_MODE").as_deref() {
                None | Some("buffered") => false,
                Some("stream") => true,
                Some(other) => {
                    return Err(ConfigError::Invalid {
                        var: "WARDEN_RESPONSE_MODE",
                        value: other.to_string(),
                        why: "must be `stream` or `buffered` (as the API's integration transfers responses)".into(),
                    })
                }
            },
        })
    }
}

#[cfg(test)]
mod validator_config_tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> Result<ValidatorConfig, ConfigError> {
        let map: std::collections::HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        ValidatorConfig::from_lookup(|k| map.get(k).cloned())
    }

    const REQUIRED: [(&str, &str); 3] =
        [("WARDEN_TABLE_NAME", "warden"), ("OLLAMA_URL", "http://10.0.0.5:11434"), ("WARDEN_IDENTITY_SOURCE", "iam")];

    #[test]
    fn defaults_and_required_variables() {
        let c = cfg(&REQUIRED).unwrap();
        assert_eq!(
            (c.registry_cache_seconds, c.ollama_timeout_seconds, c.metrics_namespace.as_str()),
            (30, 120, "Custom/LLM")
        );
        assert_eq!(c.identity.source, Some(crate::http::AuthSource::Iam));
        assert!(!c.streams_responses, "buffered unless the integration streams");
        let mut streaming = REQUIRED.to_vec();
        streaming.push(("WARDEN_RESPONSE_MODE", "stream"));
        assert!(cfg(&streaming).unwrap().streams_responses);
        assert!((c.identity.api_ids.is_empty(), c.identity.account_id.is_none()) == (true, true));
        for missing in ["OLLAMA_URL", "WARDEN_IDENTITY_SOURCE"] {
            let pairs: Vec<_> = REQUIRED.iter().copied().filter(|(k, _)| *k != missing).collect();
            let err = cfg(&pairs).unwrap_err().to_string();
            assert!(err.starts_with(&format!("{missing} is not set")), "{err}");
        }
        for (var, value) in [
            ("OLLAMA_URL", "https://ollama.example.com/v1"),
            ("WARDEN_VALIDATOR_POLICY", "{\"limitz\": {}}"),
            ("WARDEN_API_KEY_USE_CASES", "[1]"),
            ("WARDEN_OLLAMA_TIMEOUT_SECONDS", "0"),
            ("WARDEN_IDENTITY_SOURCE", "first-found"),
            ("WARDEN_API_ACCOUNT_ID", "1234"),
            ("WARDEN_RESPONSE_MODE", "streaming"),
        ] {
            let mut pairs = REQUIRED.to_vec();
            pairs.retain(|(k, _)| *k != var);
            pairs.push((var, value));
            assert!(cfg(&pairs).unwrap_err().to_string().starts_with(var), "{var}");
        }
    }

    #[test]
    fn the_api_and_account_pin() {
        let mut pairs = REQUIRED.to_vec();
        pairs.extend([("WARDEN_API_ID", "a1b2c3d4e5, f9e8d7c6b5"), ("WARDEN_API_ACCOUNT_ID", "123456789012")]);
        let c = cfg(&pairs).unwrap();
        assert_eq!(c.identity.api_ids, ["a1b2c3d4e5", "f9e8d7c6b5"]);
        assert_eq!(c.identity.account_id.as_deref(), Some("123456789012"));
    }
}

/// A JSON setting, inline or `@/path/to/file.json`, parsed by `parse`; unset or empty: `None`.
fn json_setting<T>(
    var: &'static str,
    value: Option<String>,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Option<T>, ConfigError> {
    let Some(v) = value.filter(|v| !v.trim().is_empty()) else { return Ok(None) };
    let invalid = |why: String| ConfigError::Invalid { var, value: v.clone(), why };
    let json = match v.trim().strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).map_err(|e| invalid(format!("cannot read {path}: {e}")))?,
        None => v.clone(),
    };
    parse(&json).map(Some).map_err(invalid)
}

fn parse_ports(raw: &str) -> Result<Vec<SensitivePort>, ConfigError> {
    let invalid = |why: String| ConfigError::Invalid { var: "WARDEN_SENSITIVE_PORTS", value: raw.to_string(), why };
    let mut ports: Vec<SensitivePort> = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let port: u16 = part
            .parse()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| invalid(format!("{part:?} is not a TCP port (1-65535)")))?;
        if !ports.iter().any(|p| p.port == port) {
            ports.push(SensitivePort::new(port));
        }
    }
    if ports.is_empty() {
        return Err(invalid("name at least one port, e.g. 11434,22".into()));
    }
    Ok(ports)
}

fn parse_bool(var: &'static str, value: Option<String>, default: bool) -> Result<bool, ConfigError> {
    match value.as_deref().map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if v.is_empty() => Ok(default),
        Some(v) if ["true", "1", "yes"].contains(&v.as_str()) => Ok(true),
        Some(v) if ["false", "0", "no"].contains(&v.as_str()) => Ok(false),
        Some(v) => Err(ConfigError::Invalid { var, value: v, why: "must be true or false".into() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> Result<RemediatorConfig, ConfigError> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        RemediatorConfig::from_lookup(|k| map.get(k).cloned())
    }

    const BASE: [(&str, &str); 2] =
        [("WARDEN_TABLE_NAME", "warden"), ("WARDEN_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:warden")];

    #[test]
    fn defaults_are_safe() {
        let c = cfg(&BASE).unwrap();
        assert_eq!(c.sensitive_ports.iter().map(|p| p.port).collect::<Vec<_>>(), [11434, 22]);
        assert_eq!(c.max_public_share, 0.001);
        assert_eq!(
            c.fleet.tag,
            Some(("Service".into(), "Ollama".into())),
            "the fleet is what Ollama instances are tagged"
        );
        assert!(c.fleet.asgs.is_empty());
        let mut pairs = BASE.to_vec();
        pairs.extend([("WARDEN_FLEET_TAG", ""), ("WARDEN_FLEET_ASGS", "ollama-gpu-fleet, ollama-canary")]);
        let c2 = cfg(&pairs).unwrap();
        assert_eq!(
            (c2.fleet.tag, c2.fleet.asgs),
            (None, vec!["ollama-gpu-fleet".to_string(), "ollama-canary".to_string()])
        );
        let mut pairs = BASE.to_vec();
        pairs.push(("WARDEN_MAX_PUBLIC_SHARE", "0.01"));
        assert_eq!(cfg(&pairs).unwrap().max_public_share, 0.01);
        assert!(!c.dry_run);
        assert_eq!(c.lease_seconds, 90);
        assert_eq!(c.metrics_namespace, "Warden");
        assert!(c.trusted_alarms.is_empty(), "no alarm is trusted unless named");
        assert!(c.operators.is_empty(), "no operator unless named");
    }

    #[test]
    fn missing_required_variables_are_named() {
        let err = cfg(&[]).unwrap_err();
        assert!(err.to_string().starts_with("WARDEN_TABLE_NAME is not set"), "{err}");
        let err = cfg(&BASE[..1]).unwrap_err();
        assert!(err.to_string().starts_with("WARDEN_TOPIC_ARN is not set"), "{err}");
    }

    #[test]
    fn invalid_values_are_named_with_the_value() {
        for (var, value) in [
            ("WARDEN_SENSITIVE_PORTS", "11434,ssh"),
            ("WARDEN_TRUSTED_ALARMS", "llm-prompt-injection-fleet"),
            ("WARDEN_OPERATORS", "warden-operator"),
            ("WARDEN_OPERATORS", "arn:aws:sts::123456789012:assumed-role/warden-operator/alice"),
            ("WARDEN_TRUSTED_ALARMS", "arn:aws:cloudwatch:*:123456789012:alarm:llm-x"),
            ("WARDEN_TRUSTED_ALARMS", "arn:aws:cloudwatch:us-east-1:123456789012:alarm:*-fleet"),
            ("WARDEN_SENSITIVE_PORTS", "70000"),
            ("WARDEN_SENSITIVE_PORTS", " , "),
            ("WARDEN_DRY_RUN", "maybe"),
            ("WARDEN_LEASE_SECONDS", "5"),
            ("WARDEN_TOPIC_ARN", "warden-topic"),
            ("WARDEN_ISOLATION_POLICY", "{\"rules\": []}"),
            ("WARDEN_ISOLATION_POLICY", "@/nonexistent/policy.json"),
            ("WARDEN_QUARANTINE_PROFILE_ARN", "quarantine"),
            ("WARDEN_MAX_PUBLIC_SHARE", "1"),
            ("WARDEN_FLEET_TAG", "Service"),
            ("WARDEN_MAX_PUBLIC_SHARE", "half"),
        ] {
            let mut pairs = BASE.to_vec();
            pairs.retain(|(k, _)| *k != var);
            pairs.push((var, value));
            let err = cfg(&pairs).unwrap_err().to_string();
            assert!(err.starts_with(var), "{err}");
        }
    }

    #[test]
    fn ports_and_dry_run_are_configurable() {
        let mut pairs = BASE.to_vec();
        pairs.extend([("WARDEN_SENSITIVE_PORTS", "3389, 22,22"), ("WARDEN_DRY_RUN", "TRUE")]);
        let c = cfg(&pairs).unwrap();
        assert_eq!(c.sensitive_ports.iter().map(|p| p.port).collect::<Vec<_>>(), [3389, 22]);
        assert!(c.dry_run);
    }
}

/// Where the approval signing key comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum ApprovalKeySource {
    /// `WARDEN_APPROVAL_KEY`: the key itself (local runs only; never logged).
    Inline(Vec<u8>),
    /// `WARDEN_APPROVAL_KEY_PARAMETER`: an SSM Parameter Store SecureString, read once at start.
    SsmParameter(String),
}

impl std::fmt::Debug for ApprovalKeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Inline(_) => f.write_str("Inline(redacted)"),
            Self::SsmParameter(name) => write!(f, "SsmParameter({name})"),
        }
    }
}

/// Where the approvals page's URL comes from: set directly, or an SSM String parameter (the
/// deployed function URL is only known once the function exists, so the CDK app writes it there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApprovalsUrlSource {
    Inline(String),
    SsmParameter(String),
}

/// An approvals page URL the email links may point at: https, or http only on this machine.
pub fn check_approvals_url(var: &'static str, url: &str) -> Result<String, ConfigError> {
    let url = url.trim();
    if crate::approval::sign_in::acceptable_url(url) {
        Ok(url.to_string())
    } else {
        Err(ConfigError::Invalid {
            var,
            value: url.to_string(),
            why: "must be https:// (http only for localhost)".into(),
        })
    }
}

/// Signing in to decide (the approvals function): the organisation's OpenID Connect provider
/// and who may approve what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInConfig {
    /// `WARDEN_OIDC_ISSUER`: the provider's issuer URL, exactly as its ID tokens name it
    /// (`https://`; `http://` only for localhost). Required.
    pub issuer: String,
    /// `WARDEN_OIDC_CLIENT_ID`: Warden's client id at the provider. Required.
    pub client_id: String,
    /// `WARDEN_OIDC_CLIENT_SECRET_PARAMETER` (an SSM SecureString) or `WARDEN_OIDC_CLIENT_SECRET`
    /// (local runs): a confidential client's secret. Default: none, a public client (PKCE).
    pub client_secret: Option<SecretSource>,
    /// `WARDEN_APPROVERS`: JSON, action kind (or `*`) → the email addresses or `sub:<id>` of
    /// the people who may decide it. Required.
    pub approvers: crate::approval::sign_in::Approvers,
}

/// Where a secret comes from: SSM Parameter Store (deployments) or the environment (local runs).
#[derive(Clone, PartialEq, Eq)]
pub enum SecretSource {
    SsmParameter(String),
    Inline(String),
}

impl std::fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SsmParameter(name) => write!(f, "SsmParameter({name})"),
            Self::Inline(_) => f.write_str("Inline(redacted)"),
        }
    }
}

impl SignInConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let set = |k: &str| get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let issuer = set("WARDEN_OIDC_ISSUER").ok_or(ConfigError::Missing {
            var: "WARDEN_OIDC_ISSUER",
            what: "the OpenID Connect issuer approvers sign in with (Cognito, Entra ID, Okta, Google, …)",
        })?;
        if !crate::approval::sign_in::acceptable_url(&issuer) {
            return Err(ConfigError::Invalid {
                var: "WARDEN_OIDC_ISSUER",
                value: issuer,
                why: "must be an https:// URL (http:// only for localhost)".into(),
            });
        }
        let client_id = set("WARDEN_OIDC_CLIENT_ID")
            .ok_or(ConfigError::Missing { var: "WARDEN_OIDC_CLIENT_ID", what: "Warden's client id at the provider" })?;
        let client_secret = match (set("WARDEN_OIDC_CLIENT_SECRET_PARAMETER"), set("WARDEN_OIDC_CLIENT_SECRET")) {
            (Some(name), _) => Some(SecretSource::SsmParameter(name)),
            (None, Some(secret)) => Some(SecretSource::Inline(secret)),
            (None, None) => None,
        };
        let raw = set("WARDEN_APPROVERS").ok_or(ConfigError::Missing {
            var: "WARDEN_APPROVERS",
            what: "who may decide what, as JSON: {\"isolate\": [\"alice@example.com\"], \"*\": [\"secops-lead@example.com\"]}",
        })?;
        let approvers = crate::approval::sign_in::Approvers::from_json(&raw).map_err(|why| ConfigError::Invalid {
            var: "WARDEN_APPROVERS",
            value: raw.chars().take(200).collect(),
            why,
        })?;
        Ok(Self { issuer, client_id, client_secret, approvers })
    }
}

/// Approvals, for the remediator (which asks) and the approvals function (which decides).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalConfig {
    /// `WARDEN_APPROVALS_URL` (the approvals function URL the email links open) or
    /// `WARDEN_APPROVALS_URL_PARAMETER` (an SSM parameter holding it); one is required.
    pub url: ApprovalsUrlSource,
    pub key: ApprovalKeySource,
    /// `WARDEN_APPROVAL_TTL_HOURS`: how long a request stays open (default 24, 1-168).
    pub ttl_hours: i64,
    /// `WARDEN_APPROVALS_TOPIC_ARN`: where requests and decisions are announced (default: `WARDEN_TOPIC_ARN`).
    pub topic_arn: String,
}

impl ApprovalConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let set = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let url = match (set("WARDEN_APPROVALS_URL"), set("WARDEN_APPROVALS_URL_PARAMETER")) {
            (Some(url), _) => ApprovalsUrlSource::Inline(check_approvals_url("WARDEN_APPROVALS_URL", &url)?),
            (None, Some(name)) => ApprovalsUrlSource::SsmParameter(name.trim().to_string()),
            (None, None) => {
                return Err(ConfigError::Missing {
                    var: "WARDEN_APPROVALS_URL",
                    what: "the approvals function URL the email links open (or WARDEN_APPROVALS_URL_PARAMETER)",
                })
            }
        };
        let key =
            match (set("WARDEN_APPROVAL_KEY_PARAMETER"), set("WARDEN_APPROVAL_KEY")) {
                (Some(name), _) => ApprovalKeySource::SsmParameter(name),
                (None, Some(key)) if key.len() >= crate::approval::token::MIN_KEY_BYTES => {
                    ApprovalKeySource::Inline(key.into_bytes())
                }
                (None, Some(_)) => {
                    return Err(ConfigError::Invalid {
                        var: "WARDEN_APPROVAL_KEY",
                        value: "(redacted)".into(),
                        why: format!("must be at least {} characters", crate::approval::token::MIN_KEY_BYTES),
                    })
                }
                (None, None) => return Err(ConfigError::Missing {
                    var: "WARDEN_APPROVAL_KEY_PARAMETER",
                    what:
                        "the SSM SecureString holding the approval signing key (or WARDEN_APPROVAL_KEY for local runs)",
                }),
            };
        let ttl_hours = match set("WARDEN_APPROVAL_TTL_HOURS") {
            None => 24,
            Some(v) => {
                v.trim().parse::<i64>().ok().filter(|h| (1..=168).contains(h)).ok_or_else(|| ConfigError::Invalid {
                    var: "WARDEN_APPROVAL_TTL_HOURS",
                    value: v,
                    why: "must be a whole number of hours between 1 and 168".into(),
                })?
            }
        };
        let topic_arn =
            set("WARDEN_APPROVALS_TOPIC_ARN").or_else(|| set("WARDEN_TOPIC_ARN")).ok_or(ConfigError::Missing {
                var: "WARDEN_APPROVALS_TOPIC_ARN",
                what: "the SNS topic approval requests go to (or WARDEN_TOPIC_ARN)",
            })?;
        Ok(Self { url, key, ttl_hours, topic_arn })
    }
}

#[cfg(test)]
mod approval_config_tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> Result<ApprovalConfig, ConfigError> {
        ApprovalConfig::from_lookup(|k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn approvals_need_a_url_a_key_and_a_topic_and_never_print_the_key() {
        let base = [
            ("WARDEN_APPROVALS_URL", "https://abc.lambda-url.us-east-1.on.aws/"),
            ("WARDEN_TOPIC_ARN", "arn:aws:sns:us-east-1:1:t"),
        ];
        assert!(cfg(&base).unwrap_err().to_string().starts_with("WARDEN_APPROVAL_KEY_PARAMETER is not set"));
        let mut with_key = base.to_vec();
        with_key.push(("WARDEN_APPROVAL_KEY", "k-0123456789abcdef0123456789abcdef"));
        let c = cfg(&with_key).unwrap();
        assert_eq!(c.ttl_hours, 24);
        assert!(!format!("{c:?}").contains("0123456789abcdef"), "the key is redacted");
        let mut short = base.to_vec();
        short.push(("WARDEN_APPROVAL_KEY", "short"));
        let err = cfg(&short).unwrap_err().to_string();
        assert!(err.starts_with("WARDEN_APPROVAL_KEY") && !err.contains("short"), "{err}");
        let mut http = with_key.clone();
        http[0] = ("WARDEN_APPROVALS_URL", "http://example.com/");
        assert!(cfg(&http).unwrap_err().to_string().starts_with("WARDEN_APPROVALS_URL"));
        let mut ssm = base.to_vec();
        ssm.push(("WARDEN_APPROVAL_KEY_PARAMETER", "/warden/approval-key"));
        assert_eq!(cfg(&ssm).unwrap().key, ApprovalKeySource::SsmParameter("/warden/approval-key".into()));
        // The deployed URL comes from a parameter the CDK app writes; the inline URL wins if both are set.
        let mut from_parameter = ssm.clone();
        from_parameter[0] = ("WARDEN_APPROVALS_URL_PARAMETER", "/warden/approvals-url");
        assert_eq!(cfg(&from_parameter).unwrap().url, ApprovalsUrlSource::SsmParameter("/warden/approvals-url".into()));
        from_parameter.push(("WARDEN_APPROVALS_URL", "https://a.example/"));
        assert_eq!(cfg(&from_parameter).unwrap().url, ApprovalsUrlSource::Inline("https://a.example/".into()));
        let neither = &ssm[1..];
        assert!(cfg(neither).unwrap_err().to_string().contains("WARDEN_APPROVALS_URL_PARAMETER"));
    }
}

#[cfg(test)]
mod sign_in_config_tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> Result<SignInConfig, ConfigError> {
        SignInConfig::from_lookup(|k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()))
    }

    const BASE: [(&str, &str); 3] = [
        ("WARDEN_OIDC_ISSUER", "https://login.example.com/realms/ops"),
        ("WARDEN_OIDC_CLIENT_ID", "warden"),
        ("WARDEN_APPROVERS", r#"{"*": ["lead@example.com"]}"#),
    ];

    #[test]
    fn signing_in_needs_an_https_issuer_a_client_and_approvers_and_never_prints_the_secret() {
        let c = cfg(&BASE).unwrap();
        assert_eq!(
            (c.issuer.as_str(), c.client_id.as_str(), &c.client_secret),
            ("https://login.example.com/realms/ops", "warden", &None)
        );
        for missing in ["WARDEN_OIDC_ISSUER", "WARDEN_OIDC_CLIENT_ID", "WARDEN_APPROVERS"] {
            let pairs: Vec<_> = BASE.iter().copied().filter(|(k, _)| *k != missing).collect();
            assert!(cfg(&pairs).unwrap_err().to_string().starts_with(&format!("{missing} is not set")), "{missing}");
        }
        for (var, value) in [
            ("WARDEN_OIDC_ISSUER", "http://login.example.com"),
            ("WARDEN_APPROVERS", r#"{"everything": ["lead@example.com"]}"#),
            ("WARDEN_APPROVERS", r#"{"*": []}"#),
        ] {
            let mut pairs: Vec<_> = BASE.iter().copied().filter(|(k, _)| *k != var).collect();
            pairs.push((var, value));
            assert!(cfg(&pairs).unwrap_err().to_string().contains(var), "{var}={value}");
        }
        let mut local = BASE.to_vec();
        local.extend([("WARDEN_OIDC_ISSUER", "http://127.0.0.1:9200"), ("WARDEN_OIDC_CLIENT_SECRET", "s3cret")]);
        let local: Vec<_> = local.into_iter().rev().collect(); // the later value first
        let c = cfg(&local).unwrap();
        assert_eq!(c.issuer, "http://127.0.0.1:9200", "http only for this machine");
        assert!(!format!("{c:?}").contains("s3cret"), "the secret is never printed");
        let mut stored = BASE.to_vec();
        stored.push(("WARDEN_OIDC_CLIENT_SECRET_PARAMETER", "/warden/oidc-client-secret"));
        assert_eq!(
            cfg(&stored).unwrap().client_secret,
            Some(SecretSource::SsmParameter("/warden/oidc-client-secret".into()))
        );
    }
}
