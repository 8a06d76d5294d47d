/**
 * The relay's own small request and response types. Both hosts (node:http and Lambda) hand the core
 * a RelayRequest and write back a RelayResponse; no WHATWG Request, Response, Headers or
 * ReadableStream sits between two Node streams.
 */

/** A body as bytes (already in memory) or as chunks read on demand. */
export type Body = Uint8Array | AsyncIterable<Uint8Array>;

/** Header names in lower case; a repeated header is joined with ", " (as node:http does). */
export type HeaderMap = Readonly<Record<string, string | string[] | undefined>>;

export interface RelayRequest {
  readonly method: string;
  /** The path without its query string, e.g. "/v1/chat/completions". */
  readonly path: string;
  /** The query string without "?", or "". */
  readonly query: string;
  readonly headers: HeaderMap;
  readonly body?: Body;
}

export interface RelayResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** Bytes are written at once; an iterable is streamed with backpressure. Absent: no body. */
  readonly body?: Uint8Array | AsyncIterable<Uint8Array>;
}

/** What the host gives the core for one request. */
export interface ExecutionContext {
  /** Keeps background work (the usage write) alive until it settles. */
  waitUntil(work: Promise<unknown>): void;
  /** Aborted when the client disconnects, where the host can tell (local mode; Lambda cannot). */
  readonly signal?: AbortSignal;
}

export type RelayHandler = (request: RelayRequest, ctx: ExecutionContext) => Promise<RelayResponse>;

/** One header's value (the first, if it was sent as a list). */
export function header(headers: HeaderMap, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

const encoder = new TextEncoder();

export function jsonResponse(status: number, value: unknown, headers: Record<string, string> = {}): RelayResponse {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: encoder.encode(JSON.stringify(value)) };
}
