/**
 * The Anthropic Messages wire format, shared by the provider types that speak it: usage from a
 * JSON answer and the stream meter (message_start carries input, message_delta cumulative output).
 */
import type { MeterReading, StreamMeter, TokenCounts } from '../../core/provider';
import type { ProviderErrorDetail } from '../../core/errors';
import { parseSseEvent } from '../../core/sse';
import { inBandErrorReplacement, isInBandError } from './in-band-error';
import { isObject, nonNegativeInt, tryParse } from './json';

/** Counts from an Anthropic `usage` object; input includes prompt-cache reads and writes. */
export function anthropicCounts(usage: Record<string, unknown>): TokenCounts {
  const base = nonNegativeInt(usage.input_tokens);
  const cacheWrite = nonNegativeInt(usage.cache_creation_input_tokens);
  const cacheRead = nonNegativeInt(usage.cache_read_input_tokens);
  return {
    inputTokens: base === undefined ? undefined : base + (cacheWrite ?? 0) + (cacheRead ?? 0),
    outputTokens: nonNegativeInt(usage.output_tokens),
    cachedInputTokens: cacheRead,
    cacheWriteTokens: cacheWrite,
  };
}

export function anthropicUsage(value: unknown): TokenCounts | undefined {
  if (!isObject(value) || !isObject(value.usage)) return undefined;
  const counts = anthropicCounts(value.usage);
  if (counts.inputTokens === undefined || counts.outputTokens === undefined) return undefined;
  return counts;
}

/**
 * Server-side tools of a Messages request that make Anthropic contact a URL the request names:
 * MCP servers (`mcp_servers`, and `mcp_*` toolsets that use them) and web fetch (`web_fetch_*`).
 * Web search is Anthropic's own service and is not listed.
 */
export function anthropicServerTools(body: Record<string, unknown>): string[] {
  const used: string[] = [];
  if (Array.isArray(body.mcp_servers) && body.mcp_servers.length > 0) used.push('mcp');
  for (const tool of Array.isArray(body.tools) ? body.tools : []) {
    const type = isObject(tool) && typeof tool.type === 'string' ? tool.type : '';
    if (type.startsWith('mcp')) used.push('mcp');
    if (type.startsWith('web_fetch')) used.push('web_fetch');
  }
  return used;
}

/** Anthropic's error body: `{"type":"error","error":{"type","message"}}`. */
export function anthropicError(value: unknown): ProviderErrorDetail | undefined {
  const error = isObject(value) && isObject(value.error) ? value.error : undefined;
  if (!error) return undefined;
  return { type: typeof error.type === 'string' ? error.type : undefined, message: typeof error.message === 'string' ? error.message : undefined };
}

function defined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function createAnthropicStreamMeter(): StreamMeter {
  let counts: TokenCounts = {};
  let outputFinal = false;
  let completed = false;
  let upstreamError = false;
  let contentEvents = 0;
  return {
    onEvent(raw) {
      const { event, data } = parseSseEvent(raw);
      if (event !== 'error' && event !== 'message_start' && event !== 'message_delta' && event !== 'content_block_delta' && isInBandError(event, data)) {
        upstreamError = true;
        return inBandErrorReplacement('anthropic', data);
      }
      switch (event) {
        case 'content_block_delta':
          contentEvents++;
          break;
        case 'message_start': {
          const start = tryParse(data);
          if (isObject(start) && isObject(start.message) && isObject(start.message.usage)) counts = { ...counts, ...defined(anthropicCounts(start.message.usage)) };
          break;
        }
        case 'message_delta': {
          const delta = tryParse(data);
          const usage = isObject(delta) && isObject(delta.usage) ? delta.usage : undefined;
          if (usage && nonNegativeInt(usage.output_tokens) !== undefined) {
            // Cumulative: the last message_delta holds the final figures.
            counts = { ...counts, ...defined(anthropicCounts(usage)) };
            outputFinal = true;
          }
          break;
        }
        case 'message_stop':
          completed = true;
          break;
        case 'error':
          upstreamError = true;
          // The provider's error text is never passed on: the caller gets our own error event.
          return inBandErrorReplacement('anthropic', data);
      }
      return raw;
    },
    reading(): MeterReading {
      return {
        ...counts,
        outputTokens: outputFinal ? counts.outputTokens : undefined,
        fromProvider: counts.inputTokens !== undefined && outputFinal,
        completed,
        upstreamError,
        contentEvents,
      };
    },
  };
}
