/** Small JSON helpers shared by the provider types. */
import type { JsonObject } from '../../core/provider';

const encoder = new TextEncoder();

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A lookup table's own entry for a key (never an inherited property such as `constructor`). */
export function ownValue<T>(table: Readonly<Record<string, T>>, key: unknown): T | undefined {
  return typeof key === 'string' && Object.hasOwn(table, key) ? table[key] : undefined;
}

export function nonNegativeInt(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.floor(value) : undefined;
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

/** Serialises the body only when it was changed; otherwise the caller's bytes go upstream as sent. */
export function bodyFor(original: Uint8Array, changed: JsonObject | undefined): Uint8Array | string {
  return changed ? JSON.stringify(changed) : original;
}
