/**
 * moto_server (Python's AWS emulator) on 127.0.0.1, when this machine has it. Tests that use it
 * call `describeIfMoto`, which skips them with a visible message where it is not installed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export const MOTO_AVAILABLE = spawnSync('sh', ['-c', 'command -v moto_server'], { encoding: 'utf8' }).status === 0;

if (!MOTO_AVAILABLE) {
  process.stderr.write('SKIPPED: moto_server is not installed; the KMS/DynamoDB tests against it are skipped (pip install "moto[server]" to run them).\n');
}

export const describeIfMoto = MOTO_AVAILABLE ? describe : describe.skip;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface Moto {
  readonly endpoint: string;
  stop(): Promise<void>;
}

export async function startMoto(): Promise<Moto> {
  const port = await freePort();
  const child: ChildProcess = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const res = await fetch(`${endpoint}/moto-api/`);
      if (res.ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      child.kill();
      throw new Error('moto_server did not start within 20 s');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    endpoint,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill();
      }),
  };
}

export const MOTO_CLIENT_CONFIG = { region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
