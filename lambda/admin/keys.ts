/** Client-key operations for the admin commands; they work the same on the local store and AWS. */
import { generateClientKey } from '../core/auth';
import type { ClientKey, Clock, KeyAdminStore } from '../core/ports';
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
}

const KEY_NAME = /^[\p{L}\p{N} ._:@/+-]{1,64}$/u;
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}$/;

export function validateKeyInput(input: CreateKeyInput, nowMs: number): void {
  if (!KEY_NAME.test(input.name)) {
    throw new AdminInputError('--name: expected 1-64 letters, digits, spaces or . _ : @ / + -');
  }
  for (const model of input.models ?? []) {
    if (!MODEL_NAME.test(model)) throw new AdminInputError(`--models: "${model}" is not a model name`);
  }
  if (input.models && input.models.length === 0) throw new AdminInputError('--models: name at least one model, or leave it out to allow all');
  if (input.expiresAt !== undefined) {
    const at = Date.parse(input.expiresAt);
    if (Number.isNaN(at)) throw new AdminInputError('--expires: expected an ISO-8601 time or a duration such as 30d');
    if (at <= nowMs) throw new AdminInputError('--expires: must be in the future');
  }
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
  const key: ClientKey = {
    id: generated.id,
    name: input.name,
    status: 'active',
    createdAt: new Date(now).toISOString(),
    prefix: generated.prefix,
    ...(input.expiresAt ? { expiresAt: new Date(Date.parse(input.expiresAt)).toISOString() } : {}),
    ...(input.models ? { models: [...new Set(input.models)] } : {}),
  };
  await store.createKey(key, generated.hash);
  return { key, secret: generated.secret };
}
