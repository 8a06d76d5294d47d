/** Client-key operations for the admin commands; they work the same on the local store and AWS. */
import { generateClientKey } from '../core/auth';
import type { ClientKey, Clock, KeyAdminStore, KeyLimits, KeyUpdate } from '../core/ports';
import { systemClock } from '../core/ports';

export class AdminInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdminInputError';
  }
}

export interface CreateKeyInput {
  readonly name: string;
  /** Allowed models; absent means every configured model. */
  readonly models?: readonly string[];
  /** ISO-8601 time after which the key stops working. */
  readonly expiresAt?: string;
  readonly limits?: KeyLimits;
}

const KEY_NAME = /^[\p{L}\p{N} ._:@/+-]{1,64}$/u;
/** A model name, or a pattern ending in * ("claude-*"). */
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,126}[A-Za-z0-9._:/@*-]$|^[A-Za-z0-9]$/;
const LIMIT_FLAGS: Record<keyof KeyLimits, string> = { requestsPerMinute: '--rpm', tokensPerDay: '--tokens-per-day', tokensPerMonth: '--tokens-per-month', maxConcurrency: '--max-concurrency' };

function validateName(name: string): void {
  if (!KEY_NAME.test(name)) throw new AdminInputError('--name: expected 1-64 letters, digits, spaces or . _ : @ / + -');
}

function validateModels(models: readonly string[]): void {
  if (models.length === 0) throw new AdminInputError('--models: name at least one model, or leave it out to allow all');
  for (const model of models) {
    if (!MODEL_NAME.test(model)) throw new AdminInputError(`--models: "${model}" is not a model name`);
  }
}

function validateExpiry(expiresAt: string, nowMs: number): void {
  const at = Date.parse(expiresAt);
  if (Number.isNaN(at)) throw new AdminInputError('--expires: expected an ISO-8601 time or a duration such as 30d');
  if (at <= nowMs) throw new AdminInputError('--expires: must be in the future');
}

function validateLimits(limits: KeyLimits): void {
  for (const [field, value] of Object.entries(limits)) {
    if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
      throw new AdminInputError(`${LIMIT_FLAGS[field as keyof KeyLimits]}: expected a positive whole number, got ${value}`);
    }
  }
}

export function validateKeyInput(input: CreateKeyInput, nowMs: number): void {
  validateName(input.name);
  if (input.models) validateModels(input.models);
  if (input.expiresAt !== undefined) validateExpiry(input.expiresAt, nowMs);
  if (input.limits) validateLimits(input.limits);
}

/** Creates a key and returns its secret, which exists nowhere else: show it once. */
export async function createClientKey(
  store: KeyAdminStore,
  input: CreateKeyInput,
  clock: Clock = systemClock,
): Promise<{ key: ClientKey; secret: string }> {
  const now = clock.now();
  validateKeyInput(input, now);
  const generated = generateClientKey();
  const limits = input.limits && Object.values(input.limits).some((v) => v !== undefined) ? input.limits : undefined;
  const key: ClientKey = {
    id: generated.id,
    name: input.name,
    status: 'active',
    createdAt: new Date(now).toISOString(),
    prefix: generated.prefix,
    ...(input.expiresAt ? { expiresAt: new Date(Date.parse(input.expiresAt)).toISOString() } : {}),
    ...(input.models ? { models: [...new Set(input.models)] } : {}),
    ...(limits ? { limits } : {}),
  };
  await store.createKey(key, generated.hash);
  return { key, secret: generated.secret };
}

/** Something named on the command line does not exist (exit 1, not a usage error). */
export class AdminNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdminNotFoundError';
  }
}

export async function requireKey(store: KeyAdminStore, id: string): Promise<ClientKey> {
  const key = await store.getKey(id);
  if (!key) throw new AdminNotFoundError(`unknown key id "${id}" (list them with \`mixroute keys list\`)`);
  return key;
}

/**
 * Rotates a key's secret with overlap: the new secret works at once; the old one(s) keep working
 * until `graceMs` from now, then stop. The new secret is added before the old ones are given an
 * end, so at no moment does the key have no working secret.
 */
export async function rotateClientKey(
  store: KeyAdminStore,
  id: string,
  graceMs: number,
  clock: Clock = systemClock,
): Promise<{ key: ClientKey; secret: string; previousSecretsEndAt: string }> {
  const key = await requireKey(store, id);
  if (key.status !== 'active') throw new AdminInputError(`key "${id}" is revoked; create a new key instead`);
  if (!Number.isFinite(graceMs) || graceMs < 0) throw new AdminInputError('--grace: expected a duration such as 24h or 0s');
  const now = clock.now();
  const endAt = new Date(now + graceMs).toISOString();
  const previous = await store.listSecrets(id);
  const generated = generateClientKey(id);
  await store.addSecret(id, generated.hash);
  for (const secret of previous) {
    // A secret already ending sooner keeps its earlier end.
    if (!secret.notAfter || Date.parse(secret.notAfter) > now + graceMs) await store.endSecret(secret.hash, endAt);
  }
  const updated = await store.updateKey(id, { prefix: generated.prefix, rotatedAt: new Date(now).toISOString() });
  return { key: updated, secret: generated.secret, previousSecretsEndAt: endAt };
}

export async function revokeClientKey(store: KeyAdminStore, id: string): Promise<ClientKey> {
  await requireKey(store, id);
  return store.updateKey(id, { status: 'revoked' });
}

export interface KeyChanges {
  readonly name?: string;
  /** ISO-8601, or null to remove the expiry. */
  readonly expiresAt?: string | null;
  /** A list, or null to allow every model. */
  readonly models?: readonly string[] | null;
  /** Each limit: a number to set it, null to remove it. */
  readonly limits?: { [K in keyof KeyLimits]?: number | null };
}

export async function updateClientKey(store: KeyAdminStore, id: string, changes: KeyChanges, clock: Clock = systemClock): Promise<ClientKey> {
  const key = await requireKey(store, id);
  if (changes.name !== undefined) validateName(changes.name);
  if (changes.models) validateModels(changes.models);
  if (changes.expiresAt) validateExpiry(changes.expiresAt, clock.now());
  const update: { -readonly [K in keyof KeyUpdate]: KeyUpdate[K] } = {};
  if (changes.name !== undefined) update.name = changes.name;
  if (changes.expiresAt !== undefined) update.expiresAt = changes.expiresAt === null ? null : new Date(Date.parse(changes.expiresAt)).toISOString();
  if (changes.models !== undefined) update.models = changes.models === null ? null : [...new Set(changes.models)];
  if (changes.limits) {
    const merged: Record<string, number> = { ...(key.limits ?? {}) };
    for (const [field, value] of Object.entries(changes.limits)) {
      if (value === null) delete merged[field];
      else if (value !== undefined) merged[field] = value;
    }
    validateLimits(merged);
    update.limits = Object.keys(merged).length > 0 ? (merged as KeyLimits) : null;
  }
  if (Object.keys(update).length === 0) throw new AdminInputError('nothing to change: give --name, --expires, --models or a limit (--rpm, --tokens-per-day, --tokens-per-month, --max-concurrency)');
  return store.updateKey(id, update);
}
