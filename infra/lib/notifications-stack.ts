// Notifications: the topic approval requests, escalations and alarms go to. Encrypted with a
// customer-managed key whose policy lets CloudWatch alarms and EventBridge publish (without
// that grant an alarm on an encrypted topic fails silently), TLS-only.
import { Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { allowServicesToEncrypt, wardenKey } from './keys';

export interface NotificationsStackProps extends StackProps {
  readonly approvalEmails: string[];
  /** Principals who may subscribe, besides CloudFormation (which creates the email subscriptions). */
  readonly topicSubscriberArns: string[];
}

export class NotificationsStack extends Stack {
  readonly topic: sns.Topic;
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: NotificationsStackProps) {
    super(scope, id, props);
    this.key = wardenKey(this, 'TopicKey', 'alias/warden-notifications', 'Warden approvals and alarms topic');
    // The services that publish to the topic on Warden's behalf need the data key.
    allowServicesToEncrypt(this.key, 'AlarmsAndEventsPublishToTheEncryptedTopic', ['cloudwatch.amazonaws.com', 'events.amazonaws.com']);
    this.topic = new sns.Topic(this, 'ApprovalsTopic', {
      topicName: 'warden-approvals',
      displayName: 'Warden',
      masterKey: this.key,
      enforceSSL: true,
    });
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }),
    );
    // Subscribing is how a stranger would read the topic: only CloudFormation (the email
    // subscriptions above) and the named principals may. Links go to email subscribers only.
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'SubscribeOnlyNamedPrincipals',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['sns:Subscribe'],
        resources: [this.topic.topicArn],
        conditions: {
          ArnNotLike: {
            'aws:PrincipalArn': [`arn:${this.partition}:iam::${this.account}:role/cdk-*-cfn-exec-role-*`, ...props.topicSubscriberArns],
          },
        },
      }),
    );
    for (const email of props.approvalEmails) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(email));
    }
  }
}
