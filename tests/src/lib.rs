//! Harness for integration tests against the local AWS (a moto server), reached over HTTP
//! through `AWS_ENDPOINT_URL` exactly as Lambda reaches AWS. Every test builds its own VPC,
//! security group, table and topic, so tests never depend on each other's leftovers.

pub mod fake_ollama;
pub mod gateway_front;
pub mod lambda_runtime_api;
pub mod oidc;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU32, Ordering};

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};
use aws_sdk_ec2::types::{
    AddPrefixListEntry, IpPermission, IpRange, Ipv6Range, PrefixListId, ResourceType, Tag, TagSpecification,
    UserIdGroupPair,
};
use serde_json::Value;

use warden::aws::wiring::{isolation_executor, remediation_executor};
use warden::aws::{AwsFleet, DynamoStore, Ec2Compute, Ec2SecurityGroups, SnsNotifier, StsCallers};
use warden::config::RemediatorConfig;
use warden::exposure::executor::Executor;
use warden::exposure::ports::SecurityGroups;
use warden::exposure::IngressRule;
use warden::isolation::executor::IsolationExecutor;
use warden::operator::{OperatorDesk, Operators};

pub type AwsExecutor = Executor<Ec2SecurityGroups, DynamoStore, SnsNotifier>;
pub type AwsIsolation = IsolationExecutor<Ec2Compute, AwsFleet, DynamoStore, SnsNotifier>;
pub type AwsApprovals = warden::approval::flow::Approvals<DynamoStore, SnsNotifier>;

/// The signing key the tests use (a real deployment reads it from SSM Parameter Store).
pub const TEST_APPROVAL_KEY: &[u8] = b"integration-test-approval-key-0123456789";
pub const TEST_APPROVALS_URL: &str = "http://127.0.0.1:9100/lambda-url/approvals/";

/// The local AWS endpoint, or a clear instruction: these tests never skip silently.
pub fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| {
        panic!("AWS_ENDPOINT_URL is not set: run the integration tests with `make test` (or `make up` and export the variables `make env` prints)")
    })
}

/// Build a function's binary (debug, as `cargo test` builds) and return its path: a test that runs
/// the binary always runs the current one.
pub fn function_binary(name: &str) -> std::path::PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["build", "--locked", "--bin", name, "--message-format=short"])
        .current_dir(&root)
        .output()
        .expect("cargo runs");
    assert!(out.status.success(), "building {name} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let target =
        std::env::var("CARGO_TARGET_DIR").map(std::path::PathBuf::from).unwrap_or_else(|_| root.join("target"));
    target.join("debug").join(name)
}

/// The SDK configuration for one region of the local AWS. A scheduled sweep covers a whole
/// region, so tests that sweep get a region of their own and cannot touch other tests' groups.
pub async fn sdk(region: &'static str) -> SdkConfig {
    endpoint();
    aws_config::defaults(aws_config::BehaviorVersion::latest()).region(aws_config::Region::new(region)).load().await
}

fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{prefix}-{}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst), nanos)
}

/// A fresh account slice: VPC, one security group, table, topic.
pub struct Fixture {
    pub sdk: SdkConfig,
    pub ec2: aws_sdk_ec2::Client,
    pub ddb: aws_sdk_dynamodb::Client,
    pub vpc_id: String,
    pub group_id: String,
    pub table: String,
    pub topic_arn: String,
}

impl Fixture {
    pub async fn new() -> Self {
        Self::in_region("us-east-1").await
    }

    /// For tests that sweep: a region no other test uses.
    pub async fn in_region(region: &'static str) -> Self {
        let sdk = sdk(region).await;
        let ec2 = aws_sdk_ec2::Client::new(&sdk);
        let ddb = aws_sdk_dynamodb::Client::new(&sdk);
        let sns = aws_sdk_sns::Client::new(&sdk);
        let vpc_id =
            ec2.create_vpc().cidr_block("10.40.0.0/16").send().await.expect("CreateVpc").vpc.unwrap().vpc_id.unwrap();
        let table = unique("warden-test");
        create_table(&ddb, &table).await;
        let topic_arn =
            sns.create_topic().name(unique("warden-test")).send().await.expect("CreateTopic").topic_arn.unwrap();
        let mut f = Self { sdk, ec2, ddb, vpc_id, group_id: String::new(), table, topic_arn };
        f.group_id = f.new_group("ollama-gpu").await;
        f
    }

    pub async fn new_group(&self, name: &str) -> String {
        self.ec2
            .create_security_group()
            .group_name(unique(name))
            .description("Ollama GPU nodes")
            .vpc_id(&self.vpc_id)
            .send()
            .await
            .expect("CreateSecurityGroup")
            .group_id
            .unwrap()
    }

    pub fn config(&self, dry_run: bool) -> RemediatorConfig {
        self.config_with(dry_run, None)
    }

    pub fn config_with(&self, dry_run: bool, quarantine_profile: Option<&str>) -> RemediatorConfig {
        let mut env = vec![("WARDEN_TABLE_NAME", self.table.clone()), ("WARDEN_TOPIC_ARN", self.topic_arn.clone())];
        if dry_run {
            env.push(("WARDEN_DRY_RUN", "true".into()));
        }
        if let Some(arn) = quarantine_profile {
            env.push(("WARDEN_QUARANTINE_PROFILE_ARN", arn.to_string()));
        }
        RemediatorConfig::from_lookup(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .expect("valid config")
    }

    pub fn executor(&self, dry_run: bool) -> AwsExecutor {
        remediation_executor(&self.config(dry_run), &self.sdk)
    }

    /// The approval flow on this fixture's table and topic.
    pub fn approvals(&self) -> AwsApprovals {
        warden::approval::flow::Approvals::new(
            DynamoStore::new(self.ddb.clone(), &self.table),
            SnsNotifier::new(aws_sdk_sns::Client::new(&self.sdk), &self.topic_arn),
            warden::approval::flow::ApprovalSettings {
                base_url: TEST_APPROVALS_URL.into(),
                key: warden::approval::token::SigningKey::new(TEST_APPROVAL_KEY.to_vec()).unwrap(),
                ttl: chrono::Duration::hours(24),
            },
        )
    }

    /// The isolation executor; `quarantine_profile` replaces the instance's profile (else removed).
    pub fn isolation(&self, quarantine_profile: Option<&str>) -> AwsIsolation {
        isolation_executor(&self.config_with(false, quarantine_profile), &self.sdk)
    }

    /// Authorize one ingress rule and return its rule id.
    pub async fn allow(&self, group_id: &str, rule: Rule<'_>) -> String {
        let mut p = IpPermission::builder().ip_protocol(rule.protocol);
        if rule.protocol != "-1" {
            p = p.from_port(rule.from).to_port(rule.to);
        }
        p = match rule.source {
            Source::V4(c) => p.ip_ranges(IpRange::builder().cidr_ip(c).description(rule.description).build()),
            Source::V6(c) => p.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(c).description(rule.description).build()),
            Source::Group(g) => {
                p.user_id_group_pairs(UserIdGroupPair::builder().group_id(g).description(rule.description).build())
            }
            Source::PrefixList(id) => {
                p.prefix_list_ids(PrefixListId::builder().prefix_list_id(id).description(rule.description).build())
            }
        };
        let mut req = self.ec2.authorize_security_group_ingress().group_id(group_id).ip_permissions(p.build());
        if let Some((k, v)) = rule.tag {
            req = req.tag_specifications(
                TagSpecification::builder()
                    .resource_type(ResourceType::SecurityGroupRule)
                    .tags(Tag::builder().key(k).value(v).build())
                    .build(),
            );
        }
        let out = req.send().await.expect("AuthorizeSecurityGroupIngress");
        out.security_group_rules()[0].security_group_rule_id().unwrap().to_string()
    }

    /// A customer-managed IPv4 prefix list holding `cidrs`; its id.
    pub async fn prefix_list(&self, cidrs: &[&str]) -> String {
        let out = self
            .ec2
            .create_managed_prefix_list()
            .prefix_list_name(unique("warden-test-list"))
            .address_family("IPv4")
            .max_entries(10)
            .set_entries(Some(cidrs.iter().map(|c| AddPrefixListEntry::builder().cidr(*c).build()).collect()))
            .send()
            .await
            .expect("CreateManagedPrefixList");
        out.prefix_list().and_then(|l| l.prefix_list_id()).expect("a prefix list id").to_string()
    }

    pub async fn rules(&self, group_id: &str) -> Vec<IngressRule> {
        let groups = Ec2SecurityGroups::new(self.ec2.clone());
        groups.ingress_rules(Some(&[group_id.to_string()])).await.expect("DescribeSecurityGroupRules")
    }

    pub async fn rule_ids(&self, group_id: &str) -> Vec<String> {
        let mut ids: Vec<String> = self.rules(group_id).await.into_iter().map(|r| r.rule_id).collect();
        ids.sort();
        ids
    }

    /// Messages the local SNS recorded as published to this fixture's topic: (subject, message).
    pub fn published(&self) -> Vec<(String, String)> {
        let data: Value =
            serde_json::from_str(&http_get(&format!("{}/moto-api/data.json", endpoint()))).expect("moto data.json");
        let topics = data["sns"]["Topic"].as_array().cloned().unwrap_or_default();
        topics
            .iter()
            .filter(|t| t["arn"] == self.topic_arn.as_str())
            .flat_map(|t| t["sent_notifications"].as_array().cloned().unwrap_or_default())
            .map(|n| (n[2].as_str().unwrap_or_default().to_string(), n[1].as_str().unwrap_or_default().to_string()))
            .collect()
    }

    /// A sample event from `events/remediator/`, pointed at this fixture's group.
    pub fn sample(&self, name: &str) -> Value {
        let text = std::fs::read_to_string(format!("{}/../events/remediator/{name}", env!("CARGO_MANIFEST_DIR")))
            .expect("sample");
        let text = text.replace(SAMPLE_GROUP_ID, &self.group_id);
        serde_json::from_str(&text).expect("sample JSON")
    }

    /// The desk that admits operator requests: this region's (local) STS, this fixture's table.
    pub fn operator_desk(&self, operators: &str) -> OperatorDesk<StsCallers, DynamoStore> {
        OperatorDesk {
            verifier: StsCallers::new(&self.sdk).expect("STS endpoint"),
            outcomes: DynamoStore::new(self.ddb.clone(), &self.table),
            operators: Operators::parse(operators).expect("operator ARNs"),
        }
    }
}

/// The operator role the tests' requests come from.
pub const OPERATOR_ROLE: &str = "arn:aws:iam::123456789012:role/ops/warden-operator";

/// Credentials of a session of `role`, as `aws sts assume-role` gives them (SSO gives the same
/// kind): the SDK configuration an operator's `warden` runs with.
pub async fn operator_session(base: &SdkConfig, role: &str, session: &str) -> SdkConfig {
    let out = aws_sdk_sts::Client::new(base)
        .assume_role()
        .role_arn(role)
        .role_session_name(session)
        .send()
        .await
        .expect("AssumeRole");
    let c = out.credentials.expect("credentials");
    let credentials = aws_credential_types::Credentials::new(
        c.access_key_id,
        c.secret_access_key,
        Some(c.session_token),
        None,
        "assumed-role",
    );
    base.to_builder()
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(credentials))
        .build()
}

/// An operator request event exactly as `warden undo` / `warden release` puts it on the bus:
/// a fresh request id and a caller proof signed by `signer`'s credentials.
pub async fn operator_request(signer: &SdkConfig, detail_type: &str, target: &str) -> Value {
    let request_id = warden::approval::sign_in::random_token().unwrap();
    let request = warden::operator::OperatorRequest { detail_type, target, request_id: &request_id };
    let proof = warden::aws::sign_caller_proof(signer, &request.binding()).await.expect("signed");
    let field = if detail_type == warden::edge::events::UNDO_DETAIL_TYPE { "remediation_id" } else { "incident_id" };
    serde_json::json!({
        "version": "0",
        "id": unique("event"),
        "detail-type": detail_type,
        "source": "warden",
        "account": "123456789012",
        "time": chrono::Utc::now().to_rfc3339(),
        "region": "us-east-1",
        "resources": [],
        "detail": { field: target, "request_id": request_id, "proof": proof },
    })
}

/// A fresh, empty Warden table in the local AWS.
pub async fn new_table(ddb: &aws_sdk_dynamodb::Client) -> String {
    let table = unique("warden-test");
    create_table(ddb, &table).await;
    table
}

/// A sample event of another function (`events/<function>/<name>`).
pub fn sample_of(function: &str, name: &str) -> Value {
    let path = format!("{}/../events/{function}/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
        .expect("sample JSON")
}

/// The group id the sample events name.
pub const SAMPLE_GROUP_ID: &str = "sg-0a1b2c3d4e5f60718";

pub enum Source<'a> {
    V4(&'a str),
    V6(&'a str),
    Group(&'a str),
    PrefixList(&'a str),
}

pub struct Rule<'a> {
    pub protocol: &'a str,
    pub from: i32,
    pub to: i32,
    pub source: Source<'a>,
    pub description: &'a str,
    pub tag: Option<(&'a str, &'a str)>,
}

pub fn tcp<'a>(from: i32, to: i32, source: Source<'a>, description: &'a str) -> Rule<'a> {
    Rule { protocol: "tcp", from, to, source, description, tag: None }
}

/// The table schema Warden uses (the infra stack creates the same).
pub async fn create_table(ddb: &aws_sdk_dynamodb::Client, name: &str) {
    let key = |n: &str, t: KeyType| KeySchemaElement::builder().attribute_name(n).key_type(t).build().unwrap();
    let attr = |n: &str| {
        AttributeDefinition::builder().attribute_name(n).attribute_type(ScalarAttributeType::S).build().unwrap()
    };
    ddb.create_table()
        .table_name(name)
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .attribute_definitions(attr("pk"))
        .attribute_definitions(attr("sk"))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("CreateTable");
}

/// Create an IAM instance profile in the local AWS and return its ARN. (A raw Query-protocol
/// call: the tests need nothing else from IAM, and the IAM SDK crate costs minutes to build.)
pub fn create_instance_profile(name: &str) -> String {
    let url = endpoint();
    let host = url.strip_prefix("http://").expect("http URL").trim_end_matches('/');
    let body = format!("Action=CreateInstanceProfile&InstanceProfileName={name}&Version=2010-05-08");
    let mut stream = TcpStream::connect(host).expect("connect to the local AWS");
    write!(
        stream,
        "POST / HTTP/1.0\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let arn = response.split("<Arn>").nth(1).and_then(|r| r.split("</Arn>").next());
    arn.unwrap_or_else(|| panic!("CreateInstanceProfile: {response}")).to_string()
}

/// Plain HTTP/1.0 GET against the local AWS's own API (moto's state dump). moto builds that
/// dump while other tests mutate state and then sometimes answers 500: retry a few times.
pub fn http_get(url: &str) -> String {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap_or((rest, "/".into()));
    let mut last = String::new();
    for attempt in 0..8 {
        let mut stream = TcpStream::connect(host).expect("connect to the local AWS");
        write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").expect("HTTP response");
        if head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200") {
            return body.to_string();
        }
        last = head.lines().next().unwrap_or_default().to_string();
        std::thread::sleep(std::time::Duration::from_millis(50 * (attempt + 1)));
    }
    panic!("GET {url}: {last}")
}

/// Subnets of one fixture's VPC must not overlap.
static SUBNETS: AtomicU32 = AtomicU32::new(0);

/// The AMI the local AWS ships (never look one up: DescribeImages is slow there).
pub const AMI: &str = "ami-12c6146b";

/// A GPU node as our users run them: in an Auto Scaling group whose target group serves
/// Ollama, registered in a second target group by hand, with two network interfaces, an
/// instance profile and an Elastic IP.
pub struct GpuNode {
    pub instance_id: String,
    /// (interface id, its groups), device 0 first.
    pub interfaces: Vec<(String, Vec<String>)>,
    pub asg: String,
    pub asg_target_group: String,
    pub extra_target_group: String,
    pub profile_arn: String,
    pub allocation_id: String,
}

impl Fixture {
    pub fn autoscaling(&self) -> aws_sdk_autoscaling::Client {
        aws_sdk_autoscaling::Client::new(&self.sdk)
    }

    pub fn elb(&self) -> aws_sdk_elasticloadbalancingv2::Client {
        aws_sdk_elasticloadbalancingv2::Client::new(&self.sdk)
    }

    pub async fn gpu_node(&self) -> GpuNode {
        use aws_sdk_ec2::types::{InstanceNetworkInterfaceSpecification, InstanceType, RequestLaunchTemplateData};
        let subnet = self
            .ec2
            .create_subnet()
            .vpc_id(&self.vpc_id)
            .cidr_block(format!("10.40.{}.0/24", SUBNETS.fetch_add(1, Ordering::SeqCst) % 250 + 1))
            .send()
            .await
            .expect("CreateSubnet")
            .subnet
            .unwrap()
            .subnet_id
            .unwrap();
        let app = self.new_group("ollama-app").await;
        let ssh = self.new_group("ollama-ssh").await;
        let data = self.new_group("ollama-data").await;
        let run = self
            .ec2
            .run_instances()
            .image_id(AMI)
            .instance_type(InstanceType::G4dnXlarge)
            .min_count(1)
            .max_count(1)
            .network_interfaces(
                InstanceNetworkInterfaceSpecification::builder()
                    .device_index(0)
                    .subnet_id(&subnet)
                    .groups(&app)
                    .groups(&ssh)
                    .build(),
            )
            // The fleet tag: Warden isolates only the Ollama fleet.
            .tag_specifications(
                TagSpecification::builder()
                    .resource_type(ResourceType::Instance)
                    .tags(Tag::builder().key("Service").value("Ollama").build())
                    .build(),
            )
            .send()
            .await
            .expect("RunInstances");
        let instance = &run.instances()[0];
        let instance_id = instance.instance_id().unwrap().to_string();
        let eni0 = instance.network_interfaces()[0].network_interface_id().unwrap().to_string();
        let eni1 = self
            .ec2
            .create_network_interface()
            .subnet_id(&subnet)
            .groups(&data)
            .send()
            .await
            .expect("CreateNetworkInterface")
            .network_interface
            .unwrap()
            .network_interface_id
            .unwrap();
        self.ec2
            .attach_network_interface()
            .network_interface_id(&eni1)
            .instance_id(&instance_id)
            .device_index(1)
            .send()
            .await
            .expect("AttachNetworkInterface");

        let elb = self.elb();
        let target_group = |name: String| {
            let elb = elb.clone();
            let vpc = self.vpc_id.clone();
            async move {
                elb.create_target_group()
                    .name(name)
                    .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
                    .port(11434)
                    .vpc_id(vpc)
                    .target_type(aws_sdk_elasticloadbalancingv2::types::TargetTypeEnum::Instance)
                    .send()
                    .await
                    .expect("CreateTargetGroup")
                    .target_groups()[0]
                    .target_group_arn()
                    .unwrap()
                    .to_string()
            }
        };
        let short = unique("tg").replace('-', "");
        let short = &short[short.len() - 12..];
        let asg_target_group = target_group(format!("asg{short}")).await;
        let extra_target_group = target_group(format!("xtra{short}")).await;

        let template = unique("ollama-gpu");
        self.ec2
            .create_launch_template()
            .launch_template_name(&template)
            .launch_template_data(
                RequestLaunchTemplateData::builder().image_id(AMI).instance_type(InstanceType::G4dnXlarge).build(),
            )
            .send()
            .await
            .expect("CreateLaunchTemplate");
        let asg = unique("ollama-gpu-fleet");
        let autoscaling = self.autoscaling();
        autoscaling
            .create_auto_scaling_group()
            .auto_scaling_group_name(&asg)
            .launch_template(
                aws_sdk_autoscaling::types::LaunchTemplateSpecification::builder()
                    .launch_template_name(&template)
                    .build(),
            )
            .min_size(0)
            .max_size(4)
            .desired_capacity(0)
            .vpc_zone_identifier(&subnet)
            .target_group_arns(&asg_target_group)
            .send()
            .await
            .expect("CreateAutoScalingGroup");
        autoscaling
            .attach_instances()
            .auto_scaling_group_name(&asg)
            .instance_ids(&instance_id)
            .send()
            .await
            .expect("AttachInstances");
        elb.register_targets()
            .target_group_arn(&extra_target_group)
            .targets(
                aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
                    .id(&instance_id)
                    .port(11434)
                    .build(),
            )
            .send()
            .await
            .expect("RegisterTargets");

        let profile_arn = create_instance_profile(&unique("ollama-gpu-node"));
        self.ec2
            .associate_iam_instance_profile()
            .instance_id(&instance_id)
            .iam_instance_profile(
                aws_sdk_ec2::types::IamInstanceProfileSpecification::builder().arn(&profile_arn).build(),
            )
            .send()
            .await
            .expect("AssociateIamInstanceProfile");
        let allocation_id = self
            .ec2
            .allocate_address()
            .domain(aws_sdk_ec2::types::DomainType::Vpc)
            .send()
            .await
            .expect("AllocateAddress")
            .allocation_id
            .unwrap();
        self.ec2
            .associate_address()
            .allocation_id(&allocation_id)
            .network_interface_id(&eni0)
            .send()
            .await
            .expect("AssociateAddress");
        GpuNode {
            instance_id,
            interfaces: vec![(eni0, vec![app, ssh]), (eni1, vec![data])],
            asg,
            asg_target_group,
            extra_target_group,
            profile_arn,
            allocation_id,
        }
    }

    /// A sample event from `events/remediator/`, pointed at this instance.
    pub fn sample_for_instance(&self, name: &str, instance_id: &str) -> Value {
        let text = std::fs::read_to_string(format!("{}/../events/remediator/{name}", env!("CARGO_MANIFEST_DIR")))
            .expect("sample");
        serde_json::from_str(&text.replace(SAMPLE_INSTANCE_ID, instance_id)).expect("sample JSON")
    }

    /// The groups an interface has now, as its own (DescribeNetworkInterfaces).
    pub async fn interface_groups(&self, interface_id: &str) -> Vec<String> {
        let out = self
            .ec2
            .describe_network_interfaces()
            .network_interface_ids(interface_id)
            .send()
            .await
            .expect("DescribeNetworkInterfaces");
        let mut groups: Vec<String> =
            out.network_interfaces()[0].groups().iter().filter_map(|g| g.group_id().map(str::to_string)).collect();
        groups.sort();
        groups
    }

    /// Instances registered in a target group.
    pub async fn targets(&self, target_group: &str) -> Vec<String> {
        let out = self
            .elb()
            .describe_target_health()
            .target_group_arn(target_group)
            .send()
            .await
            .expect("DescribeTargetHealth");
        out.target_health_descriptions()
            .iter()
            .filter_map(|d| d.target().and_then(|t| t.id()).map(str::to_string))
            .collect()
    }
}

/// The instance id the sample events name.
pub const SAMPLE_INSTANCE_ID: &str = "i-0a1b2c3d4e5f67890";

/// A Lambda function URL request (payload 2.0), as the approvals function receives it.
pub fn url_event(method: &str, query: &str, body: Option<&str>, content_type: &str) -> Value {
    serde_json::json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/",
        "rawQueryString": query,
        "headers": {"content-type": content_type, "user-agent": "integration-test/1.0", "host": "abc.lambda-url.us-east-1.on.aws"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc",
            "domainName": "abc.lambda-url.us-east-1.on.aws",
            "http": {"method": method, "path": "/", "protocol": "HTTP/1.1", "sourceIp": "198.51.100.23", "userAgent": "integration-test/1.0"},
            "requestId": "r-1",
            "routeKey": "$default",
            "stage": "$default",
            "time": "26/Nov/2026:12:00:00 +0000",
            "timeEpoch": 1795694400000u64
        },
        "body": body,
        "isBase64Encoded": false
    })
}

/// Test helpers on the isolation executor.
#[allow(async_fn_in_trait)]
pub trait IncidentStatusOf {
    async fn store_incident(&self, id: &str) -> String;
}

impl IncidentStatusOf for AwsIsolation {
    async fn store_incident(&self, id: &str) -> String {
        let record = warden::isolation::ports::IncidentStore::incident(&self.store, id)
            .await
            .expect("read incident")
            .expect("incident");
        record.status.as_str().to_string()
    }
}
