/**
 * The upstream client port over node:http/https: pooled keep-alive connections per upstream, a
 * connect timeout, TLS verified by Node's defaults, redirects never followed (node:http does not
 * follow them), and the call's AbortSignal honoured before and after the headers arrive. The body
 * is the IncomingMessage's own chunks: nothing is copied.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { UpstreamClient, UpstreamResponse } from '../../core/ports';
import { readableChunks } from './readable-chunks';

export interface UpstreamClientOptions {
  /** Time allowed to open a new connection (TCP and TLS); reused connections skip it. */
  readonly connectTimeoutMs: number;
}

export class ConnectTimeoutError extends Error {
  constructor(origin: string, ms: number) {
    super(`connecting to ${origin} took longer than ${ms} ms`);
    this.name = 'ConnectTimeoutError';
  }
}

const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);
const EMPTY: AsyncIterable<Uint8Array> = { [Symbol.asyncIterator]: async function* () {} };

export function createUpstreamClient(options: UpstreamClientOptions): UpstreamClient & { close(): void } {
  const agents = {
    http: new http.Agent({ keepAlive: true, scheduling: 'lifo' }),
    https: new https.Agent({ keepAlive: true, scheduling: 'lifo' }),
  };
  const client = (call: Parameters<UpstreamClient>[0]) =>
    new Promise<UpstreamResponse>((resolve, reject) => {
      const target = new URL(call.url);
      const secure = target.protocol === 'https:';
      if (!secure && target.protocol !== 'http:') return reject(new Error(`unsupported upstream scheme ${target.protocol}`));
      const headers: Record<string, string> = { ...call.headers };
      if (call.body !== undefined) headers['content-length'] = String(typeof call.body === 'string' ? Buffer.byteLength(call.body) : call.body.byteLength);
      let connectTimer: ReturnType<typeof setTimeout> | undefined;
      const request = (secure ? https : http).request(
        target,
        { method: call.method, headers, agent: secure ? agents.https : agents.http, signal: call.signal },
        (res) => {
          clearTimeout(connectTimer);
          const status = res.statusCode ?? 502;
          const noBody = NULL_BODY_STATUSES.has(status);
          if (noBody) res.resume();
          resolve({ status, headers: res.headers, body: noBody ? EMPTY : readableChunks(res), discard: () => res.destroy() });
        },
      );
      request.on('socket', (socket) => {
        if (!socket.connecting) return;
        connectTimer = setTimeout(() => request.destroy(new ConnectTimeoutError(target.origin, options.connectTimeoutMs)), options.connectTimeoutMs);
        socket.once(secure ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
      });
      request.on('error', (error) => {
        clearTimeout(connectTimer);
        reject(error);
      });
      request.end(call.body);
    });
  return Object.assign(client, {
    close() {
      agents.http.destroy();
      agents.https.destroy();
    },
  });
}
