/** `mixroute dev` (what `npm start` runs): the relay on this machine with its embedded store. */
import { startDevServer } from '../../../lambda/hosts/local/dev-server';
import { bufferedLineSink } from '../../../lambda/hosts/local/line-sink';
import { UsageError, type Command } from '../command';

export const dev: Command = {
  name: 'dev',
  summary: 'run the relay locally (node:http + embedded store)',
  synopsis: '[--port 8787] [--host 127.0.0.1] [--data-dir .mixroute] [--config mixroute.config.json]',
  description:
    'Runs the relay on this machine with its embedded store (persisted in the data dir) and the local\ncipher. The first start on an empty data dir creates a client key and prints it once.',
  options: {
    port: { type: 'string', default: '8787' },
    host: { type: 'string', default: '127.0.0.1' },
    'data-dir': { type: 'string', default: '.mixroute' },
    config: { type: 'string', default: 'mixroute.config.json' },
  },
  target: false,
  examples: ['npx mixroute dev', 'npx mixroute dev --port 9000 --data-dir /tmp/mixroute'],
  async run({ values, io }) {
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port: expected a port number, got "${values.port}"`);
    // Listen for the stop signal before starting, so a signal during startup still stops cleanly.
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const server = await startDevServer({
      dataDir: values['data-dir'] as string,
      configPath: values.config as string,
      host: values.host as string,
      port,
      // The banner and the first client key go to the terminal (stderr); stdout carries only the JSON request log.
      out: (line) => io.error(`${line}\n`),
      logSink: bufferedLineSink(process.stdout),
    });
    await stopped;
    io.error('stopping: waiting for in-flight requests and usage writes...\n');
    await server.close();
    return 0;
  },
};
