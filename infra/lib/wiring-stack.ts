// Wiring: the EventBridge rules and schedules that invoke the functions (with retries and a
// dead-letter queue for events that could not be delivered), and the AWS Config rules — every
// custom rule the config-rules function implements, plus managed rules where one suffices.
import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as config from 'aws-cdk-lib/aws-config';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { APPROVAL_SCHEDULES, REMEDIATOR_SCHEDULES, REMEDIATOR_TRIGGERS, REQUESTS_BUS, type Schedule } from './event-patterns';
import * as iam from 'aws-cdk-lib/aws-iam';
import { allowServicesToEncrypt, wardenKey } from './keys';
import { acknowledge } from './nag';
import { kebab } from './names';

/** Tag that puts a resource in scope of the Ollama rules (the config-rules defaults). */
const OLLAMA_SCOPE = { key: 'Service', value: 'Ollama' };

/** The custom rules: id (the config-rules function's rule), what triggers it, its scope. */
export const CUSTOM_CONFIG_RULES: {
  id: string;
  description: string;
  resourceTypes: config.ResourceType[];
  periodic?: config.MaximumExecutionFrequency;
  scoped?: boolean;
  parameters?: Record<string, string>;
}[] = [
  {
    id: 'sensitive-ports-not-public',
    description: 'No security group opens the Ollama API (11434) or SSH (22) to 0.0.0.0/0 or ::/0',
    resourceTypes: [config.ResourceType.EC2_SECURITY_GROUP],
    parameters: { ports: '11434,22' },
  },
  {
    id: 'volumes-encrypted',
    description: 'EBS volumes of the Ollama fleet (tag Service=Ollama) are encrypted',
    resourceTypes: [config.ResourceType.EBS_VOLUME],
    scoped: true,
  },
  {
    id: 'api-tls',
    description: 'API Gateway custom domains in front of Ollama require TLS 1.2 or later',
    resourceTypes: [config.ResourceType.of('AWS::ApiGateway::DomainName'), config.ResourceType.of('AWS::ApiGatewayV2::DomainName')],
  },
  {
    id: 'cloudtrail-on',
    description: 'A multi-region CloudTrail trail is logging (evaluated every hour for the account)',
    resourceTypes: [],
    periodic: config.MaximumExecutionFrequency.ONE_HOUR,
  },
  {
    id: 'imdsv2-only',
    description: 'Ollama instances require IMDSv2 (session tokens) for instance metadata',
    resourceTypes: [config.ResourceType.EC2_INSTANCE],
    scoped: true,
    periodic: config.MaximumExecutionFrequency.TWENTY_FOUR_HOURS,
  },
  {
    id: 'no-public-address',
    description: 'Ollama instances have no public IP address',
    resourceTypes: [config.ResourceType.EC2_INSTANCE],
    scoped: true,
  },
  {
    id: 'approved-model',
    description: 'Ollama instances declare a model (tag ollama:model) that the model registry approves',
    resourceTypes: [config.ResourceType.EC2_INSTANCE],
    scoped: true,
  },
];

export interface WiringStackProps extends StackProps {
  readonly remediator: lambda.IFunction;
  readonly approvals: lambda.IFunction;
  readonly configRules: lambda.IFunction;
  /** The roles that may ask Warden for an undo or a release (put events on its own bus). */
  readonly operatorRoleArns: string[];
  /** The state table, where the remediator keeps each request's outcome for `warden` to read. */
  readonly table: dynamodb.ITable;
  readonly tableKey: kms.IKey;
}

export class WiringStack extends Stack {
  /** Events EventBridge could not deliver after its retries. */
  readonly undeliveredEvents: sqs.Queue;
  readonly rules: events.Rule[] = [];
  /** Warden's own bus: requests from the operator roles only. */
  readonly requestsBus: events.EventBus;
  /** What an operator role needs to ask with `warden undo` / `warden release`, and nothing more. */
  readonly operatorRequestsPolicy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: WiringStackProps) {
    super(scope, id, props);
    const key = wardenKey(this, 'EventsKey', 'alias/warden-events', 'Warden undelivered events queue');
    allowServicesToEncrypt(key, 'EventBridgeWritesUndeliveredEvents', ['events.amazonaws.com']);
    this.undeliveredEvents = new sqs.Queue(this, 'UndeliveredEvents', {
      queueName: 'warden-undelivered-events',
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(this.undeliveredEvents, [
      { id: 'AwsSolutions-SQS3', reason: 'This queue is the dead-letter queue of the EventBridge targets; nothing consumes it but an operator.' },
    ]);

    const target = (fn: lambda.IFunction) =>
      new targets.LambdaFunction(fn, {
        deadLetterQueue: this.undeliveredEvents,
        retryAttempts: 8,
        maxEventAge: Duration.hours(2),
      });

    // Requests to Warden (undo, release) arrive on its own bus, never the default one: anyone
    // with events:PutEvents on the default bus could otherwise ask. Its policy denies PutEvents
    // to every principal but the operator roles (none listed: nobody).
    this.requestsBus = new events.EventBus(this, 'RequestsBus', { eventBusName: REQUESTS_BUS });
    this.requestsBus.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'OnlyOperatorsAsk',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['events:PutEvents'],
        resources: [this.requestsBus.eventBusArn],
        conditions: props.operatorRoleArns.length > 0 ? { ArnNotLike: { 'aws:PrincipalArn': props.operatorRoleArns } } : undefined,
      }),
    );
    // Attach to each operator role: put a request on the bus, read back its outcome (the
    // REQUEST# items only). No EC2 permission at all: the remediator acts, with its own role.
    this.operatorRequestsPolicy = new iam.ManagedPolicy(this, 'OperatorRequestsPolicy', {
      managedPolicyName: 'warden-operator-requests',
      description: 'Ask Warden for an undo or a release (warden undo / warden release) and read its answer',
      statements: [
        new iam.PolicyStatement({ sid: 'AskOnWardenBus', actions: ['events:PutEvents'], resources: [this.requestsBus.eventBusArn] }),
        new iam.PolicyStatement({
          sid: 'ReadRequestOutcomes',
          actions: ['dynamodb:GetItem'],
          resources: [props.table.tableArn],
          conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['REQUEST#*'] } },
        }),
        new iam.PolicyStatement({
          sid: 'DecryptRequestOutcomes',
          actions: ['kms:Decrypt'],
          resources: [props.tableKey.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${this.region}.amazonaws.com` } },
        }),
      ],
    });
    new CfnOutput(this, 'OperatorRequestsPolicyArn', {
      value: this.operatorRequestsPolicy.managedPolicyArn,
      description: 'Attach to the roles in warden:operatorRoleArns',
    });
    for (const trigger of REMEDIATOR_TRIGGERS) {
      this.rules.push(
        new events.Rule(this, trigger.id, {
          ruleName: `warden-${kebab(trigger.id)}`,
          description: trigger.description,
          eventPattern: trigger.pattern as events.EventPattern,
          eventBus: trigger.onRequestsBus ? this.requestsBus : undefined,
          targets: [target(props.remediator)],
        }),
      );
    }
    const schedule = (s: Schedule, fn: lambda.IFunction) =>
      this.rules.push(
        new events.Rule(this, s.id, {
          ruleName: s.ruleName,
          description: s.description,
          schedule: events.Schedule.expression(s.expression),
          targets: [target(fn)],
        }),
      );
    REMEDIATOR_SCHEDULES.forEach((s) => schedule(s, props.remediator));
    APPROVAL_SCHEDULES.forEach((s) => schedule(s, props.approvals));

    // Referenced by ARN only: given the function itself, CustomRule would attach the broad managed
    // policy AWSConfigRulesExecutionRole to its role; the Functions stack grants exactly what it needs.
    const configRulesFunction = lambda.Function.fromFunctionAttributes(this, 'ConfigRulesFunction', {
      functionArn: props.configRules.functionArn,
      sameEnvironment: true,
    });
    for (const rule of CUSTOM_CONFIG_RULES) {
      const name = `warden-${rule.id}`;
      const changes = rule.resourceTypes.length > 0;
      new config.CustomRule(this, `Rule-${rule.id}`, {
        configRuleName: name,
        description: rule.description,
        lambdaFunction: configRulesFunction,
        configurationChanges: changes,
        periodic: rule.periodic !== undefined,
        maximumExecutionFrequency: rule.periodic,
        ruleScope: changes
          ? rule.scoped
            ? config.RuleScope.fromTag(OLLAMA_SCOPE.key, OLLAMA_SCOPE.value)
            : config.RuleScope.fromResources(rule.resourceTypes)
          : undefined,
        inputParameters: {
          rule: rule.id,
          ...(rule.scoped ? { tag_key: OLLAMA_SCOPE.key, tag_value: OLLAMA_SCOPE.value } : {}),
          ...rule.parameters,
        },
      });
    }

    // Managed rules: where AWS's own rule says the same, Warden does not re-implement it.
    new config.ManagedRule(this, 'RestrictedSsh', {
      configRuleName: 'warden-restricted-ssh',
      identifier: config.ManagedRuleIdentifiers.EC2_SECURITY_GROUPS_INCOMING_SSH_DISABLED,
      description: 'No security group allows SSH from anywhere (AWS managed rule)',
    });
    new config.ManagedRule(this, 'RestrictedCommonPorts', {
      configRuleName: 'warden-restricted-common-ports',
      identifier: config.ManagedRuleIdentifiers.EC2_SECURITY_GROUPS_RESTRICTED_INCOMING_TRAFFIC,
      description: 'No security group opens the Ollama API, RDP or databases to anywhere (AWS managed rule)',
      inputParameters: { blockedPort1: 11434, blockedPort2: 3389, blockedPort3: 3306, blockedPort4: 5432, blockedPort5: 6379 },
    });
    new config.ManagedRule(this, 'GuardDutyEnabled', {
      configRuleName: 'warden-guardduty-enabled',
      identifier: config.ManagedRuleIdentifiers.GUARDDUTY_ENABLED_CENTRALIZED,
      description: 'GuardDuty is on: the isolation findings come from it (AWS managed rule)',
      maximumExecutionFrequency: config.MaximumExecutionFrequency.TWENTY_FOUR_HOURS,
    });
    new config.ManagedRule(this, 'DynamoDbPitr', {
      configRuleName: 'warden-dynamodb-pitr-enabled',
      identifier: config.ManagedRuleIdentifiers.DYNAMODB_PITR_ENABLED,
      description: "Warden's audit table keeps point-in-time recovery (AWS managed rule)",
      ruleScope: config.RuleScope.fromResource(config.ResourceType.DYNAMODB_TABLE),
    });
    new config.ManagedRule(this, 'ApiExecutionLogging', {
      configRuleName: 'warden-api-gw-execution-logging',
      identifier: config.ManagedRuleIdentifiers.API_GW_EXECUTION_LOGGING_ENABLED,
      description: 'API Gateway stages in front of Ollama log execution (AWS managed rule)',
    });
  }
}
