//! The audit trail and state in one DynamoDB table (single-table design, string keys `pk`/`sk`):
//!
//! | item                 | pk                  | sk                              |
//! |----------------------|---------------------|---------------------------------|
//! | remediation record   | `REM#<id>`          | `META`                          |
//! | remediation step     | `REM#<id>`          | `STEP#<00000>`                  |
//! | undo step            | `REM#<id>`          | `UNDO#<00000>`                  |
//! | exemption            | `EXEMPTION`         | `<group-id>#GROUP` / `<group-id>#RULE#<rule-id>` |
//! | operator request     | `REQUEST#<id>`      | `META` (its outcome)            |
//!
//! Every write that guards against duplicates or races is conditional.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::port_error;
use crate::ports::{ErrorKind, PortError, PortResult};

pub(super) type Item = HashMap<String, AttributeValue>;

/// TransactWriteItems takes at most 100 items.
pub(super) const MAX_TRANSACT_ITEMS: usize = 100;

#[derive(Clone)]
pub struct DynamoStore {
    pub(super) client: Client,
    pub(super) table: String,
}

pub(super) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
pub(super) fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(super) fn json<T: Serialize>(value: &T) -> AttributeValue {
    s(serde_json::to_string(value).expect("plain data serializes"))
}

pub(super) fn decode<T: DeserializeOwned>(item: &Item, attr: &str, operation: &'static str) -> PortResult<T> {
    let raw = item
        .get(attr)
        .and_then(|v| v.as_s().ok())
        .ok_or_else(|| PortError::new(operation, ErrorKind::Other, format!("stored item has no `{attr}`")))?;
    serde_json::from_str(raw)
        .map_err(|e| PortError::new(operation, ErrorKind::Other, format!("stored `{attr}` is unreadable: {e}")))
}

pub(super) fn get_s<'a>(item: &'a Item, attr: &str) -> Option<&'a str> {
    item.get(attr).and_then(|v| v.as_s().ok()).map(String::as_str)
}

pub(super) fn get_n(item: &Item, attr: &str) -> Option<i64> {
    item.get(attr).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}

pub(super) fn time_attr(item: &Item, attr: &str, operation: &'static str) -> PortResult<DateTime<Utc>> {
    get_s(item, attr)
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| PortError::new(operation, ErrorKind::Other, format!("stored item has no valid `{attr}`")))
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    pub(super) fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// An update of an existing `META` record (never creates one).
    pub(super) fn update_meta_of(
        &self,
        pk: String,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s("META"))
            .condition_expression("attribute_exists(pk)")
    }

    /// Put an item that must not exist yet. `Ok(false)`: it already exists.
    pub(super) async fn put_new(&self, item: Item, operation: &'static str) -> PortResult<bool> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e) => match port_error(operation, e) {
                err if err.kind == ErrorKind::Conflict => Ok(false),
                err => Err(err),
            },
        }
    }

    /// The `META` item of a record, read consistently.
    pub(super) async fn get_meta(&self, pk: String, operation: &'static str) -> PortResult<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s("META"))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| port_error(operation, e))?;
        Ok(out.item().cloned())
    }

    /// Move a `META` record from one of `from` to `to` with a new lease, unless its lease is
    /// live. `extra` sets one more attribute. `Ok(false)`: not claimed.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn claim_meta(
        &self,
        pk: String,
        from: &[&str],
        to: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        extra: Option<(&str, AttributeValue)>,
        operation: &'static str,
    ) -> PortResult<bool> {
        let placeholders: Vec<String> = (0..from.len()).map(|i| format!(":from{i}")).collect();
        let mut update = "SET #status = :to, lease_until = :lease, updated_at = :now".to_string();
        if let Some((attr, _)) = &extra {
            update.push_str(&format!(", {attr} = :extra"));
        }
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s("META"))
            .update_expression(update)
            .condition_expression(format!(
                "#status IN ({}) AND (attribute_not_exists(lease_until) OR lease_until <= :now_ms)",
                placeholders.join(", ")
            ))
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":to", s(to))
            .expression_attribute_values(":lease", n(lease_until.timestamp_millis()))
            .expression_attribute_values(":now", s(now.to_rfc3339()))
            .expression_attribute_values(":now_ms", n(now.timestamp_millis()));
        for (p, status) in placeholders.iter().zip(from) {
            req = req.expression_attribute_values(p, s(*status));
        }
        if let Some((_, value)) = extra {
            req = req.expression_attribute_values(":extra", value);
        }
        match req.send().await {
            Ok(_) => Ok(true),
            Err(e) => match port_error(operation, e) {
                err if err.kind == ErrorKind::Conflict => Ok(false),
                err => Err(err),
            },
        }
    }

    pub(super) async fn query_all(
        &self,
        pk: String,
        sk_prefix: Option<&str>,
        operation: &'static str,
    ) -> PortResult<Vec<Item>> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .expression_attribute_values(":pk", s(pk.clone()))
                .set_exclusive_start_key(start.take());
            q = match sk_prefix {
                Some(prefix) => q
                    .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                    .expression_attribute_values(":prefix", s(prefix)),
                None => q.key_condition_expression("pk = :pk"),
            };
            let out = q.send().await.map_err(|e| port_error(operation, e))?;
            items.extend(out.items().iter().cloned());
            match out.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => break,
            }
        }
        Ok(items)
    }
}
