/**
 * The response pump and the upstream attempt's deadlines, without a network: large JSON answers
 * metered from their tail (never parsed whole), the size cap, and the one idle timer per stream that
 * fires on a silent upstream but not on a slow client.
 */
import { DEFAULT_SETTINGS } from '../../../lambda/core/config';
import { lastUsageObject, pumpStream, readAnswer, usageOfAnswer } from '../../../lambda/core/response-pump';
import { UpstreamAttempt } from '../../../lambda/core/upstream-exchange';
import type { UpstreamRequest } from '../../../lambda/core/provider';
import { createOpenAiStreamMeter, openAiUsage } from '../../../lambda/providers/shared/openai-wire';
import { openAiChatSse } from '../../helpers/fixtures';

const encoder = new TextEncoder();
const settings = (overrides: Partial<typeof DEFAULT_SETTINGS> = {}) => ({ ...DEFAULT_SETTINGS, ...overrides });

async function* chunks(parts: Uint8Array[], delayMs = 0): AsyncGenerator<Uint8Array> {
  for (const part of parts) {
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    yield part;
  }
}

/** An upstream body that fails once its request is aborted, as node:http's does. */
async function* abortable(parts: Uint8Array[], signal: AbortSignal): AsyncGenerator<Uint8Array> {
  for (const part of parts) {
    await new Promise((r) => setTimeout(r, 1));
    if (signal.aborted) throw new Error('aborted');
    yield part;
  }
}

/** An upstream body that sends its parts and then stays silent until aborted. */
function silentAfter(parts: Uint8Array[], signal: AbortSignal): AsyncIterable<Uint8Array> {
  return {
    async *[Symbol.asyncIterator]() {
      yield* parts;
      await new Promise<void>((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
    },
  };
}

describe('usage of a JSON answer', () => {
  test('parses a small answer whole', () => {
    const body = encoder.encode(JSON.stringify({ object: 'list', usage: { prompt_tokens: 5, total_tokens: 5 } }));
    expect(usageOfAnswer(body, openAiUsage)).toMatchObject({ inputTokens: 5, outputTokens: 0 });
  });

  test('reads a multi-megabyte answer\'s usage from its tail without parsing the body', () => {
    const vectors = Array.from({ length: 3000 }, (_, i) => ({ object: 'embedding', index: i, embedding: Array.from({ length: 64 }, () => 0.123456789) }));
    const text = JSON.stringify({ object: 'list', data: vectors, model: 'm', usage: { prompt_tokens: 4321, total_tokens: 4321 } });
    expect(text.length).toBeGreaterThan(2 * 1024 * 1024);
    const parse = jest.spyOn(JSON, 'parse');
    try {
      expect(usageOfAnswer(encoder.encode(text), openAiUsage)).toMatchObject({ inputTokens: 4321 });
      // Only the usage object itself was parsed.
      expect(parse.mock.calls.every(([arg]) => String(arg).length < 200)).toBe(true);
    } finally {
      parse.mockRestore();
    }
  });

  test('finds the last usage object, ignoring braces inside strings, and nothing in a body without one', () => {
    expect(lastUsageObject('{"a":"usage }{","usage": {"prompt_tokens": 2, "x": "}"}}')).toEqual({ prompt_tokens: 2, x: '}' });
    expect(lastUsageObject('{"data":[1,2,3]}')).toBeUndefined();
    expect(lastUsageObject('{"usage": null}')).toBeUndefined();
  });
});

describe('reading a non-streamed answer', () => {
  test('refuses an answer over maxResponseBytes without reading more of it', async () => {
    const attempt = new UpstreamAttempt(settings(), 10_000);
    let pulled = 0;
    const body = (async function* () {
      for (let i = 0; i < 100; i++) {
        pulled++;
        yield new Uint8Array(64 * 1024);
      }
    })();
    await expect(readAnswer(body, attempt, 256 * 1024)).rejects.toMatchObject({ code: 'upstream_response_too_large', status: 502 });
    expect(pulled).toBeLessThanOrEqual(5);
    attempt.close();
  });

  test('refuses at once an answer whose declared length is over the cap', async () => {
    const attempt = new UpstreamAttempt(settings(), 10_000);
    await expect(readAnswer(chunks([]), attempt, 1024, String(10 * 1024))).rejects.toMatchObject({ code: 'upstream_response_too_large' });
    attempt.close();
  });
});

describe('the idle timer of a stream', () => {
  const request: UpstreamRequest = {
    url: 'https://x',
    method: 'POST',
    headers: {},
    stream: true,
    streamFraming: 'sse',
    createMeter: () => createOpenAiStreamMeter(false),
    jsonUsage: openAiUsage,
  };

  test('a silent upstream is cut after idleTimeoutMs with a timeout error event', async () => {
    const attempt = new UpstreamAttempt(settings({ idleTimeoutMs: 150 }), 10_000);
    const events = openAiChatSse(['a'], true).split(/(?<=\n\n)/).map((e) => encoder.encode(e));
    let finished: string | undefined;
    const started = Date.now();
    const out: string[] = [];
    for await (const chunk of pumpStream({ body: silentAfter(events.slice(0, 2), attempt.signal), request, attempt, format: 'openai', finish: (outcome) => (finished = outcome) })) {
      out.push(Buffer.from(chunk).toString());
    }
    expect(Date.now() - started).toBeLessThan(2000);
    expect(out.at(-1)).toContain('upstream_timeout');
    expect(finished).toBe('timeout');
  });

  test('a client slower than idleTimeoutMs is not mistaken for a silent upstream', async () => {
    const attempt = new UpstreamAttempt(settings({ idleTimeoutMs: 100 }), 10_000);
    const events = openAiChatSse(['a', 'b', 'c'], true).split(/(?<=\n\n)/).map((e) => encoder.encode(e));
    let finished: string | undefined;
    let text = '';
    for await (const chunk of pumpStream({ body: abortable(events, attempt.signal), request, attempt, format: 'openai', finish: (outcome) => (finished = outcome) })) {
      text += Buffer.from(chunk).toString();
      // The caller takes 250 ms per chunk (backpressure), longer than the idle timeout.
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(finished).toBe('ok');
    expect(text).not.toContain('error');
    expect(text.trim().endsWith('data: [DONE]')).toBe(true);
  });

  test('a caller that stops reading records the stream as aborted, once', async () => {
    const attempt = new UpstreamAttempt(settings(), 10_000);
    const events = openAiChatSse(['a', 'b', 'c'], true).split(/(?<=\n\n)/).map((e) => encoder.encode(e));
    const outcomes: string[] = [];
    for await (const chunk of pumpStream({ body: chunks(events), request, attempt, format: 'openai', finish: (outcome) => outcomes.push(outcome) })) {
      expect(chunk.length).toBeGreaterThan(0);
      break;
    }
    expect(outcomes).toEqual(['aborted']);
  });
});
