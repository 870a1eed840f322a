// Functions: the four Rust Lambda functions (provided.al2023, arm64, built by `cargo lambda`),
// each with a role of its own granting only the calls its code makes, a log group with
// retention, and (for asynchronous invocations) a dead-letter queue.
import * as path from 'node:path';
import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { RustFunction } from 'cargo-lambda-cdk';
import type { Construct } from 'constructs';
import { allowLogGroups, wardenKey } from './keys';
import { acknowledge } from './nag';
import { actedOnAlarmNames } from './names';
import type { Settings } from './settings';

/** The workspace root: `cargo lambda build` runs there, one binary per function. */
const WORKSPACE_MANIFEST = path.join(__dirname, '..', '..', 'Cargo.toml');

/** Tag on the security groups Warden creates for isolation (`warden:role` = untrack | quarantine). */
export const ISOLATION_GROUP_TAG = 'warden:role';
export const APPROVALS_URL_PARAMETER = '/warden/approvals-url';
export const LLM_METRICS_NAMESPACE = 'Custom/LLM';
/** How long one inference request may take end to end: the validator's timeout and its streaming
 * integration's (API Gateway streams for up to 15 minutes, idle at most 5). */
export const VALIDATOR_TIMEOUT_SECONDS = 300;

export interface FunctionsStackProps extends StackProps {
  readonly settings: Settings;
  readonly table: dynamodb.ITable;
  readonly tableKey: kms.IKey;
  readonly topic: sns.ITopic;
}

export class FunctionsStack extends Stack {
  readonly remediator: lambda.Function;
  readonly approvals: lambda.Function;
  readonly requestValidator: lambda.Function;
  readonly configRules: lambda.Function;
  readonly approvalsUrl: lambda.FunctionUrl;
  readonly deadLetterQueues: sqs.Queue[] = [];
  readonly quarantineRole: iam.Role;
  /** The group the Ollama instances should accept port 11434 from (only with warden:ollamaVpc). */
  readonly validatorSecurityGroup?: ec2.SecurityGroup;
  private readonly key: kms.Key;
  private readonly settings: Settings;

  constructor(scope: Construct, id: string, props: FunctionsStackProps) {
    super(scope, id, props);
    const { settings, table, tableKey, topic } = props;
    this.settings = settings;

    // Log groups, dead-letter queues and environment variables are encrypted with this key.
    this.key = wardenKey(this, 'FunctionsKey', 'alias/warden-functions', 'Warden function logs, dead-letter queues and environment');
    allowLogGroups(this.key, 'LogsEncryptWardenLogGroups', '/aws/lambda/warden-*');

    // The instance profile isolated instances get: a role with no permissions at all, so stolen
    // instance credentials stop working the moment the profile is swapped.
    this.quarantineRole = new iam.Role(this, 'QuarantineRole', {
      roleName: 'warden-quarantine',
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: 'Attached to isolated instances: grants nothing',
    });
    const quarantineProfile = new iam.InstanceProfile(this, 'QuarantineProfile', {
      instanceProfileName: 'warden-quarantine',
      role: this.quarantineRole,
    });

    // The approval signing key is a SecureString the operator creates before deploying
    // (CloudFormation cannot create SecureStrings); the approvals URL is written below.
    const approvalKeyArn = this.parameterArn(settings.approvalKeyParameter);
    const approvalsUrlArn = this.parameterArn(APPROVALS_URL_PARAMETER);
    const approvalEnvironment = {
      WARDEN_TABLE_NAME: table.tableName,
      WARDEN_TOPIC_ARN: topic.topicArn,
      WARDEN_APPROVAL_KEY_PARAMETER: settings.approvalKeyParameter,
      WARDEN_APPROVALS_URL_PARAMETER: APPROVALS_URL_PARAMETER,
      WARDEN_QUARANTINE_PROFILE_ARN: quarantineProfile.instanceProfileArn,
      // Only the Ollama fleet is ever isolated: its tag, or its Auto Scaling group.
      WARDEN_FLEET_TAG: `${settings.fleetTag.key}=${settings.fleetTag.value}`,
      WARDEN_FLEET_ASGS: settings.ollamaAutoScalingGroup,
      // Only alarms this app created (and the operator's listed ones) make Warden act: anyone
      // may create an alarm named llm-… or publish to Custom/LLM.
      WARDEN_TRUSTED_ALARMS: [
        ...actedOnAlarmNames(settings.ollamaAutoScalingGroup, settings.watchedCallers).map(
          (name) => `arn:${this.partition}:cloudwatch:${this.region}:${this.account}:alarm:${name}`,
        ),
        ...settings.trustedAlarmArns,
      ].join(','),
    };

    this.remediator = this.rustFunction('Remediator', 'remediator', {
      description: 'Revokes world-open security group rules, isolates compromised GPU instances, suspends abusive callers',
      memorySize: 512,
      timeout: Duration.seconds(120),
      environment: {
        ...approvalEnvironment,
        // Undo and release requests count only when STS proves one of these roles signed them.
        WARDEN_OPERATORS: settings.operatorRoleArns.join(','),
      },
      asynchronous: true,
      reservedConcurrentExecutions: settings.concurrency?.remediator,
    });
    this.approvals = this.rustFunction('Approvals', 'approvals', {
      description: 'The approval page the email links open; runs what a signed-in approver decided; expires requests',
      memorySize: 256,
      timeout: Duration.seconds(60),
      environment: {
        ...approvalEnvironment,
        // Deciding takes signing in with the organisation's provider, as a listed approver.
        WARDEN_OIDC_ISSUER: settings.signIn.issuer,
        WARDEN_OIDC_CLIENT_ID: settings.signIn.clientId,
        ...(settings.signIn.clientSecretParameter ? { WARDEN_OIDC_CLIENT_SECRET_PARAMETER: settings.signIn.clientSecretParameter } : {}),
        WARDEN_APPROVERS: JSON.stringify(settings.approvers),
      },
      asynchronous: true,
      reservedConcurrentExecutions: settings.concurrency?.approvals,
    });
    this.configRules = this.rustFunction('ConfigRules', 'config-rules', {
      description: 'AWS Config custom rule evaluations with compliance evidence',
      memorySize: 256,
      timeout: Duration.seconds(120),
      environment: { WARDEN_TABLE_NAME: table.tableName },
      asynchronous: true,
    });

    let vpcPlacement: Pick<lambda.FunctionProps, 'vpc' | 'vpcSubnets' | 'securityGroups'> = {};
    if (settings.ollamaVpc) {
      const vpc = ec2.Vpc.fromVpcAttributes(this, 'OllamaVpc', {
        vpcId: settings.ollamaVpc.vpcId,
        availabilityZones: settings.ollamaVpc.availabilityZones,
        privateSubnetIds: settings.ollamaVpc.privateSubnetIds,
      });
      acknowledge(vpc, [
        { id: 'Annotation::@aws-cdk/aws-ec2:noSubnetRouteTableId', reason: 'Warden only places the validator in these subnets; it never reads their route tables.' },
      ]);
      this.validatorSecurityGroup = new ec2.SecurityGroup(this, 'ValidatorSecurityGroup', {
        vpc,
        securityGroupName: 'warden-request-validator',
        description: 'Warden request validator: reaches Ollama and AWS APIs only',
        allowAllOutbound: true,
      });
      vpcPlacement = { vpc, vpcSubnets: { subnets: vpc.privateSubnets }, securityGroups: [this.validatorSecurityGroup] };
    }
    this.requestValidator = this.rustFunction('RequestValidator', 'request-validator', {
      description: 'API firewall and prompt guard in front of Ollama',
      memorySize: 1024,
      // As long as the streaming integration waits; the validator ends a stream itself before.
      timeout: Duration.seconds(VALIDATOR_TIMEOUT_SECONDS),
      environment: {
        WARDEN_TABLE_NAME: table.tableName,
        OLLAMA_URL: settings.ollamaUrl,
        // Callers are IAM roles (the API uses SigV4): the caller is read from the IAM identity
        // alone, and only events of this account are accepted.
        WARDEN_IDENTITY_SOURCE: 'iam',
        WARDEN_API_ACCOUNT_ID: Stack.of(this).account,
        WARDEN_OLLAMA_TIMEOUT_SECONDS: String(VALIDATOR_TIMEOUT_SECONDS - 10),
        // The API's integration streams (response transfer mode STREAM).
        WARDEN_RESPONSE_MODE: 'stream',
        WARDEN_LLM_METRICS_NAMESPACE: LLM_METRICS_NAMESPACE,
      },
      asynchronous: false,
      // A cap as well as a reservation: a flood of requests cannot take the account's whole
      // concurrency from the remediator and approvals.
      reservedConcurrentExecutions: settings.concurrency?.requestValidator,
      ...vpcPlacement,
    });

    this.approvalsUrl = this.approvals.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
    new ssm.StringParameter(this, 'ApprovalsUrl', {
      parameterName: APPROVALS_URL_PARAMETER,
      stringValue: this.approvalsUrl.url,
      description: 'The approvals page URL Warden puts in approval emails (the approvals function URL)',
    });

    this.grantRemediation(this.remediator, { exposure: true });
    this.grantRemediation(this.approvals, { exposure: false });
    for (const fn of [this.remediator, this.approvals]) {
      this.allow(fn, 'ReadApprovalSettings', ['ssm:GetParameter'], [approvalKeyArn, approvalsUrlArn]);
      this.allow(fn, 'PassQuarantineRole', ['iam:PassRole'], [this.quarantineRole.roleArn], {
        StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' },
      });
      this.allow(fn, 'WardenTable', [
        'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem',
        'dynamodb:Query',
      ], [table.tableArn]); // TransactWriteItems is authorized per item action (Put/Update/Delete): it has no action of its own.
      this.allow(fn, 'Notify', ['sns:Publish'], [topic.topicArn]);
      this.allow(fn, 'DisableSuspendedApiKeys', ['apigateway:PATCH'], [`arn:${this.partition}:apigateway:${this.region}::/apikeys/*`]);
      this.allowKeyUse(fn, tableKey, topic);
    }

    if (settings.signIn.clientSecretParameter) {
      this.allow(this.approvals, 'ReadSignInClientSecret', ['ssm:GetParameter'], [this.parameterArn(settings.signIn.clientSecretParameter)]);
    }

    // Config rules: evaluations, the configuration items they read, evidence in the table.
    this.allow(this.configRules, 'ReportEvaluations', ['config:PutEvaluations', 'config:GetResourceConfigHistory'], ['*']);
    this.allow(this.configRules, 'ReadInventory', [
      'ec2:DescribeInstances', 'ec2:DescribeSecurityGroups', 'ec2:DescribeVolumes', 'cloudtrail:DescribeTrails',
    ], ['*']);
    this.allow(this.configRules, 'ReadTrailStatus', ['cloudtrail:GetTrailStatus'], [`arn:${this.partition}:cloudtrail:*:${this.account}:trail/*`]);
    this.allow(this.configRules, 'EvidenceAndRegistry', ['dynamodb:BatchWriteItem', 'dynamodb:Query'], [table.tableArn], {
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['EVIDENCE#*', 'COMPLIANCE#*', 'REGISTRY'] },
    });
    this.allowKeyUse(this.configRules, tableKey);

    // The validator reads the registry and the restrictions, and writes only its quota and
    // offence counters: it can never change the registry or lift a suspension.
    this.allow(this.requestValidator, 'ReadRegistryAndRestrictions', ['dynamodb:Query'], [table.tableArn], {
      'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['REGISTRY', 'RESTRICTIONS'] },
    });
    this.allow(this.requestValidator, 'CountQuotasAndOffences', ['dynamodb:UpdateItem'], [table.tableArn], {
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['QUOTA#*', 'OFFENCES#*'] },
    });
    this.allowKeyUse(this.requestValidator, tableKey);

    const ec2Arn = (type: string) => `Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:${type}/*`;
    acknowledge(this, [
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Describe calls (EC2, Auto Scaling, ELBv2, CloudTrail), config:PutEvaluations, config:GetResourceConfigHistory ' +
          'and the VPC attachment calls have no resource-level permissions (Service Authorization Reference).',
      },
      {
        id: `AwsSolutions-IAM5[${ec2Arn('security-group')}]`,
        reason:
          'The group to fix is named by the event at run time; ingress revoke/re-authorize only. Edits of isolation ' +
          'groups are conditioned on the warden:role tag, creation on the tag in the request.',
      },
      {
        id: `AwsSolutions-IAM5[${ec2Arn('instance')}]`,
        reason: 'The compromised instance is named by the GuardDuty finding or alarm at run time (this account and region only).',
      },
      {
        id: `AwsSolutions-IAM5[${ec2Arn('network-interface')}]`,
        reason: "Isolation swaps the groups of the compromised instance's interfaces, known only at run time.",
      },
      {
        id: `AwsSolutions-IAM5[${ec2Arn('elastic-ip')}]`,
        reason: "Isolation detaches the compromised instance's Elastic IP (and release re-attaches it), known only at run time.",
      },
      {
        id: `AwsSolutions-IAM5[${ec2Arn('volume')}]`,
        reason: "Evidence snapshots cover the compromised instance's volumes, known only at run time.",
      },
      {
        id: `AwsSolutions-IAM5[${ec2Arn('vpc')}]`,
        reason: "CreateSecurityGroup authorizes against the VPC of the instance being isolated, known only at run time.",
      },
      {
        id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:*:prefix-list/*]',
        reason:
          'Read only: the entries of the prefix lists an ingress rule names, known only at run time; AWS-managed lists ' +
          'belong to the aws account, so the account is a wildcard.',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>::snapshot/*]',
        reason: 'Snapshots are created by CreateSnapshots at run time; their ids cannot be known in advance.',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:autoscaling:<AWS::Region>:<AWS::AccountId>:autoScalingGroup:*:autoScalingGroupName/*]',
        reason: 'An isolated instance leaves whichever Auto Scaling group it belongs to (read from the instance at run time).',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:elasticloadbalancing:<AWS::Region>:<AWS::AccountId>:targetgroup/*/*]',
        reason: 'An isolated instance is drained from whichever target groups serve it (read at run time).',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:apigateway:<AWS::Region>::/apikeys/*]',
        reason: 'Revoking a suspended caller disables its API key (PATCH only), named by the suspension at run time.',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudtrail:*:<AWS::AccountId>:trail/*]',
        reason: 'The cloudtrail-on rule checks the status of every trail of the account, in any region (multi-region trails).',
      },
      {
        id: 'AwsSolutions-SQS3',
        reason: 'These queues are the dead-letter queues of the functions; a dead-letter queue of a dead-letter queue would never be read.',
      },
    ]);
  }

  private parameterArn(name: string): string {
    return `arn:${this.partition}:ssm:${this.region}:${this.account}:parameter${name}`;
  }

  private rustFunction(
    id: string,
    binary: string,
    options: {
      description: string;
      memorySize: number;
      timeout: Duration;
      environment: Record<string, string>;
      asynchronous: boolean;
    } & Pick<lambda.FunctionProps, 'vpc' | 'vpcSubnets' | 'securityGroups' | 'reservedConcurrentExecutions'>,
  ): lambda.Function {
    const name = `warden-${binary}`;
    const logGroup = new logs.LogGroup(this, `${id}Logs`, {
      logGroupName: `/aws/lambda/${name}`,
      retention: this.settings.logRetentionDays as logs.RetentionDays,
      encryptionKey: this.key,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const role = new iam.Role(this, `${id}Role`, {
      roleName: name,
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${name}: only the calls its code makes`,
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        // The log group's ARN as CloudFormation returns it ends in `:*`, which covers its streams.
        resources: [logGroup.logGroupArn],
      }),
    );
    let deadLetterQueue: sqs.Queue | undefined;
    if (options.asynchronous) {
      deadLetterQueue = new sqs.Queue(this, `${id}DeadLetters`, {
        queueName: `${name}-dlq`,
        encryption: sqs.QueueEncryption.KMS,
        encryptionMasterKey: this.key,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      });
      this.deadLetterQueues.push(deadLetterQueue);
    }
    if (options.vpc) {
      // What the Lambda service does on the function's behalf to attach it to the VPC.
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'AttachToTheOllamaVpc',
          actions: [
            'ec2:CreateNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DeleteNetworkInterface',
            'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses',
          ],
          resources: ['*'],
        }),
      );
    }
    return new RustFunction(this, id, {
      functionName: name,
      manifestPath: WORKSPACE_MANIFEST,
      binaryName: binary,
      architecture: lambda.Architecture.ARM_64,
      bundling: { architecture: lambda.Architecture.ARM_64, cargoLambdaFlags: ['--locked'] },
      description: options.description,
      memorySize: options.memorySize,
      timeout: options.timeout,
      role,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      environment: { RUST_LOG: 'info', ...options.environment },
      environmentEncryption: this.key,
      deadLetterQueue,
      retryAttempts: options.asynchronous ? 2 : undefined,
      maxEventAge: options.asynchronous ? Duration.hours(6) : undefined,
      vpc: options.vpc,
      vpcSubnets: options.vpcSubnets,
      securityGroups: options.securityGroups,
      reservedConcurrentExecutions: options.reservedConcurrentExecutions,
    });
  }

  private allow(fn: lambda.Function, sid: string, actions: string[], resources: string[], conditions?: Record<string, unknown>) {
    fn.addToRolePolicy(new iam.PolicyStatement({ sid, actions, resources, conditions }));
  }

  /** The customer-managed keys behind the table and the topic. */
  private allowKeyUse(fn: lambda.Function, tableKey: kms.IKey, topic?: sns.ITopic) {
    this.allow(fn, 'UseTableKey', ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'], [tableKey.keyArn], {
      StringEquals: { 'kms:ViaService': `dynamodb.${this.region}.amazonaws.com` },
    });
    if (topic?.masterKey) {
      this.allow(fn, 'UseTopicKey', ['kms:Decrypt', 'kms:GenerateDataKey'], [topic.masterKey.keyArn], {
        StringEquals: { 'kms:ViaService': `sns.${this.region}.amazonaws.com` },
      });
    }
  }

  /** EC2, Auto Scaling, ELBv2: exposure fixes (remediator only) and isolation/release (both). */
  private grantRemediation(fn: lambda.Function, options: { exposure: boolean }) {
    const ec2Arn = (type: string) => `arn:${this.partition}:ec2:${this.region}:${this.account}:${type}/*`;
    this.allow(fn, 'ReadCompute', [
      'ec2:DescribeInstances', 'ec2:DescribeNetworkInterfaces', 'ec2:DescribeSecurityGroups',
      'ec2:DescribeIamInstanceProfileAssociations',
      'autoscaling:DescribeAutoScalingInstances', 'elasticloadbalancing:DescribeTargetGroups',
      'elasticloadbalancing:DescribeTargetHealth',
    ], ['*']);
    if (options.exposure) {
      // Revoke world-open ingress; an exact undo re-authorizes what was revoked.
      this.allow(fn, 'ReadSecurityGroupRules', ['ec2:DescribeSecurityGroupRules'], ['*']);
      // Prefix lists count with their entries (customer- and AWS-managed lists).
      this.allow(fn, 'ReadPrefixLists', ['ec2:GetManagedPrefixListEntries'], [
        `arn:${this.partition}:ec2:${this.region}:*:prefix-list/*`,
      ]);
      this.allow(fn, 'FixExposedSecurityGroups', ['ec2:RevokeSecurityGroupIngress', 'ec2:AuthorizeSecurityGroupIngress'], [ec2Arn('security-group')]);
    }
    // Isolation groups are created tagged, and only groups with Warden's tag are edited.
    this.allow(fn, 'CreateIsolationGroups', ['ec2:CreateSecurityGroup'], [ec2Arn('security-group')], {
      StringEquals: { [`aws:RequestTag/${ISOLATION_GROUP_TAG}`]: ['untrack', 'quarantine'] },
    });
    this.allow(fn, 'CreateIsolationGroupsInVpc', ['ec2:CreateSecurityGroup'], [ec2Arn('vpc')]);
    this.allow(fn, 'EditIsolationGroups', [
      'ec2:AuthorizeSecurityGroupEgress', 'ec2:RevokeSecurityGroupEgress', 'ec2:AuthorizeSecurityGroupIngress',
    ], [ec2Arn('security-group')], {
      StringEquals: { [`aws:ResourceTag/${ISOLATION_GROUP_TAG}`]: ['untrack', 'quarantine'] },
    });
    this.allow(fn, 'TagOnCreate', ['ec2:CreateTags'], [ec2Arn('security-group'), `arn:${this.partition}:ec2:${this.region}::snapshot/*`], {
      StringEquals: { 'ec2:CreateAction': ['CreateSecurityGroup', 'CreateSnapshots'] },
    });
    // Tags are written on instances only (warden:status, warden:incident): a CreateTags on a
    // group would let the function mark any group as its own and then edit it.
    this.allow(fn, 'TagIsolatedInstances', ['ec2:CreateTags'], [ec2Arn('instance')], {
      'ForAllValues:StringLike': { 'aws:TagKeys': ['warden:*'] },
      StringEquals: { [`aws:ResourceTag/${this.settings.fleetTag.key}`]: this.settings.fleetTag.value },
    });
    // Instance and interface changes only on the fleet: resources carrying the fleet tag (its
    // launch template tags instances and their interfaces). The groups and addresses swapped in
    // and out are named at run time; without an instance or interface of the fleet no call can
    // use them.
    const fleet = { StringEquals: { [`aws:ResourceTag/${this.settings.fleetTag.key}`]: this.settings.fleetTag.value } };
    this.allow(fn, 'IsolateFleetInstances', [
      'ec2:ModifyInstanceAttribute', 'ec2:ModifyNetworkInterfaceAttribute',
      'ec2:AssociateIamInstanceProfile', 'ec2:DisassociateIamInstanceProfile', 'ec2:ReplaceIamInstanceProfileAssociation',
      'ec2:AssociateAddress', 'ec2:DisassociateAddress',
    ], [ec2Arn('instance'), ec2Arn('network-interface')], fleet);
    this.allow(fn, 'SwapGroupsAndAddresses', [
      'ec2:ModifyInstanceAttribute', 'ec2:ModifyNetworkInterfaceAttribute', 'ec2:AssociateAddress', 'ec2:DisassociateAddress',
    ], [ec2Arn('security-group'), ec2Arn('elastic-ip')]);
    this.allow(fn, 'SnapshotFleetEvidence', ['ec2:CreateSnapshots'], [ec2Arn('instance')], fleet);
    this.allow(fn, 'SnapshotEvidence', ['ec2:CreateSnapshots'], [
      ec2Arn('volume'), `arn:${this.partition}:ec2:${this.region}::snapshot/*`,
    ]);
    this.allow(fn, 'TakeOutOfService', [
      'autoscaling:EnterStandby', 'autoscaling:ExitStandby', 'autoscaling:DetachInstances', 'autoscaling:AttachInstances',
    ], [`arn:${this.partition}:autoscaling:${this.region}:${this.account}:autoScalingGroup:*:autoScalingGroupName/*`]);
    this.allow(fn, 'DrainFromTargetGroups', ['elasticloadbalancing:DeregisterTargets', 'elasticloadbalancing:RegisterTargets'], [
      `arn:${this.partition}:elasticloadbalancing:${this.region}:${this.account}:targetgroup/*/*`,
    ]);
  }
}
