/**
 * Anthropic Messages on Bedrock, natively: InvokeModel / InvokeModelWithResponseStream. The body is
 * the Messages body as Anthropic defines it for Bedrock (`anthropic_version: "bedrock-2023-05-31"`,
 * no `model` or `stream`, the `anthropic-beta` header's values in the `anthropic_beta` list, kept to
 * the betas Bedrock accepts); the
 * event-stream answer is re-emitted as Anthropic SSE events with each event's JSON unchanged.
 * Usage comes from the stream's own events and from `amazon-bedrock-invocationMetrics` on the last.
 * count_tokens goes to CountTokens with the same body.
 */
import { RelayError } from '../../core/errors';
import { header } from '../../core/http';
import type { ForwardInput, JsonObject, MeterReading, StreamDecoder, StreamMeter, TokenCounts } from '../../core/provider';
import { parseSseEvent } from '../../core/sse';
import { anthropicUsage, createAnthropicStreamMeter } from '../shared/anthropic-wire';
import { encode, isObject, nonNegativeInt, tryParse } from '../shared/json';
import { bedrockBetas } from './betas';
import { exceptionEvent } from './errors';
import { EventStreamReader } from './event-stream';
import { countTokensModel, isAnthropicModel, type BedrockModelId } from './model-ids';
import { bedrockCounts, INVOCATION_METRICS_FIELDS } from './token-counts';

export const BEDROCK_ANTHROPIC_VERSION = 'bedrock-2023-05-31';

/** The Messages body for Bedrock, with the betas Bedrock accepts (see betas.ts). */
export function invokeBody(input: ForwardInput): JsonObject {
  const rest: JsonObject = { ...input.body };
  delete rest.model;
  delete rest.stream;
  delete rest.anthropic_beta;
  const fromHeader = (header(input.clientHeaders, 'anthropic-beta') ?? '')
    .split(',')
    .map((beta) => beta.trim())
    .filter(Boolean);
  const listed = Array.isArray(input.body.anthropic_beta) ? input.body.anthropic_beta.filter((b): b is string => typeof b === 'string') : [];
  // The provider's list was checked when the config was parsed.
  const configured = input.provider.options?.anthropicBetas;
  const betas = bedrockBetas([...listed, ...fromHeader], Array.isArray(configured) ? (configured as string[]) : undefined);
  return { ...rest, anthropic_version: BEDROCK_ANTHROPIC_VERSION, ...(betas.length > 0 ? { anthropic_beta: betas } : {}) };
}

/** /v1/messages serves Claude; other Bedrock models speak Converse, through /v1/chat/completions. */
export function requireAnthropicModel(model: BedrockModelId): void {
  if (isAnthropicModel(model) === false) {
    throw new RelayError(400, 'wrong_endpoint_for_model', 'This model is not an Anthropic model on Bedrock, so it is not served on /v1/messages. Call it on /v1/chat/completions.');
  }
}

function base64ToText(value: string): string {
  const binary = atob(value);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new TextDecoder().decode(bytes);
}

/** Event-stream `chunk` events → Anthropic SSE events (each event's JSON as Bedrock carried it). */
export function createInvokeStreamDecoder(): StreamDecoder {
  const reader = new EventStreamReader();
  const toSse = (messages: ReturnType<EventStreamReader['push']>): Uint8Array[] =>
    messages.flatMap((message) => {
      if (message.messageType !== 'event') return [exceptionEvent('anthropic', message.type, message.payload)];
      if (message.type !== 'chunk') return [];
      const chunk = tryParse(message.payload);
      if (!isObject(chunk) || typeof chunk.bytes !== 'string') return [];
      const json = base64ToText(chunk.bytes);
      const event = tryParse(json);
      const type = isObject(event) && typeof event.type === 'string' ? event.type : 'message';
      return [encode(`event: ${type}\ndata: ${json}\n\n`)];
    });
  return {
    push: (chunk) => toSse(reader.push(chunk)),
    flush: () => [],
  };
}

/** `amazon-bedrock-invocationMetrics`: Bedrock's own billed counts (input excludes cache reads and writes). */
export function invocationMetricsCounts(value: unknown): TokenCounts | undefined {
  return bedrockCounts(isObject(value) ? value['amazon-bedrock-invocationMetrics'] : undefined, INVOCATION_METRICS_FIELDS);
}

/** The Anthropic meter, with Bedrock's invocation metrics (the billed figures) preferred when present. */
export function createInvokeStreamMeter(): StreamMeter {
  const inner = createAnthropicStreamMeter();
  let billed: TokenCounts | undefined;
  return {
    onEvent(raw) {
      const { event, data } = parseSseEvent(raw);
      if (event === 'message_stop' && data.includes('amazon-bedrock-invocationMetrics')) billed = invocationMetricsCounts(tryParse(data)) ?? billed;
      return inner.onEvent(raw);
    },
    reading(): MeterReading {
      const reading = inner.reading();
      return billed ? { ...reading, ...billed, fromProvider: true } : reading;
    },
  };
}

/** Usage of a JSON answer: the message's own `usage`. */
export const invokeUsage = anthropicUsage;

/** The CountTokens request body for a Messages body, and its answer in Anthropic's shape. */
export function countTokensBody(input: ForwardInput): JsonObject {
  const body = invokeBody(input);
  // CountTokens takes a complete InvokeModel body; count_tokens requests carry no max_tokens.
  const complete = body.max_tokens === undefined ? { ...body, max_tokens: 1 } : body;
  const bytes = new TextEncoder().encode(JSON.stringify(complete));
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return { input: { invokeModel: { body: btoa(binary) } } };
}

export function countTokensAnswer(bytes: Uint8Array): Uint8Array {
  const value = JSON.parse(new TextDecoder().decode(bytes));
  const tokens = isObject(value) ? nonNegativeInt(value.inputTokens) : undefined;
  if (tokens === undefined) throw new Error('CountTokens answer without inputTokens');
  return encode(JSON.stringify({ input_tokens: tokens }));
}

export { countTokensModel };
