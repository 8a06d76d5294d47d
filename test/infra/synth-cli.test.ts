/**
 * `npx cdk synth` as a platform team runs it: offline, with esbuild bundling the real handler, and
 * (where cfn-lint is installed, as on CI's machine) a template with no cfn-lint errors.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RELAY_CONFIG } from './stack-fixture';

const ROOT = join(__dirname, '../..');
const CFN_LINT = spawnSync('sh', ['-c', 'command -v cfn-lint'], { encoding: 'utf8' }).status === 0;
if (!CFN_LINT) process.stderr.write('SKIPPED: cfn-lint is not installed; the template lint test is skipped (pip install cfn-lint to run it).\n');

let out: string;
let template: string;

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'mixroute-synth-'));
  const config = join(out, 'relay.config.json');
  writeFileSync(config, JSON.stringify(RELAY_CONFIG));
  await new Promise<void>((resolve, reject) => {
    execFile(
      join(ROOT, 'node_modules/.bin/cdk'),
      ['synth', '--no-notices', '-q', '-o', join(out, 'cdk.out'), '-c', `config=${config}`, '-c', 'alertEmail=ops@example.com'],
      // A region outside us-east-1, so the companion stack that forwards IAM events is synthesized too.
      { cwd: ROOT, env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true', AWS_REGION: 'eu-west-1', CDK_DEFAULT_REGION: 'eu-west-1' }, timeout: 180_000 },
      (error, _stdout, stderr) => (error ? reject(new Error(`cdk synth failed: ${stderr}`)) : resolve()),
    );
  });
  template = join(out, 'cdk.out', 'Mixroute.template.json');
}, 200_000);
afterAll(() => rmSync(out, { recursive: true, force: true }));

test('synthesizes offline, bundling the Lambda handler with esbuild', () => {
  const parsed = JSON.parse(readFileSync(template, 'utf8'));
  expect(Object.values(parsed.Resources).some((r: any) => r.Type === 'AWS::Lambda::Function' && r.Properties.Handler === 'index.handler')).toBe(true);
  const assets = readdirSync(join(out, 'cdk.out')).filter((name) => name.startsWith('asset.'));
  const bundle = assets.map((dir) => join(out, 'cdk.out', dir, 'index.js')).find((file) => {
    try {
      return statSync(file).isFile();
    } catch {
      return false;
    }
  });
  expect(bundle).toBeDefined();
  // The AWS SDK is external (the runtime ships it); everything else is in the bundle.
  const code = readFileSync(bundle as string, 'utf8');
  expect(code).toContain('@aws-sdk/client-dynamodb');
  expect(code).not.toContain('dynalite');
});

test('outside us-east-1 it also synthesizes the us-east-1 stack that forwards IAM change events', () => {
  const companion = JSON.parse(readFileSync(join(out, 'cdk.out', 'Mixroute-IamEvents.template.json'), 'utf8'));
  const rules = Object.values(companion.Resources).filter((r: any) => r.Type === 'AWS::Events::Rule') as any[];
  expect(rules).toHaveLength(1);
  expect(rules[0].Properties.EventPattern.source).toEqual(['aws.iam']);
  const manifest = JSON.parse(readFileSync(join(out, 'cdk.out', 'manifest.json'), 'utf8'));
  expect(manifest.artifacts['Mixroute-IamEvents'].environment).toMatch(/\/us-east-1$/);
});

(CFN_LINT ? test : test.skip)('the templates have no cfn-lint errors', () => {
  const result = spawnSync('cfn-lint', [template, join(out, 'cdk.out', 'Mixroute-IamEvents.template.json')], { encoding: 'utf8' });
  // cfn-lint's exit code is a bit mask: 2 = errors, 4 = warnings, 8 = informational.
  expect({ errors: (result.status ?? 2) & 2, output: (result.status ?? 2) & 2 ? result.stdout : '' }).toEqual({ errors: 0, output: '' });
});
