//! API keys in API Gateway (REST APIs' usage plans): disabling one cuts its caller off at the
//! edge, before the validator runs.

use aws_sdk_apigateway::types::{Op, PatchOperation};
use aws_sdk_apigateway::Client;

use super::port_error;
use crate::ports::{ErrorKind, PortResult};
use crate::suspension::ports::ApiKeys;

#[derive(Clone)]
pub struct ApiGatewayKeys {
    client: Client,
}

impl ApiGatewayKeys {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

impl ApiKeys for ApiGatewayKeys {
    async fn disable(&self, key_id: &str) -> PortResult<bool> {
        let patch = PatchOperation::builder().op(Op::Replace).path("/enabled").value("false").build();
        match self.client.update_api_key().api_key(key_id).patch_operations(patch).send().await {
            Ok(_) => Ok(true),
            Err(e) => match port_error("UpdateApiKey", e) {
                err if err.kind == ErrorKind::NotFound => Ok(false),
                err => Err(err),
            },
        }
    }
}
