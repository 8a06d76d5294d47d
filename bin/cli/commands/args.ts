/** Arguments and views the commands share: limits, expiry, model lists, ids, and a key as shown (never a secret or hash). */
import { parseTimeOrDuration } from '../../../lambda/admin/durations';
import type { ClientKey, KeyLimits } from '../../../lambda/core/ports';
import { UsageError } from '../command';

export const LIMIT_OPTIONS = {
  rpm: { type: 'string' },
  'tokens-per-day': { type: 'string' },
  'tokens-per-month': { type: 'string' },
  'max-concurrency': { type: 'string' },
} as const;

export function positiveInt(flag: string, value: string | boolean | undefined): number | undefined {
  if (typeof value !== 'string') return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`${flag}: expected a positive whole number, got "${value}"`);
  return Number(value);
}

/** For update: a number sets the limit, "none" removes it. */
export function limitChange(flag: string, value: string | boolean | undefined): number | null | undefined {
  if (value === 'none') return null;
  return positiveInt(flag, value);
}

export function expiryFrom(value: string | boolean | undefined): string | undefined {
  if (typeof value !== 'string') return undefined;
  const at = parseTimeOrDuration(value, Date.now());
  if (!at) throw new UsageError(`--expires: expected an ISO-8601 time or a duration such as 30d, got "${value}"`);
  return at;
}

export function modelList(value: string | boolean | undefined): string[] | undefined {
  return typeof value === 'string' ? value.split(',').map((m) => m.trim()).filter(Boolean) : undefined;
}

export function requireId(positionals: string[], command: string): string {
  const id = positionals[0];
  if (!id) throw new UsageError(`name the key id, e.g. \`mixroute ${command} key_AbC123\` (see \`mixroute keys list\`)`);
  return id;
}

export function requireProviderName(positionals: string[], command: string): string {
  const name = positionals[0];
  if (!name) throw new UsageError(`name the provider, e.g. \`mixroute ${command} openai\``);
  return name;
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
    limits.maxConcurrency !== undefined ? `${limits.maxConcurrency} open` : '',
  ].filter(Boolean);
  return parts.join(', ') || '-';
}

/** A key as shown to people and scripts: never a secret or a hash. */
export function keyView(key: ClientKey) {
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

export function keyRow(key: ClientKey): Record<string, string> {
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

export const KEY_COLUMNS = ['id', 'name', 'prefix', 'status', 'created', 'expires', 'models', 'limits'];
