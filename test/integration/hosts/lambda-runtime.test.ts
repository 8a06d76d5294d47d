/**
 * The function bundle `cdk synth` builds, run under AWS's own Node.js runtime interface client
 * (npm aws-lambda-ric, the code the managed runtime uses), against a local Runtime API that decodes
 * the streamed answer as API Gateway does (JSON prelude, 8 NUL bytes, body). DynamoDB is dynalite
 * (behind a proxy that can stall), KMS is moto, the provider an https fake whose certificate the
 * function trusts through NODE_EXTRA_CA_CERTS (verified TLS, as in AWS). Clients are the official SDKs.
 *
 * Skipped with a message where the runtime client's native part is not built (it needs Debian's
 * build tools; `.ci/run` installs them), or where moto_server or openssl is missing.
 */
import Anthropic from '@anthropic-ai/sdk';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import dynalite from 'dynalite';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import OpenAI from 'openai';
import { createClientKey } from '../../../lambda/admin/keys';
import { setProviderKey } from '../../../lambda/admin/providers';
import { ensureTables } from '../../../lambda/hosts/local/embedded-store';
import { createDynamoStores } from '../../../lambda/stores/dynamodb';
import { LOCAL_TABLE_NAMES } from '../../../lambda/stores/dynamodb/schema';
import { KmsCipher } from '../../../lambda/stores/kms-cipher';
import { synthesizeRelayFunction } from '../../helpers/function-bundle';
import { startLocalRuntimeApi, type Invocation, type LocalRuntimeApi } from '../../helpers/lambda-runtime-api';
import { MOTO_AVAILABLE, MOTO_CLIENT_CONFIG, startMoto, type Moto } from '../../helpers/moto';
import { testConfig, UPSTREAM_ANTHROPIC_KEY, UPSTREAM_OPENAI_KEY } from '../../helpers/relay-builder';
import { startStallingProxy, type StallingProxy } from '../../helpers/stalling-proxy';
import { HAS_OPENSSL, selfSignedCert } from '../../helpers/tls-cert';
import { BEDROCK_USAGE, startBedrockFake, type BedrockFake } from '../../helpers/bedrock-fake';
import { openAiChatSse } from '../../helpers/fixtures';
import { startUpstreamFake, type UpstreamFake } from '../../helpers/upstream-fake';

const ROOT = join(__dirname, '../../..');

/** The runtime client's entry script, if it is installed with its native part built. */
function runtimeClient(): string | undefined {
  let manifest: string;
  try {
    manifest = require.resolve('aws-lambda-ric/package.json', { paths: [ROOT] });
  } catch {
    return undefined;
  }
  const dir = dirname(manifest);
  const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { bin?: string | Record<string, string> };
  const bin = typeof pkg.bin === 'string' ? pkg.bin : Object.values(pkg.bin ?? {})[0];
  const hasNative = (d: string): boolean =>
    readdirSync(d, { withFileTypes: true }).some((e) => (e.isDirectory() ? e.name !== 'node_modules' && e.name !== 'deps' && hasNative(join(d, e.name)) : e.name.endsWith('.node')));
  return bin && existsSync(join(dir, bin)) && hasNative(dir) ? join(dir, bin) : undefined;
}

const RIC = runtimeClient();
const missing = [
  !RIC && 'aws-lambda-ric (an optional dependency) is not installed or its native part did not build (needs: apt-get install -y autoconf automake libtool cmake make g++ pkg-config, and npm_config_nodedir=/usr offline)',
  !MOTO_AVAILABLE && 'moto_server is not installed',
  !HAS_OPENSSL && 'openssl is not installed',
].filter(Boolean);
if (missing.length > 0) process.stderr.write(`SKIPPED: the real Lambda runtime tests: ${missing.join('; ')}.\n`);
const describeIfRuntime = missing.length === 0 ? describe : describe.skip;

const STORE_TIMEOUT_MS = 1000;

/** The test routes plus Claude on Bedrock (no region: the function's own). */
function withBedrock(config: ReturnType<typeof testConfig>) {
  return {
    ...config,
    providers: { ...config.providers, bedrock: { type: 'bedrock' } },
    models: { ...config.models, 'claude-bedrock': { provider: 'bedrock', model: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0' } },
  };
}
/** The handler's bound on background work (lambda/hosts/lambda/handler.ts). */
const BACKGROUND_WAIT_MS = 15_000;

describeIfRuntime('the synthesized function under the real Lambda runtime client', () => {
  let dir: string;
  let upstream: UpstreamFake;
  let bedrock: BedrockFake;
  let moto: Moto;
  let db: ReturnType<typeof dynalite>;
  let proxy: StallingProxy;
  let dynamo: DynamoDBClient;
  let runtime: LocalRuntimeApi;
  let child: ChildProcess;
  const output: string[] = [];
  let clientKey: string;
  let stores: ReturnType<typeof createDynamoStores>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mixroute-ric-'));
    const tls = selfSignedCert(dir);
    upstream = await startUpstreamFake({ echo: true, tls });
    // Bedrock with the function's own credentials (the runtime's environment), as with its role in AWS.
    bedrock = await startBedrockFake({ region: MOTO_CLIENT_CONFIG.region, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    moto = await startMoto();
    db = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    await new Promise<void>((resolve) => db.listen(0, '127.0.0.1', () => resolve()));
    const dbPort = (db.address() as AddressInfo).port;
    proxy = await startStallingProxy({ host: '127.0.0.1', port: dbPort });

    dynamo = new DynamoDBClient({ ...MOTO_CLIENT_CONFIG, endpoint: `http://127.0.0.1:${dbPort}` });
    await ensureTables(dynamo);
    stores = createDynamoStores(dynamo, LOCAL_TABLE_NAMES);
    const kms = new KMSClient({ ...MOTO_CLIENT_CONFIG, endpoint: moto.endpoint });
    const keyArn = (await kms.send(new CreateKeyCommand({ Description: 'relay' }))).KeyMetadata!.Arn!;
    const cipher = new KmsCipher(kms, keyArn);
    await setProviderKey(stores.secrets, cipher, 'openai', UPSTREAM_OPENAI_KEY);
    await setProviderKey(stores.secrets, cipher, 'anthropic', UPSTREAM_ANTHROPIC_KEY);
    kms.destroy();
    clientKey = (await createClientKey(stores.keys, { name: 'runtime' })).secret;

    const bundle = synthesizeRelayFunction(join(dir, 'cdk.out'));
    expect(bundle.runtime).toBe('nodejs24.x');
    expect(existsSync(join(bundle.dir, 'index.js'))).toBe(true);
    // The function's environment from the template; every value the stack resolves at deploy time
    // is mapped to its local counterpart, and an unknown one fails the test.
    const local: Record<string, string> = {
      MIXROUTE_CONFIG: JSON.stringify(withBedrock(testConfig(upstream.url, { storeTimeoutMs: STORE_TIMEOUT_MS, streamKeyRecheckMs: 30_000 }))),
      MIXROUTE_KEYS_TABLE: LOCAL_TABLE_NAMES.keys,
      MIXROUTE_SECRETS_TABLE: LOCAL_TABLE_NAMES.secrets,
      MIXROUTE_USAGE_TABLE: LOCAL_TABLE_NAMES.usage,
      MIXROUTE_COUNTERS_TABLE: LOCAL_TABLE_NAMES.counters,
      MIXROUTE_KMS_KEY_ID: keyArn,
    };
    const environment: Record<string, string> = {};
    for (const [name, value] of Object.entries(bundle.environment)) {
      if (name in local) environment[name] = local[name];
      else if (typeof value === 'string') environment[name] = value;
      else throw new Error(`the function's environment variable ${name} is resolved at deploy time and has no local value in this test`);
    }
    expect(Object.keys(environment).sort()).toEqual(expect.arrayContaining(Object.keys(local).sort()));

    runtime = await startLocalRuntimeApi();
    child = spawn(process.execPath, [RIC as string, bundle.handler], {
      cwd: bundle.dir,
      env: {
        PATH: process.env.PATH,
        ...environment,
        AWS_LAMBDA_RUNTIME_API: runtime.runtimeApi,
        LAMBDA_TASK_ROOT: bundle.dir,
        _HANDLER: bundle.handler,
        AWS_LAMBDA_FUNCTION_NAME: 'relay',
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/relay',
        AWS_LAMBDA_LOG_STREAM_NAME: '2026/12/01/[$LATEST]local',
        AWS_REGION: MOTO_CLIENT_CONFIG.region,
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
        AWS_ENDPOINT_URL_DYNAMODB: proxy.url,
        AWS_ENDPOINT_URL_KMS: moto.endpoint,
        AWS_ENDPOINT_URL_BEDROCK_RUNTIME: bedrock.url,
        // The bundle leaves @aws-sdk/* to the runtime, which ships it; here it comes from the project.
        NODE_PATH: join(ROOT, 'node_modules'),
        NODE_EXTRA_CA_CERTS: tls.certPath,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let partial = '';
    const collect = (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      output.push(...lines);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    child.on('exit', (code, signal) => runtime.fail(`the runtime client exited (${signal ?? code}); its last output: ${output.slice(-5).join(' | ')}`));
    await runtime.ready(30_000);
  }, 120_000);

  afterAll(async () => {
    if (process.env.DEBUG_RIC) console.log(output.join('\n'), JSON.stringify(runtime?.invocations));
    child?.kill();
    await runtime?.close();
    proxy?.stall(false);
    await proxy?.close();
    dynamo?.destroy();
    await new Promise<void>((resolve) => (db ? db.close(() => resolve()) : resolve()));
    await moto?.stop();
    await upstream?.close();
    await bedrock?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const openai = () => new OpenAI({ apiKey: clientKey, baseURL: `${runtime.frontUrl}/v1`, maxRetries: 0 });
  const lastInvocation = (): Invocation => runtime.invocations[runtime.invocations.length - 1];
  const usageFor = async (requestId: string) => (await stores.usage.queryUsage({ sinceMs: Date.now() - 3_600_000, nowMs: Date.now() })).filter((r) => r.requestId === requestId);

  test('started without an init error', () => {
    expect(runtime.initErrors).toEqual([]);
  });

  test('JSON: the official OpenAI client gets its answer, and one usage record is written with the real counts', async () => {
    const { data, response } = await openai().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'ric-json-1' }] }).withResponse();
    expect(data.choices[0].message.content).toBe('ric-json-1');
    const requestId = response.headers.get('x-request-id') as string;
    expect(requestId).toBeTruthy();
    await runtime.finished(lastInvocation(), 10_000);
    const records = await usageFor(requestId);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ model: 'gpt-4o-mini', status: 200, outcome: 'ok', inputTokens: 11, outputTokens: 7, streamed: false });
    // The provider secret came from the secrets table, decrypted by KMS (moto), sent over verified TLS.
    expect(upstream.received.at(-1)!.headers.authorization).toBe(`Bearer ${UPSTREAM_OPENAI_KEY}`);
    expect(lastInvocation().mode).toBe('streamed');
  });

  test('SSE is delivered incrementally through the runtime: the first piece reaches the client before the provider has sent the last', async () => {
    const events = openAiChatSse(['one', ' two', ' three', ' four', ' five'], true, { prompt_tokens: 21, completion_tokens: 5 })
      .split('\n\n')
      .filter(Boolean)
      .map((event) => `${event}\n\n`);
    expect(events.length).toBeGreaterThanOrEqual(8);
    let upstreamDoneAt = 0;
    upstream.respondWith(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const event of events) {
        res.write(event);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      upstreamDoneAt = Date.now();
      res.end();
    });
    try {
      const { data: stream, response } = await openai()
        .chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'ric-stream' }] })
        .withResponse();
      expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
      const arrivals: { at: number; text: string }[] = [];
      for await (const chunk of stream) {
        const text = chunk.choices[0]?.delta?.content;
        if (text) arrivals.push({ at: Date.now(), text });
      }
      expect(arrivals.map((a) => a.text).join('')).toBe('one two three four five');
      expect(arrivals).toHaveLength(5);
      expect(upstreamDoneAt).toBeGreaterThan(0);
      expect(upstreamDoneAt - arrivals[0].at).toBeGreaterThan(1000);
      expect(arrivals[4].at - arrivals[0].at).toBeGreaterThan(700);
      await runtime.finished(lastInvocation(), 10_000);
      const records = await usageFor(response.headers.get('x-request-id') as string);
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({ streamed: true, completed: true, outcome: 'ok', inputTokens: 21, outputTokens: 5 });
    } finally {
      upstream.reset();
    }
  });

  test('Anthropic: the official client streams a message through the runtime, with the usage recorded', async () => {
    const anthropic = new Anthropic({ apiKey: clientKey, baseURL: runtime.frontUrl, maxRetries: 0 });
    const stream = anthropic.messages.stream({ model: 'claude-sonnet-5-5', max_tokens: 64, messages: [{ role: 'user', content: 'ric-anthropic' }] });
    const message = await stream.finalMessage();
    expect(message.content[0]).toMatchObject({ type: 'text', text: expect.stringContaining('ric-anthropic') });
    const requestId = (await stream.withResponse()).response.headers.get('x-request-id') as string;
    await runtime.finished(lastInvocation(), 10_000);
    const records = await usageFor(requestId);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ model: 'claude-sonnet-5-5', endpoint: 'messages', streamed: true, outcome: 'ok', inputTokens: 13, outputTokens: 9 });
    expect(upstream.received.at(-1)!.headers['x-api-key']).toBe(UPSTREAM_ANTHROPIC_KEY);
  });

  test('Bedrock: the bundled signer with the function\'s own credentials, a Claude stream decoded from the event stream, usage with cache tokens', async () => {
    const anthropic = new Anthropic({ apiKey: clientKey, baseURL: runtime.frontUrl, maxRetries: 0 });
    const stream = anthropic.messages.stream({ model: 'claude-bedrock', max_tokens: 64, messages: [{ role: 'user', content: 'ric-bedrock' }] });
    const message = await stream.finalMessage();
    expect(message.content[0]).toMatchObject({ type: 'text', text: 'ric-bedrock' });
    expect(bedrock.refused).toEqual([]);
    expect(bedrock.received).toHaveLength(1);
    const requestId = (await stream.withResponse()).response.headers.get('x-request-id') as string;
    await runtime.finished(lastInvocation(), 10_000);
    const records = await usageFor(requestId);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ provider: 'bedrock', outcome: 'ok', outputTokens: BEDROCK_USAGE.outputTokens, cachedInputTokens: BEDROCK_USAGE.cacheReadInputTokens });
  });

  test('errors come back in the caller\'s format with their status, and the invocation ends cleanly', async () => {
    const wrongKey = new OpenAI({ apiKey: 'mr-' + 'x'.repeat(43), baseURL: `${runtime.frontUrl}/v1`, maxRetries: 0 });
    const unauthorized = await wrongKey.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
    expect(unauthorized).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(unauthorized.code).toBe('invalid_api_key');

    const unknown = await openai().chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    expect(unknown.code).toBe('model_not_found');

    upstream.script('a', { status: 500 }, { status: 500 }, { status: 500 });
    const failed = await openai().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'ric-500' }] }).catch((e) => e);
    upstream.reset();
    expect(failed).toBeInstanceOf(OpenAI.APIError);
    expect(failed.status).toBe(502);
    expect(String(failed.code)).toMatch(/^upstream_/);
    const requestId = failed.headers['x-request-id'] ?? failed.headers.get?.('x-request-id');
    await runtime.finished(lastInvocation(), 10_000);
    const records = await usageFor(requestId);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ status: 502, outcome: 'upstream_error', inputTokens: 0, outputTokens: 0 });
    const lastThree = runtime.invocations.slice(-3);
    expect(lastThree).toHaveLength(3);
    for (const invocation of lastThree) expect(invocation).toMatchObject({ mode: 'streamed' });
    for (const invocation of lastThree) expect(invocation.errorType).toBeUndefined();
  });

  test('DynamoDB hangs during a key lookup: 503 key_store_unavailable within the store deadline, and the invocation ends', async () => {
    const fresh = (await createClientKey(stores.keys, { name: 'uncached' })).secret;
    proxy.stall(true);
    try {
      const started = Date.now();
      const refused = await new OpenAI({ apiKey: fresh, baseURL: `${runtime.frontUrl}/v1`, maxRetries: 0 }).chat.completions
        .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] })
        .catch((e) => e);
      const elapsed = Date.now() - started;
      expect(refused).toBeInstanceOf(OpenAI.APIError);
      expect(refused.status).toBe(503);
      expect(refused.code).toBe('key_store_unavailable');
      expect(elapsed).toBeGreaterThanOrEqual(STORE_TIMEOUT_MS - 100);
      expect(elapsed).toBeLessThan(STORE_TIMEOUT_MS + 2_000);
      const invocation = lastInvocation();
      const finishedAt = await runtime.finished(invocation, BACKGROUND_WAIT_MS + 5_000);
      expect(finishedAt - invocation.answeredAt!).toBeLessThan(3_000);
    } finally {
      proxy.stall(false);
    }
  }, 60_000);

  test('DynamoDB hangs during the usage write: the answer is not held, the invocation ends within the background bound, and the record is in the replay line', async () => {
    // Warm the key and secret caches, so only the usage write meets the stall.
    await openai().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'warm' }] });
    await runtime.finished(lastInvocation(), 10_000);
    proxy.stall(true);
    let requestId: string;
    let invocation: Invocation;
    try {
      const started = Date.now();
      const { data, response } = await openai().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'ric-stall' }] }).withResponse();
      const answeredIn = Date.now() - started;
      expect(data.choices[0].message.content).toBe('ric-stall');
      expect(answeredIn).toBeLessThan(STORE_TIMEOUT_MS);
      requestId = response.headers.get('x-request-id') as string;
      invocation = lastInvocation();
      const finishedAt = await runtime.finished(invocation, BACKGROUND_WAIT_MS + 5_000);
      // Every attempt met the deadline; the invocation still ended well before the function timeout.
      expect(finishedAt - invocation.answeredAt!).toBeGreaterThanOrEqual(STORE_TIMEOUT_MS);
      // Its budget: four attempts of one store deadline each, with 50 + 250 + 1000 ms between them.
      expect(finishedAt - invocation.answeredAt!).toBeLessThan(4 * STORE_TIMEOUT_MS + 1_300 + 2_000);
      expect(BACKGROUND_WAIT_MS).toBeGreaterThan(4 * STORE_TIMEOUT_MS + 1_300);
    } finally {
      // What was held never reaches DynamoDB (as in a partition).
      proxy.stall(false, { drop: true });
    }
    const replay = output.filter((line) => line.includes('"usage_write_failed"') && line.includes(requestId));
    expect(replay).toHaveLength(1);
    const record = JSON.parse(replay[0]);
    for (const logField of ['time', 'event', 'attempt']) delete record[logField];
    expect(record).toMatchObject({ requestId, model: 'gpt-4o-mini', inputTokens: 11, outputTokens: 7, outcome: 'ok' });
    // Exactly one record: in the replay line, not in the table; replaying the line restores it, once.
    expect(await usageFor(requestId)).toHaveLength(0);
    await stores.usage.put(record);
    await stores.usage.put(record);
    expect(await usageFor(requestId)).toEqual([record]);
    expect(output.join('\n')).not.toContain('ric-stall');
    expect(output.filter((line) => line.includes('background_wait_exceeded'))).toEqual([]);
  }, 60_000);
});
