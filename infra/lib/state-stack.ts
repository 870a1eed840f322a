// State: the one DynamoDB table every function records to (single-table design, see README
// "DynamoDB layout"), encrypted with a customer-managed key, recoverable to any second of the
// last 35 days, protected from deletion.
import { RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { wardenKey } from './keys';

export class StateStack extends Stack {
  readonly table: dynamodb.Table;
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    this.key = wardenKey(this, 'TableKey', 'alias/warden-state', 'Warden state table (audit records, approvals, quotas, evidence)');
    this.table = new dynamodb.Table(this, 'Table', {
      tableName: 'warden',
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: 'ttl',
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
