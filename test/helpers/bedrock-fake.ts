/**
 * A local Bedrock runtime stand-in on 127.0.0.1, for tests (the relay reaches it through
 * AWS_ENDPOINT_URL_BEDROCK_RUNTIME). It checks every request's SigV4 signature by its own
 * implementation of the algorithm (service `bedrock`, its region, the test credentials), answers
 * InvokeModel, InvokeModelWithResponseStream, Converse, ConverseStream and CountTokens in their
 * real shapes, streams in the real event-stream framing (encoded with the AWS SDK's own codec), and
 * plays exceptions (before the answer and mid-stream), hangs and cut streams. Its faithfulness is
 * itself tested with the official @aws-sdk/client-bedrock-runtime (test/unit/providers/bedrock-fake.test.ts).
 */
import { EventStreamCodec, type MessageHeaders } from '@smithy/core/event-streams';
import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const BEDROCK_TEST_CREDENTIALS = { accessKeyId: 'AKIDBEDROCKTEST', secretAccessKey: 'bedrock-test-secret-key' };
export const BEDROCK_TEST_REGION = 'us-east-1';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const codec = new EventStreamCodec((b) => decoder.decode(b), (s) => encoder.encode(s));

export interface BedrockReceived {
  readonly method: string;
  readonly path: string;
  readonly modelId: string;
  readonly action: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  readonly json: any;
}

/** A scripted behaviour for the next request. */
export type BedrockFault =
  | { exception: string; status: number; message?: string }
  | { midStream: string; message?: string }
  | 'hang'
  | 'cut';

export interface BedrockUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadInputTokens?: number;
  cacheWriteInputTokens?: number;
}

export const BEDROCK_USAGE: BedrockUsage = { inputTokens: 17, outputTokens: 6, cacheReadInputTokens: 40, cacheWriteInputTokens: 8 };

export interface BedrockFake {
  readonly url: string;
  readonly received: BedrockReceived[];
  /** Requests refused for their signature, with the reason. */
  readonly refused: string[];
  script(...faults: BedrockFault[]): void;
  reset(): void;
  close(): Promise<void>;
}

// --- SigV4, checked independently of the SDK's signer ---------------------------------------

const sha256Hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();
const rfc3986 = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** Why a request's signature is wrong, or undefined when it is right. */
export function signatureProblem(req: IncomingMessage, body: Buffer, region: string, credentials = BEDROCK_TEST_CREDENTIALS): string | undefined {
  const auth = req.headers.authorization ?? '';
  const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!match) return 'no SigV4 authorization header';
  const [, accessKey, date, signedRegion, service, signedHeaders, signature] = match;
  if (accessKey !== credentials.accessKeyId) return `unknown access key ${accessKey}`;
  if (service !== 'bedrock') return `signed for service ${service}`;
  if (signedRegion !== region) return `signed for region ${signedRegion}`;
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  if (!amzDate.startsWith(date)) return 'x-amz-date does not match the credential scope';
  const signedAt = Date.UTC(+amzDate.slice(0, 4), +amzDate.slice(4, 6) - 1, +amzDate.slice(6, 8), +amzDate.slice(9, 11), +amzDate.slice(11, 13), +amzDate.slice(13, 15));
  if (Math.abs(Date.now() - signedAt) > 5 * 60_000) return 'signature too old';
  const names = signedHeaders.split(';');
  if (!names.includes('host') || !names.includes('x-amz-date')) return 'host and x-amz-date must be signed';
  const url = new URL(req.url ?? '/', 'http://fake');
  // Non-S3 services: each path segment is URI-encoded once more.
  const canonicalUri = url.pathname.split('/').map((segment) => rfc3986(segment)).join('/');
  const canonicalQuery = [...url.searchParams.entries()]
    .map(([k, v]) => [rfc3986(k), rfc3986(v)])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonicalHeaders = names.map((name) => `${name}:${String(req.headers[name] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const payloadHash = typeof req.headers['x-amz-content-sha256'] === 'string' ? req.headers['x-amz-content-sha256'] : sha256Hex(body);
  const canonical = [req.method, canonicalUri, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash].join('\n');
  const scope = `${date}/${signedRegion}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, date), signedRegion), service), 'aws4_request');
  const expected = createHmac('sha256', key).update(toSign).digest('hex');
  return expected === signature ? undefined : 'signature mismatch';
}

// --- answers in Bedrock's shapes ------------------------------------------------------------

function eventMessage(eventType: string, payload: unknown): Uint8Array {
  const headers: MessageHeaders = {
    ':event-type': { type: 'string', value: eventType },
    ':content-type': { type: 'string', value: 'application/json' },
    ':message-type': { type: 'string', value: 'event' },
  };
  return codec.encode({ headers, body: encoder.encode(JSON.stringify(payload)) });
}

function exceptionMessage(exceptionType: string, message: string): Uint8Array {
  const headers: MessageHeaders = {
    ':exception-type': { type: 'string', value: exceptionType },
    ':content-type': { type: 'string', value: 'application/json' },
    ':message-type': { type: 'string', value: 'exception' },
  };
  return codec.encode({ headers, body: encoder.encode(JSON.stringify({ message })) });
}

/** The text of the request's last user message (the test's sentinel), in either request shape. */
function sentinelOf(json: any): string {
  const messages = Array.isArray(json?.messages) ? json.messages : [];
  const last = messages[messages.length - 1];
  const content = last?.content;
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    const text = content.find((b: any) => typeof b?.text === 'string');
    if (text) return text.text;
    if (content.some((b: any) => b?.type === 'tool_result' || b?.toolResult)) return 'tool result received';
  }
  return 'none';
}

const wantsTool = (json: any, text: string) => /\buse tool\b/.test(text) && (Array.isArray(json?.tools) || Array.isArray(json?.toolConfig?.tools));
const toolName = (json: any) => json?.tools?.[0]?.name ?? json?.toolConfig?.tools?.[0]?.toolSpec?.name ?? 'tool';

function anthropicUsageOf(u: BedrockUsage) {
  return { input_tokens: u.inputTokens, output_tokens: u.outputTokens, cache_read_input_tokens: u.cacheReadInputTokens ?? 0, cache_creation_input_tokens: u.cacheWriteInputTokens ?? 0 };
}

function invokeAnswer(json: any, modelId: string) {
  const text = sentinelOf(json);
  const tool = wantsTool(json, text);
  return {
    id: 'msg_bdrk_fixture',
    type: 'message',
    role: 'assistant',
    model: modelId,
    content: tool ? [{ type: 'tool_use', id: 'toolu_bdrk_1', name: toolName(json), input: { city: 'Paris' } }] : [{ type: 'text', text }],
    stop_reason: tool ? 'tool_use' : 'end_turn',
    stop_sequence: null,
    usage: anthropicUsageOf(BEDROCK_USAGE),
  };
}

/** The Anthropic events of a streamed InvokeModel answer; the last carries the invocation metrics. */
function invokeEvents(json: any, modelId: string): unknown[] {
  const text = sentinelOf(json);
  const tool = wantsTool(json, text);
  const events: unknown[] = [
    { type: 'message_start', message: { id: 'msg_bdrk_fixture', type: 'message', role: 'assistant', model: modelId, content: [], stop_reason: null, stop_sequence: null, usage: { ...anthropicUsageOf(BEDROCK_USAGE), output_tokens: 1 } } },
  ];
  if (tool) {
    events.push({ type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'toolu_bdrk_1', name: toolName(json), input: {} } });
    events.push({ type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"city":' } });
    events.push({ type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '"Paris"}' } });
  } else {
    events.push({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
    for (const piece of text.match(/.{1,4}/gs) ?? ['']) events.push({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: piece } });
  }
  events.push({ type: 'content_block_stop', index: 0 });
  events.push({ type: 'message_delta', delta: { stop_reason: tool ? 'tool_use' : 'end_turn', stop_sequence: null }, usage: { output_tokens: BEDROCK_USAGE.outputTokens } });
  events.push({
    type: 'message_stop',
    'amazon-bedrock-invocationMetrics': {
      inputTokenCount: BEDROCK_USAGE.inputTokens,
      outputTokenCount: BEDROCK_USAGE.outputTokens,
      invocationLatency: 321,
      firstByteLatency: 123,
      cacheReadInputTokenCount: BEDROCK_USAGE.cacheReadInputTokens,
      cacheWriteInputTokenCount: BEDROCK_USAGE.cacheWriteInputTokens,
    },
  });
  return events;
}

function converseAnswer(json: any) {
  const text = sentinelOf(json);
  const tool = wantsTool(json, text);
  return {
    output: { message: { role: 'assistant', content: tool ? [{ toolUse: { toolUseId: 'tooluse_bdrk_1', name: toolName(json), input: { city: 'Paris' } } }] : [{ text }] } },
    stopReason: tool ? 'tool_use' : 'end_turn',
    usage: { ...BEDROCK_USAGE, totalTokens: BEDROCK_USAGE.inputTokens + BEDROCK_USAGE.outputTokens },
    metrics: { latencyMs: 321 },
  };
}

function converseEvents(json: any): [string, unknown][] {
  const text = sentinelOf(json);
  const tool = wantsTool(json, text);
  const events: [string, unknown][] = [['messageStart', { role: 'assistant' }]];
  if (tool) {
    events.push(['contentBlockStart', { contentBlockIndex: 0, start: { toolUse: { toolUseId: 'tooluse_bdrk_1', name: toolName(json) } } }]);
    events.push(['contentBlockDelta', { contentBlockIndex: 0, delta: { toolUse: { input: '{"city":' } } }]);
    events.push(['contentBlockDelta', { contentBlockIndex: 0, delta: { toolUse: { input: '"Paris"}' } } }]);
  } else {
    for (const piece of text.match(/.{1,4}/gs) ?? ['']) events.push(['contentBlockDelta', { contentBlockIndex: 0, delta: { text: piece } }]);
  }
  events.push(['contentBlockStop', { contentBlockIndex: 0 }]);
  events.push(['messageStop', { stopReason: tool ? 'tool_use' : 'end_turn' }]);
  events.push(['metadata', { usage: { ...BEDROCK_USAGE, totalTokens: BEDROCK_USAGE.inputTokens + BEDROCK_USAGE.outputTokens }, metrics: { latencyMs: 321 } }]);
  return events;
}

function sendException(res: ServerResponse, status: number, type: string, message: string) {
  res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/`, 'x-amzn-requestid': 'fake-request-id' });
  res.end(JSON.stringify({ message }));
}

async function writeStream(res: ServerResponse, messages: Uint8Array[], fault?: BedrockFault): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': 'fake-request-id' });
  const cutAt = Math.floor(messages.length / 2);
  for (const [i, message] of messages.entries()) {
    if (fault && typeof fault === 'object' && 'midStream' in fault && i === cutAt) {
      res.end(exceptionMessage(fault.midStream, fault.message ?? 'The model stream failed.'));
      return;
    }
    if (fault === 'cut' && i === cutAt) {
      // Half a message, then the connection ends.
      res.end(message.subarray(0, Math.floor(message.length / 2)));
      return;
    }
    res.write(message);
    await new Promise((resolve) => setImmediate(resolve));
  }
  res.end();
}

/**
 * The betas this stand-in accepts on InvokeModel (AWS's documented list for Claude); like Bedrock, it
 * refuses a request naming any other with "invalid beta flag".
 */
const ACCEPTED_BETAS = new Set([
  'computer-use-2024-10-22', 'computer-use-2025-01-24', 'computer-use-2025-11-24', 'token-efficient-tools-2025-02-19', 'interleaved-thinking-2025-05-14',
  'output-128k-2025-02-19', 'dev-full-thinking-2025-05-14', 'context-1m-2025-08-07', 'context-management-2025-06-27', 'effort-2025-11-24',
  'tool-search-tool-2025-10-19', 'tool-examples-2025-10-29',
]);

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function invalidBeta(json: any): boolean {
  return Array.isArray(json?.anthropic_beta) && json.anthropic_beta.some((beta: unknown) => typeof beta !== 'string' || !ACCEPTED_BETAS.has(beta));
}

export async function startBedrockFake(options: { region?: string; credentials?: { accessKeyId: string; secretAccessKey: string } } = {}): Promise<BedrockFake> {
  const region = options.region ?? BEDROCK_TEST_REGION;
  const credentials = options.credentials ?? BEDROCK_TEST_CREDENTIALS;
  const received: BedrockReceived[] = [];
  const refused: string[] = [];
  const faults: BedrockFault[] = [];
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = Buffer.concat(parts);
      const problem = signatureProblem(req, body, region, credentials);
      if (problem) {
        refused.push(problem);
        return sendException(res, 403, 'InvalidSignatureException', `The request signature we calculated does not match the signature you provided (${problem}).`);
      }
      const match = /^\/model\/([^/]+)\/(invoke|invoke-with-response-stream|converse|converse-stream|count-tokens)$/.exec(new URL(req.url ?? '/', 'http://fake').pathname);
      if (req.method !== 'POST' || !match) return sendException(res, 404, 'UnknownOperationException', 'Unknown operation');
      const modelId = decodeURIComponent(match[1]);
      let json: any;
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch {
        return sendException(res, 400, 'ValidationException', 'Malformed input request, please reformat your input and try again.');
      }
      received.push({ method: req.method, path: req.url ?? '', modelId, action: match[2], headers: req.headers, body: body.toString('utf8'), json });
      const fault = faults.shift();
      if (fault === 'hang') return;
      if (fault && typeof fault === 'object' && 'exception' in fault) return sendException(res, fault.status, fault.exception, fault.message ?? `${fault.exception} from the fake`);
      const invoked = match[2] === 'count-tokens' ? tryJson(Buffer.from(String(json?.input?.invokeModel?.body ?? ''), 'base64').toString('utf8')) : json;
      if (match[2] !== 'converse' && match[2] !== 'converse-stream' && invalidBeta(invoked)) {
        return sendException(res, 400, 'ValidationException', 'The model returned the following errors: invalid beta flag');
      }
      switch (match[2]) {
        case 'invoke':
          res.writeHead(200, { 'content-type': 'application/json', 'x-amzn-bedrock-input-token-count': String(BEDROCK_USAGE.inputTokens), 'x-amzn-bedrock-output-token-count': String(BEDROCK_USAGE.outputTokens) });
          return void res.end(JSON.stringify(invokeAnswer(json, modelId)));
        case 'invoke-with-response-stream':
          return void writeStream(
            res,
            invokeEvents(json, modelId).map((event) => eventMessage('chunk', { bytes: Buffer.from(JSON.stringify(event)).toString('base64'), p: 'abcdefgh' })),
            fault,
          );
        case 'converse':
          res.writeHead(200, { 'content-type': 'application/json' });
          return void res.end(JSON.stringify(converseAnswer(json)));
        case 'converse-stream':
          return void writeStream(
            res,
            converseEvents(json).map(([type, event]) => eventMessage(type, { ...(event as object), p: 'abcd' })),
            fault,
          );
        case 'count-tokens': {
          const inner = json?.input?.invokeModel?.body;
          const text = typeof inner === 'string' ? Buffer.from(inner, 'base64').toString('utf8') : JSON.stringify(json?.input?.converse ?? {});
          res.writeHead(200, { 'content-type': 'application/json' });
          return void res.end(JSON.stringify({ inputTokens: Math.ceil(text.length / 4) }));
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    refused,
    script: (...next) => void faults.push(...next),
    reset() {
      received.length = 0;
      refused.length = 0;
      faults.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
