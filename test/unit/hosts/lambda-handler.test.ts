/**
 * The Lambda response-streaming host: API Gateway REST proxy events in, the runtime's prelude
 * protocol out, and the usage record written before the invocation ends.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { parseRelayConfig } from '../../../lambda/core/config';
import { createLogger } from '../../../lambda/core/log';
import { relayFromEnvironment } from '../../../lambda/hosts/lambda/environment';
import { eventToRequest } from '../../../lambda/hosts/lambda/event';
import { createStreamingHandler, handler } from '../../../lambda/hosts/lambda/handler';
import { writeToResponseStream } from '../../../lambda/hosts/lambda/response-stream';
import { composeRelay } from '../../../lambda/hosts/shared/compose';
import { PROVIDERS } from '../../../lambda/providers/registry';
import { FakeLambdaResponseStream } from '../../helpers/fake-lambda-stream';
import { buildRelay, testConfig, type TestRelay } from '../../helpers/relay-builder';
import { DEFAULT_REPLY } from '../../helpers/upstream-fake';

let h: TestRelay;
let invoke: ReturnType<typeof createStreamingHandler>;
/** Request ids whose usage write has completed; writes are slowed so an unawaited one would show. */
const written: string[] = [];

beforeAll(async () => {
  h = await buildRelay();
  const relay = composeRelay({
    config: parseRelayConfig(testConfig(h.upstream.url), 'local', PROVIDERS),
    keys: h.stores.keys,
    usage: {
      async put(record) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        await h.stores.usage.put(record);
        written.push(record.requestId);
      },
    },
    secrets: h.stores.secrets,
    cipher: h.cipher,
    logger: createLogger(() => undefined),
  });
  invoke = createStreamingHandler(() => relay.handle);
});
afterAll(() => h.close());

function event(overrides: Partial<APIGatewayProxyEvent>): APIGatewayProxyEvent {
  return {
    httpMethod: 'POST',
    path: '/v1/chat/completions',
    resource: '/{proxy+}',
    headers: {},
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    body: null,
    isBase64Encoded: false,
    requestContext: {} as APIGatewayProxyEvent['requestContext'],
    ...overrides,
  };
}

const auth = () => ({ Authorization: [`Bearer ${h.key.secret}`], 'Content-Type': ['application/json'] });

test('streams a chat completion behind the prelude and records usage before the invocation ends', async () => {
  const stream = new FakeLambdaResponseStream();
  const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true });
  await invoke(event({ multiValueHeaders: auth(), body }), stream);
  const { prelude, body: text } = stream.parse();
  expect(prelude).toMatchObject({ statusCode: 200, headers: { 'content-type': 'text/event-stream; charset=utf-8' } });
  const pieces = text.split('\n\n').filter((e) => e.startsWith('data: {')).map((e) => JSON.parse(e.slice(6)).choices[0]?.delta?.content ?? '');
  expect(pieces.join('')).toBe(DEFAULT_REPLY);
  expect(text.trim().endsWith('data: [DONE]')).toBe(true);
  // The handler itself must have awaited the (slowed) write before returning.
  const requestId = prelude?.headers['x-request-id'] as string;
  expect(written).toContain(requestId);
  const items = await h.usageItems();
  expect(items.find((i) => i.requestId === requestId)).toMatchObject({ outcome: 'ok', usageSource: 'provider', streamed: true });
});

test('decodes a base64 body and single-value headers', async () => {
  const stream = new FakeLambdaResponseStream();
  const body = Buffer.from(JSON.stringify({ model: 'claude-sonnet-5-5', max_tokens: 5, messages: [] })).toString('base64');
  await invoke(event({ path: '/v1/messages', headers: { 'x-api-key': h.key.secret }, multiValueHeaders: {}, body, isBase64Encoded: true }), stream);
  const { prelude, body: text } = stream.parse();
  expect(prelude?.statusCode).toBe(200);
  expect(JSON.parse(text).content[0].text).toBe(DEFAULT_REPLY);
});

test('sends errors with their status in the prelude and the body in the caller\'s format', async () => {
  const stream = new FakeLambdaResponseStream();
  await invoke(event({ path: '/v1/messages', body: '{}' }), stream);
  const { prelude, body } = stream.parse();
  expect(prelude?.statusCode).toBe(401);
  expect(JSON.parse(body)).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
});

test('writes the prelude even for a response with no body (write before end)', async () => {
  const stream = new FakeLambdaResponseStream();
  await writeToResponseStream({ status: 204, headers: {} }, stream);
  expect(stream.parse().prelude?.statusCode).toBe(204);
});

test('builds the request from path, repeated headers and query (no URL is built from the Host header)', () => {
  const request = eventToRequest(
    event({
      httpMethod: 'GET',
      path: '/v1/models',
      multiValueHeaders: { 'X-Multi': ['a', 'b'], Host: ['evil.example'] },
      multiValueQueryStringParameters: { limit: ['5'] },
      body: 'ignored for GET',
    }),
  );
  expect(request.path).toBe('/v1/models');
  expect(request.query).toBe('limit=5');
  expect(request.headers['x-multi']).toBe('a, b');
  expect(request.body).toBeUndefined();
});

test('the deployed handler module loads outside Lambda through the runtime stand-in', () => {
  expect(typeof handler).toBe('function');
});

test('refuses to start in Lambda with a provider key from the environment', () => {
  const env = {
    MIXROUTE_CONFIG: JSON.stringify({ providers: { p: { type: 'openai', baseUrl: 'https://api.example.com/v1', apiKeyEnv: 'OPENAI_API_KEY' } } }),
    MIXROUTE_KEYS_TABLE: 'k', MIXROUTE_SECRETS_TABLE: 's', MIXROUTE_USAGE_TABLE: 'u', MIXROUTE_KMS_KEY_ID: 'alias/x',
  };
  expect(() => relayFromEnvironment(env)).toThrow(/apiKeyEnv: only allowed in local mode/);
  expect(() => relayFromEnvironment({ ...env, MIXROUTE_CONFIG: '{}', MIXROUTE_USAGE_TABLE: '' })).toThrow(/MIXROUTE_USAGE_TABLE is not set/);
});

test('the Lambda states the deployed trail retention in its privacy manifest', async () => {
  const handle = relayFromEnvironment({
    MIXROUTE_CONFIG: '{}', MIXROUTE_KEYS_TABLE: 'k', MIXROUTE_SECRETS_TABLE: 's', MIXROUTE_USAGE_TABLE: 'u', MIXROUTE_COUNTERS_TABLE: 'c',
    MIXROUTE_KMS_KEY_ID: 'arn:aws:kms:us-east-1:111122223333:key/x', MIXROUTE_TRAIL_RETENTION_DAYS: '400', AWS_REGION: 'us-east-1',
  });
  const response = await handle({ method: 'GET', path: '/v1/privacy', query: '', headers: {} }, { waitUntil: () => undefined });
  const manifest = JSON.parse(Buffer.from(response.body as Uint8Array).toString('utf8')) as { stored: { what: string; retentionDays: number | null }[] };
  expect(manifest.stored.find((s) => s.what.startsWith('audit trail'))?.retentionDays).toBe(400);
});

test('the wait for background work after the last byte is bounded, and says so', async () => {
  const writes: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (writes.push(String(chunk)), true));
  try {
    const stuck = createStreamingHandler(
      () => async (_request, ctx) => {
        ctx.waitUntil(new Promise(() => undefined)); // a usage write that never settles
        return { status: 200, headers: {}, body: new TextEncoder().encode('ok') };
      },
      200,
    );
    const started = Date.now();
    await stuck(event({ httpMethod: 'GET', path: '/healthz' }), new FakeLambdaResponseStream());
    expect(Date.now() - started).toBeLessThan(1000);
    expect(writes.some((line) => line.includes('"background_wait_exceeded"'))).toBe(true);
  } finally {
    spy.mockRestore();
  }
});

test('HEAD answers go out with their status and headers and no body', async () => {
  const stream = new FakeLambdaResponseStream();
  await invoke(event({ httpMethod: 'HEAD', path: '/v1/models', multiValueHeaders: auth() }), stream);
  const { prelude, body } = stream.parse();
  expect(prelude?.statusCode).toBe(200);
  expect(body).toBe('');
});

test('in the Lambda runtime, a bad configuration fails the init once, with one clear error', () => {
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const result = spawnSync(process.execPath, ['-r', 'tsx/cjs', '-e', "require('./lambda/hosts/lambda/handler.ts')"], {
    cwd: require('node:path').join(__dirname, '../../..'),
    encoding: 'utf8',
    env: {
      ...process.env,
      AWS_LAMBDA_RUNTIME_API: '127.0.0.1:9',
      MIXROUTE_CONFIG: JSON.stringify({ providers: { p: { type: 'openai', baseUrl: 'http://evil.example/v1' } } }),
      MIXROUTE_KEYS_TABLE: 'k', MIXROUTE_SECRETS_TABLE: 's', MIXROUTE_USAGE_TABLE: 'u', MIXROUTE_COUNTERS_TABLE: 'c', MIXROUTE_KMS_KEY_ID: 'k',
    },
  });
  expect(result.status).not.toBe(0);
  const lines = result.stderr.split('\n').filter((l) => l.startsWith('mixroute: the relay cannot start'));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain('providers.p.baseUrl: expected https');
});
