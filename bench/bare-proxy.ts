/**
 * The floor for any Node relay: node:http in, stream.pipeline through, keep-alive to the upstream.
 * No auth, no parsing, no metering. Prints its URL on stdout. Arg: upstream base URL.
 */
import { createServer, request, Agent } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream';

const upstream = new URL(process.argv[2]);
const agent = new Agent({ keepAlive: true, scheduling: 'lifo' });

const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  const forward = request(
    { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: { 'content-type': 'application/json', ...(req.headers['content-length'] ? { 'content-length': req.headers['content-length'] } : {}) }, agent },
    (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      pipeline(up, res, () => undefined);
    },
  );
  forward.on('error', () => res.destroy());
  pipeline(req, forward, () => undefined);
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
