/**
 * Bedrock reports input without cache reads and writes; the usage record (like OpenAI's
 * prompt_tokens and Anthropic's totals) counts them in. One reading for both of Bedrock's shapes.
 */
import type { TokenCounts } from '../../core/provider';
import { isObject, nonNegativeInt } from '../shared/json';

export interface BedrockCountFields {
  readonly input: string;
  readonly output: string;
  readonly cacheRead: string;
  readonly cacheWrite: string;
}

/** Converse's `usage`. */
export const CONVERSE_COUNT_FIELDS: BedrockCountFields = { input: 'inputTokens', output: 'outputTokens', cacheRead: 'cacheReadInputTokens', cacheWrite: 'cacheWriteInputTokens' };
/** InvokeModel's `amazon-bedrock-invocationMetrics`. */
export const INVOCATION_METRICS_FIELDS: BedrockCountFields = { input: 'inputTokenCount', output: 'outputTokenCount', cacheRead: 'cacheReadInputTokenCount', cacheWrite: 'cacheWriteInputTokenCount' };

export function bedrockCounts(value: unknown, fields: BedrockCountFields): TokenCounts | undefined {
  if (!isObject(value)) return undefined;
  const input = nonNegativeInt(value[fields.input]);
  const output = nonNegativeInt(value[fields.output]);
  if (input === undefined || output === undefined) return undefined;
  const cacheRead = nonNegativeInt(value[fields.cacheRead]);
  const cacheWrite = nonNegativeInt(value[fields.cacheWrite]);
  return { inputTokens: input + (cacheRead ?? 0) + (cacheWrite ?? 0), outputTokens: output, cachedInputTokens: cacheRead, cacheWriteTokens: cacheWrite };
}
