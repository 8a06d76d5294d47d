import { Stack } from 'aws-cdk-lib';
import type { Construct } from 'constructs';

/**
 * Physical names of the relay's IAM role and managed policies, fixed at synth. The key policy names
 * the relay role by ARN (only it may decrypt provider secrets), and the trail and the alert rules
 * name the role and policies, including the us-east-1 rules that watch IAM; naming them from the
 * stack breaks the Key → Role → Policy → Key cycle a GetAtt would make, and needs no cross-region
 * reference.
 */
export interface RelayNames {
  readonly roleName: string;
  readonly roleArn: string;
  /** CloudTrail's `userIdentity.arn` of the relay function's sessions starts with this. */
  readonly sessionArnPrefix: string;
  readonly relayPolicyName: string;
  readonly operatorPolicyName: string;
  readonly auditorPolicyName: string;
  /** ARNs of the stack's customer-managed policies. */
  readonly policyArns: readonly string[];
}

/** IAM role names are at most 64 characters; a stack name can be 128. */
const MAX_STACK_PART = 30;

export function relayNames(scope: Construct): RelayNames {
  const stack = Stack.of(scope);
  const { account, partition, region } = stack;
  const base = `${stack.stackName.slice(0, MAX_STACK_PART)}-${region}`;
  const roleName = `${base}-relay`;
  const names = {
    relayPolicyName: `${base}-relay-policy`,
    operatorPolicyName: `${base}-operator`,
    auditorPolicyName: `${base}-auditor`,
  };
  return {
    roleName,
    roleArn: `arn:${partition}:iam::${account}:role/${roleName}`,
    sessionArnPrefix: `arn:${partition}:sts::${account}:assumed-role/${roleName}/`,
    ...names,
    policyArns: Object.values(names).map((name) => `arn:${partition}:iam::${account}:policy/${name}`),
  };
}
