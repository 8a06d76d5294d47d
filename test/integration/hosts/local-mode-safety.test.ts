/**
 * Local mode on a shared machine: the dev server cuts clients that never finish their headers,
 * caps its connections, and its embedded store cannot be reached by another local user (no TCP
 * port; a Unix socket inside the 0700 data dir).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { startNodeRelayServer } from '../../../lambda/hosts/local/node-server';
import { startDevServerRelay, type DevServerRelay } from '../../helpers/relay-builder';

const ok = async () => ({ status: 200, headers: {}, body: new TextEncoder().encode('ok') });

test('clients that never finish their headers are cut after headersTimeout', async () => {
  const server = await startNodeRelayServer(ok, { host: '127.0.0.1', port: 0, headersTimeoutMs: 500, checkIntervalMs: 100 });
  try {
    const { port } = new URL(server.url);
    const sockets: Socket[] = [];
    const closed = Array.from({ length: 20 }, () => {
      const socket = connect(Number(port), '127.0.0.1', () => socket.write('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Slow: '));
      socket.on('error', () => undefined);
      // Read what the server sends (its 408), so the socket sees the end and closes.
      socket.resume();
      sockets.push(socket);
      return new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now())));
    });
    const started = Date.now();
    const times = await Promise.race([Promise.all(closed), new Promise<number[]>((resolve) => setTimeout(() => resolve([]), 5000))]);
    expect(times).toHaveLength(20);
    expect(Math.max(...times) - started).toBeLessThan(3000);
    for (const socket of sockets) socket.destroy();
  } finally {
    await server.close(100);
  }
});

test('connections beyond maxConnections are refused', async () => {
  const server = await startNodeRelayServer(ok, { host: '127.0.0.1', port: 0, maxConnections: 3 });
  try {
    const { port } = new URL(server.url);
    const open: Socket[] = [];
    for (let i = 0; i < 3; i++) {
      const socket = connect(Number(port), '127.0.0.1');
      await new Promise((r) => socket.once('connect', r));
      open.push(socket);
    }
    await new Promise((r) => setTimeout(r, 50));
    const extra = connect(Number(port), '127.0.0.1');
    extra.on('error', () => undefined);
    const closedAt = await new Promise<boolean>((resolve) => {
      extra.on('close', () => resolve(true));
      setTimeout(() => resolve(false), 2000);
    });
    expect(closedAt).toBe(true);
    for (const socket of open) socket.destroy();
  } finally {
    await server.close(100);
  }
});

describe('the embedded store', () => {
  let relay: DevServerRelay;
  beforeAll(async () => (relay = await startDevServerRelay()));
  afterAll(() => relay.close());

  test('listens on no TCP port: only a Unix socket, inside a directory only its user can enter', () => {
    const state = JSON.parse(readFileSync(`${relay.dataDir}/dev-server.json`, 'utf8'));
    expect(state.storeEndpoint).toBeUndefined();
    expect(existsSync(state.storeSocket)).toBe(true);
    expect(statSync(state.storeSocket).isSocket()).toBe(true);
    expect(statSync(dirname(state.storeSocket)).mode & 0o777).toBe(0o700);
    expect(statSync(relay.dataDir).mode & 0o777).toBe(0o700);
  });

  const SETPRIV = spawnSync('sh', ['-c', 'command -v setpriv'], { encoding: 'utf8' }).status === 0 && process.getuid?.() === 0;
  if (!SETPRIV) process.stderr.write('SKIPPED: setpriv is not available (or not running as root); the other-user connection test is skipped.\n');

  (SETPRIV ? test : test.skip)('refuses a connection from another local user (nobody)', () => {
    const socketPath = JSON.parse(readFileSync(`${relay.dataDir}/dev-server.json`, 'utf8')).storeSocket;
    const probe = `const s=require('net').connect(${JSON.stringify(socketPath)});s.on('connect',()=>{console.log('CONNECTED');process.exit(0)});s.on('error',(e)=>{console.log(e.code);process.exit(0)})`;
    const result = spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, '-e', probe], { encoding: 'utf8' });
    expect(result.stdout.trim()).toBe('EACCES');
  });
});
