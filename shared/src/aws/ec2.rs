//! Security groups over EC2: rules are read with DescribeSecurityGroupRules and revoked by
//! security-group-rule id, never by matching IP permissions (which fails whole batches in
//! non-default VPCs and silently does nothing in default ones).

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{
    Filter, IpPermission, IpRange, Ipv6Range, PrefixListId, ResourceType, SecurityGroupRule, Tag, TagSpecification,
};
use aws_sdk_ec2::Client;

use super::port_error;
use crate::exposure::ports::{RevokeResult, SecurityGroups};
use crate::exposure::{IngressRule, PrefixLists, RuleSource, SharedInterface};
use crate::ports::{ErrorKind, PortError, PortResult};

/// DescribeSecurityGroupRules takes at most 200 filter values per filter.
const MAX_FILTER_VALUES: usize = 200;

#[derive(Clone)]
pub struct Ec2SecurityGroups {
    client: Client,
}

impl Ec2SecurityGroups {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    async fn describe(&self, filter: Option<Filter>) -> PortResult<Vec<IngressRule>> {
        let mut rules = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .client
                .describe_security_group_rules()
                .set_filters(filter.clone().map(|f| vec![f]))
                .set_next_token(token.take())
                .max_results(1000)
                .send()
                .await
                .map_err(|e| port_error("DescribeSecurityGroupRules", e))?;
            rules.extend(out.security_group_rules().iter().filter_map(to_ingress_rule));
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(rules)
    }

    async fn revoke_one(&self, group_id: &str, rule_id: &str) -> RevokeResult {
        match self
            .client
            .revoke_security_group_ingress()
            .group_id(group_id)
            .security_group_rule_ids(rule_id)
            .send()
            .await
        {
            Ok(_) => RevokeResult::Revoked,
            Err(e) => match port_error("RevokeSecurityGroupIngress", e) {
                err if err.kind == ErrorKind::NotFound => RevokeResult::AlreadyAbsent,
                err => RevokeResult::Failed(err),
            },
        }
    }
}

/// `None` for egress rules and rules EC2 returns without an id.
fn to_ingress_rule(r: &SecurityGroupRule) -> Option<IngressRule> {
    if r.is_egress().unwrap_or(false) {
        return None;
    }
    let source = if let Some(c) = r.cidr_ipv4() {
        RuleSource::CidrIpv4(c.to_string())
    } else if let Some(c) = r.cidr_ipv6() {
        RuleSource::CidrIpv6(c.to_string())
    } else if let Some(p) = r.prefix_list_id() {
        RuleSource::PrefixList(p.to_string())
    } else {
        RuleSource::SecurityGroup(r.referenced_group_info().and_then(|g| g.group_id()).unwrap_or_default().to_string())
    };
    Some(IngressRule {
        group_id: r.group_id()?.to_string(),
        rule_id: r.security_group_rule_id()?.to_string(),
        ip_protocol: r.ip_protocol().unwrap_or("-1").to_string(),
        from_port: r.from_port().unwrap_or(-1),
        to_port: r.to_port().unwrap_or(-1),
        source,
        description: r.description().filter(|d| !d.is_empty()).map(str::to_string),
        tags: r
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())))
            .collect::<BTreeMap<_, _>>(),
    })
}

impl SecurityGroups for Ec2SecurityGroups {
    async fn ingress_rules(&self, group_ids: Option<&[String]>) -> PortResult<Vec<IngressRule>> {
        let Some(ids) = group_ids else { return self.describe(None).await };
        let mut rules = Vec::new();
        // Filtering (rather than naming groups) makes a deleted group simply contribute no rules.
        for chunk in ids.chunks(MAX_FILTER_VALUES) {
            let filter = Filter::builder().name("group-id").set_values(Some(chunk.to_vec())).build();
            rules.extend(self.describe(Some(filter)).await?);
        }
        Ok(rules)
    }

    async fn shared_interfaces(&self, group_ids: Option<&[String]>) -> PortResult<Vec<SharedInterface>> {
        let filters: Vec<Option<Filter>> = match group_ids {
            None => vec![None],
            Some(ids) => ids
                .chunks(MAX_FILTER_VALUES)
                .map(|chunk| Some(Filter::builder().name("group-id").set_values(Some(chunk.to_vec())).build()))
                .collect(),
        };
        let mut shared: Vec<SharedInterface> = Vec::new();
        for filter in filters {
            let mut token: Option<String> = None;
            loop {
                let out = self
                    .client
                    .describe_network_interfaces()
                    .set_filters(filter.clone().map(|f| vec![f]))
                    .set_next_token(token.take())
                    .max_results(1000)
                    .send()
                    .await
                    .map_err(|e| port_error("DescribeNetworkInterfaces", e))?;
                for n in out.network_interfaces() {
                    let group_ids: Vec<String> =
                        n.groups().iter().filter_map(|g| g.group_id().map(str::to_string)).collect();
                    let Some(interface_id) = n.network_interface_id() else { continue };
                    if group_ids.len() > 1 && !shared.iter().any(|s| s.interface_id == interface_id) {
                        shared.push(SharedInterface { interface_id: interface_id.to_string(), group_ids });
                    }
                }
                match out.next_token() {
                    Some(t) if !t.is_empty() => token = Some(t.to_string()),
                    _ => break,
                }
            }
        }
        Ok(shared)
    }

    async fn prefix_lists(&self, ids: &[String]) -> PortResult<PrefixLists> {
        let mut lists = PrefixLists::new();
        for id in ids {
            let mut entries = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let out = match self
                    .client
                    .get_managed_prefix_list_entries()
                    .prefix_list_id(id)
                    .set_next_token(token.take())
                    .max_results(100)
                    .send()
                    .await
                {
                    Ok(out) => out,
                    Err(e) => match port_error("GetManagedPrefixListEntries", e) {
                        // A list deleted since the rule was read lets nothing in.
                        err if err.kind == ErrorKind::NotFound => break,
                        err => return Err(err),
                    },
                };
                entries.extend(out.entries().iter().filter_map(|e| e.cidr()).map(str::to_string));
                match out.next_token() {
                    Some(t) if !t.is_empty() => token = Some(t.to_string()),
                    _ => break,
                }
            }
            lists.insert(id.clone(), entries);
        }
        Ok(lists)
    }

    async fn revoke_ingress(&self, group_id: &str, rule_ids: &[String]) -> Vec<RevokeResult> {
        if rule_ids.is_empty() {
            return Vec::new();
        }
        let batch = self
            .client
            .revoke_security_group_ingress()
            .group_id(group_id)
            .set_security_group_rule_ids(Some(rule_ids.to_vec()))
            .send()
            .await;
        match batch {
            Ok(_) => rule_ids.iter().map(|_| RevokeResult::Revoked).collect(),
            // One id already gone fails the whole batch: fall back to one call per rule so each
            // gets its own outcome.
            Err(e) => {
                let err = port_error("RevokeSecurityGroupIngress", e);
                if err.kind != ErrorKind::NotFound || rule_ids.len() == 1 {
                    let one = if err.kind == ErrorKind::NotFound {
                        RevokeResult::AlreadyAbsent
                    } else {
                        RevokeResult::Failed(err)
                    };
                    return rule_ids.iter().map(|_| one.clone()).collect();
                }
                let mut results = Vec::with_capacity(rule_ids.len());
                for id in rule_ids {
                    results.push(self.revoke_one(group_id, id).await);
                }
                results
            }
        }
    }

    async fn restore_ingress(&self, rule: &IngressRule) -> PortResult<String> {
        let mut permission = IpPermission::builder().ip_protocol(&rule.ip_protocol);
        if !rule.allows_all_traffic() {
            permission = permission.from_port(rule.from_port).to_port(rule.to_port);
        }
        permission = match &rule.source {
            RuleSource::CidrIpv4(c) => {
                permission.ip_ranges(IpRange::builder().cidr_ip(c).set_description(rule.description.clone()).build())
            }
            RuleSource::CidrIpv6(c) => permission
                .ipv6_ranges(Ipv6Range::builder().cidr_ipv6(c).set_description(rule.description.clone()).build()),
            RuleSource::PrefixList(id) => permission.prefix_list_ids(
                PrefixListId::builder().prefix_list_id(id).set_description(rule.description.clone()).build(),
            ),
            other => {
                return Err(PortError::new(
                    "AuthorizeSecurityGroupIngress",
                    ErrorKind::Other,
                    format!(
                        "restoring a rule from {other} is not supported: Warden only revokes rules from CIDRs and prefix lists"
                    ),
                ))
            }
        };
        let mut request =
            self.client.authorize_security_group_ingress().group_id(&rule.group_id).ip_permissions(permission.build());
        if !rule.tags.is_empty() {
            let tags = rule.tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect();
            request = request.tag_specifications(
                TagSpecification::builder().resource_type(ResourceType::SecurityGroupRule).set_tags(Some(tags)).build(),
            );
        }
        let out = request.send().await.map_err(|e| port_error("AuthorizeSecurityGroupIngress", e))?;
        if let Some(id) = out.security_group_rules().iter().find_map(|r| r.security_group_rule_id()) {
            return Ok(id.to_string());
        }
        // Some endpoints do not echo the new rule: find it by its exact spec.
        let current = self.ingress_rules(Some(std::slice::from_ref(&rule.group_id))).await?;
        current
            .into_iter()
            .find(|r| {
                r.ip_protocol == rule.ip_protocol
                    && r.from_port == rule.from_port
                    && r.to_port == rule.to_port
                    && r.source == rule.source
            })
            .map(|r| r.rule_id)
            .ok_or_else(|| {
                PortError::new(
                    "AuthorizeSecurityGroupIngress",
                    ErrorKind::Other,
                    "rule authorized but not found afterwards",
                )
            })
    }
}
