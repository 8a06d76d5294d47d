/**
 * Bedrock's errors. Before an answer: an HTTP status with `{"message": …}` (and the exception's name
 * in `x-amzn-errortype`); the core maps the status (400 validation, 429 throttling, 408 model
 * timeout, 503 unavailable, 424 model error) and passes the message of a refused request on. In a
 * stream: an exception message (`throttlingException`, `modelStreamErrorException`,
 * `validationException`, `internalServerException`, `serviceUnavailableException`,
 * `modelTimeoutException`), turned here into the caller's in-band error event (for Anthropic
 * callers, with Anthropic's error type), which the meter replaces with the relay's own of the same
 * kind and records as an upstream error.
 */
import type { ProviderErrorDetail } from '../../core/errors';
import { encode, isObject, ownValue, tryParse } from '../shared/json';

export function bedrockError(value: unknown): ProviderErrorDetail | undefined {
  if (!isObject(value)) return undefined;
  const message = typeof value.message === 'string' ? value.message : typeof value.Message === 'string' ? value.Message : undefined;
  return message === undefined ? undefined : { message };
}

/** Bedrock's stream exceptions as Anthropic's error types (what an Anthropic stream would have said). */
const ANTHROPIC_ERROR_TYPES: Readonly<Record<string, string>> = {
  throttlingException: 'rate_limit_error',
  serviceUnavailableException: 'overloaded_error',
  modelTimeoutException: 'timeout_error',
  validationException: 'invalid_request_error',
  internalServerException: 'api_error',
  modelStreamErrorException: 'api_error',
};

/** An exception message as an in-band error event of the caller's stream format. */
export function exceptionEvent(format: 'anthropic' | 'openai', type: string, payload: string): Uint8Array {
  const parsed = tryParse(payload);
  const message = isObject(parsed) && typeof parsed.message === 'string' ? parsed.message : 'Bedrock reported an error during the stream.';
  const error = { type: (format === 'anthropic' ? ownValue(ANTHROPIC_ERROR_TYPES, type) : undefined) ?? (type || 'bedrockException'), message };
  return format === 'anthropic'
    ? encode(`event: error\ndata: ${JSON.stringify({ type: 'error', error })}\n\n`)
    : encode(`data: ${JSON.stringify({ error })}\n\n`);
}
