/**
 * The admin CLI against a deployed stack: stack outputs from CloudFormation (mocked with
 * aws-sdk-client-mock; no local CloudFormation exists), DynamoDB and KMS through the real AWS SDK
 * clients against moto_server where it is installed, and a relay built from the same adapters the
 * Lambda uses (DynamoDB stores, KMS cipher) over those moto tables.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mockClient } from 'aws-sdk-client-mock';
import { composeRelay } from '../../../lambda/hosts/shared/compose';
import { createDynamoStores } from '../../../lambda/stores/dynamodb';
import { KmsCipher } from '../../../lambda/stores/kms-cipher';
import { ensureTables } from '../../../lambda/hosts/local/embedded-store';
import { startNodeRelayServer, type NodeRelayServer } from '../../../lambda/hosts/local/node-server';
import { parseRelayConfig } from '../../../lambda/core/config';
import { PROVIDERS } from '../../../lambda/providers/registry';
import { createLogger } from '../../../lambda/core/log';
import { cli } from '../../helpers/cli-runner';
import { startUpstreamFake, type UpstreamFake } from '../../helpers/upstream-fake';
import { describeIfMoto, MOTO_CLIENT_CONFIG, startMoto, type Moto } from '../../helpers/moto';
import { testConfig } from '../../helpers/relay-builder';
import { startStallingProxy } from '../../helpers/stalling-proxy';

const TABLES = { keys: 'Mixroute-Keys-A1', secrets: 'Mixroute-Secrets-B2', usage: 'Mixroute-Usage-C3', counters: 'Mixroute-Counters-D4' };
const cloudFormation = mockClient(CloudFormationClient);
afterAll(() => cloudFormation.restore());

function stackOutputs(values: Record<string, string>) {
  return { Stacks: [{ StackName: 'Mixroute', StackStatus: 'CREATE_COMPLETE' as const, CreationTime: new Date(), Outputs: Object.entries(values).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })) }] };
}

describe('stack lookup errors (no AWS needed)', () => {
  beforeEach(() => cloudFormation.reset());
  const named = (name: string, message: string) => Object.assign(new Error(message), { name });

  test('an unknown stack: exit 1, one line naming the stack and what to check', async () => {
    cloudFormation.on(DescribeStacksCommand).rejects(named('ValidationError', 'Stack with id Nope does not exist'));
    const result = await cli(['keys', 'list', '--stack', 'Nope', '--region', 'eu-west-1']);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe('mixroute: stack "Nope" not found in eu-west-1: check --stack and --region (or AWS_REGION)');
  });

  test('no AWS credentials: exit 1 with how to get them', async () => {
    cloudFormation.on(DescribeStacksCommand).rejects(named('CredentialsProviderError', 'Could not load credentials from any providers'));
    const result = await cli(['usage', '--stack', 'Mixroute', '--region', 'eu-west-1']);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe('mixroute: no AWS credentials found: run `aws configure` or `aws sso login`, or set AWS_PROFILE');
  });

  test('access denied: exit 1 pointing at the operator policy', async () => {
    cloudFormation.on(DescribeStacksCommand).rejects(named('AccessDenied', 'User: arn:aws:iam::1:user/x is not authorized to perform: cloudformation:DescribeStacks'));
    const result = await cli(['providers', 'list', '--stack', 'Mixroute', '--region', 'eu-west-1']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/access denied while reading the outputs of stack "Mixroute": attach the stack's OperatorPolicyArn/);
  });

  test('a stack without the relay outputs: exit 1 saying which are missing', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves(stackOutputs({ EndpointUrl: 'https://x/' }));
    const result = await cli(['keys', 'list', '--stack', 'Mixroute', '--region', 'eu-west-1']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/has no KeysTableName, SecretsTableName, UsageTableName, CountersTableName, KeyArn, RelayRoutes output/);
  });

  test('--region without --stack is a usage error', async () => {
    expect((await cli(['keys', 'list', '--region', 'eu-west-1'])).code).toBe(2);
  });
});

describeIfMoto('admin commands on a stack (moto DynamoDB and KMS)', () => {
  let moto: Moto;
  let upstream: UpstreamFake;
  let relay: NodeRelayServer;
  let dynamo: DynamoDBClient;
  let keyArn: string;
  const savedEnv: Record<string, string | undefined> = {};
  const stack = ['--stack', 'Mixroute', '--region', 'us-east-1'];
  let reportDir: string;

  beforeAll(async () => {
    reportDir = mkdtempSync(join(tmpdir(), 'mixroute-report-'));
    moto = await startMoto();
    const env = { AWS_ENDPOINT_URL_DYNAMODB: moto.endpoint, AWS_ENDPOINT_URL_KMS: moto.endpoint, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1' };
    for (const [name, value] of Object.entries(env)) {
      savedEnv[name] = process.env[name];
      process.env[name] = value;
    }
    dynamo = new DynamoDBClient({ ...MOTO_CLIENT_CONFIG, endpoint: moto.endpoint });
    await ensureTables(dynamo, TABLES);
    const kms = new KMSClient({ ...MOTO_CLIENT_CONFIG, endpoint: moto.endpoint });
    keyArn = (await kms.send(new CreateKeyCommand({}))).KeyMetadata?.Arn as string;
    kms.destroy();

    upstream = await startUpstreamFake();
    const config = parseRelayConfig(testConfig(upstream.url, { keyCacheTtlMs: 0, secretCacheTtlMs: 0 }), 'local', PROVIDERS);
    const stores = createDynamoStores(dynamo, TABLES);
    // The Lambda's composition: DynamoDB stores and the KMS cipher, here over moto.
    const handler = composeRelay({
      config, keys: stores.keys, usage: stores.usage, secrets: stores.secrets, counters: stores.counters,
      cipher: new KmsCipher(new KMSClient({ ...MOTO_CLIENT_CONFIG, endpoint: moto.endpoint }), keyArn),
      logger: createLogger(() => undefined),
    });
    relay = await startNodeRelayServer(handler.handle, { host: '127.0.0.1', port: 0 });

    cloudFormation.reset();
    cloudFormation.on(DescribeStacksCommand, { StackName: 'Mixroute' }).resolves(
      stackOutputs({
        EndpointUrl: `${relay.url}/`,
        KeysTableName: TABLES.keys,
        SecretsTableName: TABLES.secrets,
        UsageTableName: TABLES.usage,
        CountersTableName: TABLES.counters,
        KeyArn: keyArn,
        RelayRoutes: JSON.stringify({
          providers: [{ name: 'openai', type: 'openai', baseUrl: `${upstream.url}/v1` }, { name: 'anthropic', type: 'anthropic', baseUrl: upstream.url }],
          models: { 'gpt-4o-mini': 'openai', 'claude-sonnet-5-5': 'anthropic' },
        }),
      }),
    );
  }, 60_000);

  afterAll(async () => {
    await relay?.close(100);
    await upstream?.close();
    dynamo?.destroy();
    await moto?.stop();
    if (reportDir) rmSync(reportDir, { recursive: true, force: true });
    for (const [name, value] of Object.entries(savedEnv)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  test('keys create/list/show/rotate/revoke work on the stack\'s tables, and the relay honours them', async () => {
    const created = await cli(['keys', 'create', '--name', 'aws-key', '--json', ...stack]);
    expect(created.code).toBe(0);
    const { id, key } = created.json();
    const call = () => fetch(`${relay.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.status);
    expect(await call()).toBe(200);
    expect((await cli(['keys', 'list', '--json', ...stack])).json().map((k: { id: string }) => k.id)).toContain(id);
    expect((await cli(['keys', 'show', id, '--json', ...stack])).json()).toMatchObject({ id, workingSecrets: 1 });
    const rotated = (await cli(['keys', 'rotate', id, '--grace', '0s', '--json', ...stack])).json();
    expect(await call()).toBe(401);
    expect(await fetch(`${relay.url}/v1/models`, { headers: { authorization: `Bearer ${rotated.key}` } }).then((r) => r.status)).toBe(200);
    expect((await cli(['keys', 'revoke', id, ...stack])).code).toBe(0);
    expect(await fetch(`${relay.url}/v1/models`, { headers: { authorization: `Bearer ${rotated.key}` } }).then((r) => r.status)).toBe(401);
    const items = JSON.stringify((await dynamo.send(new ScanCommand({ TableName: TABLES.keys }))).Items);
    expect(items).not.toContain(key);
    expect(items).not.toContain(rotated.key);
  });

  test('providers set-key encrypts with KMS under the provider\'s context; the relay decrypts it and the key works upstream', async () => {
    const set = await cli(['providers', 'set-key', 'openai', '--from-env', 'AWS_TEST_PROVIDER_KEY', '--json', ...stack], { AWS_TEST_PROVIDER_KEY: 'sk-aws-provider-555' });
    expect(set.code).toBe(0);
    const stored = (await dynamo.send(new ScanCommand({ TableName: TABLES.secrets }))).Items ?? [];
    expect(stored).toHaveLength(1);
    expect(Buffer.from(stored[0].ciphertext.B as Uint8Array).toString('latin1')).not.toContain('sk-aws-provider-555');
    const tested = await cli(['providers', 'test', 'openai', '--json', ...stack]);
    expect(tested.json()).toMatchObject({ ok: true, status: 200, model: 'gpt-4o-mini' });
    expect(upstream.received.at(-1)?.headers.authorization).toBe('Bearer sk-aws-provider-555');
    expect((await cli(['providers', 'list', '--json', ...stack])).json()[0]).toMatchObject({ name: 'openai', fingerprint: set.json().fingerprint });
    expect((await cli(['providers', 'remove', 'openai', ...stack])).code).toBe(0);
  });

  test('usage reads the stack\'s usage table', async () => {
    const { key, id } = (await cli(['keys', 'create', '--name', 'usage', '--json', ...stack])).json();
    for (let i = 0; i < 3; i++) await fetch(`${relay.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
    await relay.idle();
    const usage = (await cli(['usage', '--json', ...stack])).json();
    expect(usage.rows.find((r: { key: string }) => r.key === id)).toMatchObject({ requests: 3, errors: 0 });
  });

  test('usage --records and --html read the stack\'s table too (a parallel scan), with the key names and the relay\'s privacy facts', async () => {
    const { key, id } = (await cli(['keys', 'create', '--name', 'report-team', '--json', ...stack])).json();
    for (let i = 0; i < 4; i++) await fetch(`${relay.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
    await relay.idle();
    const records = (await cli(['usage', '--records', '--json', ...stack])).json() as { keyId: string; requestId: string }[];
    const mine = records.filter((r) => r.keyId === id);
    expect(mine).toHaveLength(4);
    expect(new Set(mine.map((r) => r.requestId)).size).toBe(4);
    const csv = (await cli(['usage', '--records', '--csv', ...stack])).stdout.trim().split('\n');
    expect(csv).toHaveLength(1 + records.length);
    const file = join(reportDir, 'stack.html');
    const written = await cli(['usage', '--html', file, '--json', ...stack]);
    expect(written.code).toBe(0);
    expect(written.json()).toMatchObject({ file, records: records.length, bucket: 'day' }); // 7 days by default
    const page = readFileSync(file, 'utf8');
    expect(page).toContain('stack Mixroute (us-east-1)');
    expect(page).toContain(`<td data-v="report-team">report-team</td><td data-v="${id}">${id}</td><td class="n" data-v="4">`);
    expect(page).toContain(`From the relay&#39;s ${relay.url}/v1/privacy:`);
    expect(page).not.toContain(key);
  });

  test('--html when the relay does not answer and the keys table cannot be read: the CLI\'s own privacy facts within the deadline, ids without names, and it says so', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      cloudFormation.on(DescribeStacksCommand, { StackName: 'Degraded' }).resolves(
        stackOutputs({ EndpointUrl: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/`, KeysTableName: 'no-such-table', SecretsTableName: TABLES.secrets, UsageTableName: TABLES.usage, CountersTableName: TABLES.counters, KeyArn: keyArn, RelayRoutes: JSON.stringify({ providers: [], models: {} }) }),
      );
      const file = join(reportDir, 'degraded.html');
      const result = await cli(['usage', '--html', file, '--stack', 'Degraded', '--region', 'us-east-1']);
      expect(result.code).toBe(0);
      expect(result.stderr).toMatch(/^mixroute: key names could not be read from the keys table \(ResourceNotFoundException: .*\); keys are shown by id\n$/);
      const page = readFileSync(file, 'utf8');
      expect(page).toContain('From this CLI&#39;s copy of the privacy manifest (http://127.0.0.1:');
      expect(page).toContain('audit trail of AWS API calls'); // the deployed manifest, with the trail and backups
      expect(page).toContain('<td data-v="(unknown key)">(unknown key)</td>');
    } finally {
      silent.close();
    }
  }, 15_000);

  test('a hung DynamoDB fails the command within the CLI\'s deadline with one line, instead of hanging it', async () => {
    const proxy = await startStallingProxy({ host: '127.0.0.1', port: Number(new URL(moto.endpoint).port) });
    const saved = { endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB, timeout: process.env.MIXROUTE_AWS_TIMEOUT_MS };
    process.env.AWS_ENDPOINT_URL_DYNAMODB = proxy.url;
    process.env.MIXROUTE_AWS_TIMEOUT_MS = '400';
    try {
      expect((await cli(['usage', '--json', ...stack])).code).toBe(0);
      proxy.stall(true);
      const began = Date.now();
      const result = await cli(['usage', '--records', '--json', ...stack]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/AWS did not answer in time while reading usage \(0\.4 s per call\)/);
      expect(Date.now() - began).toBeLessThan(10_000);
    } finally {
      process.env.AWS_ENDPOINT_URL_DYNAMODB = saved.endpoint;
      if (saved.timeout === undefined) delete process.env.MIXROUTE_AWS_TIMEOUT_MS;
      else process.env.MIXROUTE_AWS_TIMEOUT_MS = saved.timeout;
      await proxy.close();
    }
  }, 20_000);
});
