/** Builds the stack as `cdk synth` would (cdk.json's feature flags), without esbuild bundling. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, type Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks } from 'cdk-nag';
import { Template } from 'aws-cdk-lib/assertions';
import { MixrouteStack, type MixrouteStackProps } from '../../lib';

export const CDK_CONTEXT = JSON.parse(readFileSync(join(__dirname, '../../cdk.json'), 'utf8')).context as Record<string, unknown>;

export const RELAY_CONFIG = {
  providers: { openai: { type: 'openai', baseUrl: 'https://api.openai.com/v1' }, anthropic: { type: 'anthropic', baseUrl: 'https://api.anthropic.com' } },
  models: { 'gpt-4o-mini': { provider: 'openai' }, 'claude-sonnet-5-5': { provider: 'anthropic' } },
};

export function buildStack(props: Partial<MixrouteStackProps> = {}): { app: App; stack: MixrouteStack; template: Template } {
  const app = new App({ context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
  const stack = new MixrouteStack(app, 'Test', {
    relayConfig: RELAY_CONFIG,
    alertEmail: 'ops@example.com',
    env: { account: '111122223333', region: 'eu-west-1' },
    ...props,
  });
  return { app, stack, template: Template.fromStack(stack) };
}

/** All resources of a type, as [logicalId, resource] pairs. */
export function resourcesOf(template: Template, type: string): [string, { Properties: any; DeletionPolicy?: string; UpdateReplacePolicy?: string }][] {
  return Object.entries(template.findResources(type)) as never;
}

/** Every IAM statement of a policy resource (inline or managed). */
export function statementsOf(resource: { Properties: any }): any[] {
  return resource.Properties.PolicyDocument.Statement;
}

/** The three cdk-nag packs every stack must pass, each with a fresh pack instance. */
export const NAG_PACKS: readonly [string, () => AwsSolutionsChecks | NIST80053R5Checks | HIPAASecurityChecks][] = [
  ['AwsSolutions', () => new AwsSolutionsChecks(new App())],
  ['NIST.800.53.R5', () => new NIST80053R5Checks(new App())],
  ['HIPAA.Security', () => new HIPAASecurityChecks(new App())],
];

/** Violations of a pack that no acknowledgement on the resource or an ancestor covers. */
export function unacknowledged(pack: AwsSolutionsChecks | NIST80053R5Checks | HIPAASecurityChecks, packName: string, scope: Stack): string[] {
  const byPath = new Map(scope.node.findAll().map((c) => [c.node.path, c]));
  const acknowledgedAt = (path: string): Set<string> => {
    const ids = new Set<string>();
    for (let node: IConstruct | undefined = byPath.get(path); node; node = node.node.scope) {
      for (const entry of node.node.metadata.filter((m) => m.type === 'aws:cdk:acknowledged-rules')) {
        for (const id of Object.keys(entry.data as object)) ids.add(id);
      }
    }
    return ids;
  };
  return pack.validateScope(scope).violations.flatMap((violation) =>
    violation.violatingResources
      .filter((resource) => !acknowledgedAt(resource.constructPath ?? '').has(`${packName}::${violation.ruleName}`))
      .map((resource) => `${violation.ruleName} at ${resource.constructPath}`),
  );
}

