/**
 * The upstream client: verified TLS (a certificate the system does not trust is refused), no
 * redirects followed, connections kept alive, and aborts honoured.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { UpstreamResponse } from '../../../lambda/core/ports';
import { createUpstreamClient } from '../../../lambda/hosts/shared/upstream-client';
import { HAS_OPENSSL, selfSignedCert } from '../../helpers/tls-cert';

async function text(response: UpstreamResponse): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of response.body) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts).toString('utf8');
}

const post = (url: string, signal: AbortSignal = new AbortController().signal) => ({ url, method: 'POST' as const, headers: {}, body: '{}', signal });

if (!HAS_OPENSSL) process.stderr.write('SKIPPED: openssl is not installed; the self-signed TLS test is skipped.\n');

const fetchUpstream = createUpstreamClient({ connectTimeoutMs: 2000 });
afterAll(() => fetchUpstream.close());

(HAS_OPENSSL ? test : test.skip)('refuses an upstream whose TLS certificate is not trusted (provider calls use verified TLS)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mixroute-tls-'));
  try {
    const { key, cert } = selfSignedCert(dir);
    let reached = false;
    const server = createHttpsServer({ key, cert }, (_req, res) => {
      reached = true;
      res.end('{}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`;
    await expect(fetchUpstream(post(url))).rejects.toThrow(/self[- ]signed|certificate/i);
    expect(reached).toBe(false);
    await new Promise((r) => server.close(r));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('does not follow redirects and keeps connections alive', async () => {
  let connections = 0;
  const server = createHttpServer((req, res) => {
    if (req.url === '/redirect') res.writeHead(307, { location: '/elsewhere' }).end();
    else res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const redirected = await fetchUpstream(post(`${base}/redirect`));
  expect(redirected.status).toBe(307);
  await text(redirected);
  for (let i = 0; i < 5; i++) expect(JSON.parse(await text(await fetchUpstream(post(`${base}/ok`))))).toEqual({ ok: true });
  expect(connections).toBe(1);
  await new Promise((r) => {
    server.closeAllConnections();
    server.close(r);
  });
});

test('an abort before the answer rejects the call', async () => {
  const server = createHttpServer(() => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const controller = new AbortController();
  const pending = fetchUpstream(post(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, controller.signal));
  setTimeout(() => controller.abort(), 50);
  await expect(pending).rejects.toThrow();
  await new Promise((r) => {
    server.closeAllConnections();
    server.close(r);
  });
});

const HAS_PYTHON = spawnSync('sh', ['-c', 'command -v python3'], { encoding: 'utf8' }).status === 0;
if (!HAS_PYTHON) process.stderr.write('SKIPPED: python3 is not installed; the connect-timeout test is skipped.\n');

(HAS_PYTHON ? test : test.skip)('gives up on a connection that does not open within the connect timeout', async () => {
  // A listener with a backlog of 0 that never accepts: once one connection fills the queue, further
  // connection attempts hang in SYN, as with an unreachable host (all on 127.0.0.1).
  const { spawn } = await import('node:child_process');
  const { connect } = await import('node:net');
  const listener = spawn('python3', ['-c', 'import socket,time\ns=socket.socket();s.bind(("127.0.0.1",0));s.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(20)']);
  try {
    const port = await new Promise<number>((resolve) => listener.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
    const filler = connect(port, '127.0.0.1');
    await new Promise((r) => filler.once('connect', r));
    const quick = createUpstreamClient({ connectTimeoutMs: 300 });
    const started = Date.now();
    await expect(quick(post(`http://127.0.0.1:${port}/v1/chat/completions`))).rejects.toThrow(/longer than 300 ms/);
    quick.close();
    expect(Date.now() - started).toBeLessThan(2000);
    filler.destroy();
  } finally {
    listener.kill();
  }
});
