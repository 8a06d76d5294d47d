/**
 * Bedrock Converse → OpenAI Chat Completions: a Converse answer as a chat completion, and a
 * ConverseStream (event stream) as chat completion chunks, tool-call argument deltas included, the
 * finish reason mapped and the usage chunk (cached tokens in `prompt_tokens_details`) before
 * `[DONE]`. The usage chunk is always produced; the OpenAI meter removes it again when the caller
 * did not ask for it (`stream_options.include_usage`), as for OpenAI itself.
 */
import type { StreamDecoder, TokenCounts } from '../../core/provider';
import { encode, isObject, nonNegativeInt, ownValue, tryParse } from '../shared/json';
import { exceptionEvent } from './errors';
import { EventStreamReader } from './event-stream';
import { bedrockCounts, CONVERSE_COUNT_FIELDS } from './token-counts';

const FINISH_REASONS: Readonly<Record<string, string>> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  guardrail_intervened: 'content_filter',
  content_filtered: 'content_filter',
};

export function finishReason(stopReason: unknown): string {
  return ownValue(FINISH_REASONS, stopReason) ?? 'stop';
}

/** Converse usage: input excludes cache reads and writes, which the record (and OpenAI's prompt_tokens) include. */
export function converseCounts(usage: unknown): TokenCounts | undefined {
  return bedrockCounts(usage, CONVERSE_COUNT_FIELDS);
}

export function converseUsage(value: unknown): TokenCounts | undefined {
  return isObject(value) ? converseCounts(value.usage) : undefined;
}

function openAiUsage(counts: TokenCounts) {
  const prompt = counts.inputTokens ?? 0;
  const completion = counts.outputTokens ?? 0;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, prompt_tokens_details: { cached_tokens: counts.cachedInputTokens ?? 0 } };
}

export interface ChatIdentity {
  readonly id: string;
  /** The model name the caller asked for. */
  readonly model: string;
  readonly created: number;
}

export function chatIdentity(model: string, now = Date.now()): ChatIdentity {
  return { id: `chatcmpl-${globalThis.crypto.randomUUID().replace(/-/g, '')}`, model, created: Math.floor(now / 1000) };
}

/** A Converse answer (JSON) as a chat completion. */
export function chatCompletionOf(answer: unknown, identity: ChatIdentity): unknown {
  if (!isObject(answer) || !isObject(answer.output) || !isObject(answer.output.message)) throw new Error('not a Converse answer');
  const blocks = Array.isArray(answer.output.message.content) ? answer.output.message.content : [];
  let text = '';
  const toolCalls: unknown[] = [];
  for (const block of blocks) {
    if (!isObject(block)) continue;
    if (typeof block.text === 'string') text += block.text;
    else if (isObject(block.toolUse)) {
      toolCalls.push({ id: block.toolUse.toolUseId, type: 'function', function: { name: block.toolUse.name, arguments: JSON.stringify(block.toolUse.input ?? {}) } });
    }
  }
  const counts = converseUsage(answer) ?? { inputTokens: 0, outputTokens: 0 };
  return {
    id: identity.id,
    object: 'chat.completion',
    created: identity.created,
    model: identity.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: text === '' && toolCalls.length > 0 ? null : text, refusal: null, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) },
        logprobs: null,
        finish_reason: finishReason(answer.stopReason),
      },
    ],
    usage: openAiUsage(counts),
  };
}

/** ConverseStream events → chat completion chunks (SSE), with `[DONE]` after the usage chunk. */
export function createConverseStreamDecoder(identity: ChatIdentity): StreamDecoder {
  const reader = new EventStreamReader();
  /** contentBlockIndex → index among the answer's tool calls. */
  const toolIndex = new Map<number, number>();
  let done = false;
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    encode(`data: ${JSON.stringify({ id: identity.id, object: 'chat.completion.chunk', created: identity.created, model: identity.model, choices, ...extra })}\n\n`);
  const delta = (d: Record<string, unknown>, finish: string | null = null) => chunk([{ index: 0, delta: d, logprobs: null, finish_reason: finish }]);

  const translate = (type: string, event: Record<string, unknown>): Uint8Array[] => {
    const blockIndex = nonNegativeInt(event.contentBlockIndex) ?? 0;
    switch (type) {
      case 'messageStart':
        return [delta({ role: 'assistant', content: '' })];
      case 'contentBlockStart': {
        const start = isObject(event.start) ? event.start : {};
        if (!isObject(start.toolUse)) return [];
        const index = toolIndex.size;
        toolIndex.set(blockIndex, index);
        return [delta({ tool_calls: [{ index, id: start.toolUse.toolUseId, type: 'function', function: { name: start.toolUse.name, arguments: '' } }] })];
      }
      case 'contentBlockDelta': {
        const d = isObject(event.delta) ? event.delta : {};
        if (typeof d.text === 'string') return [delta({ content: d.text })];
        if (isObject(d.toolUse) && typeof d.toolUse.input === 'string') {
          return [delta({ tool_calls: [{ index: toolIndex.get(blockIndex) ?? 0, function: { arguments: d.toolUse.input } }] })];
        }
        // Reasoning and other block types have no place in a chat completion.
        return [];
      }
      case 'messageStop':
        return [delta({}, finishReason(event.stopReason))];
      case 'metadata': {
        const counts = converseCounts(event.usage);
        if (!counts || done) return [];
        done = true;
        return [chunk([], { usage: openAiUsage(counts) }), encode('data: [DONE]\n\n')];
      }
      default:
        return [];
    }
  };
  return {
    push(bytes) {
      return reader.push(bytes).flatMap((message) => {
        if (message.messageType !== 'event') return [exceptionEvent('openai', message.type, message.payload)];
        const event = tryParse(message.payload);
        return isObject(event) ? translate(message.type, event) : [];
      });
    },
    flush: () => [],
  };
}
