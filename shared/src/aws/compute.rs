//! EC2 instance operations for isolation. Interfaces are changed one by one with
//! ModifyNetworkInterfaceAttribute: ModifyInstanceAttribute(Groups) is refused by AWS on an
//! instance with several interfaces.

use aws_sdk_ec2::types::{
    AttributeBooleanValue, CopyTagsFromSource, EbsInstanceBlockDeviceSpecification, Filter,
    IamInstanceProfileSpecification, InstanceAttributeName, InstanceBlockDeviceMappingSpecification,
    InstanceSpecification, InstanceStateName, IpPermission, IpRange, Ipv6Range, ResourceType, Tag, TagSpecification,
};
use aws_sdk_ec2::Client;

use std::collections::BTreeSet;

use super::port_error;
use crate::isolation::executor::INCIDENT_TAG;
use crate::isolation::ports::Compute;
use crate::isolation::{ElasticIp, InstanceState, InterfaceState, ProfileAssociation, QuarantineGroups, VolumeState};
use crate::ports::{ErrorKind, PortError, PortResult};

/// Tag on the groups Warden creates for isolation: `untrack` or `quarantine`.
pub const ROLE_TAG: &str = "warden:role";

#[derive(Clone)]
pub struct Ec2Compute {
    client: Client,
}

impl Ec2Compute {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    fn filter(name: &str, value: &str) -> Filter {
        Filter::builder().name(name).values(value).build()
    }

    async fn find_group(&self, vpc_id: &str, role: &str) -> PortResult<Option<String>> {
        let out = self
            .client
            .describe_security_groups()
            .filters(Self::filter("vpc-id", vpc_id))
            .filters(Self::filter(&format!("tag:{ROLE_TAG}"), role))
            .send()
            .await
            .map_err(|e| port_error("DescribeSecurityGroups", e))?;
        Ok(out.security_groups().iter().find_map(|g| g.group_id().map(str::to_string)))
    }

    /// Create one isolation group. `untrack` allows everything in and out; `quarantine` has no
    /// rules at all (its default egress rule is revoked).
    async fn create_group(&self, vpc_id: &str, role: &str) -> PortResult<String> {
        let name = format!("warden-{role}-{vpc_id}");
        let description = match role {
            "untrack" => "Warden isolation step 1: allow all, so existing flows become untracked",
            _ => "Warden quarantine: no rules, nothing in or out",
        };
        let created = self
            .client
            .create_security_group()
            .group_name(&name)
            .description(description)
            .vpc_id(vpc_id)
            .tag_specifications(
                TagSpecification::builder()
                    .resource_type(ResourceType::SecurityGroup)
                    .tags(Tag::builder().key(ROLE_TAG).value(role).build())
                    .tags(Tag::builder().key("Name").value(&name).build())
                    .build(),
            )
            .send()
            .await;
        let group_id = match created {
            Ok(out) => out.group_id().unwrap_or_default().to_string(),
            // Another isolation in the same VPC created it a moment ago.
            Err(e) => match port_error("CreateSecurityGroup", e) {
                err if err.kind == ErrorKind::AlreadyExists => return self.find_group(vpc_id, role).await?.ok_or(err),
                err => return Err(err),
            },
        };
        let everything = |p: aws_sdk_ec2::types::builders::IpPermissionBuilder| {
            p.ip_protocol("-1")
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .ipv6_ranges(Ipv6Range::builder().cidr_ipv6("::/0").build())
                .build()
        };
        if role == "untrack" {
            self.client
                .authorize_security_group_ingress()
                .group_id(&group_id)
                .ip_permissions(everything(IpPermission::builder()))
                .send()
                .await
                .map_err(|e| port_error("AuthorizeSecurityGroupIngress", e))?;
            self.client
                .authorize_security_group_egress()
                .group_id(&group_id)
                .ip_permissions(
                    IpPermission::builder()
                        .ip_protocol("-1")
                        .ipv6_ranges(Ipv6Range::builder().cidr_ipv6("::/0").build())
                        .build(),
                )
                .send()
                .await
                .map_err(|e| port_error("AuthorizeSecurityGroupEgress", e))?;
        } else {
            self.client
                .revoke_security_group_egress()
                .group_id(&group_id)
                .ip_permissions(
                    IpPermission::builder()
                        .ip_protocol("-1")
                        .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                        .build(),
                )
                .send()
                .await
                .map_err(|e| port_error("RevokeSecurityGroupEgress", e))?;
        }
        Ok(group_id)
    }

    async fn group_for(&self, vpc_id: &str, role: &str) -> PortResult<String> {
        match self.find_group(vpc_id, role).await? {
            Some(id) => Ok(id),
            None => self.create_group(vpc_id, role).await,
        }
    }
}

impl Compute for Ec2Compute {
    async fn describe_instance(&self, instance_id: &str) -> PortResult<Option<InstanceState>> {
        // Both in one round trip: the instance (state, VPC, volumes) and its interfaces with
        // their own groups, the truth to restore (an instance view can mix in launch groups).
        let (described, enis) = tokio::join!(
            self.client.describe_instances().instance_ids(instance_id).send(),
            self.client
                .describe_network_interfaces()
                .filters(Self::filter("attachment.instance-id", instance_id))
                .send(),
        );
        let out = match described {
            Ok(out) => out,
            Err(e) => match port_error("DescribeInstances", e) {
                err if err.kind == ErrorKind::NotFound => return Ok(None),
                err => return Err(err),
            },
        };
        let Some(instance) =
            out.reservations().iter().flat_map(|r| r.instances()).find(|i| i.instance_id() == Some(instance_id))
        else {
            return Ok(None);
        };
        let state = instance.state().and_then(|s| s.name()).cloned().unwrap_or(InstanceStateName::Pending);
        if matches!(state, InstanceStateName::Terminated | InstanceStateName::ShuttingDown) {
            return Ok(None);
        }
        let enis = enis.map_err(|e| port_error("DescribeNetworkInterfaces", e))?;
        // Elastic IPs, on any interface and any of its private addresses (auto-assigned public
        // addresses have no allocation and go with the interface).
        let mut elastic_ips: Vec<ElasticIp> = Vec::new();
        for n in enis.network_interfaces() {
            // The interface's own association is its primary address's; secondary addresses
            // carry theirs on the private address.
            let primary = n.private_ip_address().map(str::to_string);
            let associations = n
                .association()
                .map(|a| (a.allocation_id(), a.association_id(), a.public_ip(), primary.clone()))
                .into_iter()
                .chain(n.private_ip_addresses().iter().filter_map(|p| {
                    let a = p.association()?;
                    Some((
                        a.allocation_id(),
                        a.association_id(),
                        a.public_ip(),
                        p.private_ip_address().map(str::to_string),
                    ))
                }));
            for (allocation, association, public_ip, private_ip) in associations {
                let (Some(allocation_id), Some(association_id)) =
                    (allocation.filter(|s| !s.is_empty()), association.filter(|s| !s.is_empty()))
                else {
                    continue;
                };
                if elastic_ips.iter().all(|e| e.association_id != association_id) {
                    elastic_ips.push(ElasticIp {
                        allocation_id: allocation_id.to_string(),
                        association_id: association_id.to_string(),
                        public_ip: public_ip.unwrap_or_default().to_string(),
                        interface_id: n.network_interface_id().map(str::to_string),
                        private_ip,
                    });
                }
            }
        }
        let mut interfaces: Vec<InterfaceState> = enis
            .network_interfaces()
            .iter()
            .filter_map(|n| {
                Some(InterfaceState {
                    interface_id: n.network_interface_id()?.to_string(),
                    device_index: n.attachment().and_then(|a| a.device_index()).unwrap_or(0),
                    groups: n.groups().iter().filter_map(|g| g.group_id().map(str::to_string)).collect(),
                })
            })
            .collect();
        interfaces.sort_by_key(|i| i.device_index);
        let volumes = instance
            .block_device_mappings()
            .iter()
            .filter_map(|m| {
                let ebs = m.ebs()?;
                Some(VolumeState {
                    volume_id: ebs.volume_id()?.to_string(),
                    device_name: m.device_name()?.to_string(),
                    delete_on_termination: ebs.delete_on_termination().unwrap_or(false),
                })
            })
            .collect();
        Ok(Some(InstanceState {
            instance_id: instance_id.to_string(),
            vpc_id: instance.vpc_id().unwrap_or_default().to_string(),
            state: state.as_str().to_string(),
            interfaces,
            volumes,
            profile: None,
            asg: None,
            target_groups: vec![],
            target_groups_known: false,
            elastic_ips,
            tags: instance
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())))
                .collect(),
        }))
    }

    async fn profile_association(&self, instance_id: &str) -> PortResult<Option<ProfileAssociation>> {
        let out = self
            .client
            .describe_iam_instance_profile_associations()
            .filters(Self::filter("instance-id", instance_id))
            .send()
            .await
            .map_err(|e| port_error("DescribeIamInstanceProfileAssociations", e))?;
        Ok(out
            .iam_instance_profile_associations()
            .iter()
            .filter(|a| a.state().is_none_or(|s| s.as_str() == "associated"))
            .find_map(|a| {
                Some(ProfileAssociation {
                    association_id: a.association_id()?.to_string(),
                    profile_arn: a.iam_instance_profile()?.arn()?.to_string(),
                })
            }))
    }

    async fn quarantine_groups(&self, vpc_id: &str) -> PortResult<QuarantineGroups> {
        let (untrack, quarantine) =
            tokio::join!(self.group_for(vpc_id, "untrack"), self.group_for(vpc_id, "quarantine"));
        Ok(QuarantineGroups { untrack_group_id: untrack?, quarantine_group_id: quarantine? })
    }

    async fn fleet_vpcs(&self, tag: Option<&(String, String)>, also: &[String]) -> PortResult<BTreeSet<String>> {
        let live = Filter::builder()
            .name("instance-state-name")
            .set_values(Some(["pending", "running", "stopping", "stopped"].map(String::from).to_vec()))
            .build();
        let mut queries = Vec::new();
        if let Some((key, value)) = tag {
            queries.push(self.client.describe_instances().filters(Self::filter(&format!("tag:{key}"), value)));
        }
        // At most 1000 ids a call.
        for ids in also.chunks(1000) {
            queries.push(self.client.describe_instances().set_instance_ids(Some(ids.to_vec())));
        }
        let mut vpcs = BTreeSet::new();
        for query in queries {
            let mut token: Option<String> = None;
            loop {
                let out = query
                    .clone()
                    .filters(live.clone())
                    .set_next_token(token.take())
                    .send()
                    .await
                    .map_err(|e| port_error("DescribeInstances", e))?;
                vpcs.extend(
                    out.reservations().iter().flat_map(|r| r.instances()).filter_map(|i| i.vpc_id()).map(String::from),
                );
                match out.next_token() {
                    Some(t) if !t.is_empty() => token = Some(t.to_string()),
                    _ => break,
                }
            }
        }
        Ok(vpcs)
    }

    async fn set_interface_groups(&self, interface_id: &str, groups: &[String]) -> PortResult<()> {
        self.client
            .modify_network_interface_attribute()
            .network_interface_id(interface_id)
            .set_groups(Some(groups.to_vec()))
            .send()
            .await
            .map_err(|e| port_error("ModifyNetworkInterfaceAttribute", e))?;
        Ok(())
    }

    async fn interface_groups(&self, interface_id: &str) -> PortResult<Vec<String>> {
        let out = self
            .client
            .describe_network_interfaces()
            .network_interface_ids(interface_id)
            .send()
            .await
            .map_err(|e| port_error("DescribeNetworkInterfaces", e))?;
        Ok(out
            .network_interfaces()
            .iter()
            .flat_map(|n| n.groups())
            .filter_map(|g| g.group_id().map(str::to_string))
            .collect())
    }

    async fn protect_evidence(&self, instance_id: &str, volumes: &[VolumeState]) -> PortResult<()> {
        let termination = self
            .client
            .modify_instance_attribute()
            .instance_id(instance_id)
            .disable_api_termination(AttributeBooleanValue::builder().value(true).build());
        // The attribute/value form: the structured one is ignored by some endpoints.
        let shutdown = self
            .client
            .modify_instance_attribute()
            .instance_id(instance_id)
            .attribute(InstanceAttributeName::InstanceInitiatedShutdownBehavior)
            .value("stop");
        let keep = volumes.iter().fold(self.client.modify_instance_attribute().instance_id(instance_id), |req, v| {
            req.block_device_mappings(
                InstanceBlockDeviceMappingSpecification::builder()
                    .device_name(&v.device_name)
                    .ebs(
                        EbsInstanceBlockDeviceSpecification::builder()
                            .volume_id(&v.volume_id)
                            .delete_on_termination(false)
                            .build(),
                    )
                    .build(),
            )
        });
        let (a, b, c) = tokio::join!(termination.send(), shutdown.send(), async {
            if volumes.is_empty() {
                return Ok(None);
            }
            keep.send().await.map(Some)
        });
        a.map_err(|e| port_error("ModifyInstanceAttribute disableApiTermination", e))?;
        b.map_err(|e| port_error("ModifyInstanceAttribute instanceInitiatedShutdownBehavior", e))?;
        c.map_err(|e| port_error("ModifyInstanceAttribute blockDeviceMapping", e))?;
        Ok(())
    }

    async fn snapshot_volumes(&self, instance_id: &str, incident_id: &str) -> PortResult<Vec<String>> {
        let out = self
            .client
            .create_snapshots()
            .instance_specification(InstanceSpecification::builder().instance_id(instance_id).build())
            .description(format!("Warden evidence for {incident_id} ({instance_id})"))
            .copy_tags_from_source(CopyTagsFromSource::Volume)
            .tag_specifications(
                TagSpecification::builder()
                    .resource_type(ResourceType::Snapshot)
                    .tags(Tag::builder().key(INCIDENT_TAG).value(incident_id).build())
                    .tags(Tag::builder().key("warden:instance").value(instance_id).build())
                    .build(),
            )
            .send()
            .await
            .map_err(|e| port_error("CreateSnapshots", e))?;
        Ok(out.snapshots().iter().filter_map(|s| s.snapshot_id().map(str::to_string)).collect())
    }

    async fn disassociate_address(&self, eip: &ElasticIp) -> PortResult<()> {
        match self.client.disassociate_address().association_id(&eip.association_id).send().await {
            Ok(_) => Ok(()),
            // Already detached: the goal holds.
            Err(e) => match port_error("DisassociateAddress", e) {
                err if err.kind == ErrorKind::NotFound => Ok(()),
                err => Err(err),
            },
        }
    }

    async fn associate_address(&self, eip: &ElasticIp, instance_id: &str) -> PortResult<()> {
        let mut req = self.client.associate_address().allocation_id(&eip.allocation_id).allow_reassociation(false);
        req = match &eip.interface_id {
            Some(eni) => req.network_interface_id(eni).set_private_ip_address(eip.private_ip.clone()),
            None => req.instance_id(instance_id),
        };
        req.send().await.map_err(|e| port_error("AssociateAddress", e))?;
        Ok(())
    }

    async fn quarantine_profile(&self, current: &ProfileAssociation, replacement: Option<&str>) -> PortResult<()> {
        match replacement {
            Some(arn) => {
                self.client
                    .replace_iam_instance_profile_association()
                    .association_id(&current.association_id)
                    .iam_instance_profile(IamInstanceProfileSpecification::builder().arn(arn).build())
                    .send()
                    .await
                    .map_err(|e| port_error("ReplaceIamInstanceProfileAssociation", e))?;
            }
            None => {
                self.client
                    .disassociate_iam_instance_profile()
                    .association_id(&current.association_id)
                    .send()
                    .await
                    .map_err(|e| port_error("DisassociateIamInstanceProfile", e))?;
            }
        }
        Ok(())
    }

    async fn restore_profile(&self, instance_id: &str, original: &ProfileAssociation) -> PortResult<()> {
        let spec = IamInstanceProfileSpecification::builder().arn(&original.profile_arn).build();
        match self.profile_association(instance_id).await? {
            Some(now) if now.profile_arn == original.profile_arn => Ok(()),
            Some(now) => {
                self.client
                    .replace_iam_instance_profile_association()
                    .association_id(&now.association_id)
                    .iam_instance_profile(spec)
                    .send()
                    .await
                    .map_err(|e| port_error("ReplaceIamInstanceProfileAssociation", e))?;
                Ok(())
            }
            None => {
                self.client
                    .associate_iam_instance_profile()
                    .instance_id(instance_id)
                    .iam_instance_profile(spec)
                    .send()
                    .await
                    .map_err(|e| port_error("AssociateIamInstanceProfile", e))?;
                Ok(())
            }
        }
    }

    async fn tag_instance(&self, instance_id: &str, tags: &[(String, String)]) -> PortResult<()> {
        if tags.is_empty() {
            return Err(PortError::new("CreateTags", ErrorKind::Other, "no tags given"));
        }
        let tags = tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect();
        self.client
            .create_tags()
            .resources(instance_id)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| port_error("CreateTags", e))?;
        Ok(())
    }
}
