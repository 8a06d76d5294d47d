/**
 * The CDK app: reads context and the relay config file, builds MixrouteStack, and runs the
 * cdk-nag packs (AwsSolutions, NIST 800-53 R5, HIPAA Security) on every synth.
 *
 *   npx cdk deploy -c alertEmail=ops@example.com [-c config=mixroute.config.json]
 *                  [-c domainName=llm.example.com -c certificateArn=arn:aws:acm:...]
 *                  [-c stackName=Mixroute] [-c waf=false] [-c reservedConcurrency=50]
 */
import { existsSync, readFileSync } from 'node:fs';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks } from 'cdk-nag';
import { MixrouteIamEventsStack, MixrouteStack } from '../lib';

export function buildApp(app: App = new App()): { app: App; stack: MixrouteStack; iamEvents?: MixrouteIamEventsStack } {
  const context = (name: string): string | undefined => {
    const value = app.node.tryGetContext(name);
    return value === undefined || value === '' ? undefined : String(value);
  };
  const configPath = context('config') ?? 'mixroute.config.json';
  let relayConfig: unknown = {};
  if (existsSync(configPath)) relayConfig = JSON.parse(readFileSync(configPath, 'utf8'));
  else process.stderr.write(`mixroute: ${configPath} not found; deploying with no providers (add them and deploy again)\n`);

  const domainName = context('domainName');
  const certificateArn = context('certificateArn');
  if ((domainName === undefined) !== (certificateArn === undefined)) {
    throw new Error('a custom domain needs both -c domainName=... and -c certificateArn=... (an ACM certificate in the stack region)');
  }
  const number = (name: string) => {
    const value = context(name);
    if (value === undefined) return undefined;
    const parsed = Number(value);
    if (!Number.isFinite(parsed)) throw new Error(`-c ${name}: expected a number, got "${value}"`);
    return parsed;
  };

  const stack = new MixrouteStack(app, context('stackName') ?? 'Mixroute', {
    description: 'Mixroute: privacy-first LLM API relay',
    relayConfig,
    alertEmail: context('alertEmail'),
    customDomain: domainName && certificateArn ? { domainName, certificateArn } : undefined,
    enableWaf: context('waf') !== 'false',
    reservedConcurrency: number('reservedConcurrency'),
    trailRetentionDays: number('trailRetentionDays'),
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });

  // IAM events reach EventBridge in us-east-1 only: outside it, a companion stack there forwards the
  // relay role's and policies' changes to the relay region's alert rule.
  const region = process.env.CDK_DEFAULT_REGION;
  let iamEvents: MixrouteIamEventsStack | undefined;
  if (region && region !== 'us-east-1') {
    iamEvents = new MixrouteIamEventsStack(app, `${stack.stackName}-IamEvents`, {
      description: 'Mixroute: forwards IAM changes of the relay role and policies to the relay region',
      watch: stack.relay.iamWatch,
      relayRegion: region,
      env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: 'us-east-1' },
    });
    stack.addStackDependency(iamEvents);
  } else if (!region) {
    process.stderr.write('mixroute: no region known at synth (set AWS_REGION or a profile): the us-east-1 companion stack that forwards IAM change alerts is not included\n');
  }

  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new NIST80053R5Checks(app), new HIPAASecurityChecks(app));
  return { app, stack, iamEvents };
}

if (require.main === module) {
  buildApp().app.synth();
}
