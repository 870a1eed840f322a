//! AWS adapters of the ports, over aws-sdk-rust. Every client comes from one `SdkConfig` loaded
//! once in `main`; `AWS_ENDPOINT_URL` points them all at the local AWS in tests and demos.

mod apigateway;
mod compute;
mod config_rules;
mod dynamodb;
mod ec2;
mod fleet;
mod sns;
mod suspension_store;
mod validator_store;

pub use apigateway::ApiGatewayKeys;
pub use compute::{Ec2Compute, ROLE_TAG};
pub use config_rules::{AwsConfigService, AwsInventory};
pub use dynamodb::DynamoStore;
pub use ec2::Ec2SecurityGroups;
pub use fleet::AwsFleet;
pub use sns::SnsNotifier;

use aws_sdk_ec2::error::{DisplayErrorContext, ProvideErrorMetadata};

use crate::ports::{ErrorKind, PortError};

/// Load the shared AWS configuration (region, credentials, endpoint) from the environment.
pub async fn load_sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// Classify any SDK error by its AWS error code.
pub(crate) fn port_error<E>(operation: &'static str, err: E) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let code = err.code().map(str::to_string);
    let kind = match code.as_deref() {
        Some(c)
            if c.ends_with(".NotFound")
                || c == "ResourceNotFoundException"
                || c == "NotFoundException"
                || c == "NotFound" =>
        {
            ErrorKind::NotFound
        }
        Some(c) if c.ends_with(".Duplicate") => ErrorKind::AlreadyExists,
        Some("ConditionalCheckFailedException") => ErrorKind::Conflict,
        Some(
            "Throttling"
            | "ThrottlingException"
            | "ThrottledException"
            | "RequestLimitExceeded"
            | "TooManyRequestsException"
            | "ProvisionedThroughputExceededException"
            | "RequestThrottled"
            | "SlowDown",
        ) => ErrorKind::Throttled,
        Some(
            "AccessDenied"
            | "AccessDeniedException"
            | "UnauthorizedOperation"
            | "AuthorizationError"
            | "UnrecognizedClientException"
            | "InvalidClientTokenId",
        ) => ErrorKind::AccessDenied,
        _ => ErrorKind::Other,
    };
    let message = err.message().map(str::to_string).unwrap_or_else(|| DisplayErrorContext(&err).to_string());
    PortError { operation, kind, code, message }
}

/// The remediation executor wired to AWS: used by the remediator function and the `warden`
/// command alike, so an undo from either runs the same code.
pub fn remediation_executor(
    config: &crate::config::RemediatorConfig,
    sdk: &aws_config::SdkConfig,
) -> crate::executor::Executor<Ec2SecurityGroups, DynamoStore, SnsNotifier> {
    crate::executor::Executor::new(
        Ec2SecurityGroups::new(aws_sdk_ec2::Client::new(sdk)),
        DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), &config.table_name),
        SnsNotifier::new(aws_sdk_sns::Client::new(sdk), &config.topic_arn),
        crate::executor::Settings {
            sensitive_ports: config.sensitive_ports.clone(),
            dry_run: config.dry_run,
            lease: config.lease(),
        },
    )
}

/// The isolation executor wired to AWS (remediator and `warden release` alike).
pub fn isolation_executor(
    config: &crate::config::RemediatorConfig,
    sdk: &aws_config::SdkConfig,
) -> crate::isolation_executor::IsolationExecutor<Ec2Compute, AwsFleet, DynamoStore, SnsNotifier> {
    crate::isolation_executor::IsolationExecutor::new(
        Ec2Compute::new(aws_sdk_ec2::Client::new(sdk)),
        AwsFleet::new(aws_sdk_autoscaling::Client::new(sdk), aws_sdk_elasticloadbalancingv2::Client::new(sdk)),
        DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), &config.table_name),
        SnsNotifier::new(aws_sdk_sns::Client::new(sdk), &config.topic_arn),
        crate::isolation_executor::IsolationSettings {
            policy: config.isolation_policy.clone(),
            quarantine_profile_arn: config.quarantine_profile_arn.clone(),
            lease: config.lease(),
        },
    )
}

/// The approval signing key, read once at start: from SSM Parameter Store (SecureString,
/// decrypted) or, for local runs, from the environment. Never logged.
pub async fn load_approval_key(
    sdk: &aws_config::SdkConfig,
    source: &crate::config::ApprovalKeySource,
) -> Result<crate::approval::SigningKey, String> {
    let bytes = match source {
        crate::config::ApprovalKeySource::Inline(bytes) => bytes.clone(),
        crate::config::ApprovalKeySource::SsmParameter(name) => {
            let out =
                aws_sdk_ssm::Client::new(sdk).get_parameter().name(name).with_decryption(true).send().await.map_err(
                    |e| format!("cannot read the approval key parameter {name}: {}", port_error("GetParameter", e)),
                )?;
            out.parameter().and_then(|p| p.value()).ok_or(format!("parameter {name} has no value"))?.as_bytes().to_vec()
        }
    };
    crate::approval::SigningKey::new(bytes)
}

/// The approvals page URL, read once at start: from the environment or an SSM String parameter.
pub async fn load_approvals_url(
    sdk: &aws_config::SdkConfig,
    source: &crate::config::ApprovalsUrlSource,
) -> Result<String, String> {
    match source {
        crate::config::ApprovalsUrlSource::Inline(url) => Ok(url.clone()),
        crate::config::ApprovalsUrlSource::SsmParameter(name) => {
            let out = aws_sdk_ssm::Client::new(sdk).get_parameter().name(name).send().await.map_err(|e| {
                format!("cannot read the approvals URL parameter {name}: {}", port_error("GetParameter", e))
            })?;
            let url = out.parameter().and_then(|p| p.value()).ok_or(format!("parameter {name} has no value"))?;
            crate::config::check_approvals_url("WARDEN_APPROVALS_URL_PARAMETER", url).map_err(|e| e.to_string())
        }
    }
}

/// Everything a function needs, from the environment, read once at start: the configuration,
/// the SDK configuration, and the approval flow with its key. Errors name what to set.
pub async fn from_env() -> Result<
    (crate::config::RemediatorConfig, aws_config::SdkConfig, crate::approvals::Approvals<DynamoStore, SnsNotifier>),
    String,
> {
    let config = crate::config::RemediatorConfig::from_env().map_err(|e| e.to_string())?;
    let approval_config = crate::config::ApprovalConfig::from_env().map_err(|e| e.to_string())?;
    let sdk = load_sdk_config().await;
    let key = load_approval_key(&sdk, &approval_config.key).await?;
    let base_url = load_approvals_url(&sdk, &approval_config.url).await?;
    let flow = approvals(&approval_config, base_url, &config.table_name, key, &sdk);
    Ok((config, sdk, flow))
}

/// The approval flow wired to AWS.
pub fn approvals(
    config: &crate::config::ApprovalConfig,
    base_url: String,
    table: &str,
    key: crate::approval::SigningKey,
    sdk: &aws_config::SdkConfig,
) -> crate::approvals::Approvals<DynamoStore, SnsNotifier> {
    crate::approvals::Approvals::new(
        DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), table),
        SnsNotifier::new(aws_sdk_sns::Client::new(sdk), &config.topic_arn),
        crate::approvals::ApprovalSettings { base_url, key, ttl: chrono::Duration::hours(config.ttl_hours) },
    )
}

/// The request validator wired to DynamoDB (registry, quotas) and Ollama.
pub fn request_guard(
    config: &crate::config::ValidatorConfig,
    sdk: &aws_config::SdkConfig,
) -> crate::request_guard::RequestGuard<DynamoStore, DynamoStore, crate::upstream::OllamaClient> {
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), &config.table_name);
    let upstream = crate::upstream::OllamaClient::new(
        &config.ollama_url,
        std::time::Duration::from_millis(config.ollama_connect_timeout_ms),
        std::time::Duration::from_secs(config.ollama_timeout_seconds),
        config.max_response_bytes,
    );
    crate::request_guard::RequestGuard::new(
        config.policy.clone(),
        config.key_use_cases.clone(),
        store.clone(),
        std::time::Duration::from_secs(config.registry_cache_seconds),
        store,
        std::time::Duration::from_secs(config.suspension_cache_seconds),
        upstream,
    )
}

/// The suspension service wired to DynamoDB, API Gateway and SNS.
pub fn suspension_service(
    config: &crate::config::RemediatorConfig,
    sdk: &aws_config::SdkConfig,
) -> crate::suspension_service::SuspensionService<DynamoStore, ApiGatewayKeys, SnsNotifier> {
    crate::suspension_service::SuspensionService::new(
        DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), &config.table_name),
        ApiGatewayKeys::new(aws_sdk_apigateway::Client::new(sdk)),
        SnsNotifier::new(aws_sdk_sns::Client::new(sdk), &config.topic_arn),
        config.suspension_policy.clone(),
    )
}

/// The Config rules wired to AWS Config, EC2, CloudTrail and DynamoDB.
pub fn config_rules(
    table: &str,
    sdk: &aws_config::SdkConfig,
) -> crate::config_rules::ConfigRules<AwsConfigService, AwsInventory, DynamoStore, DynamoStore> {
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), table);
    crate::config_rules::ConfigRules {
        config: AwsConfigService::new(aws_sdk_config::Client::new(sdk)),
        inventory: AwsInventory::new(aws_sdk_ec2::Client::new(sdk), aws_sdk_cloudtrail::Client::new(sdk)),
        evidence: store.clone(),
        registry: store,
    }
}
