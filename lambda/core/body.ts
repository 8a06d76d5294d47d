/** Reads a request body once, within a size limit, and parses it as a JSON object. */
import { RelayError } from './errors';
import { header, type RelayRequest } from './http';
import type { JsonObject } from './provider';

function tooLarge(maxBytes: number): RelayError {
  return new RelayError(413, 'request_too_large', `Request body is larger than the relay's limit of ${maxBytes} bytes.`);
}

export async function readBody(request: RelayRequest, maxBytes: number): Promise<Uint8Array> {
  const declared = header(request.headers, 'content-length');
  if (declared !== undefined && Number(declared) > maxBytes) throw tooLarge(maxBytes);
  const body = request.body;
  if (!body) return new Uint8Array(0);
  if (body instanceof Uint8Array) {
    if (body.length > maxBytes) throw tooLarge(maxBytes);
    return body;
  }
  const parts: Uint8Array[] = [];
  let size = 0;
  // Iterated by hand: leaving a for-await early would destroy the connection before the 413 is sent.
  const chunks = body[Symbol.asyncIterator]();
  for (;;) {
    const { done, value } = await chunks.next();
    if (done) break;
    size += value.length;
    if (size > maxBytes) throw tooLarge(maxBytes);
    parts.push(value);
  }
  return joinChunks(parts, size);
}

/** Joins chunks into one array (without copying a single chunk). */
export function joinChunks(parts: readonly Uint8Array[], size = parts.reduce((n, p) => n + p.length, 0)): Uint8Array {
  if (parts.length === 1) return parts[0];
  const joined = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Whether any object in valid JSON text names a key twice. JSON.parse keeps the last one, while a
 * provider's parser may keep the first: the relay would check one `model` and forward both. One
 * pass over the text, tracking the keys of each open object (strings are compared as written,
 * escapes included, which catches every duplicate a client means to send).
 */
export function hasDuplicateKeys(text: string): boolean {
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      while (j < text.length && text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c ? 2 : 1;
      const keys = stack[stack.length - 1];
      if (expectKey && keys) {
        const key = text.slice(i + 1, j);
        if (keys.has(key)) return true;
        keys.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === 0x7b /* { */) {
      stack.push(new Set());
      expectKey = true;
    } else if (c === 0x5b /* [ */) {
      stack.push(null);
      expectKey = false;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
      expectKey = false;
    } else if (c === 0x2c /* , */) {
      expectKey = stack[stack.length - 1] !== null && stack.length > 0;
    }
  }
  return false;
}

/** Parses the body as a JSON object; the error never quotes the body. */
export function parseJsonObject(body: Uint8Array): JsonObject {
  let value: unknown;
  let text: string;
  try {
    text = strictUtf8.decode(body);
    value = JSON.parse(text);
  } catch {
    throw new RelayError(400, 'invalid_json', 'Request body is not valid UTF-8 JSON.');
  }
  if (hasDuplicateKeys(text)) {
    throw new RelayError(400, 'invalid_json', 'Request body names the same key twice in one object; send each key once.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RelayError(400, 'invalid_request', 'Request body must be a JSON object.');
  }
  return value as JsonObject;
}
