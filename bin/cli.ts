/**
 * The `mixroute` command: argument parsing and output only. The work is done by lambda/admin
 * (operations over the ports) and lambda/adapters (the dev server, and the local or AWS target).
 * Exit codes: 0 success, 1 failure, 2 usage error.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import {
  AdminInputError,
  AdminNotFoundError,
  createClientKey,
  requireKey,
  revokeClientKey,
  rotateClientKey,
  updateClientKey,
  type KeyChanges,
} from '../lambda/admin/keys';
import { listProviders, removeProviderKey, requireProvider, setProviderKey, testProvider } from '../lambda/admin/providers';
import { parseDuration, parseTimeOrDuration } from '../lambda/admin/durations';
import { summariseUsage, type UsageGrouping } from '../lambda/admin/usage-report';
import { ConfigError } from '../lambda/core/config';
import type { ClientKey, KeyLimits } from '../lambda/core/ports';
import { USAGE_RETENTION_DAYS } from '../lambda/core/usage';
import { AdminTargetError, explainAwsError, openLocalTarget, openStackTarget, type AdminTarget } from '../lambda/adapters/admin-target';
import { DevServerNotRunningError, startDevServer } from '../lambda/adapters/local-mode';
import { bufferedLineSink } from '../lambda/adapters/line-sink';

class UsageError extends Error {}

const DEFAULT_DATA_DIR = '.mixroute';
const DEFAULT_CONFIG = 'mixroute.config.json';

const TARGET_HELP = `Target (every command but dev):
  --data-dir DIR     the local dev server's data dir (default .mixroute); the dev server must be running
  --config FILE      the local relay config (default mixroute.config.json)
  --stack NAME       a deployed stack instead: outputs are read from CloudFormation and your own AWS
                     credentials are used (attach the stack's OperatorPolicyArn)
  --region REGION    the stack's region (default: AWS_REGION or your profile's)
  --json             one JSON document on stdout, for scripts`;

const HELP: Record<string, string> = {
  main: `mixroute: privacy-first LLM API relay

Usage: mixroute <command> [options]

Commands:
  dev                          run the relay locally (node:http + embedded store)
  keys create|list|show|rotate|revoke|update
                               client keys (secrets are shown once, stored only as hashes)
  providers set-key|list|remove|test
                               provider API keys (stored encrypted: KMS in AWS, AES-256-GCM locally)
  usage                        requests, tokens, errors and latency over the last 7 days at most

Run \`mixroute <command> [subcommand] --help\` for options and examples.

Examples:
  npm start
  npx mixroute keys create --name alice --models gpt-4o-mini,fast
  printenv OPENAI_API_KEY | npx mixroute providers set-key openai
  npx mixroute usage --since 24h --by model --stack Mixroute`,
  dev: `Usage: mixroute dev [--port 8787] [--host 127.0.0.1] [--data-dir .mixroute] [--config mixroute.config.json]

Runs the relay on this machine with its embedded store (persisted in the data dir) and the local
cipher. The first start on an empty data dir creates a client key and prints it once.

Examples:
  npx mixroute dev
  npx mixroute dev --port 9000 --data-dir /tmp/mixroute`,
  'keys create': `Usage: mixroute keys create --name NAME [--models a,b] [--expires 30d|ISO-8601]
                            [--rpm N] [--tokens-per-day N] [--tokens-per-month N] [target options]

Creates a client key. The secret is printed once and stored nowhere: only its SHA-256 and the key
id are kept. --json prints {"id","key","name",...}. Limits hold across all relay instances.

${TARGET_HELP}

Examples:
  npx mixroute keys create --name alice
  npx mixroute keys create --name ci --models fast --expires 30d --rpm 60 --tokens-per-day 200000 --json
  npx mixroute keys create --name team-a --stack Mixroute --region eu-west-1`,
  'keys list': `Usage: mixroute keys list [target options]

Lists every key: id, name, key prefix, status, created, expires, models, limits. Never a secret or hash.

${TARGET_HELP}

Examples:
  npx mixroute keys list
  npx mixroute keys list --stack Mixroute --json`,
  'keys show': `Usage: mixroute keys show ID [target options]

Shows one key and how many secrets it has (a rotated key has two until the grace period ends).

${TARGET_HELP}

Examples:
  npx mixroute keys show key_AbC123`,
  'keys rotate': `Usage: mixroute keys rotate ID [--grace 24h] [target options]

Issues a new secret for the key (printed once). The new secret works at once; the old one keeps
working until the grace period ends (default 24h; 0s ends it now), so clients can switch without
downtime. The key id, its settings and its usage history stay the same.

${TARGET_HELP}

Examples:
  npx mixroute keys rotate key_AbC123
  npx mixroute keys rotate key_AbC123 --grace 1h --stack Mixroute --json`,
  'keys revoke': `Usage: mixroute keys revoke ID [target options]

Revokes the key and all its secrets. The relay refuses it within its key-cache TTL (30 s at most).

${TARGET_HELP}

Examples:
  npx mixroute keys revoke key_AbC123`,
  'keys update': `Usage: mixroute keys update ID [--name NAME] [--expires 30d|ISO-8601|never] [--models a,b|all]
                            [--rpm N|none] [--tokens-per-day N|none] [--tokens-per-month N|none] [target options]

Changes a key's settings; the relay applies them within its key-cache TTL.

${TARGET_HELP}

Examples:
  npx mixroute keys update key_AbC123 --models fast,gpt-4o-mini --rpm 120
  npx mixroute keys update key_AbC123 --expires never --tokens-per-month none`,
  'providers set-key': `Usage: mixroute providers set-key NAME [--from-env VAR] [target options]

Stores the provider's API key encrypted (KMS with the provider's encryption context on AWS,
AES-256-GCM locally) with a short fingerprint. The key is read from standard input, or from the
environment variable named by --from-env; never from the command line.

${TARGET_HELP}

Examples:
  printenv OPENAI_API_KEY | npx mixroute providers set-key openai
  npx mixroute providers set-key anthropic --from-env ANTHROPIC_API_KEY --stack Mixroute`,
  'providers list': `Usage: mixroute providers list [target options]

Lists the configured providers: name, type, base URL, key fingerprint and when it was set.

${TARGET_HELP}

Examples:
  npx mixroute providers list --stack Mixroute`,
  'providers remove': `Usage: mixroute providers remove NAME [target options]

Deletes the stored key of a provider. Once the relay's secret cache lets go of it (5 minutes at
most), requests routed to that provider fail with 503 until a key is set. Revoke the key at the
provider too if it leaked.

${TARGET_HELP}

Examples:
  npx mixroute providers remove openai`,
  'providers test': `Usage: mixroute providers test NAME [--model MODEL] [target options]

Proves the stored key works: one one-token request through the relay (the only component allowed
to decrypt it) with a throw-away client key that is revoked right after.

${TARGET_HELP}

Examples:
  npx mixroute providers test openai
  npx mixroute providers test anthropic --model claude-sonnet-5-5 --stack Mixroute`,
  usage: `Usage: mixroute usage [--since 24h] [--by key|model] [--json|--csv] [target options]

Requests, input/output tokens, errors and p50/p99 latency per key or model, from the usage table
(7 days at most; expired records are excluded).

${TARGET_HELP}
  --csv              comma-separated values with a header line

Examples:
  npx mixroute usage
  npx mixroute usage --since 7d --by model --csv > usage.csv
  npx mixroute usage --stack Mixroute --json`,
};

type Options = NonNullable<ParseArgsConfig['options']>;
const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const;
const TARGET_OPTIONS = {
  'data-dir': { type: 'string', default: DEFAULT_DATA_DIR },
  config: { type: 'string', default: DEFAULT_CONFIG },
  stack: { type: 'string' },
  region: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

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

function printJson(value: unknown): void {
  print(JSON.stringify(value, null, 2));
}

/** Shows what is happening on a terminal (never in --json output or pipes). */
function progress(message: string, json: boolean): void {
  if (!json && process.stderr.isTTY) process.stderr.write(`${message}…\n`);
}

function table(rows: Record<string, string | number>[], columns: string[]): void {
  if (rows.length === 0) return;
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd();
  print(line(columns));
  for (const row of rows) print(line(columns.map((c) => String(row[c] ?? ''))));
}

interface TargetValues {
  'data-dir'?: string | boolean;
  config?: string | boolean;
  stack?: string | boolean;
  region?: string | boolean;
  json?: string | boolean;
}

async function openTarget(values: TargetValues): Promise<AdminTarget> {
  if (typeof values.stack === 'string') {
    progress(`reading the outputs of stack ${values.stack}`, values.json === true);
    return openStackTarget(values.stack, typeof values.region === 'string' ? values.region : undefined);
  }
  if (typeof values.region === 'string') throw new UsageError('--region goes with --stack');
  return openLocalTarget(values['data-dir'] as string, values.config as string);
}

/** Runs an admin action on the target, turning AWS failures into one-line errors. */
async function withTarget<T>(values: TargetValues, what: string, action: (target: AdminTarget) => Promise<T>): Promise<T> {
  const target = await openTarget(values);
  try {
    return await action(target);
  } catch (error) {
    if (target.kind === 'aws') throw explainAwsError(error, what);
    throw error;
  } finally {
    target.close();
  }
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

function positiveInt(flag: string, value: string | boolean | undefined): number | undefined {
  if (typeof value !== 'string') return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`${flag}: expected a positive whole number, got "${value}"`);
  return Number(value);
}

/** For update: a number sets the limit, "none" removes it. */
function limitChange(flag: string, value: string | boolean | undefined): number | null | undefined {
  if (value === 'none') return null;
  return positiveInt(flag, value);
}

function expiryFrom(value: string | boolean | undefined): string | undefined {
  if (typeof value !== 'string') return undefined;
  const at = parseTimeOrDuration(value, Date.now());
  if (!at) throw new UsageError(`--expires: expected an ISO-8601 time or a duration such as 30d, got "${value}"`);
  return at;
}

function modelList(value: string | boolean | undefined): string[] | undefined {
  return typeof value === 'string' ? value.split(',').map((m) => m.trim()).filter(Boolean) : undefined;
}

function keyStatus(key: ClientKey): string {
  if (key.status === 'revoked') return 'revoked';
  if (key.expiresAt && Date.parse(key.expiresAt) <= Date.now()) return 'expired';
  return 'active';
}

function describeLimits(limits: KeyLimits | undefined): string {
  if (!limits) return '-';
  const parts = [
    limits.requestsPerMinute !== undefined ? `${limits.requestsPerMinute} rpm` : '',
    limits.tokensPerDay !== undefined ? `${limits.tokensPerDay} tok/day` : '',
    limits.tokensPerMonth !== undefined ? `${limits.tokensPerMonth} tok/month` : '',
  ].filter(Boolean);
  return parts.join(', ') || '-';
}

/** A key as shown to people and scripts: never a secret or a hash. */
function keyView(key: ClientKey) {
  return {
    id: key.id,
    name: key.name,
    prefix: `${key.prefix}…`,
    status: keyStatus(key),
    createdAt: key.createdAt,
    expiresAt: key.expiresAt ?? null,
    models: key.models ?? null,
    limits: key.limits ?? null,
    rotatedAt: key.rotatedAt ?? null,
  };
}

function keyRow(key: ClientKey): Record<string, string> {
  const view = keyView(key);
  return {
    id: view.id,
    name: view.name,
    prefix: view.prefix,
    status: view.status,
    created: view.createdAt.slice(0, 19).replace('T', ' '),
    expires: view.expiresAt ? view.expiresAt.slice(0, 19).replace('T', ' ') : 'never',
    models: view.models?.join(',') ?? 'all',
    limits: describeLimits(key.limits),
  };
}

const KEY_COLUMNS = ['id', 'name', 'prefix', 'status', 'created', 'expires', 'models', 'limits'];

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
    logSink: bufferedLineSink(process.stdout),
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

const LIMIT_OPTIONS = {
  rpm: { type: 'string' },
  'tokens-per-day': { type: 'string' },
  'tokens-per-month': { type: 'string' },
} as const;

async function keysCreate(args: string[]): Promise<number> {
  const { values } = parse(args, { name: { type: 'string' }, models: { type: 'string' }, expires: { type: 'string' }, ...LIMIT_OPTIONS, ...TARGET_OPTIONS });
  if (values.help) return help('keys create');
  if (!values.name) throw new UsageError('--name is required');
  const limits: KeyLimits = {
    requestsPerMinute: positiveInt('--rpm', values.rpm),
    tokensPerDay: positiveInt('--tokens-per-day', values['tokens-per-day']),
    tokensPerMonth: positiveInt('--tokens-per-month', values['tokens-per-month']),
  };
  const input = { name: values.name as string, models: modelList(values.models), expiresAt: expiryFrom(values.expires), limits };
  return withTarget(values, 'creating a key', async (target) => {
    const { key, secret } = await createClientKey(target.stores.keys, input);
    if (values.json) {
      print(JSON.stringify({ ...keyView(key), key: secret }));
    } else {
      print(`Created key ${key.id} (${key.name}) on ${target.description}. This is the only time the secret is shown; store it now:`);
      print(`  ${secret}`);
    }
    return 0;
  });
}

async function keysList(args: string[]): Promise<number> {
  const { values } = parse(args, { ...TARGET_OPTIONS });
  if (values.help) return help('keys list');
  return withTarget(values, 'listing keys', async (target) => {
    const keys = await target.stores.keys.listKeys();
    if (values.json) printJson(keys.map(keyView));
    else if (keys.length === 0) print(`No keys on ${target.description}. Create one with \`mixroute keys create --name NAME\`.`);
    else table(keys.map(keyRow), KEY_COLUMNS);
    return 0;
  });
}

function requireId(positionals: string[], command: string): string {
  const id = positionals[0];
  if (!id) throw new UsageError(`name the key id, e.g. \`mixroute ${command} key_AbC123\` (see \`mixroute keys list\`)`);
  return id;
}

async function keysShow(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { ...TARGET_OPTIONS }, 1);
  if (values.help) return help('keys show');
  const id = requireId(positionals, 'keys show');
  return withTarget(values, 'reading a key', async (target) => {
    const key = await requireKey(target.stores.keys, id);
    const now = Date.now();
    const secrets = (await target.stores.keys.listSecrets(id)).filter((s) => !s.notAfter || Date.parse(s.notAfter) > now);
    const view = { ...keyView(key), workingSecrets: secrets.length, secretsEnding: secrets.flatMap((s) => (s.notAfter ? [s.notAfter] : [])) };
    if (values.json) printJson(view);
    else {
      for (const [field, value] of Object.entries(keyRow(key))) print(`${field.padEnd(9)} ${value}`);
      print(`${'rotated'.padEnd(9)} ${key.rotatedAt ?? 'never'}`);
      print(`${'secrets'.padEnd(9)} ${secrets.length} working${view.secretsEnding.length ? ` (${view.secretsEnding.length} ending ${view.secretsEnding.join(', ')})` : ''}`);
    }
    return 0;
  });
}

async function keysRotate(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { grace: { type: 'string', default: '24h' }, ...TARGET_OPTIONS }, 1);
  if (values.help) return help('keys rotate');
  const id = requireId(positionals, 'keys rotate');
  const graceMs = parseDuration(values.grace as string);
  if (graceMs === undefined) throw new UsageError(`--grace: expected a duration such as 24h, 30m or 0s, got "${values.grace}"`);
  return withTarget(values, 'rotating a key', async (target) => {
    const { key, secret, previousSecretsEndAt } = await rotateClientKey(target.stores.keys, id, graceMs);
    if (values.json) print(JSON.stringify({ ...keyView(key), key: secret, previousSecretsEndAt }));
    else {
      print(`Rotated key ${key.id} (${key.name}). The new secret works now and is shown only this once:`);
      print(`  ${secret}`);
      print(`The previous secret keeps working until ${previousSecretsEndAt}.`);
    }
    return 0;
  });
}

async function keysRevoke(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { ...TARGET_OPTIONS }, 1);
  if (values.help) return help('keys revoke');
  const id = requireId(positionals, 'keys revoke');
  return withTarget(values, 'revoking a key', async (target) => {
    const key = await revokeClientKey(target.stores.keys, id);
    if (values.json) printJson(keyView(key));
    else print(`Revoked key ${key.id} (${key.name}). The relay refuses it within 30 seconds (its key cache).`);
    return 0;
  });
}

async function keysUpdate(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { name: { type: 'string' }, models: { type: 'string' }, expires: { type: 'string' }, ...LIMIT_OPTIONS, ...TARGET_OPTIONS }, 1);
  if (values.help) return help('keys update');
  const id = requireId(positionals, 'keys update');
  const changes: { -readonly [K in keyof KeyChanges]: KeyChanges[K] } = {};
  if (typeof values.name === 'string') changes.name = values.name;
  if (values.expires === 'never') changes.expiresAt = null;
  else if (values.expires !== undefined) changes.expiresAt = expiryFrom(values.expires);
  if (values.models === 'all') changes.models = null;
  else if (values.models !== undefined) changes.models = modelList(values.models);
  const limits = {
    requestsPerMinute: limitChange('--rpm', values.rpm),
    tokensPerDay: limitChange('--tokens-per-day', values['tokens-per-day']),
    tokensPerMonth: limitChange('--tokens-per-month', values['tokens-per-month']),
  };
  if (Object.values(limits).some((v) => v !== undefined)) changes.limits = limits;
  return withTarget(values, 'updating a key', async (target) => {
    const key = await updateClientKey(target.stores.keys, id, changes);
    if (values.json) printJson(keyView(key));
    else {
      print(`Updated key ${key.id}; the relay applies the change within 30 seconds.`);
      table([keyRow(key)], KEY_COLUMNS);
    }
    return 0;
  });
}

function requireProviderName(positionals: string[], command: string): string {
  const name = positionals[0];
  if (!name) throw new UsageError(`name the provider, e.g. \`mixroute ${command} openai\``);
  return name;
}

async function providersSetKey(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { 'from-env': { type: 'string' }, ...TARGET_OPTIONS }, 1);
  if (values.help) return help('providers set-key');
  const name = requireProviderName(positionals, 'providers set-key');
  return withTarget(values, 'storing a provider key', async (target) => {
    requireProvider(target.routes, name);
    let secret: string;
    if (typeof values['from-env'] === 'string') {
      secret = process.env[values['from-env']] ?? '';
      if (!secret) throw new AdminInputError(`environment variable ${values['from-env']} is empty or not set`);
    } else {
      secret = await readSecretFromStdin();
    }
    const result = await setProviderKey(target.stores.secrets, target.cipher, name, secret);
    if (values.json) print(JSON.stringify(result));
    else print(`Stored the key for provider "${name}" on ${target.description} (fingerprint ${result.fingerprint}). The relay uses it within 5 minutes (at once if it had none).`);
    return 0;
  });
}

async function providersList(args: string[]): Promise<number> {
  const { values } = parse(args, { ...TARGET_OPTIONS });
  if (values.help) return help('providers list');
  return withTarget(values, 'listing providers', async (target) => {
    const providers = await listProviders(target.stores.secrets, target.routes);
    if (values.json) printJson(providers);
    else if (providers.length === 0) print('No providers are configured.');
    else table(providers.map((p) => ({ name: p.name, type: p.type, baseUrl: p.baseUrl, fingerprint: p.fingerprint ?? 'no key', set: p.updatedAt ?? '-' })), ['name', 'type', 'baseUrl', 'fingerprint', 'set']);
    return 0;
  });
}

async function providersRemove(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { ...TARGET_OPTIONS }, 1);
  if (values.help) return help('providers remove');
  const name = requireProviderName(positionals, 'providers remove');
  return withTarget(values, 'removing a provider key', async (target) => {
    await removeProviderKey(target.stores.secrets, name);
    if (values.json) print(JSON.stringify({ provider: name, removed: true }));
    else print(`Removed the key of provider "${name}". The relay stops using it within 5 minutes (its secret cache); requests routed to it then fail with 503 until a key is set.`);
    return 0;
  });
}

async function providersTest(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { model: { type: 'string' }, ...TARGET_OPTIONS }, 1);
  if (values.help) return help('providers test');
  const name = requireProviderName(positionals, 'providers test');
  return withTarget(values, 'testing a provider key', async (target) => {
    progress(`sending one request through the relay at ${target.relayUrl}`, values.json === true);
    const result = await testProvider(target.stores.keys, target.routes, target.relayUrl, name, { model: values.model as string | undefined });
    if (values.json) print(JSON.stringify(result));
    else if (result.ok) print(`OK: provider "${name}" answered through the relay (model ${result.model}, HTTP ${result.status}, ${result.latencyMs} ms).`);
    else print(`FAILED: provider "${name}" (model ${result.model}): HTTP ${result.status}${result.code ? ` ${result.code}` : ''}${result.code === 'upstream_auth_failed' ? ': the provider rejected the stored key; set a new one with `mixroute providers set-key`' : ''}.`);
    return result.ok ? 0 : 1;
  });
}

async function usage(args: string[]): Promise<number> {
  const { values } = parse(args, { since: { type: 'string', default: '24h' }, by: { type: 'string', default: 'key' }, csv: { type: 'boolean', default: false }, ...TARGET_OPTIONS });
  if (values.help) return help('usage');
  const sinceMs = parseDuration(values.since as string);
  if (sinceMs === undefined) throw new UsageError(`--since: expected a duration such as 24h or 7d, got "${values.since}"`);
  if (sinceMs > USAGE_RETENTION_DAYS * 86_400_000) throw new UsageError(`--since: usage is kept ${USAGE_RETENTION_DAYS} days; ask for ${USAGE_RETENTION_DAYS}d or less`);
  if (values.by !== 'key' && values.by !== 'model') throw new UsageError(`--by: expected key or model, got "${values.by}"`);
  if (values.csv && values.json) throw new UsageError('choose one of --json and --csv');
  return withTarget(values, 'reading usage', async (target) => {
    progress(`reading usage from ${target.description}`, values.json === true || values.csv === true);
    const now = Date.now();
    const records = await target.stores.usage.queryUsage({ sinceMs: now - sinceMs, nowMs: now });
    const rows = summariseUsage(records, values.by as UsageGrouping);
    const columns = [values.by as string, 'requests', 'inputTokens', 'outputTokens', 'errors', 'estimated', 'p50LatencyMs', 'p99LatencyMs'];
    const flat = rows.map(({ group, ...rest }) => ({ [values.by as string]: group, ...rest }));
    if (values.json) printJson({ since: new Date(now - sinceMs).toISOString(), until: new Date(now).toISOString(), by: values.by, rows: flat });
    else if (values.csv) {
      print(columns.join(','));
      for (const row of flat) print(columns.map((c) => csvCell(String(row[c as keyof typeof row]))).join(','));
    } else if (rows.length === 0) print(`No usage on ${target.description} in the last ${values.since}.`);
    else table(flat as Record<string, string | number>[], columns);
    return 0;
  });
}

function csvCell(value: string): string {
  return /[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function help(topic: string): number {
  print(HELP[topic] ?? HELP.main);
  return 0;
}

const COMMANDS: Record<string, Record<string, (args: string[]) => Promise<number>>> = {
  keys: { create: keysCreate, list: keysList, show: keysShow, rotate: keysRotate, revoke: keysRevoke, update: keysUpdate },
  providers: { 'set-key': providersSetKey, list: providersList, remove: providersRemove, test: providersTest },
};

export async function main(argv: string[]): Promise<number> {
  const [command, sub, ...rest] = argv;
  const helpTopic = command === 'keys' || command === 'providers' ? `${command} ${sub ?? ''}`.trim() : (command ?? '');
  try {
    if (command === undefined || command === 'help' || command === '--help' || command === '-h') return help('main');
    if (command === 'dev') return await dev(argv.slice(1));
    if (command === 'usage') return await usage(argv.slice(1));
    const group = COMMANDS[command];
    if (!group) throw new UsageError(`unknown command "${command}"`);
    if (sub === undefined || sub === '--help' || sub === '-h') {
      print(Object.keys(group).map((name) => HELP[`${command} ${name}`]).join('\n\n'));
      return sub === undefined ? 2 : 0;
    }
    const run = group[sub];
    if (!run) throw new UsageError(`unknown command "${command} ${sub}" (available: ${Object.keys(group).join(', ')})`);
    return await run(rest);
  } catch (error) {
    if (error instanceof UsageError || error instanceof AdminInputError) {
      process.stderr.write(`mixroute: ${error.message}\nRun \`mixroute ${HELP[helpTopic] ? helpTopic : ''} --help\` for usage.\n`.replace(/ +/g, ' '));
      return 2;
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`mixroute: ${error.message}\n`);
      return 1;
    }
    if (error instanceof DevServerNotRunningError || error instanceof AdminTargetError || error instanceof AdminNotFoundError) {
      process.stderr.write(`mixroute: ${error.message}\n`);
      return 1;
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      process.stderr.write('mixroute: the port is already in use; pick another with --port\n');
      return 1;
    }
    process.stderr.write(`mixroute: ${((error as Error)?.message ?? String(error)).split('\n')[0]}\n`);
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
