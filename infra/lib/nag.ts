// cdk-nag acknowledgements: each names the exact finding (`Rule[finding]` for granular rules such
// as IAM5) and says why it is right for Warden. Anything not acknowledged here fails the synth.
import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

export interface Acknowledgement {
  readonly id: string;
  readonly reason: string;
}

export function acknowledge(scope: IConstruct, acknowledgements: Acknowledgement[]): void {
  for (const { id, reason } of acknowledgements) {
    if (reason.trim().length < 20) throw new Error(`acknowledgement of ${id} needs a real reason`);
    Validations.of(scope).acknowledge({ id, reason });
  }
}

/** IAM5 findings for actions that have no resource-level permissions at all. */
export function noResourceLevelPermissions(scope: IConstruct, what: string): void {
  acknowledge(scope, [
    {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: `${what} support no resource-level permissions (Service Authorization Reference), so the resource must be "*".`,
    },
  ]);
}
