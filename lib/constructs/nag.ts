import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges cdk-nag findings on a construct, each with its reason. Ids are written as the rule
 * reports them ("AwsSolutions-APIG2", "NIST.800.53.R5-LambdaDLQ", optionally with a "[finding]");
 * the pack prefix CDK's validation report expects is added here.
 */
export function acknowledge(scope: IConstruct, ids: readonly string[], reason: string): void {
  for (const id of ids) {
    const pack = id.slice(0, id.indexOf('-'));
    Validations.of(scope).acknowledge({ id: `${pack}::${id}`, reason });
  }
}
