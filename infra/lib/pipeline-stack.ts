// Pipeline: the DevSecOps pipeline Warden ships through. Source (CodeStar connection) → lint and
// security scan (clippy, tests, cdk-nag, cfn-guard, cfn-lint, checkov: `make test`) → a person
// approves from the topic's email → deploy (`make deploy`) → compliance validation (the Config
// rules re-evaluated; any NON_COMPLIANT Warden rule fails the run).
import { type CfnElement, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as cpactions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { allowLogGroups, wardenKey } from './keys';
import { acknowledge } from './nag';
import type { Settings } from './settings';
import { CUSTOM_CONFIG_RULES } from './wiring-stack';

export interface PipelineStackProps extends StackProps {
  readonly settings: Settings & { codestarConnectionArn: string };
  readonly topic: sns.ITopic;
}

export class PipelineStack extends Stack {
  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, props);
    const { settings } = props;
    const key = wardenKey(this, 'PipelineKey', 'alias/warden-pipeline', 'Warden pipeline artifacts and build logs');
    allowLogGroups(key, 'LogsEncryptBuildLogs', '/warden/pipeline*');
    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: Duration.days(365) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledge(accessLogs, [
      { id: 'AwsSolutions-S1', reason: 'This is the access-log bucket of the artifact bucket; logging it into itself would loop.' },
    ]);
    const artifacts = new s3.Bucket(this, 'Artifacts', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: key,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'artifacts/',
      lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(90) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const buildLogs = new logs.LogGroup(this, 'BuildLogs', {
      logGroupName: '/warden/pipeline',
      retention: settings.logRetentionDays as logs.RetentionDays,
      encryptionKey: key,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const project = (id: string, description: string, commands: string[], extraEnv: Record<string, string> = {}) =>
      new codebuild.PipelineProject(this, id, {
        projectName: `warden-${id.toLowerCase()}`,
        description,
        encryptionKey: key,
        timeout: Duration.minutes(60),
        environment: {
          buildImage: codebuild.LinuxBuildImage.STANDARD_7_0,
          computeType: codebuild.ComputeType.LARGE,
          privileged: false,
        },
        environmentVariables: Object.fromEntries(Object.entries(extraEnv).map(([k, v]) => [k, { value: v }])),
        logging: { cloudWatch: { logGroup: buildLogs, prefix: id } },
        buildSpec: codebuild.BuildSpec.fromObject({
          version: '0.2',
          phases: {
            install: {
              'runtime-versions': { nodejs: '20', python: '3.11' },
              commands: ['curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal', '. "$HOME/.cargo/env"'],
            },
            build: { commands },
          },
        }),
      });

    const check = project('Check', 'Lint and security scan: clippy, unit and integration tests, cdk-nag, cfn-guard, cfn-lint, checkov', [
      'bash .ci/run',
    ]);
    const deploy = project('Deploy', 'cdk deploy of every Warden stack (functions built by cargo lambda, arm64)', [
      'make deploy CDK_DEPLOY_FLAGS="--require-approval never"',
    ], { WARDEN_CONTEXT: `-c warden:codestarConnectionArn=${settings.codestarConnectionArn}` });
    // The deploy project acts through the CDK bootstrap roles, never with its own broad rights.
    deploy.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'AssumeCdkBootstrapRoles',
        actions: ['sts:AssumeRole'],
        resources: [`arn:${this.partition}:iam::${this.account}:role/cdk-hnb659fds-*-${this.account}-${this.region}`],
      }),
    );
    const ruleNames = CUSTOM_CONFIG_RULES.map((r) => `warden-${r.id}`);
    const validate = project('Validate', 'Compliance validation: re-evaluate the Warden Config rules and fail on NON_COMPLIANT', [
      `aws configservice start-config-rules-evaluation --config-rule-names ${ruleNames.join(' ')}`,
      'sleep 120',
      `test "$(aws configservice describe-compliance-by-config-rule --config-rule-names ${ruleNames.join(' ')} --compliance-types NON_COMPLIANT --query 'length(ComplianceByConfigRules)' --output text)" = 0`,
    ]);
    validate.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'EvaluateWardenRules',
        actions: ['config:StartConfigRulesEvaluation'],
        resources: ruleNames.map((n) => `arn:${this.partition}:config:${this.region}:${this.account}:config-rule/${n}`),
      }),
    );
    validate.addToRolePolicy(
      new iam.PolicyStatement({ sid: 'ReadCompliance', actions: ['config:DescribeComplianceByConfigRule'], resources: ['*'] }),
    );

    const source = new codepipeline.Artifact('Source');
    const [owner, repo] = settings.repository.split('/');
    new codepipeline.Pipeline(this, 'Pipeline', {
      pipelineName: 'warden',
      pipelineType: codepipeline.PipelineType.V2,
      artifactBucket: artifacts,
      restartExecutionOnUpdate: false,
      stages: [
        {
          stageName: 'Source',
          actions: [
            new cpactions.CodeStarConnectionsSourceAction({
              actionName: 'Source',
              connectionArn: settings.codestarConnectionArn,
              owner,
              repo,
              branch: settings.branch,
              output: source,
            }),
          ],
        },
        { stageName: 'LintAndScan', actions: [new cpactions.CodeBuildAction({ actionName: 'Check', project: check, input: source })] },
        {
          stageName: 'Approve',
          actions: [
            new cpactions.ManualApprovalAction({
              actionName: 'Approve',
              notificationTopic: props.topic,
              additionalInformation: 'The checks passed. Approve to deploy Warden to this account.',
            }),
          ],
        },
        { stageName: 'Deploy', actions: [new cpactions.CodeBuildAction({ actionName: 'Deploy', project: deploy, input: source })] },
        { stageName: 'Validate', actions: [new cpactions.CodeBuildAction({ actionName: 'Compliance', project: validate, input: source })] },
      ],
    });

    const iam5 = (finding: string, reason: string) => ({ id: `AwsSolutions-IAM5[${finding}]`, reason });
    const artifactGrant =
      "CDK's standard artifact grant for a pipeline role: objects of this pipeline's own artifact bucket, encrypted with its own key.";
    acknowledge(this, [
      ...['s3:GetObject*', 's3:GetBucket*', 's3:List*', 's3:DeleteObject*', 's3:Abort*', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'].map(
        (action) => iam5(`Action::${action}`, artifactGrant),
      ),
      iam5(`Resource::<${this.getLogicalId(artifacts.node.defaultChild as CfnElement)}.Arn>/*`, artifactGrant),
      iam5(
        `Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/cdk-hnb659fds-*-<AWS::AccountId>-<AWS::Region>`,
        'The deploy project may only assume the CDK bootstrap roles of this account and region (deploy, file publishing, lookup).',
      ),
      ...[check, deploy, validate].flatMap((p) => {
        const id = this.getLogicalId(p.node.defaultChild as CfnElement);
        return [
          iam5(`Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/codebuild/<${id}>:*`, 'The build project writes its own log streams (CDK default grant).'),
          iam5(`Resource::arn:<AWS::Partition>:codebuild:<AWS::Region>:<AWS::AccountId>:report-group/<${id}>-*`, "The build project's own test report groups (CDK default grant)."),
        ];
      }),
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'config:DescribeComplianceByConfigRule, and the CodeBuild report-group and log calls CDK grants, have no resource-level permissions.',
      },
    ]);
  }
}
