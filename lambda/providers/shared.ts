/** Small helpers shared by the provider adapters. */
import type { JsonObject } from './types';

const encoder = new TextEncoder();

/** Copies the allowlisted headers a caller sent; nothing else reaches the provider. */
export function pickHeaders(from: Headers, allowlist: readonly string[]): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of allowlist) {
    const value = from.get(name);
    if (value !== null) picked[name] = value;
  }
  return picked;
}

/** Serialises the body only when it was changed; otherwise the caller's bytes go upstream as sent. */
export function bodyFor(original: Uint8Array, changed: JsonObject | undefined): Uint8Array | string {
  return changed ? JSON.stringify(changed) : original;
}

export function nonNegativeInt(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.floor(value) : undefined;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON.parse that answers undefined instead of throwing. */
export function tryParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function encode(text: string): Uint8Array {
  return encoder.encode(text);
}

export const RELAY_USER_AGENT = 'mixroute-relay/0.1';
