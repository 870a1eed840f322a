// Deployment settings, read once from CDK context (cdk.json, or `-c key=value`) and checked at
// synth time: a wrong value stops the synth with the key to fix, never a half-right deployment.
import type { Node } from 'constructs';

export interface OllamaVpc {
  readonly vpcId: string;
  readonly availabilityZones: string[];
  readonly privateSubnetIds: string[];
}

export interface Settings {
  /** Who receives approval requests and alarms (email subscriptions of the approvals topic). */
  readonly approvalEmails: string[];
  /** SSM SecureString parameter holding the approval signing key (created before deploy). */
  readonly approvalKeyParameter: string;
  /** Where the request validator forwards admitted requests. */
  readonly ollamaUrl: string;
  /** The VPC and private subnets the validator runs in to reach Ollama. */
  readonly ollamaVpc: OllamaVpc;
  /** The Auto Scaling group of the Ollama GPU fleet (alarms, dashboard). */
  readonly ollamaAutoScalingGroup: string;
  /** Callers (the `Caller` dimension of Custom/LLM) with alarms of their own. */
  readonly watchedCallers: string[];
  /** Alarms of the operator's own (ARNs, a trailing `*` for a name prefix) the remediator acts on,
   * besides the ones the monitoring stack creates. */
  readonly trustedAlarmArns: string[];
  /** Approvers sign in with this OpenID Connect provider to decide. */
  readonly signIn: SignInSettings;
  /** Who may decide which kind of action: kind (or `*`) → emails or `sub:<id>`. */
  readonly approvers: Record<string, string[]>;
  /** The roles that may put undo and release requests on Warden's own bus. */
  readonly operatorRoleArns: string[];
  /** Principals (ARNs, `*` wildcards allowed) who may subscribe to the topic, besides CloudFormation. */
  readonly topicSubscriberArns: string[];
  /** The tag every Ollama instance and its network interfaces carry: only they are ever isolated. */
  readonly fleetTag: { readonly key: string; readonly value: string };
  readonly logRetentionDays: number;
  /**
   * Reserved concurrency: the remediator and approvals always have room to run, however many
   * requests flood the validator, whose own share is capped.
   */
  readonly concurrency?: Concurrency;
  /** The pipeline's source: a CodeStar connection, the repository and branch. */
  readonly codestarConnectionArn?: string;
  readonly repository: string;
  readonly branch: string;
}

export interface SignInSettings {
  /** The issuer URL, exactly as its ID tokens name it (https). */
  readonly issuer: string;
  /** Warden's client id at the provider. */
  readonly clientId: string;
  /** An SSM SecureString with the client secret (a confidential client); unset: a public client (PKCE). */
  readonly clientSecretParameter?: string;
}

/** The kinds of action an approver decides, as the approvals function names them. */
export const ACTION_KINDS = ['isolate', 'release', 'lift_suspension', 'extend_suspension', 'revoke_access', 'tighten_limits'];

export interface Concurrency {
  readonly remediator: number;
  readonly approvals: number;
  readonly requestValidator: number;
}

const DEFAULT_CONCURRENCY: Concurrency = { remediator: 10, approvals: 5, requestValidator: 200 };

const CALLER = /^[A-Za-z0-9._:@\/-]{1,128}$/;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

export class SettingsError extends Error {}

function list(node: Node, key: string): string[] {
  const raw = node.tryGetContext(key) ?? [];
  // `-c key=a,b` arrives as a string; cdk.json gives an array.
  const value = typeof raw === 'string' ? (raw.trim().startsWith('[') ? JSON.parse(raw) : raw.split(',')) : raw;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw new SettingsError(`context ${key} must be a list of strings, got ${JSON.stringify(raw)}`);
  }
  return value.map((v: string) => v.trim()).filter((v: string) => v.length > 0);
}

function text(node: Node, key: string, fallback?: string): string {
  const value = node.tryGetContext(key) ?? fallback;
  if (typeof value !== 'string' || value.trim() === '') {
    throw new SettingsError(`context ${key} must be a non-empty string (set it in cdk.json or with -c ${key}=...)`);
  }
  return value.trim();
}

export function readSettings(node: Node): Settings {
  const approvalEmails = list(node, 'warden:approvalEmails');
  for (const email of approvalEmails) {
    if (!EMAIL.test(email)) throw new SettingsError(`warden:approvalEmails: ${JSON.stringify(email)} is not an email address`);
  }
  const approvalKeyParameter = text(node, 'warden:approvalKeyParameter', '/warden/approval-key');
  if (!/^\/[A-Za-z0-9_.\-\/]+$/.test(approvalKeyParameter)) {
    throw new SettingsError('warden:approvalKeyParameter must be an SSM parameter path such as /warden/approval-key');
  }
  const ollamaUrl = text(node, 'warden:ollamaUrl', 'http://ollama.internal:11434');
  if (!/^https?:\/\/[^\s\/]+/.test(ollamaUrl)) throw new SettingsError('warden:ollamaUrl must be an http(s) URL');

  const vpcRaw = node.tryGetContext('warden:ollamaVpc');
  if (vpcRaw === undefined || vpcRaw === null || vpcRaw === '') {
    throw new SettingsError(
      'warden:ollamaVpc is required: the request validator runs in the VPC of the Ollama instances (set vpcId, privateSubnetIds, availabilityZones in cdk.json)',
    );
  }
  let ollamaVpc: OllamaVpc;
  {
    const v = typeof vpcRaw === 'string' ? JSON.parse(vpcRaw) : vpcRaw;
    const ok =
      typeof v?.vpcId === 'string' && /^vpc-[0-9a-f]{8,17}$/.test(v.vpcId) &&
      Array.isArray(v.privateSubnetIds) && v.privateSubnetIds.length > 0 &&
      v.privateSubnetIds.every((s: unknown) => typeof s === 'string' && /^subnet-[0-9a-f]{8,17}$/.test(s)) &&
      Array.isArray(v.availabilityZones) && v.availabilityZones.length === v.privateSubnetIds.length;
    if (!ok) {
      throw new SettingsError(
        'warden:ollamaVpc must be {"vpcId": "vpc-…", "privateSubnetIds": ["subnet-…"], "availabilityZones": ["…"]} (one zone per subnet)',
      );
    }
    ollamaVpc = { vpcId: v.vpcId, privateSubnetIds: v.privateSubnetIds, availabilityZones: v.availabilityZones };
  }

  const watchedCallers = list(node, 'warden:watchedCallers');
  for (const caller of watchedCallers) {
    if (!CALLER.test(caller)) throw new SettingsError(`warden:watchedCallers: ${JSON.stringify(caller)} is not a caller id`);
  }
  const trustedAlarmArns = list(node, 'warden:trustedAlarmArns');
  for (const arn of trustedAlarmArns) {
    if (!/^arn:aws[a-z-]*:cloudwatch:[a-z0-9-]+:\d{12}:alarm:[^*]+\*?$/.test(arn)) {
      throw new SettingsError(`warden:trustedAlarmArns: ${JSON.stringify(arn)} is not an alarm ARN (a trailing * for a name prefix)`);
    }
  }
  const issuer = text(node, 'warden:oidcIssuer');
  if (!/^https:\/\/[^\s\/]+/.test(issuer)) throw new SettingsError('warden:oidcIssuer must be the https:// issuer URL of your OpenID Connect provider');
  const clientId = text(node, 'warden:oidcClientId');
  const secretRaw = node.tryGetContext('warden:oidcClientSecretParameter');
  if (secretRaw !== undefined && (typeof secretRaw !== 'string' || !/^\/[A-Za-z0-9_.\-\/]+$/.test(secretRaw))) {
    throw new SettingsError('warden:oidcClientSecretParameter must be an SSM parameter path such as /warden/oidc-client-secret');
  }
  const approversRaw = node.tryGetContext('warden:approvers');
  const approvers = typeof approversRaw === 'string' ? JSON.parse(approversRaw) : approversRaw;
  const people = (v: unknown) => Array.isArray(v) && v.every((p) => typeof p === 'string' && (EMAIL.test(p) || /^sub:.+/.test(p)));
  if (
    typeof approvers !== 'object' || approvers === null || Array.isArray(approvers) ||
    Object.entries(approvers).some(([kind, list]) => !(kind === '*' || ACTION_KINDS.includes(kind)) || !people(list)) ||
    Object.values(approvers).every((list) => (list as string[]).length === 0)
  ) {
    throw new SettingsError(
      `warden:approvers must name who may decide what: {"*": ["secops-lead@example.com"], "release": ["oncall@example.com"]} (kinds: ${ACTION_KINDS.join(', ')}, or *)`,
    );
  }
  const operatorRoleArns = list(node, 'warden:operatorRoleArns');
  for (const arn of operatorRoleArns) {
    if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/.test(arn)) {
      throw new SettingsError(`warden:operatorRoleArns: ${JSON.stringify(arn)} is not an IAM role ARN`);
    }
  }
  const topicSubscriberArns = list(node, 'warden:topicSubscriberArns');
  for (const arn of topicSubscriberArns) {
    if (!/^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/.+$/.test(arn)) {
      throw new SettingsError(`warden:topicSubscriberArns: ${JSON.stringify(arn)} is not an IAM role or user ARN`);
    }
  }
  const fleetTagRaw = text(node, 'warden:fleetTag', 'Service=Ollama');
  const [fleetKey, fleetValue, ...extra] = fleetTagRaw.split('=').map((p) => p.trim());
  if (!fleetKey || !fleetValue || extra.length > 0 || fleetKey.startsWith('aws:')) {
    throw new SettingsError('warden:fleetTag must be key=value, the tag on every Ollama instance and its interfaces (e.g. Service=Ollama)');
  }
  const retention = Number(node.tryGetContext('warden:logRetentionDays') ?? 365);
  if (!Number.isInteger(retention) || retention < 1) throw new SettingsError('warden:logRetentionDays must be a whole number of days');

  // Lambda keeps 100 of the account's concurrency unreserved: an account whose quota is below
  // the sum plus 100 (a new account has 10) sets `false` until the quota is raised.
  const concurrencyRaw = node.tryGetContext('warden:reservedConcurrency') ?? {};
  const c = typeof concurrencyRaw === 'string' ? JSON.parse(concurrencyRaw) : concurrencyRaw;
  let concurrency: Concurrency | undefined;
  if (c !== false) {
    const unknown = typeof c === 'object' && c !== null ? Object.keys(c).filter((k) => !(k in DEFAULT_CONCURRENCY)) : ['?'];
    concurrency = { ...DEFAULT_CONCURRENCY, ...c } as Concurrency;
    if (unknown.length > 0 || Object.values(concurrency).some((n) => !Number.isInteger(n) || n < 1)) {
      throw new SettingsError(
        'warden:reservedConcurrency must be {"remediator": n, "approvals": n, "requestValidator": n} (whole numbers, at least 1) or false',
      );
    }
  }

  const connection = node.tryGetContext('warden:codestarConnectionArn');
  if (connection !== undefined && !/^arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z0-9-]+:\d{12}:connection\/[0-9a-f-]+$/.test(connection)) {
    throw new SettingsError('warden:codestarConnectionArn must be a CodeStar (CodeConnections) connection ARN');
  }
  const repository = text(node, 'warden:repository', 'your-org/warden');
  if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(repository)) throw new SettingsError('warden:repository must be owner/name');

  return {
    approvalEmails,
    approvalKeyParameter,
    ollamaUrl,
    ollamaVpc,
    ollamaAutoScalingGroup: text(node, 'warden:ollamaAutoScalingGroup', 'ollama-gpu'),
    watchedCallers,
    trustedAlarmArns,
    signIn: { issuer, clientId, clientSecretParameter: secretRaw },
    approvers,
    topicSubscriberArns,
    operatorRoleArns,
    fleetTag: { key: fleetKey, value: fleetValue },
    logRetentionDays: retention,
    concurrency,
    codestarConnectionArn: connection,
    repository,
    branch: text(node, 'warden:branch', 'main'),
  };
}
