//! The audit trail in the Warden table: remediation records, their steps, exemptions.

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use chrono::{DateTime, Utc};

use super::port_error;
use crate::exposure::plan::{Exemption, ExemptionTarget, RemediationRecord, RemediationStatus, StepRecord};
use crate::exposure::ports::AuditStore;
use crate::ports::{ErrorKind, PortError, PortResult};

use super::dynamodb::{decode, get_n, get_s, json, n, s, time_attr, DynamoStore, Item, MAX_TRANSACT_ITEMS};

/// Expired exemptions stay visible this long before DynamoDB TTL removes them.
const EXEMPTION_RETENTION_DAYS: i64 = 30;

fn rem_pk(id: &str) -> String {
    format!("REM#{id}")
}
fn step_sk(undo: bool, index: usize) -> String {
    format!("{}#{index:05}", if undo { "UNDO" } else { "STEP" })
}

impl DynamoStore {
    fn record_item(r: &RemediationRecord) -> Item {
        let mut item = Item::new();
        item.insert("pk".into(), s(rem_pk(&r.id)));
        item.insert("sk".into(), s("META"));
        item.insert("kind".into(), s("remediation"));
        item.insert("id".into(), s(&r.id));
        item.insert("status".into(), s(r.status.as_str()));
        item.insert("event_id".into(), s(&r.plan.trigger.event_id));
        item.insert("trigger".into(), s(r.plan.trigger.describe()));
        item.insert("plan".into(), json(&r.plan));
        item.insert("event".into(), s(&r.event));
        item.insert("dry_run".into(), AttributeValue::Bool(r.dry_run));
        item.insert("notified".into(), AttributeValue::Bool(r.notified));
        item.insert("created_at".into(), s(r.created_at.to_rfc3339()));
        item.insert("updated_at".into(), s(r.updated_at.to_rfc3339()));
        if let Some(l) = r.lease_until {
            item.insert("lease_until".into(), n(l.timestamp_millis()));
        }
        if let Some(by) = &r.undo_requested_by {
            item.insert("undo_requested_by".into(), s(by));
        }
        item
    }

    pub(super) fn remediation_from_item(item: &Item) -> PortResult<RemediationRecord> {
        Self::record_from(item)
    }

    fn record_from(item: &Item) -> PortResult<RemediationRecord> {
        const OP: &str = "read remediation";
        let status = get_s(item, "status")
            .and_then(RemediationStatus::parse)
            .ok_or_else(|| PortError::new(OP, ErrorKind::Other, "stored record has an unknown status"))?;
        Ok(RemediationRecord {
            id: get_s(item, "id").unwrap_or_default().to_string(),
            status,
            plan: decode(item, "plan", OP)?,
            event: get_s(item, "event").unwrap_or_default().to_string(),
            dry_run: item.get("dry_run").and_then(|v| v.as_bool().ok()).copied().unwrap_or(false),
            created_at: time_attr(item, "created_at", OP)?,
            updated_at: time_attr(item, "updated_at", OP)?,
            lease_until: get_n(item, "lease_until").and_then(DateTime::from_timestamp_millis),
            notified: item.get("notified").and_then(|v| v.as_bool().ok()).copied().unwrap_or(false),
            undo_requested_by: get_s(item, "undo_requested_by").map(str::to_string),
        })
    }

    fn exemption_sk(e: &Exemption) -> String {
        match &e.target {
            ExemptionTarget::Group => format!("{}#GROUP", e.group_id),
            ExemptionTarget::Rule(r) => format!("{}#RULE#{r}", e.group_id),
        }
    }

    /// An update of an existing remediation record (never creates one).
    fn update_meta(&self, id: &str) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.update_meta_of(rem_pk(id))
    }
}

impl AuditStore for DynamoStore {
    async fn create_remediation(&self, record: &RemediationRecord) -> PortResult<Option<RemediationRecord>> {
        if self.put_new(Self::record_item(record), "PutItem remediation").await? {
            return Ok(None);
        }
        let existing = self.remediation(&record.id).await?;
        existing
            .map(Some)
            .ok_or_else(|| PortError::new("PutItem remediation", ErrorKind::Conflict, "exists, then vanished"))
    }

    async fn remediation(&self, id: &str) -> PortResult<Option<RemediationRecord>> {
        self.get_meta(rem_pk(id), "GetItem remediation").await?.as_ref().map(Self::record_from).transpose()
    }

    async fn claim(
        &self,
        id: &str,
        from: &[RemediationStatus],
        to: RemediationStatus,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        requested_by: Option<&str>,
    ) -> PortResult<bool> {
        let from: Vec<&str> = from.iter().map(|st| st.as_str()).collect();
        let extra = requested_by.map(|by| ("undo_requested_by", s(by)));
        self.claim_meta(rem_pk(id), &from, to.as_str(), now, lease_until, extra, "UpdateItem claim").await
    }

    async fn finish(&self, id: &str, status: RemediationStatus, now: DateTime<Utc>) -> PortResult<()> {
        self.update_meta(id)
            .update_expression("SET #status = :status, updated_at = :now REMOVE lease_until")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":status", s(status.as_str()))
            .expression_attribute_values(":now", s(now.to_rfc3339()))
            .send()
            .await
            .map_err(|e| port_error("UpdateItem finish", e))?;
        Ok(())
    }

    async fn mark_notified(&self, id: &str) -> PortResult<()> {
        self.update_meta(id)
            .update_expression("SET notified = :t")
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .send()
            .await
            .map_err(|e| port_error("UpdateItem notified", e))?;
        Ok(())
    }

    async fn put_steps(&self, id: &str, undo: bool, steps: &[StepRecord]) -> PortResult<()> {
        for chunk in steps.chunks(MAX_TRANSACT_ITEMS) {
            let items: Vec<TransactWriteItem> = chunk
                .iter()
                .map(|step| {
                    let mut item = Item::new();
                    item.insert("pk".into(), s(rem_pk(id)));
                    item.insert("sk".into(), s(step_sk(undo, step.index)));
                    item.insert("kind".into(), s(if undo { "undo_step" } else { "step" }));
                    item.insert("status".into(), json(&step.status));
                    item.insert("step".into(), json(step));
                    item.insert("at".into(), s(step.at.to_rfc3339()));
                    let put = Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(item))
                        .build()
                        .expect("table and item are set");
                    TransactWriteItem::builder().put(put).build()
                })
                .collect();
            if items.len() == 1 {
                let put = items.into_iter().next().and_then(|i| i.put).expect("one put");
                self.client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(put.item))
                    .send()
                    .await
                    .map_err(|e| port_error("PutItem step", e))?;
            } else {
                self.client
                    .transact_write_items()
                    .set_transact_items(Some(items))
                    .send()
                    .await
                    .map_err(|e| port_error("TransactWriteItems steps", e))?;
            }
        }
        Ok(())
    }

    async fn steps(&self, id: &str, undo: bool) -> PortResult<Vec<StepRecord>> {
        let prefix = if undo { "UNDO#" } else { "STEP#" };
        let items = self.query_all(rem_pk(id), Some(prefix), "Query steps").await?;
        items.iter().map(|i| decode(i, "step", "Query steps")).collect()
    }

    async fn exemptions(&self) -> PortResult<Vec<Exemption>> {
        let items = self.query_all("EXEMPTION".into(), None, "Query exemptions").await?;
        items.iter().map(|i| decode(i, "exemption", "Query exemptions")).collect()
    }

    async fn put_exemption(&self, e: &Exemption) -> PortResult<()> {
        let mut item = Item::new();
        item.insert("pk".into(), s("EXEMPTION"));
        item.insert("sk".into(), s(Self::exemption_sk(e)));
        item.insert("kind".into(), s("exemption"));
        item.insert("exemption".into(), json(e));
        item.insert("group_id".into(), s(&e.group_id));
        item.insert("granted_by".into(), s(&e.granted_by));
        item.insert("expires_at".into(), s(e.expires_at.to_rfc3339()));
        item.insert("ttl".into(), n(e.expires_at.timestamp() + EXEMPTION_RETENTION_DAYS * 86_400));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| port_error("PutItem exemption", e))?;
        Ok(())
    }

    async fn delete_exemption(&self, e: &Exemption) -> PortResult<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s("EXEMPTION"))
            .key("sk", s(Self::exemption_sk(e)))
            .send()
            .await
            .map_err(|e| port_error("DeleteItem exemption", e))?;
        Ok(())
    }
}

// Incidents (isolation) in the same table:
//
// | item                 | pk                  | sk                                        |
// |----------------------|---------------------|-------------------------------------------|
// | instance lock        | `LOCK#<instance>`   | `LOCK`                                    |
// | incident record      | `INC#<id>`          | `META`                                    |
// | step outcome         | `INC#<id>`          | `STEP#<phase>#<step>#<finished ms>` (history kept) |
// | further trigger      | `INC#<id>`          | `TRIGGER#<event id>`                      |
