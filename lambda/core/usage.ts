/**
 * The usage record: the only thing the relay keeps about a request. One function builds it, and its
 * output keys are exactly USAGE_FIELDS: no content, no IP, no user agent, no secret.
 */
import type { ErrorCode } from './errors';

/** Which client endpoint a request called, as recorded. */
export type RecordedEndpoint = 'chat' | 'responses' | 'responses_compact' | 'messages' | 'count_tokens' | 'embeddings' | 'models' | 'other';

/** Usage records (and logs) expire after this many days. */
export const USAGE_RETENTION_DAYS = 7;

/** `provider`: both counts reported by the provider; `estimated`: at least one count estimated
 * by the relay (e.g. a stream cut before the provider's usage arrived); `none`: nothing was sent
 * upstream or nothing could be counted, so the zeros are not measurements. */
export type UsageSource = 'provider' | 'estimated' | 'none';

export type Outcome = 'ok' | 'client_error' | 'upstream_error' | 'aborted' | 'timeout' | 'relay_error';

export interface UsageRecord {
  readonly keyId: string;
  readonly requestId: string;
  /** ISO-8601 time the request arrived. */
  readonly timestamp: string;
  /** The configured model name the caller asked for, or "-" when it named none we serve. */
  readonly model: string;
  /** The configured provider name, or "-" when the request never reached routing. */
  readonly provider: string;
  readonly endpoint: RecordedEndpoint;
  /** Input tokens, prompt-cache reads and writes included. */
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** Input tokens read from the provider's prompt cache (part of inputTokens). */
  readonly cachedInputTokens: number;
  /** Input tokens written to the provider's prompt cache (part of inputTokens). */
  readonly cacheWriteTokens: number;
  /** Output tokens spent on reasoning (part of outputTokens). */
  readonly reasoningTokens: number;
  readonly usageSource: UsageSource;
  /** HTTP status the caller received (200 for a stream that later failed; see outcome). */
  readonly status: number;
  readonly outcome: Outcome;
  readonly errorCode?: ErrorCode;
  readonly streamed: boolean;
  /** For streams: whether the provider's final event arrived. For JSON: whether a body was read. */
  readonly completed: boolean;
  readonly latencyMs: number;
  /** Epoch seconds; DynamoDB's TTL deletes the record after this (reads also filter it). */
  readonly expiresAt: number;
}

/** Every field a usage record may hold, with what it means: the source of the privacy manifest. */
export const USAGE_FIELDS: Readonly<Record<keyof UsageRecord, string>> = {
  keyId: 'non-secret id of the client key that made the request',
  requestId: 'random id the relay gave the request',
  timestamp: 'when the request arrived',
  model: 'configured model name requested',
  provider: 'configured provider name used',
  endpoint: 'client endpoint called: chat, responses, responses_compact, messages, count_tokens, embeddings, models or other',
  inputTokens: 'input token count (prompt-cache reads and writes included)',
  outputTokens: 'output token count',
  cachedInputTokens: 'input tokens read from the provider\'s prompt cache',
  cacheWriteTokens: 'input tokens written to the provider\'s prompt cache',
  reasoningTokens: 'output tokens spent on reasoning',
  usageSource: 'whether the counts came from the provider or were estimated',
  status: 'HTTP status returned',
  outcome: 'ok, client_error, upstream_error, aborted, timeout or relay_error',
  errorCode: 'the relay\'s own error code, when the request failed',
  streamed: 'whether the response was streamed',
  completed: 'whether the response finished',
  latencyMs: 'milliseconds from arrival to the last byte',
  expiresAt: 'when the record is deleted (7 days after the request)',
};

export interface UsageInput {
  keyId: string;
  requestId: string;
  startedAt: number;
  finishedAt: number;
  model?: string;
  provider?: string;
  endpoint?: RecordedEndpoint;
  inputTokens?: number;
  outputTokens?: number;
  cachedInputTokens?: number;
  cacheWriteTokens?: number;
  reasoningTokens?: number;
  usageSource: UsageSource;
  status: number;
  outcome: Outcome;
  errorCode?: ErrorCode;
  streamed: boolean;
  completed: boolean;
}

function count(value: number | undefined): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
}

/** Builds the one record for a request. Copies fields by name so nothing else can slip in. */
export function buildUsageRecord(input: UsageInput): UsageRecord {
  const record: UsageRecord = {
    keyId: input.keyId,
    requestId: input.requestId,
    timestamp: new Date(input.startedAt).toISOString(),
    model: input.model ?? '-',
    provider: input.provider ?? '-',
    endpoint: input.endpoint ?? 'other',
    inputTokens: count(input.inputTokens),
    outputTokens: count(input.outputTokens),
    cachedInputTokens: count(input.cachedInputTokens),
    cacheWriteTokens: count(input.cacheWriteTokens),
    reasoningTokens: count(input.reasoningTokens),
    usageSource: input.usageSource,
    status: input.status,
    outcome: input.outcome,
    ...(input.errorCode ? { errorCode: input.errorCode } : {}),
    streamed: input.streamed,
    completed: input.completed,
    latencyMs: Math.max(0, Math.round(input.finishedAt - input.startedAt)),
    expiresAt: Math.floor(input.startedAt / 1000) + USAGE_RETENTION_DAYS * 86_400,
  };
  return record;
}

/** True while a record is within its retention (DynamoDB TTL deletes lazily, so reads check). */
export function isUsageLive(record: Pick<UsageRecord, 'expiresAt'>, nowMs: number): boolean {
  return record.expiresAt > Math.floor(nowMs / 1000);
}
