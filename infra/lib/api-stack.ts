// API: the one way callers reach Ollama. API Gateway (REST, TLS 1.2, SigV4 callers with API
// keys and a usage plan, request validation, access and execution logs, throttling) behind WAF
// with AWS managed rule groups, forwarding the four inference endpoints to the request validator.
import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import type { Construct } from 'constructs';
import { VALIDATOR_TIMEOUT_SECONDS } from './functions-stack';
import { allowLogGroups, wardenKey } from './keys';
import { acknowledge } from './nag';

/** The inference endpoints the validator serves; everything else (pull, push, delete…) never reaches it. */
export const INFERENCE_ENDPOINTS = ['chat', 'generate', 'embed', 'embeddings'];
/** `GET /api/tags` and `/api/version` (`POST /api/show` is routed with the inference endpoints). */
export const READ_ONLY_ENDPOINTS = ['tags', 'version'];

export interface ApiStackProps extends StackProps {
  readonly requestValidator: lambda.IFunction;
  readonly logRetentionDays: number;
}

export class ApiStack extends Stack {
  readonly api: apigateway.RestApi;
  readonly webAcl: wafv2.CfnWebACL;

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);
    const key = wardenKey(this, 'ApiLogsKey', 'alias/warden-api-logs', 'Warden API access and WAF logs');
    allowLogGroups(key, 'LogsEncryptApiLogGroups', '*warden-*');
    const retention = props.logRetentionDays as logs.RetentionDays;
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      logGroupName: '/warden/api-access',
      retention,
      encryptionKey: key,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.api = new apigateway.RestApi(this, 'Api', {
      restApiName: 'warden-llm-api',
      description: 'Ollama behind the Warden request validator',
      endpointConfiguration: { types: [apigateway.EndpointType.REGIONAL] },
      disableExecuteApiEndpoint: false,
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      deployOptions: {
        stageName: 'prod',
        accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigateway.AccessLogFormat.jsonWithStandardFields({
          caller: true, httpMethod: true, ip: true, protocol: true, requestTime: true,
          resourcePath: true, responseLength: true, status: true, user: true,
        }),
        // Execution logs carry errors and the request id; never bodies (prompts stay out of logs).
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: true,
        tracingEnabled: true,
        throttlingRateLimit: 50,
        throttlingBurstLimit: 100,
      },
      defaultMethodOptions: {
        authorizationType: apigateway.AuthorizationType.IAM,
        apiKeyRequired: true,
      },
    });

    // TLS 1.2 or 1.3 only, on the execute-api endpoint too (STRICT: the policy applies to every host name).
    const cfnApi = this.api.node.defaultChild as apigateway.CfnRestApi;
    cfnApi.securityPolicy = apigateway.SecurityPolicy.TLS13_1_2_PQ_2025_09;
    cfnApi.endpointAccessMode = 'STRICT';

    // Refuse malformed requests at the edge; the validator applies the full schema.
    const requestModel = this.api.addModel('InferenceRequest', {
      contentType: 'application/json',
      modelName: 'InferenceRequest',
      schema: {
        schema: apigateway.JsonSchemaVersion.DRAFT4,
        title: 'Ollama inference request',
        type: apigateway.JsonSchemaType.OBJECT,
        required: ['model'],
        properties: {
          model: { type: apigateway.JsonSchemaType.STRING, minLength: 1, maxLength: 200 },
        },
      },
    });
    const bodyValidator = this.api.addRequestValidator('BodyValidator', {
      requestValidatorName: 'warden-inference-body',
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    // Response streaming: tokens reach the caller as Ollama writes them (the function answers in
    // Lambda's streaming format), and a long answer is not cut at 29 s. Chosen over a function
    // URL so that IAM auth, API keys, usage plans, body validation and the WAF stay in front.
    const integration = new apigateway.LambdaIntegration(props.requestValidator, {
      proxy: true,
      responseTransferMode: apigateway.ResponseTransferMode.STREAM,
      timeout: Duration.seconds(VALIDATOR_TIMEOUT_SECONDS),
    });
    const apiRoot = this.api.root.addResource('api');
    for (const endpoint of [...INFERENCE_ENDPOINTS, 'show']) {
      apiRoot.addResource(endpoint).addMethod('POST', integration, {
        requestValidator: bodyValidator,
        requestModels: { 'application/json': requestModel },
      });
    }
    // The read-only listing calls clients make first; the validator answers them for the
    // caller's use case only.
    for (const endpoint of READ_ONLY_ENDPOINTS) {
      apiRoot.addResource(endpoint).addMethod('GET', integration, { requestValidator: bodyValidator });
    }
    // The OpenAI-compatible routes, decided by the same validator as the native ones.
    const v1 = this.api.root.addResource('v1');
    const post = { requestValidator: bodyValidator, requestModels: { 'application/json': requestModel } };
    v1.addResource('chat').addResource('completions').addMethod('POST', integration, post);
    v1.addResource('completions').addMethod('POST', integration, post);
    v1.addResource('embeddings').addMethod('POST', integration, post);
    v1.addResource('models').addMethod('GET', integration, { requestValidator: bodyValidator });

    // Per-key throttling and a daily quota; the validator adds per-caller token quotas on top.
    const plan = this.api.addUsagePlan('UsagePlan', {
      name: 'warden-llm-callers',
      description: 'Every caller key: add keys with `aws apigateway create-usage-plan-key`',
      throttle: { rateLimit: 10, burstLimit: 20 },
      quota: { limit: 10000, period: apigateway.Period.DAY },
    });
    plan.addApiStage({ stage: this.api.deploymentStage });

    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      name: 'warden-llm-api',
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: { cloudWatchMetricsEnabled: true, metricName: 'warden-llm-api', sampledRequestsEnabled: true },
      rules: [
        managedRule('AWSManagedRulesAmazonIpReputationList', 0),
        managedRule('AWSManagedRulesKnownBadInputsRuleSet', 1),
        // Prompts are often longer than the 8 KB body limit of the common rule set: the validator
        // enforces its own, per-model limits, so that one rule only counts.
        managedRule('AWSManagedRulesCommonRuleSet', 2, ['SizeRestrictions_BODY']),
        {
          name: 'RateLimitPerIp',
          priority: 3,
          action: { block: {} },
          statement: { rateBasedStatement: { limit: 2000, aggregateKeyType: 'IP' } },
          visibilityConfig: { cloudWatchMetricsEnabled: true, metricName: 'warden-rate-limit-per-ip', sampledRequestsEnabled: true },
        },
      ],
    });
    new wafv2.CfnWebACLAssociation(this, 'WebAclAssociation', {
      resourceArn: this.api.deploymentStage.stageArn,
      webAclArn: this.webAcl.attrArn,
    });
    // WAF log group names must start with aws-waf-logs-.
    const wafLogs = new logs.LogGroup(this, 'WafLogs', {
      logGroupName: 'aws-waf-logs-warden-llm-api',
      retention,
      encryptionKey: key,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    new wafv2.CfnLoggingConfiguration(this, 'WafLogging', {
      resourceArn: this.webAcl.attrArn,
      logDestinationConfigs: [wafLogs.logGroupArn],
      redactedFields: [{ singleHeader: { Name: 'authorization' } }, { singleHeader: { Name: 'x-api-key' } }],
    });

    acknowledge(this.api, [
      {
        id: 'AwsSolutions-COG4',
        reason:
          'Callers are workloads with IAM roles: methods use IAM (SigV4) authorization plus an API key; the validator ' +
          'maps the role ARN to its use case (WARDEN_API_KEY_USE_CASES). No Cognito user pool is involved.',
      },
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason: "API Gateway's account-level logging role: AWS's managed policy is the documented one for it (logs only).",
      },
    ]);
  }
}

function managedRule(name: string, priority: number, countOnly: string[] = []): wafv2.CfnWebACL.RuleProperty {
  return {
    name,
    priority,
    overrideAction: { none: {} },
    statement: {
      managedRuleGroupStatement: {
        vendorName: 'AWS',
        name,
        ruleActionOverrides: countOnly.map((rule) => ({ name: rule, actionToUse: { count: {} } })),
      },
    },
    visibilityConfig: { cloudWatchMetricsEnabled: true, metricName: name, sampledRequestsEnabled: true },
  };
}
