// Every Warden stack, wired together; the app and the tests build the same thing.
import { Annotations, type App, type StackProps } from 'aws-cdk-lib';
import { ApiStack } from './api-stack';
import { FunctionsStack } from './functions-stack';
import { MonitoringStack } from './monitoring-stack';
import { NotificationsStack } from './notifications-stack';
import { PipelineStack } from './pipeline-stack';
import { readSettings, type Settings } from './settings';
import { StateStack } from './state-stack';
import { WiringStack } from './wiring-stack';

export interface Warden {
  readonly settings: Settings;
  readonly state: StateStack;
  readonly notifications: NotificationsStack;
  readonly functions: FunctionsStack;
  readonly wiring: WiringStack;
  readonly api: ApiStack;
  readonly monitoring: MonitoringStack;
  readonly pipeline?: PipelineStack;
}

export function buildWarden(app: App): Warden {
  const settings = readSettings(app.node);
  // Environment-agnostic unless the deployer's account/region are known (cdk deploy sets them).
  const env: StackProps['env'] =
    process.env.CDK_DEFAULT_ACCOUNT && process.env.CDK_DEFAULT_REGION
      ? { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION }
      : undefined;
  const state = new StateStack(app, 'WardenState', { env, description: 'Warden: state table (DynamoDB, KMS)' });
  const notifications = new NotificationsStack(app, 'WardenNotifications', {
    env,
    description: 'Warden: approvals and alarms topic (SNS, KMS)',
    approvalEmails: settings.approvalEmails,
    topicSubscriberArns: settings.topicSubscriberArns,
  });
  const functions = new FunctionsStack(app, 'WardenFunctions', {
    env,
    description: 'Warden: the remediator, approvals, request validator and Config rules functions',
    settings,
    table: state.table,
    tableKey: state.key,
    topic: notifications.topic,
  });
  const wiring = new WiringStack(app, 'WardenWiring', {
    env,
    description: 'Warden: EventBridge rules and schedules, AWS Config rules',
    remediator: functions.remediator,
    approvals: functions.approvals,
    configRules: functions.configRules,
    operatorRoleArns: settings.operatorRoleArns,
    table: state.table,
    tableKey: state.key,
  });
  const api = new ApiStack(app, 'WardenApi', {
    env,
    description: 'Warden: API Gateway and WAF in front of the request validator and Ollama',
    requestValidator: functions.requestValidator,
    logRetentionDays: settings.logRetentionDays,
  });
  const monitoring = new MonitoringStack(app, 'WardenMonitoring', {
    env,
    description: 'Warden: alarms (routed to the remediator and the topic) and the dashboard',
    topic: notifications.topic,
    functions: [functions.remediator, functions.approvals, functions.requestValidator, functions.configRules],
    requestValidator: functions.requestValidator,
    remediator: functions.remediator,
    deadLetterQueues: [...functions.deadLetterQueues, wiring.undeliveredEvents],
    ollamaAutoScalingGroup: settings.ollamaAutoScalingGroup,
    watchedCallers: settings.watchedCallers,
  });
  let pipeline: PipelineStack | undefined;
  const connection = settings.codestarConnectionArn;
  if (connection) {
    pipeline = new PipelineStack(app, 'WardenPipeline', {
      env,
      description: 'Warden: the DevSecOps pipeline (source, checks, approval, deploy, compliance validation)',
      settings: { ...settings, codestarConnectionArn: connection },
      topic: notifications.topic,
    });
  } else {
    Annotations.of(app).addInfo('WardenPipeline is not synthesized: set -c warden:codestarConnectionArn=<connection ARN> to add it');
  }
  return { settings, state, notifications, functions, wiring, api, monitoring, pipeline };
}
