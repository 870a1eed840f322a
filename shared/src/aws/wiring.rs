//! The executors and services wired to their AWS adapters, from the typed configuration: one
//! place, used by every function and the `warden` command alike.

use crate::aws::{
    load_sdk_config, port_error, ApiGatewayKeys, AwsConfigService, AwsFleet, AwsInventory, DynamoStore, Ec2Compute,
    Ec2SecurityGroups, SnsNotifier,
};
/// The remediation executor wired to AWS: used by the remediator function and the `warden`
/// command alike, so an undo from either runs the same code.
pub fn remediation_executor(
    config: &crate::config::RemediatorConfig,
    sdk: &aws_config::SdkConfig,
) -> crate::exposure::executor::Executor<Ec2SecurityGroups, DynamoStore, SnsNotifier> {
    crate::exposure::executor::Executor::new(
        Ec2SecurityGroups::new(aws_sdk_ec2::Client::new(sdk)),
        DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), &config.table_name),
        SnsNotifier::new(aws_sdk_sns::Client::new(sdk), &config.topic_arn),
        crate::exposure::executor::Settings {
            exposure: crate::exposure::ExposureDefinition {
                sensitive_ports: config.sensitive_ports.clone(),
                max_public_share: config.max_public_share,
            },
            dry_run: config.dry_run,
            lease: config.lease(),
        },
    )
}

/// The isolation executor wired to AWS (remediator and `warden release` alike).
pub fn isolation_executor(
    config: &crate::config::RemediatorConfig,
    sdk: &aws_config::SdkConfig,
) -> crate::isolation::executor::IsolationExecutor<Ec2Compute, AwsFleet, DynamoStore, SnsNotifier> {
    crate::isolation::executor::IsolationExecutor::new(
        Ec2Compute::new(aws_sdk_ec2::Client::new(sdk)),
        AwsFleet::new(aws_sdk_autoscaling::Client::new(sdk), aws_sdk_elasticloadbalancingv2::Client::new(sdk)),
        DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), &config.table_name),
        SnsNotifier::new(aws_sdk_sns::Client::new(sdk), &config.topic_arn),
        crate::isolation::executor::IsolationSettings {
            policy: config.isolation_policy.clone(),
            quarantine_profile_arn: config.quarantine_profile_arn.clone(),
            lease: config.lease(),
            fleet: config.fleet.clone(),
        },
    )
}

/// The approval signing key, read once at start: from SSM Parameter Store (SecureString,
/// decrypted) or, for local runs, from the environment. Never logged.
pub async fn load_approval_key(
    sdk: &aws_config::SdkConfig,
    source: &crate::config::ApprovalKeySource,
) -> Result<crate::approval::token::SigningKey, String> {
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
    crate::approval::token::SigningKey::new(bytes)
}

/// The sign-in provider and the approvers, read once at start (the client secret from SSM).
pub async fn sign_in(
    config: &crate::config::SignInConfig,
    sdk: &aws_config::SdkConfig,
) -> Result<crate::approval::flow::SignIn<crate::approval::oidc::OidcProvider>, String> {
    let client_secret = match &config.client_secret {
        None => None,
        Some(crate::config::SecretSource::Inline(secret)) => Some(secret.clone()),
        Some(crate::config::SecretSource::SsmParameter(name)) => {
            let out = aws_sdk_ssm::Client::new(sdk)
                .get_parameter()
                .name(name)
                .with_decryption(true)
                .send()
                .await
                .map_err(|e| {
                    format!("cannot read the OIDC client secret parameter {name}: {}", port_error("GetParameter", e))
                })?;
            Some(out.parameter().and_then(|p| p.value()).ok_or(format!("parameter {name} has no value"))?.to_string())
        }
    };
    let provider = crate::approval::oidc::OidcProvider::new(crate::approval::oidc::OidcClientConfig {
        issuer: config.issuer.clone(),
        client_id: config.client_id.clone(),
        client_secret,
    })?;
    Ok(crate::approval::flow::SignIn { provider, approvers: config.approvers.clone() })
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
    (
        crate::config::RemediatorConfig,
        aws_config::SdkConfig,
        crate::approval::flow::Approvals<DynamoStore, SnsNotifier>,
    ),
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
    key: crate::approval::token::SigningKey,
    sdk: &aws_config::SdkConfig,
) -> crate::approval::flow::Approvals<DynamoStore, SnsNotifier> {
    crate::approval::flow::Approvals::new(
        DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), table),
        SnsNotifier::new(aws_sdk_sns::Client::new(sdk), &config.topic_arn),
        crate::approval::flow::ApprovalSettings { base_url, key, ttl: chrono::Duration::hours(config.ttl_hours) },
    )
}

/// The request validator wired to DynamoDB (registry, quotas) and Ollama.
pub fn request_guard(
    config: &crate::config::ValidatorConfig,
    sdk: &aws_config::SdkConfig,
) -> crate::validator::service::RequestGuard<DynamoStore, DynamoStore, crate::validator::upstream::OllamaClient> {
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), &config.table_name);
    let upstream = crate::validator::upstream::OllamaClient::new(
        &config.ollama_url,
        std::time::Duration::from_millis(config.ollama_connect_timeout_ms),
        std::time::Duration::from_secs(config.ollama_timeout_seconds),
        config.max_response_bytes,
    );
    crate::validator::service::RequestGuard::new(
        config.policy.clone(),
        config.identity.clone(),
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
) -> crate::suspension::service::SuspensionService<DynamoStore, ApiGatewayKeys, SnsNotifier> {
    crate::suspension::service::SuspensionService::new(
        DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), &config.table_name),
        ApiGatewayKeys::new(aws_sdk_apigateway::Client::new(sdk)),
        SnsNotifier::new(aws_sdk_sns::Client::new(sdk), &config.topic_arn),
        config.suspension_policy.clone(),
    )
}

/// Operator requests: proofs verified by this region's STS, outcomes in the table.
pub fn operator_desk(
    config: &crate::config::RemediatorConfig,
    sdk: &aws_config::SdkConfig,
) -> Result<crate::operator::OperatorDesk<super::StsCallers, DynamoStore>, String> {
    Ok(crate::operator::OperatorDesk {
        verifier: super::StsCallers::new(sdk)?,
        outcomes: DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), &config.table_name),
        operators: config.operators.clone(),
    })
}

/// The Config rules wired to AWS Config, EC2, CloudTrail and DynamoDB.
pub fn config_rules(
    table: &str,
    sdk: &aws_config::SdkConfig,
) -> crate::compliance::service::ConfigRules<AwsConfigService, AwsInventory, DynamoStore, DynamoStore> {
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), table);
    crate::compliance::service::ConfigRules {
        config: AwsConfigService::new(aws_sdk_config::Client::new(sdk)),
        inventory: AwsInventory::new(aws_sdk_ec2::Client::new(sdk), aws_sdk_cloudtrail::Client::new(sdk)),
        evidence: store.clone(),
        registry: store,
    }
}
