//! Notifications over SNS: one message, plain text for email subscribers and the structured
//! facts (JSON) for SQS, Lambda and HTTP(S) subscribers, with attributes for filter policies.
//!
//! A signed approval link goes to email subscribers only: whoever can subscribe a queue or an
//! endpoint to the topic gets the facts, never a link (and a link decides nothing without an
//! approver signing in anyway).

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

/// A signed link: any URL that carries a token.
fn is_signed_link(word: &str) -> bool {
    (word.starts_with("https://") || word.starts_with("http://")) && word.contains("token=")
}

/// The text without its signed links (SMS and other protocols that are not email).
fn without_links(text: &str) -> String {
    text.split_inclusive(char::is_whitespace)
        .map(|word| {
            let bare = word.trim_end();
            if is_signed_link(bare) {
                format!("(link sent to email subscribers only){}", &word[bare.len()..])
            } else {
                word.to_string()
            }
        })
        .collect()
}

/// The facts without any string that is a signed link.
fn facts_without_links(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::String(s) if is_signed_link(s) => Value::Null,
        Value::Array(a) => Value::Array(a.iter().map(facts_without_links).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), facts_without_links(v))).collect()),
        other => other.clone(),
    }
}

/// The `MessageStructure=json` body: a message per protocol; signed links in email only.
pub fn message_body(n: &Notification) -> String {
    let facts = facts_without_links(&n.facts).to_string();
    json!({
        "default": without_links(&n.text),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_links_go_to_email_subscribers_only() {
        let link = "https://abc.lambda-url.us-east-1.on.aws/?request=apr-1&decision=approve&expires=9&token=T0k";
        let n = Notification {
            subject: "s".into(),
            text: format!("Approve: {link}\nReject:  {link}\nDocs: https://example.com/docs\n"),
            facts: json!({"approve_url": link, "nested": [link, "kept"], "docs": "https://example.com/docs"}),
            attributes: Default::default(),
        };
        let body: serde_json::Value = serde_json::from_str(&message_body(&n)).unwrap();
        assert!(body["email"].as_str().unwrap().contains(link), "people get the links");
        for protocol in ["default", "sqs", "lambda", "http", "https", "email-json"] {
            let text = body[protocol].as_str().unwrap();
            assert!(!text.contains("token="), "{protocol}: {text}");
            assert!(text.contains("https://example.com/docs"), "{protocol}: other URLs stay");
        }
        assert!(body["default"].as_str().unwrap().contains("Approve: (link sent to email subscribers only)\n"));
    }
}
