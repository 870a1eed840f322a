//! Auto Scaling and Elastic Load Balancing: taking an instance out of service without
//! shrinking capacity, and putting it back.

use aws_sdk_autoscaling::Client as AutoScaling;
use aws_sdk_elasticloadbalancingv2::types::TargetDescription;
use aws_sdk_elasticloadbalancingv2::Client as LoadBalancing;
use futures_util::future::join_all;

use super::port_error;
use crate::isolation::ports::Fleet;
use crate::isolation::{AsgMembership, TargetRegistration};
use crate::ports::PortResult;

#[derive(Clone)]
pub struct AwsFleet {
    autoscaling: AutoScaling,
    elb: LoadBalancing,
}

impl AwsFleet {
    pub fn new(autoscaling: AutoScaling, elb: LoadBalancing) -> Self {
        Self { autoscaling, elb }
    }

    fn target(registration: &TargetRegistration, instance_id: &str) -> TargetDescription {
        TargetDescription::builder().id(instance_id).set_port(registration.port).build()
    }
}

impl Fleet for AwsFleet {
    async fn asg_instances(&self, groups: &[String]) -> PortResult<Vec<String>> {
        let mut instances = Vec::new();
        // At most 100 names a call.
        for names in groups.chunks(100) {
            let mut token: Option<String> = None;
            loop {
                let out = self
                    .autoscaling
                    .describe_auto_scaling_groups()
                    .set_auto_scaling_group_names(Some(names.to_vec()))
                    .set_next_token(token.take())
                    .send()
                    .await
                    .map_err(|e| port_error("DescribeAutoScalingGroups", e))?;
                instances.extend(
                    out.auto_scaling_groups()
                        .iter()
                        .flat_map(|g| g.instances())
                        .filter_map(|i| i.instance_id())
                        .map(String::from),
                );
                match out.next_token() {
                    Some(t) if !t.is_empty() => token = Some(t.to_string()),
                    _ => break,
                }
            }
        }
        Ok(instances)
    }

    async fn asg_membership(&self, instance_id: &str) -> PortResult<Option<AsgMembership>> {
        let out = self
            .autoscaling
            .describe_auto_scaling_instances()
            .instance_ids(instance_id)
            .send()
            .await
            .map_err(|e| port_error("DescribeAutoScalingInstances", e))?;
        Ok(out.auto_scaling_instances().iter().find_map(|i| {
            Some(AsgMembership {
                name: i.auto_scaling_group_name()?.to_string(),
                lifecycle_state: i.lifecycle_state().unwrap_or_default().to_string(),
            })
        }))
    }

    async fn target_registrations(&self, instance_id: &str) -> PortResult<Vec<TargetRegistration>> {
        let mut arns = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .elb
                .describe_target_groups()
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| port_error("DescribeTargetGroups", e))?;
            arns.extend(
                out.target_groups()
                    .iter()
                    .filter(|t| t.target_type().is_none_or(|k| k.as_str() == "instance"))
                    .filter_map(|t| t.target_group_arn().map(str::to_string)),
            );
            match out.next_marker() {
                Some(m) if !m.is_empty() => marker = Some(m.to_string()),
                _ => break,
            }
        }
        let healths =
            join_all(arns.iter().map(|arn| self.elb.describe_target_health().target_group_arn(arn).send())).await;
        let mut registrations = Vec::new();
        for (arn, health) in arns.iter().zip(healths) {
            let health = health.map_err(|e| port_error("DescribeTargetHealth", e))?;
            for d in health.target_health_descriptions() {
                if let Some(t) = d.target().filter(|t| t.id() == Some(instance_id)) {
                    registrations.push(TargetRegistration { target_group_arn: arn.clone(), port: t.port() });
                }
            }
        }
        Ok(registrations)
    }

    async fn leave_asg(&self, asg: &AsgMembership, instance_id: &str) -> PortResult<()> {
        if asg.lifecycle_state.starts_with("Standby") {
            return Ok(());
        }
        let standby = self
            .autoscaling
            .enter_standby()
            .auto_scaling_group_name(&asg.name)
            .instance_ids(instance_id)
            .should_decrement_desired_capacity(false)
            .send()
            .await;
        match standby {
            Ok(_) => Ok(()),
            // Standby needs InService; a pending or unhealthy instance is detached instead,
            // still without shrinking capacity.
            Err(e) => {
                let err = port_error("EnterStandby", e);
                tracing::warn!(error = %err, instance_id, "standby refused; detaching instead");
                self.autoscaling
                    .detach_instances()
                    .auto_scaling_group_name(&asg.name)
                    .instance_ids(instance_id)
                    .should_decrement_desired_capacity(false)
                    .send()
                    .await
                    .map_err(|e| port_error("DetachInstances", e))?;
                Ok(())
            }
        }
    }

    async fn rejoin_asg(&self, asg: &AsgMembership, instance_id: &str) -> PortResult<()> {
        let exit =
            self.autoscaling.exit_standby().auto_scaling_group_name(&asg.name).instance_ids(instance_id).send().await;
        match exit {
            Ok(_) => Ok(()),
            Err(e) => {
                // Not in standby: it was detached, so attach it again.
                let err = port_error("ExitStandby", e);
                tracing::warn!(error = %err, instance_id, "exit standby refused; attaching instead");
                self.autoscaling
                    .attach_instances()
                    .auto_scaling_group_name(&asg.name)
                    .instance_ids(instance_id)
                    .send()
                    .await
                    .map_err(|e| port_error("AttachInstances", e))?;
                Ok(())
            }
        }
    }

    async fn deregister(&self, registration: &TargetRegistration, instance_id: &str) -> PortResult<()> {
        self.elb
            .deregister_targets()
            .target_group_arn(&registration.target_group_arn)
            .targets(Self::target(registration, instance_id))
            .send()
            .await
            .map_err(|e| port_error("DeregisterTargets", e))?;
        Ok(())
    }

    async fn register(&self, registration: &TargetRegistration, instance_id: &str) -> PortResult<()> {
        self.elb
            .register_targets()
            .target_group_arn(&registration.target_group_arn)
            .targets(Self::target(registration, instance_id))
            .send()
            .await
            .map_err(|e| port_error("RegisterTargets", e))?;
        Ok(())
    }
}
