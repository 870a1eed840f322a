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
