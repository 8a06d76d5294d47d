/**
 * A TCP proxy on 127.0.0.1 that can stall: while stalled it accepts connections and bytes but passes
 * nothing on (requests already sent still get their answers), as a hung DynamoDB endpoint does. When
 * the stall ends, what was held is passed on late, or dropped (`drop`: it never arrived).
 */
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

export interface StallingProxy {
  readonly url: string;
  stall(on: boolean, options?: { drop?: boolean }): void;
  close(): Promise<void>;
}

export async function startStallingProxy(target: { host: string; port: number }): Promise<StallingProxy> {
  let stalled = false;
  const held = new Map<Socket, { upstream: Socket; chunks: Buffer[] }>();
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    const entry = { upstream, chunks: [] as Buffer[] };
    held.set(client, entry);
    sockets.add(client).add(upstream);
    client.on('data', (chunk: Buffer) => (stalled ? entry.chunks.push(chunk) : upstream.write(chunk)));
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    const end = () => {
      held.delete(client);
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stall(on, options = {}) {
      stalled = on;
      if (on) return;
      for (const [client, entry] of held) {
        if (options.drop && entry.chunks.length > 0) {
          entry.chunks.length = 0;
          client.destroy();
        }
        for (const chunk of entry.chunks.splice(0)) entry.upstream.write(chunk);
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
