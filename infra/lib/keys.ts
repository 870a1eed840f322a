// Customer-managed KMS keys: rotated, kept when a stack is deleted (data encrypted with them
// outlives the stack), and no grants except those AWS services create for their own resources.
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';

export function wardenKey(scope: Construct, id: string, alias: string, description: string): kms.Key {
  const key = new kms.Key(scope, id, {
    alias,
    description,
    enableKeyRotation: true,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'GrantsOnlyForAwsServices',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['kms:CreateGrant'],
      resources: ['*'],
      conditions: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
    }),
  );
  return key;
}

/** Let CloudWatch Logs use the key for the log groups whose names match `namePattern`. */
export function allowLogGroups(key: kms.Key, sid: string, namePattern: string): void {
  const stack = Stack.of(key);
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid,
      principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
      resources: ['*'],
      conditions: {
        ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:${namePattern}` },
      },
    }),
  );
}

/** Let AWS services of this account (alarms, EventBridge) write to what the key encrypts. */
export function allowServicesToEncrypt(key: kms.Key, sid: string, services: string[]): void {
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid,
      principals: services.map((s) => new iam.ServicePrincipal(s)),
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
      conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(key).account } },
    }),
  );
}
