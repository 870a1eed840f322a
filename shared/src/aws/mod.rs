//! AWS adapters of the ports, over aws-sdk-rust. Every client comes from one `SdkConfig` loaded
//! once in `main`; `AWS_ENDPOINT_URL` points them all at the local AWS in tests and demos.
mod apigateway;
mod approval_store;
mod audit_store;
mod compute;
mod config_service;
mod dynamodb;

mod ec2;
mod fleet;
mod incident_store;
mod request_store;
mod sns;
mod sts;
mod suspension_store;
mod validator_store;
pub mod wiring;

pub use apigateway::ApiGatewayKeys;
pub use compute::{Ec2Compute, ROLE_TAG};
pub use config_service::{AwsConfigService, AwsInventory};
pub use dynamodb::DynamoStore;
pub use ec2::Ec2SecurityGroups;
pub use fleet::AwsFleet;
pub use sns::SnsNotifier;
pub use sts::{sign_caller_proof, sts_endpoint, StsCallers};

use aws_sdk_ec2::error::{DisplayErrorContext, ProvideErrorMetadata};

use crate::ports::{ErrorKind, PortError};

/// Attempts per AWS call when `AWS_MAX_ATTEMPTS` is not set: a sweep's burst of revokes meets
/// EC2's request-rate limit, and a throttled call is worth a few backed-off tries.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// Load the shared AWS configuration (region, credentials, endpoint) from the environment.
///
/// Retries are adaptive (exponential backoff, and a client-side rate limiter that slows every
/// call of a client once one is throttled) unless `AWS_RETRY_MODE` chooses otherwise.
pub async fn load_sdk_config() -> aws_config::SdkConfig {
    let loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    match retry_config(|k| std::env::var(k).ok()) {
        Some(retry) => loader.retry_config(retry).load().await,
        None => loader.load().await,
    }
}

/// The retry configuration Warden sets, or `None` to leave it to the SDK (`AWS_RETRY_MODE` set).
fn retry_config(env: impl Fn(&str) -> Option<String>) -> Option<aws_config::retry::RetryConfig> {
    if env("AWS_RETRY_MODE").is_some_and(|m| !m.is_empty()) {
        return None;
    }
    let attempts =
        env("AWS_MAX_ATTEMPTS").and_then(|v| v.parse().ok()).filter(|n| *n > 0).unwrap_or(DEFAULT_MAX_ATTEMPTS);
    Some(aws_config::retry::RetryConfig::adaptive().with_max_attempts(attempts))
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

#[cfg(test)]
mod tests {
    use super::*;
    use aws_config::retry::RetryMode;

    #[test]
    fn retries_are_adaptive_with_the_attempts_the_environment_gives() {
        let none = |_: &str| None;
        let default = retry_config(none).unwrap();
        assert_eq!(default.mode(), RetryMode::Adaptive);
        assert_eq!(default.max_attempts(), DEFAULT_MAX_ATTEMPTS);
        let one = retry_config(|k| (k == "AWS_MAX_ATTEMPTS").then(|| "1".to_string())).unwrap();
        assert_eq!(one.max_attempts(), 1);
        assert!(retry_config(|k| (k == "AWS_RETRY_MODE").then(|| "standard".to_string())).is_none());
    }
}
