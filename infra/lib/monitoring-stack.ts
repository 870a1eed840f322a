// Monitoring: the alarms Warden acts on (named `ollama-…` and `llm-…`: EventBridge routes their
// transitions into ALARM to the remediator) and the ones that need a person (`warden-…`: function
// errors, undelivered events), all notifying the topic; and the dashboard the security team opens.
import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { LLM_METRICS_NAMESPACE } from './functions-stack';
import { callerSlug, kebab } from './names';

export interface MonitoringStackProps extends StackProps {
  readonly topic: sns.ITopic;
  readonly functions: lambda.IFunction[];
  readonly requestValidator: lambda.IFunction;
  readonly remediator: lambda.IFunction;
  readonly deadLetterQueues: sqs.IQueue[];
  readonly ollamaAutoScalingGroup: string;
  readonly watchedCallers: string[];
}

/** Thresholds per minute: fleet-wide and for one caller. */
const PROMPT_INJECTION = { fleet: 50, caller: 5 };
const AUTH_FAILURES = { fleet: 100, caller: 20 };

export class MonitoringStack extends Stack {
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: MonitoringStackProps) {
    super(scope, id, props);
    const notify = new actions.SnsAction(props.topic);
    const track = (alarm: cloudwatch.Alarm) => {
      alarm.addAlarmAction(notify);
      this.alarms.push(alarm);
      return alarm;
    };
    const asg = props.ollamaAutoScalingGroup;

    // GPU utilization far outside its learned band: a mining or exfiltration workload on the fleet.
    const gpu = new cloudwatch.Metric({
      namespace: 'CWAgent',
      metricName: 'nvidia_smi_utilization_gpu',
      dimensionsMap: { AutoScalingGroupName: asg },
      statistic: 'Average',
      period: Duration.minutes(1),
      label: 'GPU utilization (%)',
    });
    track(
      new cloudwatch.AnomalyDetectionAlarm(this, 'GpuAnomaly', {
        alarmName: `ollama-gpu-utilization-anomaly-${asg}`,
        alarmDescription: `GPU utilization of ${asg} outside its expected band for 3 minutes: the remediator investigates and isolates per policy`,
        metric: gpu,
        stdDevs: 3,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_UPPER_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );

    const llm = (metricName: string, caller?: string) =>
      new cloudwatch.Metric({
        namespace: LLM_METRICS_NAMESPACE,
        metricName,
        dimensionsMap: caller ? { Caller: caller } : undefined,
        statistic: 'Sum',
        period: Duration.minutes(1),
      });
    const abuse = (id: string, name: string, metricName: string, threshold: number, what: string, caller?: string) =>
      track(
        new cloudwatch.Alarm(this, id, {
          alarmName: name,
          alarmDescription: `${what}: the remediator suspends or tightens limits per the suspension policy`,
          metric: llm(metricName, caller),
          threshold,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      );
    abuse('PromptInjectionFleet', 'llm-prompt-injection-fleet', 'PromptInjectionAttempts', PROMPT_INJECTION.fleet, 'Prompt-injection attempts across all callers');
    abuse('AuthFailuresFleet', 'llm-auth-failures-fleet', 'AuthFailures', AUTH_FAILURES.fleet, 'Authentication failures across all callers');
    for (const caller of props.watchedCallers) {
      const slug = callerSlug(caller);
      abuse(`PromptInjection-${slug}`, `llm-prompt-injection-${slug}`, 'PromptInjectionAttempts', PROMPT_INJECTION.caller, `Prompt-injection attempts by ${caller}`, caller);
      abuse(`AuthFailures-${slug}`, `llm-auth-failures-${slug}`, 'AuthFailures', AUTH_FAILURES.caller, `Authentication failures by ${caller}`, caller);
    }

    // Warden's own health: these go to people, never to the remediator.
    for (const fn of props.functions) {
      const name = fn.node.id;
      track(
        new cloudwatch.Alarm(this, `${name}Errors`, {
          alarmName: `warden-${kebab(name)}-errors`,
          alarmDescription: `The ${name} function failed: read its log group for the error`,
          metric: fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
          threshold: 0,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      );
    }
    for (const queue of props.deadLetterQueues) {
      const name = queue.node.id;
      track(
        new cloudwatch.Alarm(this, `${name}Depth`, {
          alarmName: `warden-${kebab(name)}-not-empty`,
          alarmDescription: `${name} holds events Warden could not process: inspect and redrive them`,
          metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
          threshold: 0,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      );
    }

    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: 'warden',
      defaultInterval: Duration.hours(6),
    });
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Authentication failures',
        left: [llm('AuthFailures').with({ label: 'all callers' })],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Prompt-injection attempts',
        left: [llm('PromptInjectionAttempts').with({ label: 'all callers' })],
        width: 8,
      }),
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 8 }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: `GPU utilization (${asg})`, left: [gpu], width: 12 }),
      new cloudwatch.GraphWidget({
        title: `CPU utilization (${asg})`,
        left: [
          new cloudwatch.Metric({
            namespace: 'AWS/EC2',
            metricName: 'CPUUtilization',
            dimensionsMap: { AutoScalingGroupName: asg },
            statistic: 'Average',
            period: Duration.minutes(1),
          }),
        ],
        width: 12,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.LogQueryWidget({
        title: 'Recent SECURITY_WARNING lines',
        logGroupNames: [props.requestValidator, props.remediator].map((fn) => `/aws/lambda/${fn.functionName}`),
        queryLines: [
          'fields @timestamp, @log, @message',
          'filter @message like /SECURITY_WARNING/',
          'sort @timestamp desc',
          'limit 100',
        ],
        view: cloudwatch.LogQueryVisualizationType.TABLE,
        width: 24,
        height: 8,
      }),
    );
  }
}
