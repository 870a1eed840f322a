//! The validator's state in the Warden table:
//!
//! | item              | pk                | sk                       | notes                          |
//! |-------------------|-------------------|--------------------------|--------------------------------|
//! | registered model  | `REGISTRY`        | `MODEL#<host/ns/name:tag>` | `entry` (JSON), `imported_at` |
//! | quota window      | `QUOTA#<caller>`  | `W#<window start>`       | `requests`, `tokens`, TTL `ttl` |

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use chrono::{DateTime, Utc};

use super::dynamodb::s;
use super::{port_error, DynamoStore};
use crate::ports::{ErrorKind, PortError, PortResult};
use crate::registry::ports::{ModelRegistryStore, RegistryImport};
use crate::registry::ModelEntry;
use crate::validator::ports::{QuotaOutcome, QuotaStore, QuotaWindow};

const REGISTRY_PK: &str = "REGISTRY";
/// Quota windows stay readable for a day after they end (then TTL removes them).
const QUOTA_RETENTION_SECONDS: i64 = 86_400;

fn model_sk(entry: &ModelEntry) -> String {
    format!("MODEL#{}", entry.name.model_ref().canonical())
}

impl ModelRegistryStore for DynamoStore {
    async fn models(&self) -> PortResult<Vec<ModelEntry>> {
        let items = self.query_all(REGISTRY_PK.into(), Some("MODEL#"), "Query model registry").await?;
        items
            .iter()
            .map(|item| {
                let json = item.get("entry").and_then(|v| v.as_s().ok()).ok_or_else(|| {
                    PortError::new("Query model registry", ErrorKind::Other, "registry item without `entry`")
                })?;
                serde_json::from_str(json).map_err(|e| {
                    PortError::new("Query model registry", ErrorKind::Other, format!("unreadable registry entry: {e}"))
                })
            })
            .collect()
    }

    async fn replace_models(&self, models: &[ModelEntry], now: DateTime<Utc>) -> PortResult<RegistryImport> {
        let existing = self.query_all(REGISTRY_PK.into(), Some("MODEL#"), "Query model registry").await?;
        let keep: Vec<String> = models.iter().map(model_sk).collect();
        let mut writes = Vec::new();
        let mut report = RegistryImport::default();
        for entry in models {
            let json = serde_json::to_string(entry)
                .map_err(|e| PortError::new("PutItem model", ErrorKind::Other, e.to_string()))?;
            let put = Put::builder()
                .table_name(self.table())
                .item("pk", s(REGISTRY_PK))
                .item("sk", s(model_sk(entry)))
                .item("name", s(entry.name.0.clone()))
                .item("entry", s(json))
                .item("imported_at", s(now.to_rfc3339()))
                .build()
                .map_err(|e| PortError::new("PutItem model", ErrorKind::Other, e.to_string()))?;
            writes.push(TransactWriteItem::builder().put(put).build());
            report.written.push(entry.name.0.clone());
        }
        for item in &existing {
            let Some(sk) = item.get("sk").and_then(|v| v.as_s().ok()) else { continue };
            if keep.contains(sk) {
                continue;
            }
            let delete = Delete::builder()
                .table_name(self.table())
                .key("pk", s(REGISTRY_PK))
                .key("sk", s(sk.clone()))
                .build()
                .map_err(|e| PortError::new("DeleteItem model", ErrorKind::Other, e.to_string()))?;
            writes.push(TransactWriteItem::builder().delete(delete).build());
            report.removed.push(item.get("name").and_then(|v| v.as_s().ok()).cloned().unwrap_or_else(|| sk.clone()));
        }
        // All or nothing up to 100 models; larger registries are written in transactions of 100.
        for chunk in writes.chunks(100) {
            self.client()
                .transact_write_items()
                .set_transact_items(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| port_error("TransactWriteItems model registry", e))?;
        }
        Ok(report)
    }
}

impl QuotaStore for DynamoStore {
    async fn consume(
        &self,
        caller: &str,
        window: QuotaWindow,
        tokens: u64,
        max_requests: u64,
        max_tokens: u64,
    ) -> PortResult<QuotaOutcome> {
        if tokens > max_tokens || max_requests == 0 {
            return Ok(QuotaOutcome::Exhausted);
        }
        // One atomic update: count the request only if both budgets still have room.
        let out = self
            .client()
            .update_item()
            .table_name(self.table())
            .key("pk", s(format!("QUOTA#{caller}")))
            .key("sk", s(format!("W#{}", window.start)))
            .update_expression("ADD requests :one, tokens :tokens SET #ttl = :ttl")
            .condition_expression("attribute_not_exists(requests) OR (requests < :max_requests AND tokens <= :room)")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":tokens", AttributeValue::N(tokens.to_string()))
            .expression_attribute_values(":max_requests", AttributeValue::N(max_requests.to_string()))
            .expression_attribute_values(":room", AttributeValue::N((max_tokens - tokens).to_string()))
            .expression_attribute_values(
                ":ttl",
                AttributeValue::N((window.end() + QUOTA_RETENTION_SECONDS).to_string()),
            )
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await;
        match out {
            Ok(out) => {
                let get = |k: &str| {
                    out.attributes().and_then(|a| a.get(k)).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok())
                };
                Ok(QuotaOutcome::Allowed {
                    requests: get("requests").unwrap_or(1),
                    tokens: get("tokens").unwrap_or(tokens),
                })
            }
            Err(e) => match port_error("UpdateItem quota", e) {
                err if err.kind == ErrorKind::Conflict => Ok(QuotaOutcome::Exhausted),
                err => Err(err),
            },
        }
    }
}
