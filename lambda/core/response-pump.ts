/**
 * The response pump: an upstream answer turned into the caller's body. Streams pass event by event
 * through the provider's meter (decoded first where the framing is not SSE) and end with a
 * well-formed error event in the caller's format when the upstream fails; JSON answers are read
 * within a size cap and metered without parsing a large body whole.
 */
import { joinChunks } from './body';
import type { ApiFormat, ErrorCode } from './errors';
import type { RelayError } from './errors';
import type { MeterReading, StreamMeter, TokenCounts, UpstreamRequest } from './provider';
import { joinAdjacent, SseEventSplitter } from './sse';
import { upstreamError } from './upstream-errors';
import type { UpstreamAttempt } from './upstream-exchange';
import type { Outcome } from './usage';

const encoder = new TextEncoder();

export type StreamFinish = (outcome: Outcome, errorCode: ErrorCode | undefined, reading: MeterReading) => void;

export interface StreamPumpInput {
  readonly body: AsyncIterable<Uint8Array>;
  readonly request: UpstreamRequest;
  readonly attempt: UpstreamAttempt;
  /** The caller's API format, for the error event that ends a failed stream. */
  readonly format: ApiFormat;
  /** Called once, on every exit path (also when the caller stops reading). */
  readonly finish: StreamFinish;
  readonly maxEventBytes?: number;
  /** Re-checks the caller's key while the stream is open; a revoked or expired key ends it. */
  readonly recheck?: { readonly everyMs: number; stillValid(): Promise<boolean> };
}

/** Content types that mean the upstream really streamed in the framing asked for. */
export function isStreamContentType(framing: UpstreamRequest['streamFraming'], contentType: string): boolean {
  return framing === 'sse' ? contentType.includes('text/event-stream') : contentType.includes('application/vnd.amazon.eventstream');
}

/** The caller's stream body. One chunk out per upstream chunk (events that pass unchanged are not copied). */
export async function* pumpStream(input: StreamPumpInput): AsyncGenerator<Uint8Array> {
  const { request, attempt } = input;
  const meter: StreamMeter = request.createMeter();
  const decoder = request.createDecoder?.();
  const splitter = decoder ? undefined : new SseEventSplitter(input.maxEventBytes);
  let outcome: Outcome = 'aborted';
  let errorCode: ErrorCode | undefined;
  let oversized = false;
  let checking = false;
  const recheck = input.recheck;
  const recheckTimer = recheck
    ? setInterval(() => {
        if (checking) return;
        checking = true;
        recheck.stillValid().then(
          (valid) => {
            checking = false;
            if (!valid) attempt.abort('revoked');
          },
          () => (checking = false),
        );
      }, recheck.everyMs)
    : undefined;
  const endWith = (error: RelayError, failure: Outcome): Uint8Array => {
    outcome = failure;
    errorCode = error.code;
    return encoder.encode(error.toStreamEvent(input.format));
  };
  try {
    try {
      for await (const chunk of attempt.chunks(input.body)) {
        const out: Uint8Array[] = [];
        if (decoder) {
          for (const event of decoder.push(chunk)) {
            const forwarded = meter.onEvent(event);
            if (forwarded) out.push(forwarded);
          }
        } else {
          for (const frame of (splitter as SseEventSplitter).push(chunk)) {
            // An event larger than the relay meters is neither passed on unmetered nor buffered further.
            if (!frame.whole) {
              oversized = true;
              break;
            }
            const forwarded = meter.onEvent(frame.raw);
            if (forwarded) out.push(forwarded);
          }
        }
        if (oversized) {
          out.push(endWith(upstreamError('upstream_bad_response', { message: 'An upstream stream event was larger than the relay accepts.' }), 'upstream_error'));
          yield joinChunks(joinAdjacent(out));
          return;
        }
        const parts = joinAdjacent(out);
        if (parts.length === 1) yield parts[0];
        else if (parts.length > 1) yield joinChunks(parts);
      }
    } catch {
      if (attempt.abortReason === 'client') return;
      const error = attempt.failure('mid-body');
      yield endWith(error, error.code === 'upstream_timeout' ? 'timeout' : error.code === 'key_revoked' ? 'client_error' : 'upstream_error');
      return;
    }
    const tail: Uint8Array[] = [];
    if (decoder) {
      for (const event of decoder.flush()) {
        const forwarded = meter.onEvent(event);
        if (forwarded) tail.push(forwarded);
      }
    } else {
      const last = (splitter as SseEventSplitter).flush();
      // A last event without its closing blank line (some servers end so) is still an event.
      if (last && last.raw.length > 0) {
        const forwarded = meter.onEvent(last.raw);
        if (forwarded) tail.push(forwarded);
      }
    }
    const reading = meter.reading();
    if (reading.upstreamError) {
      outcome = 'upstream_error';
      errorCode = 'upstream_error';
    } else if (!reading.completed) {
      tail.push(endWith(upstreamError('upstream_bad_response', { message: 'The upstream stream ended before it was complete.' }), 'upstream_error'));
    } else {
      outcome = 'ok';
    }
    if (tail.length > 0) yield joinChunks(tail);
  } finally {
    clearInterval(recheckTimer);
    attempt.close();
    input.finish(outcome, errorCode, meter.reading());
  }
}

/** Reads a non-streamed answer whole, refusing (and cutting) one larger than `maxBytes`. */
export async function readAnswer(body: AsyncIterable<Uint8Array>, attempt: UpstreamAttempt, maxBytes: number, declaredLength?: string): Promise<Uint8Array> {
  if (declaredLength !== undefined && Number(declaredLength) > maxBytes) throw upstreamError('upstream_response_too_large');
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of attempt.chunks(body)) {
      size += chunk.length;
      if (size > maxBytes) throw upstreamError('upstream_response_too_large');
      parts.push(chunk);
    }
  } catch (error) {
    if ((error as RelayError).code === 'upstream_response_too_large') throw error;
    throw attempt.failure('mid-body');
  }
  return joinChunks(parts, size);
}

/** Above this size a JSON answer is not parsed whole just to read its usage. */
const PARSE_WHOLE_BYTES = 1024 * 1024;
/** Where usage sits in a large answer: the providers put it at the end. */
const TAIL_BYTES = 64 * 1024;
const decoder = new TextDecoder();

/** Token counts from a complete JSON answer: the whole body when small, its `"usage"` object near the end otherwise. */
export function usageOfAnswer(bytes: Uint8Array, jsonUsage: (value: unknown) => TokenCounts | undefined): TokenCounts | undefined {
  if (bytes.length <= PARSE_WHOLE_BYTES) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(decoder.decode(bytes));
    } catch {
      return undefined;
    }
    return jsonUsage(parsed);
  }
  const usage = lastUsageObject(decoder.decode(bytes.subarray(bytes.length - TAIL_BYTES)));
  return usage === undefined ? undefined : jsonUsage({ usage });
}

/** The last `"usage": {...}` object in a JSON text, found by matching braces outside strings. */
export function lastUsageObject(text: string): unknown {
  const key = text.lastIndexOf('"usage"');
  if (key < 0) return undefined;
  const start = text.indexOf('{', key);
  if (start < 0 || text.slice(key + 7, start).trim() !== ':') return undefined;
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) {
      try {
        return JSON.parse(text.slice(start, i + 1));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
