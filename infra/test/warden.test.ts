// Assertions on the synthesized templates: least privilege per function (exact action sets),
// encryption, retention, PITR, TLS, wiring, and cdk-nag with no unacknowledged finding.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CfnElement, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CUSTOM_CONFIG_RULES } from '../lib/wiring-stack';
import { readSettings, SettingsError } from '../lib/settings';
import { testApp } from './app';

const { app, warden } = testApp();
const template = (stack: Stack) => Template.fromStack(stack);
const functions = template(warden.functions);

/** Every action any policy attached to the function's role allows. */
function actionsOf(fn: lambda.Function): string[] {
  const roleId = warden.functions.getLogicalId(fn.role!.node.defaultChild as CfnElement);
  const actions = new Set<string>();
  for (const policy of Object.values<any>(functions.findResources('AWS::IAM::Policy'))) {
    if (!policy.Properties.Roles.some((r: any) => r.Ref === roleId)) continue;
    for (const statement of policy.Properties.PolicyDocument.Statement) {
      assert.equal(statement.Effect, 'Allow');
      for (const action of [statement.Action].flat()) actions.add(action);
    }
  }
  return [...actions].sort();
}

const LOGS = ['logs:CreateLogStream', 'logs:PutLogEvents'];
const TABLE_KEY = ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'];
const ISOLATION = [
  'autoscaling:AttachInstances', 'autoscaling:DescribeAutoScalingInstances', 'autoscaling:DetachInstances',
  'autoscaling:EnterStandby', 'autoscaling:ExitStandby',
  'ec2:AssociateAddress', 'ec2:AssociateIamInstanceProfile', 'ec2:AuthorizeSecurityGroupEgress',
  'ec2:AuthorizeSecurityGroupIngress', 'ec2:CreateSecurityGroup', 'ec2:CreateSnapshots', 'ec2:CreateTags',
  'ec2:DescribeIamInstanceProfileAssociations', 'ec2:DescribeInstances', 'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSecurityGroups', 'ec2:DisassociateAddress', 'ec2:DisassociateIamInstanceProfile',
  'ec2:ModifyInstanceAttribute', 'ec2:ModifyNetworkInterfaceAttribute', 'ec2:ReplaceIamInstanceProfileAssociation',
  'ec2:RevokeSecurityGroupEgress',
  'elasticloadbalancing:DeregisterTargets', 'elasticloadbalancing:DescribeTargetGroups',
  'elasticloadbalancing:DescribeTargetHealth', 'elasticloadbalancing:RegisterTargets',
];
const APPROVALS_AND_STATE = [
  'apigateway:PATCH', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query',
  'dynamodb:UpdateItem', 'iam:PassRole', 'sns:Publish', 'sqs:SendMessage', 'ssm:GetParameter',
];
const sorted = (...lists: string[][]) => [...new Set(lists.flat())].sort();

describe('each function role holds exactly the actions its code calls', () => {
  test('remediator: exposure fixes, isolation, suspensions, approvals', () => {
    assert.deepEqual(
      actionsOf(warden.functions.remediator),
      sorted(LOGS, TABLE_KEY, ISOLATION, APPROVALS_AND_STATE, [
        'ec2:DescribeSecurityGroupRules', 'ec2:GetManagedPrefixListEntries', 'ec2:RevokeSecurityGroupIngress',
      ]),
    );
  });
  test('approvals: runs approved isolation/release and suspension decisions, never revokes ingress', () => {
    const actions = actionsOf(warden.functions.approvals);
    assert.deepEqual(actions, sorted(LOGS, TABLE_KEY, ISOLATION, APPROVALS_AND_STATE));
    assert.ok(!actions.includes('ec2:RevokeSecurityGroupIngress'));
  });
  test('config-rules: evaluations, inventory reads, evidence', () => {
    assert.deepEqual(
      actionsOf(warden.functions.configRules),
      sorted(LOGS, TABLE_KEY, [
        'cloudtrail:DescribeTrails', 'cloudtrail:GetTrailStatus', 'config:GetResourceConfigHistory', 'config:PutEvaluations',
        'dynamodb:BatchWriteItem', 'dynamodb:Query', 'ec2:DescribeInstances', 'ec2:DescribeSecurityGroups',
        'ec2:DescribeVolumes', 'sqs:SendMessage',
      ]),
    );
  });
  test('request-validator: registry, restrictions, quota and offence counters, VPC attachment', () => {
    assert.deepEqual(
      actionsOf(warden.functions.requestValidator),
      sorted(LOGS, TABLE_KEY, [
        'dynamodb:Query', 'dynamodb:UpdateItem', 'ec2:AssignPrivateIpAddresses', 'ec2:CreateNetworkInterface',
        'ec2:DeleteNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:UnassignPrivateIpAddresses',
      ]),
    );
  });
  test('table access of the validator and config-rules is limited to their partition keys', () => {
    functions.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          // Reads the registry and restrictions; writes its counters only (never the registry,
          // never a suspension).
          Match.objectLike({
            Action: 'dynamodb:Query',
            Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['REGISTRY', 'RESTRICTIONS'] } },
          }),
          Match.objectLike({
            Action: 'dynamodb:UpdateItem',
            Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['QUOTA#*', 'OFFENCES#*'] } },
          }),
        ]),
      },
    });
    functions.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['dynamodb:BatchWriteItem', 'dynamodb:Query'],
            Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['EVIDENCE#*', 'COMPLIANCE#*', 'REGISTRY'] } },
          }),
        ]),
      },
    });
  });
  test('isolation groups are edited only when they carry the warden:role tag; no role has a managed policy', () => {
    functions.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'EditIsolationGroups',
            Condition: { StringEquals: { 'aws:ResourceTag/warden:role': ['untrack', 'quarantine'] } },
          }),
        ]),
      },
    });
    for (const role of Object.values<any>(functions.findResources('AWS::IAM::Role'))) {
      assert.equal(role.Properties.ManagedPolicyArns, undefined, 'no AWS managed policies on Warden roles');
    }
    // Tagging a group is the only way to make it an isolation group: groups are tagged only as
    // they are created, existing instances only with warden:* keys.
    const tagging = Object.values<any>(functions.findResources('AWS::IAM::Policy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement)
      .filter((st: any) => [st.Action].flat().includes('ec2:CreateTags'));
    assert.ok(tagging.length >= 2, 'both tagging statements found');
    for (const st of tagging) {
      const resources = JSON.stringify(st.Resource);
      if (resources.includes('security-group')) {
        assert.deepEqual(st.Condition, { StringEquals: { 'ec2:CreateAction': ['CreateSecurityGroup', 'CreateSnapshots'] } }, resources);
      } else {
        assert.match(resources, /:instance\//);
        assert.deepEqual(st.Condition, {
          'ForAllValues:StringLike': { 'aws:TagKeys': ['warden:*'] },
          StringEquals: { 'aws:ResourceTag/Service': 'Ollama' },
        });
      }
    }
    // Instances and interfaces are changed only when they carry the fleet tag: every statement
    // that names them, for an action that changes something, carries the condition.
    const statements = Object.values<any>(functions.findResources('AWS::IAM::Policy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement);
    const onFleet = statements.filter((st: any) => /:(instance|network-interface)\//.test(JSON.stringify(st.Resource)));
    assert.ok(onFleet.length >= 4, 'isolation, snapshot and tag statements, for both functions');
    for (const st of onFleet) {
      assert.equal(st.Condition?.StringEquals?.['aws:ResourceTag/Service'], 'Ollama', `${st.Sid} is conditioned on the fleet tag`);
      assert.ok(!/:(security-group|elastic-ip|volume)\//.test(JSON.stringify(st.Resource)), `${st.Sid}: one resource kind per condition`);
    }
    assert.ok(
      onFleet.some((st: any) => [st.Action].flat().includes('ec2:ModifyNetworkInterfaceAttribute')),
      'interface group swaps are on fleet interfaces',
    );
    // The quarantine role grants nothing at all.
    const quarantine = functions.findResources('AWS::IAM::Role', { Properties: { RoleName: 'warden-quarantine' } });
    const quarantineId = Object.keys(quarantine)[0];
    assert.ok(quarantineId);
    assert.ok(!JSON.stringify(functions.findResources('AWS::IAM::Policy')).includes(`"Ref":"${quarantineId}"`));
  });
});

describe('who can make Warden act', () => {
  test('deciding takes signing in: the approvals function knows the provider and the approvers; the remediator does not', () => {
    const byDescription = (re: string) =>
      Object.values<any>(functions.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp(re) } }))[0]
        .Properties.Environment.Variables;
    const approvals = byDescription('signed-in approver');
    assert.equal(approvals.WARDEN_OIDC_ISSUER, 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_EXAMPLE');
    assert.equal(approvals.WARDEN_OIDC_CLIENT_ID, 'replace-with-your-client-id');
    assert.deepEqual(JSON.parse(approvals.WARDEN_APPROVERS), { '*': ['secops-lead@example.com'] });
    assert.equal(byDescription('Revokes world-open').WARDEN_APPROVERS, undefined);
    // A confidential client: the secret is read from its SecureString, by the approvals function only.
    const { warden: confidential } = testApp({ 'warden:oidcClientSecretParameter': '/warden/oidc-client-secret' });
    const t = template(confidential.functions);
    const reads = Object.values<any>(t.findResources('AWS::IAM::Policy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement)
      .filter((st: any) => st.Sid === 'ReadSignInClientSecret');
    assert.equal(reads.length, 1);
    assert.match(JSON.stringify(reads[0].Resource), /parameter\/warden\/oidc-client-secret/);
  });
  test("undo and release requests are heard only on Warden's own bus, which only the operator roles may put to", () => {
    const wiring = template(warden.wiring);
    const rules = Object.values<any>(wiring.findResources('AWS::Events::Rule'));
    const requests = rules.filter((r) => JSON.stringify(r.Properties.EventPattern ?? {}).includes('Warden Undo Request'));
    assert.equal(requests.length, 1);
    assert.ok(requests[0].Properties.EventBusName, 'not on the default bus');
    for (const r of rules.filter((r) => r !== requests[0])) {
      assert.ok(!JSON.stringify(r.Properties.EventPattern ?? {}).includes('"warden"'), 'no rule on the default bus hears source warden');
    }
    const policy = Object.values<any>(wiring.findResources('AWS::Events::EventBusPolicy'))[0];
    const statement = policy.Properties.Statement;
    assert.equal(statement.Effect, 'Deny');
    assert.equal(statement.Action, 'events:PutEvents');
    assert.equal(statement.Condition, undefined, 'no operators listed: nobody may ask');
    const operator = 'arn:aws:iam::123456789012:role/secops-operator';
    const { warden: withOperators } = testApp({ 'warden:operatorRoleArns': [operator] });
    const open = Object.values<any>(template(withOperators.wiring).findResources('AWS::Events::EventBusPolicy'))[0];
    assert.deepEqual(open.Properties.Statement.Condition, { ArnNotLike: { 'aws:PrincipalArn': [operator] } });
    // The remediator admits the same roles, as STS proves the signer of each request.
    const remediatorEnv = (t: Template) =>
      Object.values<any>(
        t.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('Revokes world-open') } }),
      )[0].Properties.Environment.Variables;
    assert.equal(remediatorEnv(functions).WARDEN_OPERATORS, '');
    assert.equal(remediatorEnv(template(withOperators.functions)).WARDEN_OPERATORS, operator);
    // What an operator role is given to ask: the bus, and the outcome items; nothing in EC2.
    const operatorPolicy = Object.values<any>(wiring.findResources('AWS::IAM::ManagedPolicy')).find(
      (p) => p.Properties.ManagedPolicyName === 'warden-operator-requests',
    );
    assert.ok(operatorPolicy, 'a managed policy for operator roles');
    const granted = operatorPolicy.Properties.PolicyDocument.Statement;
    assert.deepEqual(granted.map((st: any) => st.Action).sort(), ['dynamodb:GetItem', 'events:PutEvents', 'kms:Decrypt']);
    const read = granted.find((st: any) => st.Action === 'dynamodb:GetItem');
    assert.deepEqual(read.Condition, { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['REQUEST#*'] } });
    assert.ok(granted.every((st: any) => st.Effect === 'Allow' && !JSON.stringify(st.Resource).includes('"*"')), 'no wildcard resource');
  });
  test('only CloudFormation and named principals may subscribe to the topic', () => {
    const policies = Object.values<any>(template(warden.notifications).findResources('AWS::SNS::TopicPolicy'));
    const deny = policies.flatMap((p) => p.Properties.PolicyDocument.Statement).find((st: any) => st.Sid === 'SubscribeOnlyNamedPrincipals');
    assert.ok(deny, 'a statement restricts Subscribe');
    assert.equal(deny.Effect, 'Deny');
    assert.equal(deny.Principal.AWS, '*');
    assert.equal(deny.Action, 'sns:Subscribe');
    assert.match(JSON.stringify(deny.Condition.ArnNotLike['aws:PrincipalArn']), /cdk-\*-cfn-exec-role-\*/);
  });
  test('the remediator trusts exactly the alarms the monitoring stack creates to act on, and the listed ones', () => {
    const env = functions.findResources('AWS::Lambda::Function', {
      Properties: { Description: Match.stringLikeRegexp('Revokes world-open') },
    });
    const variables = Object.values<any>(env)[0].Properties.Environment.Variables;
    const trusted: string = JSON.stringify(variables.WARDEN_TRUSTED_ALARMS);
    const created = Object.values<any>(template(warden.monitoring).findResources('AWS::CloudWatch::Alarm'))
      .map((a) => a.Properties.AlarmName as string);
    const actedOn = created.filter((n) => n.startsWith('ollama-') || n.startsWith('llm-'));
    assert.ok(actedOn.length >= 3, `${actedOn}`);
    for (const name of actedOn) assert.ok(trusted.includes(`:alarm:${name}"`) || trusted.includes(`:alarm:${name},`), `${name} is trusted`);
    for (const name of created.filter((n) => n.startsWith('warden-'))) {
      assert.ok(!trusted.includes(`:alarm:${name}`), `${name} goes to people, not to the remediator`);
    }
    assert.ok(!trusted.includes('*'), 'no prefix is trusted unless the operator lists one');
  });
});

describe('encryption, retention, recovery, TLS', () => {
  test('the table: customer-managed key, point-in-time recovery, TTL, deletion protection, retained', () => {
    template(warden.state).hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: {
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
        SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: Match.anyValue() },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
        DeletionProtectionEnabled: true,
      },
    });
  });
  test('every key rotates and refuses grants not made for AWS resources', () => {
    for (const stack of [warden.state, warden.notifications, warden.functions, warden.wiring, warden.api, warden.pipeline!]) {
      const keys = template(stack).findResources('AWS::KMS::Key');
      assert.ok(Object.keys(keys).length > 0, `${stack.stackName} has a key`);
      for (const key of Object.values<any>(keys)) {
        assert.equal(key.Properties.EnableKeyRotation, true);
        assert.ok(key.Properties.KeyPolicy.Statement.some((s: any) => s.Effect === 'Deny' && s.Action === 'kms:CreateGrant'));
      }
    }
  });
  test('the topic: encrypted, TLS only, and its key lets CloudWatch and EventBridge publish', () => {
    const t = template(warden.notifications);
    t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    t.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    t.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: ['cloudwatch.amazonaws.com', 'events.amazonaws.com'] },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
  });
  test('approval emails subscribe from context', () => {
    const { warden: w } = testApp({ 'warden:approvalEmails': ['secops@example.com', 'oncall@example.com'] });
    template(w.notifications).resourceCountIs('AWS::SNS::Subscription', 2);
    template(w.notifications).hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'secops@example.com' });
  });
  test('every log group has retention and a customer-managed key', () => {
    for (const stack of [warden.functions, warden.api, warden.pipeline!]) {
      for (const group of Object.values<any>(template(stack).findResources('AWS::Logs::LogGroup'))) {
        assert.equal(group.Properties.RetentionInDays, 365);
        assert.ok(group.Properties.KmsKeyId, 'log group encrypted');
      }
    }
  });
  test('functions: provided.al2023 on arm64, JSON logs, encrypted environment; asynchronous ones have DLQs', () => {
    const fns = functions.findResources('AWS::Lambda::Function');
    assert.equal(Object.keys(fns).length, 4);
    for (const fn of Object.values<any>(fns)) {
      assert.equal(fn.Properties.Runtime, 'provided.al2023');
      assert.deepEqual(fn.Properties.Architectures, ['arm64']);
      assert.equal(fn.Properties.LoggingConfig.LogFormat, 'JSON');
      assert.ok(fn.Properties.KmsKeyArn);
      const asynchronous = fn.Properties.FunctionName !== 'warden-request-validator';
      assert.equal(Boolean(fn.Properties.DeadLetterConfig), asynchronous, fn.Properties.FunctionName);
    }
    functions.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'warden-request-validator',
      VpcConfig: { SubnetIds: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'] },
      // The caller is read from the IAM identity alone, and only this account's events count.
      Environment: { Variables: Match.objectLike({ WARDEN_IDENTITY_SOURCE: 'iam', WARDEN_API_ACCOUNT_ID: { Ref: 'AWS::AccountId' } }) },
    });
    // Isolation acts on the Ollama fleet only, in both functions that isolate.
    for (const name of ['warden-remediator', 'warden-approvals']) {
      functions.hasResourceProperties('AWS::Lambda::Function', {
        FunctionName: name,
        Environment: { Variables: Match.objectLike({ WARDEN_FLEET_TAG: 'Service=Ollama', WARDEN_FLEET_ASGS: 'ollama-gpu' }) },
      });
    }
    // A stream may last as long as its integration waits; Ollama's exchange ends 10 s sooner so
    // the validator, not the platform, ends an answer that runs long.
    functions.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'warden-request-validator',
      Timeout: 300,
      Environment: { Variables: Match.objectLike({ WARDEN_OLLAMA_TIMEOUT_SECONDS: '290', WARDEN_RESPONSE_MODE: 'stream' }) },
    });
    // Room for the remediator and approvals whatever the validator is doing; the validator capped.
    const reserved = Object.fromEntries(
      Object.values<any>(fns).map((fn) => [fn.Properties.FunctionName, fn.Properties.ReservedConcurrentExecutions]),
    );
    assert.deepEqual(reserved, {
      'warden-remediator': 10, 'warden-approvals': 5, 'warden-request-validator': 200, 'warden-config-rules': undefined,
    });
    for (const queue of Object.values<any>(functions.findResources('AWS::SQS::Queue'))) {
      assert.ok(queue.Properties.KmsMasterKeyId);
    }
  });
  test('the API: TLS 1.2+, IAM auth and API keys, validated bodies, logs, throttling, WAF', () => {
    const t = template(warden.api);
    t.hasResourceProperties('AWS::ApiGateway::RestApi', {
      SecurityPolicy: 'SecurityPolicy_TLS13_1_2_PQ_2025_09',
      EndpointAccessMode: 'STRICT',
    });
    const methods = Object.values<any>(t.findResources('AWS::ApiGateway::Method'));
    // chat, generate, embed, embeddings, show and the three OpenAI POST routes; tags, version and
    // /v1/models by GET; nothing else.
    assert.deepEqual(methods.map((m) => m.Properties.HttpMethod).sort(), [...Array(3).fill('GET'), ...Array(8).fill('POST')]);
    for (const m of methods) {
      assert.equal(m.Properties.AuthorizationType, 'AWS_IAM');
      assert.equal(m.Properties.ApiKeyRequired, true);
      assert.ok(m.Properties.RequestValidatorId);
      // Streamed through: Lambda's InvokeWithResponseStream, for as long as the function may run.
      assert.equal(m.Properties.Integration.ResponseTransferMode, 'STREAM');
      assert.equal(m.Properties.Integration.TimeoutInMillis, 300_000);
      assert.match(JSON.stringify(m.Properties.Integration.Uri), /response-streaming-invocations/);
    }
    t.hasResourceProperties('AWS::ApiGateway::Stage', {
      AccessLogSetting: { DestinationArn: Match.anyValue() },
      MethodSettings: [Match.objectLike({ LoggingLevel: 'ERROR', DataTraceEnabled: false, ThrottlingRateLimit: 50 })],
    });
    t.hasResourceProperties('AWS::ApiGateway::UsagePlan', { Throttle: { RateLimit: 10, BurstLimit: 20 } });
    const acl = Object.values<any>(t.findResources('AWS::WAFv2::WebACL'))[0];
    const groups = acl.Properties.Rules.map((r: any) => r.Statement.ManagedRuleGroupStatement?.Name).filter(Boolean);
    assert.deepEqual(groups, ['AWSManagedRulesAmazonIpReputationList', 'AWSManagedRulesKnownBadInputsRuleSet', 'AWSManagedRulesCommonRuleSet']);
    t.resourceCountIs('AWS::WAFv2::WebACLAssociation', 1);
    t.resourceCountIs('AWS::WAFv2::LoggingConfiguration', 1);
  });
});

describe('wiring and monitoring', () => {
  test('every EventBridge target retries and has a dead-letter queue', () => {
    const rules = Object.values<any>(template(warden.wiring).findResources('AWS::Events::Rule'));
    assert.equal(rules.length, 7);
    for (const rule of rules) {
      for (const target of rule.Properties.Targets) {
        assert.ok(target.DeadLetterConfig?.Arn, rule.Properties.Name);
        assert.equal(target.RetryPolicy.MaximumRetryAttempts, 8);
      }
    }
  });
  test('a CUSTOM_LAMBDA Config rule for every rule the config-rules function implements', () => {
    const rules = Object.values<any>(template(warden.wiring).findResources('AWS::Config::ConfigRule'));
    const custom = rules.filter((r) => r.Properties.Source.Owner === 'CUSTOM_LAMBDA').map((r) => r.Properties.ConfigRuleName).sort();
    assert.deepEqual(custom, CUSTOM_CONFIG_RULES.map((r) => `warden-${r.id}`).sort());
    assert.equal(custom.length, 7);
    const periodic = rules.find((r) => r.Properties.ConfigRuleName === 'warden-cloudtrail-on');
    assert.deepEqual(periodic.Properties.Source.SourceDetails.map((d: any) => d.MessageType), ['ScheduledNotification']);
  });
  test('alarms: GPU anomaly, prompt injection and auth failures (fleet and per caller) act; errors and DLQs page', () => {
    const t = template(warden.monitoring);
    const alarms = Object.values<any>(t.findResources('AWS::CloudWatch::Alarm'));
    const names = alarms.map((a) => a.Properties.AlarmName).sort();
    for (const name of [
      'ollama-gpu-utilization-anomaly-ollama-gpu', 'llm-prompt-injection-fleet', 'llm-auth-failures-fleet',
      'llm-prompt-injection-team-web', 'llm-auth-failures-team-web', 'warden-remediator-errors',
      'warden-request-validator-errors', 'warden-remediator-dead-letters-not-empty', 'warden-undelivered-events-not-empty',
    ]) {
      assert.ok(names.includes(name), `${name} in ${names}`);
    }
    for (const alarm of alarms) assert.equal(alarm.Properties.AlarmActions.length, 1, 'every alarm notifies the topic');
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'llm-prompt-injection-team-web',
      Namespace: 'Custom/LLM',
      MetricName: 'PromptInjectionAttempts',
      Dimensions: [{ Name: 'Caller', Value: 'team-web' }],
    });
    const body = JSON.stringify(t.findResources('AWS::CloudWatch::Dashboard'));
    for (const part of ['AuthFailures', 'PromptInjectionAttempts', 'nvidia_smi_utilization_gpu', 'CPUUtilization', 'SECURITY_WARNING']) {
      assert.ok(body.includes(part), `dashboard shows ${part}`);
    }
  });
  test('the pipeline: source, checks, approval by the topic, deploy, compliance validation', () => {
    const pipeline = Object.values<any>(template(warden.pipeline!).findResources('AWS::CodePipeline::Pipeline'))[0];
    assert.deepEqual(pipeline.Properties.Stages.map((s: any) => s.Name), ['Source', 'LintAndScan', 'Approve', 'Deploy', 'Validate']);
    const approve = pipeline.Properties.Stages[2].Actions[0];
    assert.equal(approve.ActionTypeId.Category, 'Approval');
    assert.ok(approve.Configuration.NotificationArn);
  });
  test('without a connection ARN there is no pipeline stack', () => {
    const { warden: w } = testApp({ 'warden:codestarConnectionArn': undefined });
    assert.equal(w.pipeline, undefined);
  });
});

describe('checks', () => {
  test('cdk-nag AwsSolutions: no unacknowledged finding in any stack', () => {
    for (const stack of app.node.children.filter((c): c is Stack => 'templateOptions' in c)) {
      const report = new AwsSolutionsChecks().validateScope(stack);
      assert.deepEqual(report.violations.map((v) => `${v.ruleName} ${v.violatingResources.map((r) => r.constructPath)}`), [], stack.stackName);
    }
  });
  test('cdk-nag does flag what it should (the checks are live)', () => {
    const { app: bad } = testApp();
    const stack = bad.node.findChild('WardenFunctions') as Stack;
    const role = (stack.node.findChild('RemediatorRole') as any);
    role.addToPrincipalPolicy(new (require('aws-cdk-lib/aws-iam').PolicyStatement)({ actions: ['ec2:*'], resources: ['*'] }));
    const report = new AwsSolutionsChecks().validateScope(stack);
    assert.ok(report.violations.some((v) => v.ruleName === 'AwsSolutions-IAM5[Action::ec2:*]'));
  });
  test('settings refuse bad context with the key to fix', () => {
    const vpc = { vpcId: 'vpc-0123456789abcdef0', privateSubnetIds: ['subnet-0123456789abcdef0'], availabilityZones: ['us-east-1a'] };
    const signIn = {
      'warden:oidcIssuer': 'https://login.example.com',
      'warden:oidcClientId': 'warden',
      'warden:approvers': { '*': ['lead@example.com'] },
    };
    const node = (ctx: Record<string, unknown>) =>
      ({ tryGetContext: (k: string) => ({ 'warden:ollamaVpc': vpc, ...signIn, ...ctx })[k] }) as any;
    assert.equal(readSettings(node({})).ollamaVpc.vpcId, vpc.vpcId);
    assert.throws(() => readSettings(node({ 'warden:ollamaVpc': undefined })), /warden:ollamaVpc is required/);
    assert.throws(() => readSettings(node({ 'warden:approvalEmails': ['not-an-email'] })), SettingsError);
    assert.throws(() => readSettings(node({ 'warden:ollamaVpc': { vpcId: 'vpc-1' } })), /warden:ollamaVpc must be/);
    assert.throws(() => readSettings(node({ 'warden:codestarConnectionArn': 'arn:aws:s3:::bucket' })), /codestarConnectionArn/);
    assert.equal(readSettings(node({ 'warden:reservedConcurrency': { remediator: 20 } })).concurrency?.remediator, 20);
    assert.equal(readSettings(node({ 'warden:reservedConcurrency': false })).concurrency, undefined);
    assert.throws(() => readSettings(node({ 'warden:reservedConcurrency': { validator: 5 } })), /reservedConcurrency/);
    assert.throws(() => readSettings(node({ 'warden:reservedConcurrency': { approvals: 0 } })), /reservedConcurrency/);
    assert.deepEqual(readSettings(node({})).fleetTag, { key: 'Service', value: 'Ollama' });
    assert.deepEqual(readSettings(node({ 'warden:fleetTag': 'team=inference' })).fleetTag, { key: 'team', value: 'inference' });
    for (const bad of ['Service', 'aws:x=y', 'a=b=c']) {
      assert.throws(() => readSettings(node({ 'warden:fleetTag': bad })), /warden:fleetTag/);
    }
    for (const [key, bad] of [
      ['warden:oidcIssuer', 'http://login.example.com'],
      ['warden:oidcIssuer', undefined],
      ['warden:oidcClientId', undefined],
      ['warden:approvers', { isolat: ['a@b.co'] }],
      ['warden:approvers', { '*': ['not an email'] }],
      ['warden:approvers', { '*': [] }],
      ['warden:oidcClientSecretParameter', 'secret-itself'],
      ['warden:topicSubscriberArns', ['arn:aws:s3:::bucket']],
      ['warden:operatorRoleArns', ['arn:aws:iam::123456789012:user/alice']],
    ] as const) {
      assert.throws(() => readSettings(node({ [key]: bad })), new RegExp(key), `${key}=${JSON.stringify(bad)}`);
    }
    const mine = 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:ollama-node-*';
    assert.deepEqual(readSettings(node({ 'warden:trustedAlarmArns': [mine] })).trustedAlarmArns, [mine]);
    for (const bad of ['llm-my-alarm', 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:*-x', 'arn:aws:sns:us-east-1:123456789012:alarm:x']) {
      assert.throws(() => readSettings(node({ 'warden:trustedAlarmArns': [bad] })), /warden:trustedAlarmArns/);
    }
  });
});
