//! Approval requests and their decisions in the Warden table.

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use chrono::{DateTime, Utc};

use super::port_error;
use crate::approval::ports::ApprovalStore;
use crate::approval::{ApprovalRequest, ApprovalStatus, DecisionRecord};
use crate::ports::PortResult;

use super::dynamodb::{decode, get_s, json, n, s, DynamoStore, Item};

/// Decided and expired requests stay this long for audit before DynamoDB TTL removes them.
const APPROVAL_RETENTION_DAYS: i64 = 400;

fn apr_pk(id: &str) -> String {
    format!("APR#{id}")
}

fn pending_sk(r: &ApprovalRequest) -> String {
    format!("{}#{}", r.expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), r.id)
}

impl DynamoStore {
    fn approval_from(item: &Item) -> PortResult<ApprovalRequest> {
        let mut r: ApprovalRequest = decode(item, "request", "read approval")?;
        if let Some(status) =
            get_s(item, "status").and_then(|s| serde_json::from_value(serde_json::Value::String(s.into())).ok())
        {
            r.status = status;
        }
        if item.contains_key("decision") {
            r.decision = Some(decode(item, "decision", "read approval")?);
        }
        Ok(r)
    }
}

impl ApprovalStore for DynamoStore {
    async fn create_approval(&self, r: &ApprovalRequest) -> PortResult<Option<ApprovalRequest>> {
        let mut meta = Item::new();
        meta.insert("pk".into(), s(apr_pk(&r.id)));
        meta.insert("sk".into(), s("META"));
        meta.insert("kind".into(), s("approval"));
        meta.insert("status".into(), s(r.status.as_str()));
        meta.insert("request".into(), json(r));
        meta.insert("expires_at".into(), s(r.expires_at.to_rfc3339()));
        meta.insert("ttl".into(), n(r.expires_at.timestamp() + APPROVAL_RETENTION_DAYS * 86_400));
        let mut index = Item::new();
        index.insert("pk".into(), s("APPROVALS_PENDING"));
        index.insert("sk".into(), s(pending_sk(r)));
        index.insert("kind".into(), s("approval_pending"));
        index.insert("request_id".into(), s(&r.id));
        let put = |item: Item, condition: Option<&str>| {
            let p = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .set_condition_expression(condition.map(str::to_string));
            TransactWriteItem::builder().put(p.build().expect("table and item are set")).build()
        };
        let written = self
            .client
            .transact_write_items()
            .transact_items(put(meta, Some("attribute_not_exists(pk)")))
            .transact_items(put(index, None))
            .send()
            .await;
        match written {
            Ok(_) => Ok(None),
            Err(e) => {
                let err = port_error("TransactWriteItems approval", e);
                // A cancelled transaction is the condition failing: the request exists.
                if let Some(existing) = self.approval(&r.id).await? {
                    return Ok(Some(existing));
                }
                Err(err)
            }
        }
    }

    async fn approval(&self, id: &str) -> PortResult<Option<ApprovalRequest>> {
        self.get_meta(apr_pk(id), "GetItem approval").await?.as_ref().map(Self::approval_from).transpose()
    }

    async fn decide_approval(
        &self,
        id: &str,
        status: ApprovalStatus,
        decision: Option<&DecisionRecord>,
        now: DateTime<Utc>,
    ) -> PortResult<bool> {
        let Some(current) = self.approval(id).await? else { return Ok(false) };
        let mut update = aws_sdk_dynamodb::types::Update::builder()
            .table_name(&self.table)
            .key("pk", s(apr_pk(id)))
            .key("sk", s("META"))
            .condition_expression("#status = :pending")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":pending", s(ApprovalStatus::Pending.as_str()))
            .expression_attribute_values(":status", s(status.as_str()))
            .expression_attribute_values(":now", s(now.to_rfc3339()));
        update = match decision {
            Some(d) => update
                .update_expression("SET #status = :status, decided_at = :now, decision = :decision")
                .expression_attribute_values(":decision", json(d)),
            None => update.update_expression("SET #status = :status, decided_at = :now"),
        };
        let delete_index = aws_sdk_dynamodb::types::Delete::builder()
            .table_name(&self.table)
            .key("pk", s("APPROVALS_PENDING"))
            .key("sk", s(pending_sk(&current)))
            .build()
            .expect("table and key are set");
        let written = self
            .client
            .transact_write_items()
            .transact_items(
                TransactWriteItem::builder().update(update.build().expect("table, key and expression are set")).build(),
            )
            .transact_items(TransactWriteItem::builder().delete(delete_index).build())
            .send()
            .await;
        match written {
            Ok(_) => Ok(true),
            Err(e) => {
                let err = port_error("TransactWriteItems decide approval", e);
                // Cancelled because it was no longer pending: single use.
                match self.approval(id).await? {
                    Some(r) if r.status != ApprovalStatus::Pending => Ok(false),
                    _ => Err(err),
                }
            }
        }
    }

    async fn record_approval_outcome(&self, id: &str, decision: &DecisionRecord) -> PortResult<()> {
        self.update_meta_of(apr_pk(id))
            .update_expression("SET decision = :decision")
            .expression_attribute_values(":decision", json(decision))
            .send()
            .await
            .map_err(|e| port_error("UpdateItem approval outcome", e))?;
        Ok(())
    }

    async fn expired_approvals(&self, now: DateTime<Utc>) -> PortResult<Vec<ApprovalRequest>> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .key_condition_expression("pk = :pk AND sk <= :now")
                .expression_attribute_values(":pk", s("APPROVALS_PENDING"))
                .expression_attribute_values(
                    ":now",
                    s(format!("{}#~", now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))),
                )
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| port_error("Query pending approvals", e))?;
            for item in page.items() {
                if let Some(r) = get_s(item, "request_id").map(str::to_string) {
                    if let Some(request) = self.approval(&r).await? {
                        if request.status == ApprovalStatus::Pending && request.expires_at <= now {
                            out.push(request);
                        }
                    }
                }
            }
            match page.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => break,
            }
        }
        Ok(out)
    }
}
