//! Suspensions in the Warden table:
//!
//! | item                              | pk                     | sk                      |
//! |-----------------------------------|------------------------|-------------------------|
//! | suspension record (audit)         | `SUS#<id>`             | `META`                  |
//! | a caller's suspension history     | `SUSHIST#<caller>`     | `<since>#<id>` (TTL)    |
//! | suspension in force               | `RESTRICTIONS`         | `CALLER#<caller>`       |
//! | fleet-wide quota tightening       | `RESTRICTIONS`         | `FLEET`                 |
//! | offences of a caller in an hour   | `OFFENCES#<yyyymmddhh>`| `<caller>` (TTL)        |
//!
//! The validator reads the whole `RESTRICTIONS` partition in one query.

use chrono::{DateTime, Duration, Utc};

use super::dynamodb::{decode, json, n, s};
use super::{port_error, DynamoStore};
use crate::ports::{ErrorKind, PortResult};
use crate::suspension::ports::SuspensionStore;
use crate::suspension::{ActiveSuspension, FleetLimits, Restrictions, SuspensionRecord};

const RESTRICTIONS_PK: &str = "RESTRICTIONS";
/// Offence counters and suspension history are kept this long.
const EVIDENCE_DAYS: i64 = 30;

impl DynamoStore {
    fn put_suspension(
        &self,
        record: &SuspensionRecord,
    ) -> aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder {
        self.client()
            .put_item()
            .table_name(self.table())
            .item("pk", s(format!("SUS#{}", record.id)))
            .item("sk", s("META"))
            .item("caller", s(record.caller.clone()))
            .item("record", json(record))
    }
}

impl SuspensionStore for DynamoStore {
    async fn create_suspension(&self, record: &SuspensionRecord) -> PortResult<Option<SuspensionRecord>> {
        let put = self.put_suspension(record).condition_expression("attribute_not_exists(pk)").send().await;
        match put {
            Ok(_) => {}
            Err(e) => match port_error("PutItem suspension", e) {
                err if err.kind == ErrorKind::Conflict => return self.suspension(&record.id).await,
                err => return Err(err),
            },
        }
        let ttl = (record.since + Duration::days(EVIDENCE_DAYS)).timestamp();
        self.client()
            .put_item()
            .table_name(self.table())
            .item("pk", s(format!("SUSHIST#{}", record.caller)))
            .item("sk", s(format!("{}#{}", record.since.to_rfc3339(), record.id)))
            .item("record", json(record))
            .item("ttl", n(ttl))
            .send()
            .await
            .map_err(|e| port_error("PutItem suspension history", e))?;
        Ok(None)
    }

    async fn suspension(&self, id: &str) -> PortResult<Option<SuspensionRecord>> {
        let out = self
            .client()
            .get_item()
            .table_name(self.table())
            .key("pk", s(format!("SUS#{id}")))
            .key("sk", s("META"))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| port_error("GetItem suspension", e))?;
        out.item().map(|i| decode(i, "record", "GetItem suspension")).transpose()
    }

    async fn save_suspension(&self, record: &SuspensionRecord) -> PortResult<()> {
        self.put_suspension(record).send().await.map_err(|e| port_error("PutItem suspension", e))?;
        Ok(())
    }

    async fn suspensions_of(&self, caller: &str, since: DateTime<Utc>) -> PortResult<Vec<SuspensionRecord>> {
        let items = self.query_all(format!("SUSHIST#{caller}"), None, "Query suspension history").await?;
        let mut out = Vec::new();
        for item in &items {
            let r: SuspensionRecord = decode(item, "record", "Query suspension history")?;
            if r.since >= since {
                out.push(r);
            }
        }
        Ok(out)
    }

    async fn activate(&self, active: &ActiveSuspension) -> PortResult<()> {
        // Never shorten a suspension already in force (a second alarm during the first).
        let put = self
            .client()
            .put_item()
            .table_name(self.table())
            .item("pk", s(RESTRICTIONS_PK))
            .item("sk", s(format!("CALLER#{}", active.caller)))
            .item("until_ms", n(active.until.timestamp_millis()))
            .item("record", json(active))
            .condition_expression("attribute_not_exists(until_ms) OR until_ms < :until")
            .expression_attribute_values(":until", n(active.until.timestamp_millis()))
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            Err(e) => match port_error("PutItem restriction", e) {
                err if err.kind == ErrorKind::Conflict => Ok(()),
                err => Err(err),
            },
        }
    }

    async fn deactivate(&self, caller: &str) -> PortResult<bool> {
        let out = self
            .client()
            .delete_item()
            .table_name(self.table())
            .key("pk", s(RESTRICTIONS_PK))
            .key("sk", s(format!("CALLER#{caller}")))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| port_error("DeleteItem restriction", e))?;
        Ok(out.attributes().is_some_and(|a| !a.is_empty()))
    }

    async fn deactivate_exactly(&self, active: &ActiveSuspension) -> PortResult<bool> {
        // Extending or replacing a suspension always moves its end later: the same end means
        // the same suspension.
        let out = self
            .client()
            .delete_item()
            .table_name(self.table())
            .key("pk", s(RESTRICTIONS_PK))
            .key("sk", s(format!("CALLER#{}", active.caller)))
            .condition_expression("until_ms = :until")
            .expression_attribute_values(":until", n(active.until.timestamp_millis()))
            .send()
            .await;
        match out {
            Ok(_) => Ok(true),
            Err(e) => match port_error("DeleteItem restriction", e) {
                err if err.kind == ErrorKind::Conflict => Ok(false),
                err => Err(err),
            },
        }
    }

    async fn restrictions(&self) -> PortResult<Restrictions> {
        let items = self.query_all(RESTRICTIONS_PK.into(), None, "Query restrictions").await?;
        let mut r = Restrictions::default();
        for item in &items {
            match item.get("sk").and_then(|v| v.as_s().ok()).map(String::as_str) {
                Some("FLEET") => r.fleet = Some(decode(item, "record", "Query restrictions")?),
                Some(sk) if sk.starts_with("CALLER#") => {
                    r.suspended.push(decode(item, "record", "Query restrictions")?)
                }
                _ => {}
            }
        }
        Ok(r)
    }

    async fn set_fleet_limits(&self, limits: &FleetLimits) -> PortResult<()> {
        self.client()
            .put_item()
            .table_name(self.table())
            .item("pk", s(RESTRICTIONS_PK))
            .item("sk", s("FLEET"))
            .item("record", json(limits))
            .send()
            .await
            .map_err(|e| port_error("PutItem fleet limits", e))?;
        Ok(())
    }

    async fn record_offence(&self, caller: &str, now: DateTime<Utc>) -> PortResult<()> {
        self.client()
            .update_item()
            .table_name(self.table())
            .key("pk", s(format!("OFFENCES#{}", now.format("%Y%m%d%H"))))
            .key("sk", s(caller))
            .update_expression("ADD offences :one SET #ttl = :ttl")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":ttl", n((now + Duration::days(EVIDENCE_DAYS)).timestamp()))
            .send()
            .await
            .map_err(|e| port_error("UpdateItem offences", e))?;
        Ok(())
    }

    async fn offences_of(&self, caller: &str, hours: i64, now: DateTime<Utc>) -> PortResult<u64> {
        let mut total = 0;
        for h in 0..hours.clamp(1, 48) {
            let hour = now - Duration::hours(h);
            let out = self
                .client()
                .get_item()
                .table_name(self.table())
                .key("pk", s(format!("OFFENCES#{}", hour.format("%Y%m%d%H"))))
                .key("sk", s(caller))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| port_error("GetItem offences", e))?;
            total += out
                .item()
                .and_then(|i| i.get("offences"))
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
        Ok(total)
    }

    async fn top_offenders(&self, hours: i64, now: DateTime<Utc>, limit: usize) -> PortResult<Vec<(String, u64)>> {
        let mut totals: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
        for h in 0..hours.clamp(1, 48) {
            let hour = now - Duration::hours(h);
            let items = self.query_all(format!("OFFENCES#{}", hour.format("%Y%m%d%H")), None, "Query offences").await?;
            for item in &items {
                let caller = item.get("sk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                let count = item.get("offences").and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok()).unwrap_or(0);
                *totals.entry(caller).or_default() += count;
            }
        }
        let mut top: Vec<(String, u64)> = totals.into_iter().collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        top.truncate(limit);
        Ok(top)
    }
}
