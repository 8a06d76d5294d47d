/**
 * Lambda host: API Gateway REST proxy event in, response streamed out through
 * awslambda.streamifyResponse. The prelude (status and headers) goes out with the first write:
 * we always write() before end(), since end(chunk) right after HttpResponseStream.from() skips
 * the prelude and API Gateway answers 502. The handler awaits the usage write after the last
 * byte, so the record is written while the invocation is still alive.
 */
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import type { Writable } from 'node:stream';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { parseRelayConfigText } from '../core/config';
import { createLogger } from '../core/log';
import type { RelayHandler } from '../core/relay';
import { composeRelay } from './compose';
import { createDynamoStores } from './dynamodb-stores';
import { createEmfMetrics } from './emf-metrics';
import { KmsCipher } from './kms-cipher';
import { lambdaRuntime } from './lambda-runtime';

const ORIGIN = 'https://relay.internal';

/** Builds the web Request the core expects from a REST API proxy event. */
export function eventToRequest(event: APIGatewayProxyEvent): Request {
  const headers = new Headers();
  const multi = event.multiValueHeaders ?? {};
  for (const [name, values] of Object.entries(multi)) {
    for (const value of values ?? []) safeAppend(headers, name, value);
  }
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined && !(name in multi)) safeAppend(headers, name, value);
  }
  const query = new URLSearchParams();
  for (const [name, values] of Object.entries(event.multiValueQueryStringParameters ?? {})) {
    for (const value of values ?? []) query.append(name, value);
  }
  const search = query.size > 0 ? `?${query}` : '';
  const method = event.httpMethod;
  const hasBody = method !== 'GET' && method !== 'HEAD' && event.body != null;
  const body = hasBody ? Buffer.from(event.body as string, event.isBase64Encoded ? 'base64' : 'utf8') : undefined;
  const path = event.path?.startsWith('/') ? event.path : '/';
  return new Request(ORIGIN + path.replace(/[?#]/g, encodeURIComponent) + search, { method, headers, body });
}

function safeAppend(headers: Headers, name: string, value: string): void {
  try {
    headers.append(name, value);
  } catch {
    // Invalid header: dropped.
  }
}

/** Writes status and headers (as the prelude) and the body to the Lambda response stream. */
export async function writeToResponseStream(response: Response, responseStream: Writable): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  const stream = lambdaRuntime().HttpResponseStream.from(responseStream, { statusCode: response.status, headers });
  let wrote = false;
  if (response.body) {
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        wrote = true;
        if (!stream.write(value)) await new Promise((resolve) => stream.once('drain', resolve));
      }
    } catch {
      // The body failed after the prelude went out: ending the stream is all that is left.
    }
  }
  if (!wrote) stream.write('');
  await new Promise<void>((resolve) => stream.end(resolve));
}

type StreamingHandler = (event: APIGatewayProxyEvent, responseStream: Writable, context?: Context) => Promise<void>;

/** The handler body: turn the event into a Request, stream the Response, then await background work. */
export function createStreamingHandler(getRelay: () => RelayHandler): StreamingHandler {
  return async (event, responseStream) => {
    const background: Promise<unknown>[] = [];
    const handle = getRelay();
    const response = await handle(eventToRequest(event), { waitUntil: (work) => background.push(work) });
    await writeToResponseStream(response, responseStream);
    await Promise.allSettled(background);
  };
}

let relay: RelayHandler | undefined;

const writeLine = (line: string) => void process.stdout.write(line + '\n');

/** Reads the environment once per container and builds the relay; clients are reused across invocations. */
export function relayFromEnvironment(env: NodeJS.ProcessEnv = process.env): RelayHandler {
  const required = (name: string): string => {
    const value = env[name];
    if (!value) throw new Error(`environment variable ${name} is not set`);
    return value;
  };
  const config = parseRelayConfigText(required('MIXROUTE_CONFIG'), 'lambda', 'MIXROUTE_CONFIG');
  const dynamo = new DynamoDBClient({});
  const stores = createDynamoStores(dynamo, {
    keys: required('MIXROUTE_KEYS_TABLE'),
    secrets: required('MIXROUTE_SECRETS_TABLE'),
    usage: required('MIXROUTE_USAGE_TABLE'),
    counters: required('MIXROUTE_COUNTERS_TABLE'),
  });
  return composeRelay({
    config,
    keys: stores.keys,
    usage: stores.usage,
    secrets: stores.secrets,
    counters: stores.counters,
    cipher: new KmsCipher(new KMSClient({}), required('MIXROUTE_KMS_KEY_ID')),
    logger: createLogger(writeLine),
    metrics: createEmfMetrics(env.MIXROUTE_METRICS_NAMESPACE || 'Mixroute', writeLine),
    privacy: env.MIXROUTE_TRAIL_RETENTION_DAYS ? { trailRetentionDays: Number(env.MIXROUTE_TRAIL_RETENTION_DAYS) } : {},
  }).handle;
}

export const handler = lambdaRuntime().streamifyResponse(
  createStreamingHandler(() => (relay ??= relayFromEnvironment())),
);
