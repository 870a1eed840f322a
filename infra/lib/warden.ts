// Every Warden stack, wired together; the app and the tests build the same thing.
import type { App, StackProps } from 'aws-cdk-lib';
import { FunctionsStack } from './functions-stack';
import { NotificationsStack } from './notifications-stack';
import { readSettings, type Settings } from './settings';
import { StateStack } from './state-stack';

export interface Warden {
  readonly settings: Settings;
  readonly state: StateStack;
  readonly notifications: NotificationsStack;
  readonly functions: FunctionsStack;
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
  });
  const functions = new FunctionsStack(app, 'WardenFunctions', {
    env,
    description: 'Warden: the remediator, approvals, request validator and Config rules functions',
    settings,
    table: state.table,
    tableKey: state.key,
    topic: notifications.topic,
  });
  return { settings, state, notifications, functions };
}
