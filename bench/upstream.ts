/**
 * Deterministic upstream for the benchmark: OpenAI chat completions as JSON (with usage) or as SSE
 * (N chunks, a delay between them, and a final usage chunk). Prints its URL on stdout.
 * Env: BENCH_CHUNKS (default 20), BENCH_CHUNK_DELAY_MS (default 0).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const CHUNKS = Number(process.env.BENCH_CHUNKS ?? 20);
const DELAY = Number(process.env.BENCH_CHUNK_DELAY_MS ?? 0);
const base = { id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1_700_000_000, model: 'bench-model' };
const usage = { prompt_tokens: 12, completion_tokens: CHUNKS, total_tokens: 12 + CHUNKS };
const json = JSON.stringify({ ...base, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'tok '.repeat(CHUNKS).trim() }, finish_reason: 'stop' }], usage });
const chunk = (content: string) => `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;
const usageChunk = `data: ${JSON.stringify({ ...base, choices: [], usage })}\n\n`;

const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  const parts: Buffer[] = [];
  req.on('data', (c: Buffer) => parts.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(parts).toString('utf8') || '{}');
    if (!body.stream) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
      res.end(json);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    let sent = 0;
    const next = () => {
      if (sent < CHUNKS) {
        res.write(chunk(sent === 0 ? 'tok' : ' tok'));
        sent++;
        if (DELAY > 0) setTimeout(next, DELAY);
        else setImmediate(next);
        return;
      }
      if (body.stream_options?.include_usage) res.write(usageChunk);
      res.end('data: [DONE]\n\n');
    };
    next();
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
