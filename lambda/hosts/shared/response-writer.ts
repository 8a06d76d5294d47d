/**
 * The one response writer both hosts use: a RelayResponse body onto a Node Writable (a node:http
 * ServerResponse or Lambda's response stream). Bytes go in one write; an iterable is written chunk
 * by chunk with backpressure. When the client goes away, or the sink fails, the body's iterator is
 * told to stop (so the core records the abort and drops the upstream), the same way in both hosts.
 */
import type { Writable } from 'node:stream';
import type { RelayResponse } from '../../core/http';

/** How writing ended: every byte written, the client gone, or the body failing mid-way. */
export type WriteResult = 'complete' | 'client-gone' | 'body-failed';

function waitForDrain(out: Writable): Promise<void> {
  return new Promise((resolve) => {
    const settle = () => {
      out.off('drain', settle);
      out.off('close', settle);
      out.off('error', settle);
      resolve();
    };
    out.on('drain', settle);
    out.on('close', settle);
    out.on('error', settle);
  });
}

function gone(out: Writable, clientGone?: AbortSignal): boolean {
  return out.destroyed || out.writableEnded || clientGone?.aborted === true;
}

/** Writes the body; the caller writes the head before and ends (or destroys) the sink after. */
export async function writeBody(body: RelayResponse['body'], out: Writable, clientGone?: AbortSignal): Promise<WriteResult> {
  if (body === undefined) return 'complete';
  if (body instanceof Uint8Array) {
    if (gone(out, clientGone)) return 'client-gone';
    if (body.length > 0) out.write(body);
    return 'complete';
  }
  const chunks = body[Symbol.asyncIterator]();
  // Stops a body that is waiting on its upstream as soon as the client leaves, not at its next chunk.
  const stop = () => void chunks.return?.().catch(() => undefined);
  clientGone?.addEventListener('abort', stop, { once: true });
  try {
    for (;;) {
      if (gone(out, clientGone)) {
        stop();
        return 'client-gone';
      }
      let next: IteratorResult<Uint8Array>;
      try {
        next = await chunks.next();
      } catch {
        return 'body-failed';
      }
      if (next.done) return gone(out, clientGone) ? 'client-gone' : 'complete';
      if (gone(out, clientGone)) {
        stop();
        return 'client-gone';
      }
      if (!out.write(next.value)) await waitForDrain(out);
    }
  } finally {
    clientGone?.removeEventListener('abort', stop);
  }
}
