/**
 * The Fetch port over node:http/https: pooled keep-alive connections per upstream, a connect
 * timeout (which the web fetch cannot express), TLS verified by Node's defaults, redirects never
 * followed (node:http does not follow them), and the caller's AbortSignal honoured before and
 * after the headers arrive. Node's own client is the tool made for this; it adds nothing to the
 * Lambda bundle.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { Readable } from 'node:stream';
import type { Fetch } from '../core/ports';

export interface NodeFetchOptions {
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

export function createNodeFetch(options: NodeFetchOptions): Fetch {
  const agents = {
    'http:': new http.Agent({ keepAlive: true, scheduling: 'lifo' }),
    'https:': new https.Agent({ keepAlive: true, scheduling: 'lifo' }),
  };
  return (url, init) =>
    new Promise<Response>((resolve, reject) => {
      const target = new URL(url);
      const secure = target.protocol === 'https:';
      if (!secure && target.protocol !== 'http:') return reject(new Error(`unsupported upstream scheme ${target.protocol}`));
      const headers: Record<string, string> = {};
      new Headers(init.headers).forEach((value, name) => {
        headers[name] = value;
      });
      const body = init.body as string | Uint8Array | undefined;
      if (body !== undefined) headers['content-length'] = String(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength);
      let connectTimer: ReturnType<typeof setTimeout> | undefined;
      const request = (secure ? https : http).request(
        target,
        { method: init.method ?? 'GET', headers, agent: agents[secure ? 'https:' : 'http:'], signal: init.signal ?? undefined },
        (res) => {
          clearTimeout(connectTimer);
          const responseHeaders = new Headers();
          for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
            try {
              responseHeaders.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
            } catch {
              // A header value the web Headers refuses is dropped; the relay reads only a few.
            }
          }
          const status = res.statusCode ?? 502;
          const noBody = NULL_BODY_STATUSES.has(status) || init.method === 'HEAD';
          if (noBody) res.resume();
          try {
            resolve(new Response(noBody ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), { status, headers: responseHeaders }));
          } catch (error) {
            res.destroy();
            reject(error);
          }
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
      request.end(body);
    });
}
