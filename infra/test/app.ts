// The app the tests check: cdk.json's context (feature flags, defaults), no bundling, a pipeline.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { buildWarden, type Warden } from '../lib/warden';

export const EXAMPLE_CONNECTION = 'arn:aws:codeconnections:us-east-1:123456789012:connection/0c1d2e3f-0000-4000-8000-000000000000';

export function testApp(extra: Record<string, unknown> = {}): { app: App; warden: Warden } {
  const cdkJson = JSON.parse(readFileSync(path.join(__dirname, '..', 'cdk.json'), 'utf8'));
  const app = new App({
    context: {
      ...cdkJson.context,
      'aws:cdk:bundling-stacks': [],
      'warden:codestarConnectionArn': EXAMPLE_CONNECTION,
      'warden:watchedCallers': ['team-web'],
      ...extra,
    },
  });
  return { app, warden: buildWarden(app) };
}
