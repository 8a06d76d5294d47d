/**
 * The `mixroute` command: argument parsing and output only. The work is done by lambda/admin
 * (operations over the ports) and lambda/adapters/local-mode (the dev server and its store).
 * Exit codes: 0 success, 1 failure, 2 usage error.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { AdminInputError, createClientKey } from '../lambda/admin/keys';
import { setProviderKey } from '../lambda/admin/providers';
import { parseTimeOrDuration } from '../lambda/admin/durations';
import { ConfigError } from '../lambda/core/config';
import { connectToDevServer, DevServerNotRunningError, loadLocalConfig, startDevServer } from '../lambda/adapters/local-mode';

class UsageError extends Error {}

const DEFAULT_DATA_DIR = '.mixroute';
const DEFAULT_CONFIG = 'mixroute.config.json';

const HELP: Record<string, string> = {
  main: `mixroute: privacy-first LLM API relay

Usage: mixroute <command> [options]

Commands:
  dev                      run the relay locally (node:http + embedded store)
  keys create              create a client key (the secret is shown once)
  providers set-key NAME   store a provider's API key, encrypted (read from stdin)

Run \`mixroute <command> --help\` for a command's options.

Examples:
  npm start
  npx mixroute keys create --name alice --models gpt-4o-mini,fast
  printenv OPENAI_API_KEY | npx mixroute providers set-key openai`,
  dev: `Usage: mixroute dev [--port 8787] [--host 127.0.0.1] [--data-dir .mixroute] [--config mixroute.config.json]

Runs the relay on this machine with its embedded store (persisted in the data dir) and the local
cipher. The first start on an empty data dir creates a client key and prints it once.

Examples:
  npx mixroute dev
  npx mixroute dev --port 9000 --data-dir /tmp/mixroute`,
  'keys create': `Usage: mixroute keys create --name NAME [--models a,b] [--expires 30d|ISO-8601] [--json] [--data-dir .mixroute]

Creates a client key on the running dev server's store. The secret is printed once and stored
nowhere: only its SHA-256 and the key id are kept. --json prints {"id","key","name",...}.

Examples:
  npx mixroute keys create --name alice
  npx mixroute keys create --name ci --models fast --expires 30d --json`,
  'providers set-key': `Usage: mixroute providers set-key NAME [--from-env VAR] [--data-dir .mixroute] [--config mixroute.config.json] [--json]

Stores the provider's API key encrypted (local cipher: AES-256-GCM). The key is read from standard
input (or from the environment variable named by --from-env), never from the command line.

Examples:
  printenv OPENAI_API_KEY | npx mixroute providers set-key openai
  npx mixroute providers set-key anthropic --from-env ANTHROPIC_API_KEY`,
};

type Options = NonNullable<ParseArgsConfig['options']>;
const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const;

/** parseArgs with a --help flag, strict options, and errors turned into usage errors (exit 2). */
function parse<O extends Options>(args: string[], options: O, allowPositionals = 0) {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...options, ...HELP_OPTION }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  // The value is not echoed: it may be a secret someone tried to pass on the command line.
  if (parsed.positionals.length > allowPositionals) throw new UsageError('unexpected extra argument (secrets are read from standard input, never from the command line)');
  return parsed;
}

function print(line = ''): void {
  process.stdout.write(line + '\n');
}

async function readSecretFromStdin(): Promise<string> {
  if (process.stdin.isTTY) {
    process.stderr.write('Paste the provider key and press Enter (input is hidden): ');
    const muted = new Writable({ write: (_chunk, _encoding, done) => done() });
    const rl = createInterface({ input: process.stdin, output: muted, terminal: true });
    const line = await new Promise<string>((resolve) => rl.once('line', resolve));
    rl.close();
    process.stderr.write('\n');
    return line;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function dev(args: string[]): Promise<number> {
  const { values } = parse(args, {
    port: { type: 'string', default: '8787' },
    host: { type: 'string', default: '127.0.0.1' },
    'data-dir': { type: 'string', default: DEFAULT_DATA_DIR },
    config: { type: 'string', default: DEFAULT_CONFIG },
  });
  if (values.help) return help('dev');
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port: expected a port number, got "${values.port}"`);
  const server = await startDevServer({
    dataDir: values['data-dir'] as string,
    configPath: values.config as string,
    host: values.host as string,
    port,
    out: print,
    logSink: (line) => process.stdout.write(line + '\n'),
  });
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  process.stderr.write('stopping: waiting for in-flight requests and usage writes...\n');
  await server.close();
  return 0;
}

async function keysCreate(args: string[]): Promise<number> {
  const { values } = parse(args, {
    name: { type: 'string' },
    models: { type: 'string' },
    expires: { type: 'string' },
    json: { type: 'boolean', default: false },
    'data-dir': { type: 'string', default: DEFAULT_DATA_DIR },
  });
  if (values.help) return help('keys create');
  if (!values.name) throw new UsageError('--name is required');
  const models = typeof values.models === 'string' ? values.models.split(',').map((m) => m.trim()).filter(Boolean) : undefined;
  let expiresAt: string | undefined;
  if (typeof values.expires === 'string') {
    expiresAt = parseTimeOrDuration(values.expires, Date.now());
    if (!expiresAt) throw new UsageError(`--expires: expected an ISO-8601 time or a duration such as 30d, got "${values.expires}"`);
  }
  const local = connectToDevServer(values['data-dir'] as string);
  try {
    const { key, secret } = await createClientKey(local.stores.keys, { name: values.name as string, models, expiresAt });
    if (values.json) {
      print(JSON.stringify({ id: key.id, key: secret, name: key.name, prefix: key.prefix, createdAt: key.createdAt, expiresAt: key.expiresAt ?? null, models: key.models ?? null }));
    } else {
      print(`Created key ${key.id} (${key.name}). This is the only time the secret is shown; store it now:`);
      print(`  ${secret}`);
    }
    return 0;
  } finally {
    local.client.destroy();
  }
}

async function providersSetKey(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      'from-env': { type: 'string' },
      json: { type: 'boolean', default: false },
      'data-dir': { type: 'string', default: DEFAULT_DATA_DIR },
      config: { type: 'string', default: DEFAULT_CONFIG },
    },
    1,
  );
  if (values.help) return help('providers set-key');
  const name = positionals[0];
  if (!name) throw new UsageError('name the provider, e.g. `mixroute providers set-key openai`');
  const { config } = loadLocalConfig(values.config as string);
  if (!config.providers.has(name)) {
    const known = [...config.providers.keys()].join(', ') || 'none';
    throw new AdminInputError(`provider "${name}" is not in ${values.config} (configured: ${known}); add it under "providers" first`);
  }
  const local = connectToDevServer(values['data-dir'] as string);
  try {
    let secret: string;
    if (typeof values['from-env'] === 'string') {
      secret = process.env[values['from-env']] ?? '';
      if (!secret) throw new AdminInputError(`environment variable ${values['from-env']} is empty or not set`);
    } else {
      secret = await readSecretFromStdin();
    }
    const result = await setProviderKey(local.stores.secrets, local.cipher, name, secret);
    if (values.json) print(JSON.stringify(result));
    else print(`Stored the key for provider "${name}" (fingerprint ${result.fingerprint}). The dev server uses it from the next request.`);
    return 0;
  } finally {
    local.client.destroy();
  }
}

function help(topic: string): number {
  print(HELP[topic] ?? HELP.main);
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [command, sub, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        return help('main');
      case 'dev':
        return await dev(argv.slice(1));
      case 'keys':
        if (sub === 'create') return await keysCreate(rest);
        if (sub === undefined || sub === '--help' || sub === '-h') return help('keys create');
        throw new UsageError(`unknown command "keys ${sub}" (available: keys create)`);
      case 'providers':
        if (sub === 'set-key') return await providersSetKey(rest);
        if (sub === undefined || sub === '--help' || sub === '-h') return help('providers set-key');
        throw new UsageError(`unknown command "providers ${sub}" (available: providers set-key)`);
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof UsageError || error instanceof AdminInputError) {
      process.stderr.write(`mixroute: ${error.message}\nRun \`mixroute ${command ?? ''} ${command === 'keys' || command === 'providers' ? sub ?? '' : ''} --help\` for usage.\n`.replace(/ +/g, ' '));
      return 2;
    }
    if (error instanceof ConfigError || error instanceof DevServerNotRunningError) {
      process.stderr.write(`mixroute: ${error.message}\n`);
      return 1;
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      process.stderr.write('mixroute: the port is already in use; pick another with --port\n');
      return 1;
    }
    process.stderr.write(`mixroute: ${(error as Error).message ?? String(error)}\n`);
    return 1;
  }
}

/** Runs the command line and exits with its code (called by bin/mixroute-cli.js). */
export function run(): void {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    () => process.exit(1),
  );
}
