//! Notifications over SNS: one message, plain text for email subscribers and the structured
//! facts (JSON) for SQS, Lambda and HTTP(S) subscribers, with attributes for filter policies.

use aws_sdk_sns::types::MessageAttributeValue;
use aws_sdk_sns::Client;
use serde_json::json;

use super::port_error;
use crate::notify::Notification;
use crate::ports::{Notifier, PortResult};

#[derive(Clone)]
pub struct SnsNotifier {
    client: Client,
    topic_arn: String,
}

impl SnsNotifier {
    pub fn new(client: Client, topic_arn: impl Into<String>) -> Self {
        Self { client, topic_arn: topic_arn.into() }
    }
}

/// The `MessageStructure=json` body: a message per protocol.
pub fn message_body(n: &Notification) -> String {
    let facts = n.facts.to_string();
    json!({
        "default": n.text,
        "email": n.text,
        "sqs": facts,
        "lambda": facts,
        "http": facts,
        "https": facts,
        "email-json": facts,
    })
    .to_string()
}

impl Notifier for SnsNotifier {
    async fn notify(&self, n: &Notification) -> PortResult<()> {
        let mut req = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(&n.subject)
            .message_structure("json")
            .message(message_body(n));
        for (k, v) in &n.attributes {
            let attr =
                MessageAttributeValue::builder().data_type("String").string_value(v).build().expect("data type is set");
            req = req.message_attributes(k, attr);
        }
        req.send().await.map_err(|e| port_error("Publish", e))?;
        Ok(())
    }
}
