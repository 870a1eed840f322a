//! Incidents, their steps and the per-instance locks in the Warden table.

use chrono::{DateTime, Utc};

use super::port_error;
use crate::isolation::ports::{IncidentStore, LockOutcome};
use crate::isolation::{IncidentRecord, IncidentStatus, IsolationTrigger, StepOutcome, TargetRegistration};
use crate::ports::{ErrorKind, PortError, PortResult};

use super::dynamodb::{decode, get_n, get_s, json, n, s, time_attr, DynamoStore, Item};

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
