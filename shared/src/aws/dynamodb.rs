//! The audit trail and state in one DynamoDB table (single-table design, string keys `pk`/`sk`):
//!
//! | item                 | pk                  | sk                              |
//! |----------------------|---------------------|---------------------------------|
//! | remediation record   | `REM#<id>`          | `META`                          |
//! | remediation step     | `REM#<id>`          | `STEP#<00000>`                  |
//! | undo step            | `REM#<id>`          | `UNDO#<00000>`                  |
//! | exemption            | `EXEMPTION`         | `<group-id>#GROUP` / `<group-id>#RULE#<rule-id>` |
//!
//! Every write that guards against duplicates or races is conditional.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::port_error;
use crate::approval::ports::ApprovalStore;
use crate::approval::{ApprovalRequest, ApprovalStatus, DecisionRecord};
use crate::exposure::plan::{Exemption, ExemptionTarget, RemediationRecord, RemediationStatus, StepRecord};
use crate::exposure::ports::AuditStore;
use crate::isolation::ports::{IncidentStore, LockOutcome};
use crate::isolation::{IncidentRecord, IncidentStatus, IsolationTrigger, StepOutcome, TargetRegistration};
use crate::ports::{ErrorKind, PortError, PortResult};

type Item = HashMap<String, AttributeValue>;

/// TransactWriteItems takes at most 100 items.
const MAX_TRANSACT_ITEMS: usize = 100;
/// Expired exemptions stay visible this long before DynamoDB TTL removes them.
const EXEMPTION_RETENTION_DAYS: i64 = 30;

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn rem_pk(id: &str) -> String {
    format!("REM#{id}")
}
fn step_sk(undo: bool, index: usize) -> String {
    format!("{}#{index:05}", if undo { "UNDO" } else { "STEP" })
}

fn json<T: Serialize>(value: &T) -> AttributeValue {
    s(serde_json::to_string(value).expect("plain data serializes"))
}

fn decode<T: DeserializeOwned>(item: &Item, attr: &str, operation: &'static str) -> PortResult<T> {
    let raw = item
        .get(attr)
        .and_then(|v| v.as_s().ok())
        .ok_or_else(|| PortError::new(operation, ErrorKind::Other, format!("stored item has no `{attr}`")))?;
    serde_json::from_str(raw)
        .map_err(|e| PortError::new(operation, ErrorKind::Other, format!("stored `{attr}` is unreadable: {e}")))
}

fn get_s<'a>(item: &'a Item, attr: &str) -> Option<&'a str> {
    item.get(attr).and_then(|v| v.as_s().ok()).map(String::as_str)
}

fn get_n(item: &Item, attr: &str) -> Option<i64> {
    item.get(attr).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}

fn time_attr(item: &Item, attr: &str, operation: &'static str) -> PortResult<DateTime<Utc>> {
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

    /// An update of an existing `META` record (never creates one).
    fn update_meta_of(
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
    async fn put_new(&self, item: Item, operation: &'static str) -> PortResult<bool> {
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
    async fn get_meta(&self, pk: String, operation: &'static str) -> PortResult<Option<Item>> {
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
    async fn claim_meta(
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

fn inc_pk(id: &str) -> String {
    format!("INC#{id}")
}

fn lock_pk(instance_id: &str) -> String {
    format!("LOCK#{instance_id}")
}

impl DynamoStore {
    fn incident_item(r: &IncidentRecord) -> Item {
        let mut item = Item::new();
        item.insert("pk".into(), s(inc_pk(&r.id)));
        item.insert("sk".into(), s("META"));
        item.insert("kind".into(), s("incident"));
        item.insert("id".into(), s(&r.id));
        item.insert("status".into(), s(r.status.as_str()));
        item.insert("record".into(), json(r));
        item.insert("created_at".into(), s(r.created_at.to_rfc3339()));
        item.insert("updated_at".into(), s(r.updated_at.to_rfc3339()));
        if let Some(i) = &r.instance_id {
            item.insert("instance_id".into(), s(i));
        }
        if let Some(l) = r.lease_until {
            item.insert("lease_until".into(), n(l.timestamp_millis()));
        }
        item
    }

    fn incident_from(item: &Item) -> PortResult<IncidentRecord> {
        let mut record: IncidentRecord = decode(item, "record", "read incident")?;
        // Status and lease are updated on their own by claims: they win over the JSON copy.
        if let Some(status) = get_s(item, "status").and_then(IncidentStatus::parse) {
            record.status = status;
        }
        record.lease_until = get_n(item, "lease_until").and_then(DateTime::from_timestamp_millis);
        if let Some(state) = record.state.as_mut().filter(|st| !st.target_groups_known) {
            if item.contains_key("target_groups") {
                state.target_groups = decode(item, "target_groups", "read incident")?;
                state.target_groups_known = true;
            }
        }
        Ok(record)
    }
}

impl IncidentStore for DynamoStore {
    async fn lock_instance(&self, instance_id: &str, incident_id: &str, now: DateTime<Utc>) -> PortResult<LockOutcome> {
        // Twice at most: a lock released between our write and our read is taken on the retry.
        for _ in 0..2 {
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .item("pk", s(lock_pk(instance_id)))
                .item("sk", s("LOCK"))
                .item("kind", s("instance_lock"))
                .item("incident_id", s(incident_id))
                .item("since", s(now.to_rfc3339()))
                .condition_expression("attribute_not_exists(pk)")
                .send()
                .await;
            let err = match put {
                Ok(_) => return Ok(LockOutcome::Acquired),
                Err(e) => port_error("PutItem lock", e),
            };
            if err.kind != ErrorKind::Conflict {
                return Err(err);
            }
            let out = self
                .client
                .get_item()
                .table_name(&self.table)
                .key("pk", s(lock_pk(instance_id)))
                .key("sk", s("LOCK"))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| port_error("GetItem lock", e))?;
            let Some(item) = out.item() else { continue };
            let holder = get_s(item, "incident_id").unwrap_or_default().to_string();
            if holder == incident_id {
                return Ok(LockOutcome::Acquired);
            }
            return Ok(LockOutcome::HeldBy { incident_id: holder, since: time_attr(item, "since", "GetItem lock")? });
        }
        Err(PortError::new(
            "PutItem lock",
            ErrorKind::Conflict,
            format!("the lock on {instance_id} keeps changing hands"),
        ))
    }

    async fn steal_instance_lock(
        &self,
        instance_id: &str,
        stale_incident: &str,
        incident_id: &str,
        now: DateTime<Utc>,
    ) -> PortResult<bool> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(lock_pk(instance_id)))
            .item("sk", s("LOCK"))
            .item("kind", s("instance_lock"))
            .item("incident_id", s(incident_id))
            .item("since", s(now.to_rfc3339()))
            .condition_expression("incident_id = :stale")
            .expression_attribute_values(":stale", s(stale_incident))
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e) => match port_error("PutItem lock takeover", e) {
                err if err.kind == ErrorKind::Conflict => Ok(false),
                err => Err(err),
            },
        }
    }

    async fn unlock_instance(&self, instance_id: &str, incident_id: &str) -> PortResult<()> {
        let delete = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(lock_pk(instance_id)))
            .key("sk", s("LOCK"))
            .condition_expression("incident_id = :id")
            .expression_attribute_values(":id", s(incident_id))
            .send()
            .await;
        match delete {
            Ok(_) => Ok(()),
            // Not ours (or already gone): nothing to release.
            Err(e) => match port_error("DeleteItem lock", e) {
                err if err.kind == ErrorKind::Conflict => Ok(()),
                err => Err(err),
            },
        }
    }

    async fn create_incident(&self, record: &IncidentRecord) -> PortResult<Option<IncidentRecord>> {
        if self.put_new(Self::incident_item(record), "PutItem incident").await? {
            return Ok(None);
        }
        let existing = self.incident(&record.id).await?;
        existing
            .map(Some)
            .ok_or_else(|| PortError::new("PutItem incident", ErrorKind::Conflict, "exists, then vanished"))
    }

    async fn incident(&self, id: &str) -> PortResult<Option<IncidentRecord>> {
        self.get_meta(inc_pk(id), "GetItem incident").await?.as_ref().map(Self::incident_from).transpose()
    }

    async fn save_incident(&self, record: &IncidentRecord) -> PortResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::incident_item(record)))
            .condition_expression("attribute_exists(pk)")
            .send()
            .await
            .map_err(|e| port_error("PutItem incident", e))?;
        Ok(())
    }

    async fn claim_incident(
        &self,
        id: &str,
        from: &[IncidentStatus],
        to: IncidentStatus,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> PortResult<bool> {
        let from: Vec<&str> = from.iter().map(|st| st.as_str()).collect();
        self.claim_meta(inc_pk(id), &from, to.as_str(), now, lease_until, None, "UpdateItem claim incident").await
    }

    async fn put_incident_step(&self, id: &str, step: &StepOutcome) -> PortResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(inc_pk(id)))
            .item("sk", s(format!("STEP#{}#{}#{:08}", step.phase, step.step, step.finished_ms)))
            .item("kind", s("incident_step"))
            .item("state", json(&step.state))
            .item("step", json(step))
            .send()
            .await
            .map_err(|e| port_error("PutItem incident step", e))?;
        Ok(())
    }

    async fn record_target_groups(&self, id: &str, registrations: &[TargetRegistration]) -> PortResult<()> {
        self.update_meta_of(inc_pk(id))
            .update_expression("SET target_groups = :tgs")
            .expression_attribute_values(":tgs", json(&registrations))
            .send()
            .await
            .map_err(|e| port_error("UpdateItem incident target groups", e))?;
        Ok(())
    }

    async fn incident_steps(&self, id: &str) -> PortResult<Vec<StepOutcome>> {
        let items = self.query_all(inc_pk(id), Some("STEP#"), "Query incident steps").await?;
        items.iter().map(|i| decode(i, "step", "Query incident steps")).collect()
    }

    async fn add_incident_trigger(&self, id: &str, trigger: &IsolationTrigger, now: DateTime<Utc>) -> PortResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(inc_pk(id)))
            .item("sk", s(format!("TRIGGER#{}", trigger.event_id)))
            .item("kind", s("incident_trigger"))
            .item("trigger", json(trigger))
            .item("at", s(now.to_rfc3339()))
            .send()
            .await
            .map_err(|e| port_error("PutItem incident trigger", e))?;
        Ok(())
    }
}

// Approval requests:
//
// | item                          | pk                  | sk                          |
// |-------------------------------|---------------------|-----------------------------|
// | approval request              | `APR#<id>`          | `META`                      |
// | index of pending requests     | `APPROVALS_PENDING` | `<expires at>#<id>`         |

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
