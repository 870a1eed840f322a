//! Harness for integration tests against the local AWS (a moto server), reached over HTTP
//! through `AWS_ENDPOINT_URL` exactly as Lambda reaches AWS. Every test builds its own VPC,
//! security group, table and topic, so tests never depend on each other's leftovers.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU32, Ordering};

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};
use aws_sdk_ec2::types::{IpPermission, IpRange, Ipv6Range, ResourceType, Tag, TagSpecification, UserIdGroupPair};
use serde_json::Value;

use warden::aws::{remediation_executor, DynamoStore, Ec2SecurityGroups, SnsNotifier};
use warden::config::RemediatorConfig;
use warden::executor::Executor;
use warden::exposure::IngressRule;
use warden::ports::SecurityGroups;

pub type AwsExecutor = Executor<Ec2SecurityGroups, DynamoStore, SnsNotifier>;

/// The local AWS endpoint, or a clear instruction: these tests never skip silently.
pub fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| {
        panic!("AWS_ENDPOINT_URL is not set: run the integration tests with `make test` (or `make up` and export the variables `make env` prints)")
    })
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
        let mut env = vec![("WARDEN_TABLE_NAME", self.table.clone()), ("WARDEN_TOPIC_ARN", self.topic_arn.clone())];
        if dry_run {
            env.push(("WARDEN_DRY_RUN", "true".into()));
        }
        RemediatorConfig::from_lookup(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .expect("valid config")
    }

    pub fn executor(&self, dry_run: bool) -> AwsExecutor {
        remediation_executor(&self.config(dry_run), &self.sdk)
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
}

/// The group id the sample events name.
pub const SAMPLE_GROUP_ID: &str = "sg-0a1b2c3d4e5f60718";

pub enum Source<'a> {
    V4(&'a str),
    V6(&'a str),
    Group(&'a str),
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
