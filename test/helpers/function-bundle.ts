/**
 * The relay function as `cdk synth` builds it: the stack synthesized with esbuild bundling into a
 * directory, and the function's asset folder, handler and environment read from the template.
 */
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { MixrouteStack } from '../../lib';
import { CDK_CONTEXT, RELAY_CONFIG } from '../infra/stack-fixture';

export interface FunctionBundle {
  /** The asset folder (index.js and its source map), as uploaded to Lambda. */
  readonly dir: string;
  /** `index.handler` */
  readonly handler: string;
  readonly runtime: string;
  /** The function's environment as in the template: strings, or intrinsics (Ref, Fn::GetAtt). */
  readonly environment: Record<string, unknown>;
}

export function synthesizeRelayFunction(outdir: string): FunctionBundle {
  const app = new App({ outdir, context: CDK_CONTEXT });
  const stack = new MixrouteStack(app, 'Runtime', { relayConfig: RELAY_CONFIG, alertEmail: 'ops@example.com', env: { account: '111122223333', region: 'eu-west-1' } });
  const template = Template.fromStack(stack);
  app.synth();
  const functions = Object.values(template.findResources('AWS::Lambda::Function')).filter(
    (resource: any) => resource.Properties.Environment?.Variables?.MIXROUTE_CONFIG !== undefined,
  ) as { Properties: any }[];
  if (functions.length !== 1) throw new Error(`expected one relay function in the template, found ${functions.length}`);
  const { Code, Handler, Runtime, Environment } = functions[0].Properties;
  const hash = String(Code.S3Key).replace(/\.zip$/, '');
  return { dir: join(outdir, `asset.${hash}`), handler: Handler, runtime: Runtime, environment: Environment.Variables };
}
