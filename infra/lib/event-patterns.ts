// The EventBridge patterns of every trigger Warden handles, in one place: the wiring stack
// deploys them and the wiring test checks each sample in events/ against them.

/** Warden's own events (undo and release requests, from the CLI or an operator). */
export const WARDEN_SOURCE = 'warden';

/** Rule names the functions see in a scheduled event's `resources` (the sweep names itself by them). */
export const EXPOSURE_SWEEP_RULE = 'warden-exposure-sweep';
export const APPROVAL_EXPIRY_RULE = 'warden-approval-expiry';

/** Config rules whose NON_COMPLIANT security groups the remediator fixes. */
export const SECURITY_GROUP_RULES = ['warden-sensitive-ports-not-public', 'warden-restricted-ssh', 'warden-restricted-common-ports'];

/** Alarm name prefixes the remediator acts on: the Ollama fleet (`ollama-`) and the LLM API (`llm-`).
 * Warden's own operational alarms are named `warden-` and go to the topic only. */
export const REMEDIATOR_ALARM_PREFIXES = ['ollama-', 'llm-'];

export interface Trigger {
  /** Construct id and rule name suffix. */
  readonly id: string;
  readonly description: string;
  readonly pattern: Record<string, unknown>;
  /** On Warden's own bus (requests from operators), not the default bus. */
  readonly onRequestsBus?: boolean;
}

/** Warden's own bus: only the operator roles may put events on it. */
export const REQUESTS_BUS = 'warden-requests';

export const REMEDIATOR_TRIGGERS: Trigger[] = [
  {
    id: 'SecurityGroupApiCalls',
    description: 'CloudTrail: a security group rule was added or changed (the exposure check runs at once)',
    pattern: {
      source: ['aws.ec2'],
      'detail-type': ['AWS API Call via CloudTrail'],
      detail: {
        eventSource: ['ec2.amazonaws.com'],
        eventName: ['AuthorizeSecurityGroupIngress', 'ModifySecurityGroupRules'],
        errorCode: [{ exists: false }],
      },
    },
  },
  {
    id: 'SecurityGroupNonCompliant',
    description: 'Config: a security group became NON_COMPLIANT with a rule about open ports',
    pattern: {
      source: ['aws.config'],
      'detail-type': ['Config Rules Compliance Change'],
      detail: {
        messageType: ['ComplianceChangeNotification'],
        configRuleName: SECURITY_GROUP_RULES,
        resourceType: ['AWS::EC2::SecurityGroup'],
        newEvaluationResult: { complianceType: ['NON_COMPLIANT'] },
      },
    },
  },
  {
    id: 'AlarmsIntoAlarm',
    description: 'CloudWatch: an Ollama-fleet or LLM-API alarm went into ALARM',
    pattern: {
      source: ['aws.cloudwatch'],
      'detail-type': ['CloudWatch Alarm State Change'],
      detail: {
        alarmName: REMEDIATOR_ALARM_PREFIXES.map((prefix) => ({ prefix })),
        state: { value: ['ALARM'] },
      },
    },
  },
  {
    id: 'GuardDutyInstanceFindings',
    description: 'GuardDuty: a finding that names an EC2 instance, severity medium or higher',
    pattern: {
      source: ['aws.guardduty'],
      'detail-type': ['GuardDuty Finding'],
      detail: {
        severity: [{ numeric: ['>=', 4] }],
        resource: { instanceDetails: { instanceId: [{ prefix: 'i-' }] } },
      },
    },
  },
  {
    id: 'UndoAndReleaseRequests',
    description: "Undo and release requests, on Warden's own bus (only the operator roles may put events there)",
    onRequestsBus: true,
    pattern: {
      source: [WARDEN_SOURCE],
      'detail-type': ['Warden Undo Request', 'Warden Release Request'],
    },
  },
];

export interface Schedule {
  readonly id: string;
  readonly ruleName: string;
  readonly description: string;
  readonly expression: string;
}

export const REMEDIATOR_SCHEDULES: Schedule[] = [
  {
    id: 'ExposureSweep',
    ruleName: EXPOSURE_SWEEP_RULE,
    description: 'Sweep every security group for world-open sensitive ports (catches what events missed)',
    expression: 'rate(1 hour)',
  },
];

export const APPROVAL_SCHEDULES: Schedule[] = [
  {
    id: 'ApprovalExpiry',
    ruleName: APPROVAL_EXPIRY_RULE,
    description: 'Expire unanswered approval requests and escalate them',
    expression: 'rate(15 minutes)',
  },
];
