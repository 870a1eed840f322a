//! The Config rules' AWS side: `PutEvaluations` and `GetResourceConfigHistory` (AWS Config),
//! periodic listings from EC2 and CloudTrail shaped as configuration items, and the evidence in
//! the Warden table:
//!
//! | item                                   | pk                  | sk                                    |
//! |----------------------------------------|---------------------|---------------------------------------|
//! | one evaluation (evidence)              | `EVIDENCE#<rule>`   | `<evaluated at>#<type>#<resource id>` |
//! | latest verdict of a resource           | `COMPLIANCE#<rule>` | `<type>#<resource id>`                |

use aws_sdk_config::primitives::DateTime as SmithyTime;
use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::dynamodb::s;
use super::{port_error, DynamoStore};
use crate::compliance::ports::{ConfigEvaluations, EvidenceStore, Inventory};
use crate::compliance::{ConfigItem, Evaluation, EvidenceRow, Rule, TrailState};
use crate::ports::{ErrorKind, PortError, PortResult};

#[derive(Clone)]
pub struct AwsConfigService {
    client: aws_sdk_config::Client,
}

impl AwsConfigService {
    pub fn new(client: aws_sdk_config::Client) -> Self {
        Self { client }
    }
}

impl ConfigEvaluations for AwsConfigService {
    async fn put_evaluations(&self, result_token: &str, test_mode: bool, batch: &[Evaluation]) -> PortResult<()> {
        let mut req = self.client.put_evaluations().result_token(result_token).test_mode(test_mode);
        for e in batch {
            let evaluation = aws_sdk_config::types::Evaluation::builder()
                .compliance_resource_type(&e.resource_type)
                .compliance_resource_id(&e.resource_id)
                .compliance_type(aws_sdk_config::types::ComplianceType::from(e.compliance.as_str()))
                .annotation(&e.annotation)
                .ordering_timestamp(SmithyTime::from_millis(e.ordering_timestamp.timestamp_millis()))
                .build()
                .map_err(|err| PortError::new("PutEvaluations", ErrorKind::Other, err.to_string()))?;
            req = req.evaluations(evaluation);
        }
        let out = req.send().await.map_err(|e| port_error("PutEvaluations", e))?;
        if !out.failed_evaluations().is_empty() {
            return Err(PortError::new(
                "PutEvaluations",
                ErrorKind::Other,
                format!("{} evaluations were not accepted", out.failed_evaluations().len()),
            ));
        }
        Ok(())
    }

    async fn latest_item(&self, resource_type: &str, resource_id: &str) -> PortResult<Option<ConfigItem>> {
        let out = self
            .client
            .get_resource_config_history()
            .resource_type(aws_sdk_config::types::ResourceType::from(resource_type))
            .resource_id(resource_id)
            .limit(1)
            .send()
            .await;
        let out = match out {
            Ok(o) => o,
            Err(e) => {
                let err = port_error("GetResourceConfigHistory", e);
                let not_recorded = err.kind == ErrorKind::NotFound
                    || err.code.as_deref().is_some_and(|c| c.contains("NotDiscovered") || c.contains("NotFound"));
                return if not_recorded { Ok(None) } else { Err(err) };
            }
        };
        let Some(ci) = out.configuration_items().first() else { return Ok(None) };
        let value = json!({
            "resourceType": ci.resource_type().map(|t| t.as_str()),
            "resourceId": ci.resource_id(),
            "configurationItemStatus": ci.configuration_item_status().map(|s| s.as_str()),
            "configurationItemCaptureTime": ci.configuration_item_capture_time().map(|t| DateTime::<Utc>::from_timestamp_millis(t.to_millis().unwrap_or(0)).unwrap_or_default().to_rfc3339()),
            "configuration": ci.configuration(),
            "tags": ci.tags(),
        });
        ConfigItem::from_value(&value)
            .map(Some)
            .map_err(|e| PortError::new("GetResourceConfigHistory", ErrorKind::Other, e.to_string()))
    }
}

/// Periodic listings from EC2 and CloudTrail, shaped like AWS Config's configuration items.
#[derive(Clone)]
pub struct AwsInventory {
    ec2: aws_sdk_ec2::Client,
    cloudtrail: aws_sdk_cloudtrail::Client,
}

impl AwsInventory {
    pub fn new(ec2: aws_sdk_ec2::Client, cloudtrail: aws_sdk_cloudtrail::Client) -> Self {
        Self { ec2, cloudtrail }
    }
}

fn tags_of(tags: &[aws_sdk_ec2::types::Tag]) -> Value {
    Value::Object(tags.iter().filter_map(|t| Some((t.key()?.to_string(), json!(t.value().unwrap_or(""))))).collect())
}

fn item(resource_type: &str, id: &str, configuration: Value, tags: Value) -> PortResult<ConfigItem> {
    ConfigItem::from_value(&json!({
        "resourceType": resource_type, "resourceId": id, "configurationItemStatus": "OK",
        "configurationItemCaptureTime": Utc::now().to_rfc3339(), "configuration": configuration, "tags": tags,
    }))
    .map_err(|e| PortError::new("inventory", ErrorKind::Other, e.to_string()))
}

impl Inventory for AwsInventory {
    async fn items(&self, resource_type: &str) -> PortResult<Vec<ConfigItem>> {
        let mut out = Vec::new();
        match resource_type {
            "AWS::EC2::SecurityGroup" => {
                let mut pages = self.ec2.describe_security_groups().into_paginator().send();
                while let Some(page) = pages.next().await {
                    for g in page.map_err(|e| port_error("DescribeSecurityGroups", e))?.security_groups() {
                        let perms: Vec<Value> = g
                            .ip_permissions()
                            .iter()
                            .map(|p| {
                                json!({
                                    "ipProtocol": p.ip_protocol(), "fromPort": p.from_port(), "toPort": p.to_port(),
                                    "ipv4Ranges": p.ip_ranges().iter().map(|r| json!({"cidrIp": r.cidr_ip()})).collect::<Vec<_>>(),
                                    "ipv6Ranges": p.ipv6_ranges().iter().map(|r| json!({"cidrIpv6": r.cidr_ipv6()})).collect::<Vec<_>>(),
                                })
                            })
                            .collect();
                        let id = g.group_id().unwrap_or_default();
                        out.push(item(
                            resource_type,
                            id,
                            json!({"groupId": id, "ipPermissions": perms}),
                            tags_of(g.tags()),
                        )?);
                    }
                }
            }
            "AWS::EC2::Volume" => {
                let mut pages = self.ec2.describe_volumes().into_paginator().send();
                while let Some(page) = pages.next().await {
                    for v in page.map_err(|e| port_error("DescribeVolumes", e))?.volumes() {
                        let conf =
                            json!({"volumeId": v.volume_id(), "encrypted": v.encrypted(), "kmsKeyId": v.kms_key_id()});
                        out.push(item(resource_type, v.volume_id().unwrap_or_default(), conf, tags_of(v.tags()))?);
                    }
                }
            }
            "AWS::EC2::Instance" => {
                let mut pages = self.ec2.describe_instances().into_paginator().send();
                while let Some(page) = pages.next().await {
                    for r in page.map_err(|e| port_error("DescribeInstances", e))?.reservations() {
                        for i in r.instances() {
                            if i.state().and_then(|s| s.name()).is_some_and(|s| s.as_str() == "terminated") {
                                continue;
                            }
                            let m = i.metadata_options();
                            let conf = json!({
                                "instanceId": i.instance_id(),
                                "publicIpAddress": i.public_ip_address(),
                                "metadataOptions": {
                                    "httpTokens": m.and_then(|m| m.http_tokens()).map(|t| t.as_str()),
                                    "httpPutResponseHopLimit": m.and_then(|m| m.http_put_response_hop_limit()),
                                    "httpEndpoint": m.and_then(|m| m.http_endpoint()).map(|t| t.as_str()),
                                },
                                "networkInterfaces": i.network_interfaces().iter().map(|n| json!({
                                    "networkInterfaceId": n.network_interface_id(),
                                    "association": n.association().map(|a| json!({"publicIp": a.public_ip()})),
                                })).collect::<Vec<_>>(),
                            });
                            out.push(item(
                                resource_type,
                                i.instance_id().unwrap_or_default(),
                                conf,
                                tags_of(i.tags()),
                            )?);
                        }
                    }
                }
            }
            // API Gateway domain names come from Config's change notifications only.
            _ => {}
        }
        Ok(out)
    }

    async fn trails(&self) -> PortResult<Vec<TrailState>> {
        let out = self.cloudtrail.describe_trails().send().await.map_err(|e| port_error("DescribeTrails", e))?;
        let mut trails = Vec::new();
        for t in out.trail_list() {
            let name = t.name().unwrap_or_default().to_string();
            let logging = match self.cloudtrail.get_trail_status().name(t.trail_arn().unwrap_or(&name)).send().await {
                Ok(s) => s.is_logging().unwrap_or(false),
                Err(e) => return Err(port_error("GetTrailStatus", e)),
            };
            trails.push(TrailState {
                name,
                multi_region: t.is_multi_region_trail().unwrap_or(false),
                logging,
                log_file_validation: t.log_file_validation_enabled().unwrap_or(false),
                kms_key_id: t.kms_key_id().map(str::to_string),
            });
        }
        Ok(trails)
    }
}

impl EvidenceStore for DynamoStore {
    async fn record_evaluations(
        &self,
        rule: Rule,
        evaluations: &[Evaluation],
        evaluated_at: DateTime<Utc>,
    ) -> PortResult<()> {
        let mut writes = Vec::with_capacity(evaluations.len() * 2);
        for e in evaluations {
            let row = EvidenceRow {
                rule,
                resource_type: e.resource_type.clone(),
                resource_id: e.resource_id.clone(),
                compliance: e.compliance,
                annotation: e.annotation.clone(),
                captured_at: e.ordering_timestamp,
                evaluated_at,
            };
            let record = s(serde_json::to_string(&row).unwrap_or_default());
            let resource = format!("{}#{}", e.resource_type, e.resource_id);
            for (pk, sk) in [
                (format!("EVIDENCE#{}", rule.id()), format!("{}#{resource}", evaluated_at.to_rfc3339())),
                (format!("COMPLIANCE#{}", rule.id()), resource.clone()),
            ] {
                let put = PutRequest::builder()
                    .item("pk", s(pk))
                    .item("sk", s(sk))
                    .item("record", record.clone())
                    .build()
                    .map_err(|err| PortError::new("BatchWriteItem evidence", ErrorKind::Other, err.to_string()))?;
                writes.push(WriteRequest::builder().put_request(put).build());
            }
        }
        // BatchWriteItem takes 25 writes; whatever is left unprocessed is sent again.
        for chunk in writes.chunks(25) {
            let mut pending = chunk.to_vec();
            for attempt in 0..5 {
                let out = self
                    .client()
                    .batch_write_item()
                    .request_items(self.table(), pending.clone())
                    .send()
                    .await
                    .map_err(|e| port_error("BatchWriteItem evidence", e))?;
                pending = out.unprocessed_items().and_then(|m| m.get(self.table())).cloned().unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
            }
            if !pending.is_empty() {
                return Err(PortError::new(
                    "BatchWriteItem evidence",
                    ErrorKind::Throttled,
                    format!("{} writes unprocessed", pending.len()),
                ));
            }
        }
        Ok(())
    }

    async fn evidence_since(&self, since: DateTime<Utc>) -> PortResult<Vec<EvidenceRow>> {
        let mut rows = Vec::new();
        for rule in Rule::ALL {
            for item in self.query_all(format!("EVIDENCE#{}", rule.id()), None, "Query evidence").await? {
                let Some(json) = item.get("record").and_then(|v| v.as_s().ok()) else { continue };
                let row: EvidenceRow = serde_json::from_str(json).map_err(|e| {
                    PortError::new("Query evidence", ErrorKind::Other, format!("unreadable evidence: {e}"))
                })?;
                if row.evaluated_at >= since {
                    rows.push(row);
                }
            }
        }
        rows.sort_by_key(|r| r.evaluated_at);
        Ok(rows)
    }
}

impl DynamoStore {
    /// Remediation records created since `since` (for the compliance report; a scan).
    pub async fn remediations_since(
        &self,
        since: DateTime<Utc>,
    ) -> PortResult<Vec<crate::exposure::plan::RemediationRecord>> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client()
                .scan()
                .table_name(self.table())
                .filter_expression("kind = :kind AND created_at >= :since")
                .expression_attribute_values(":kind", s("remediation"))
                .expression_attribute_values(":since", s(since.to_rfc3339()))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| port_error("Scan remediations", e))?;
            for item in page.items() {
                out.push(Self::remediation_from_item(item)?);
            }
            match page.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => break,
            }
        }
        out.sort_by_key(|r| r.created_at);
        Ok(out)
    }
}
