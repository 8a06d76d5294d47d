/**
 * Structured JSON log lines built from an allowlist. A field that is not listed here is dropped,
 * and string values must look like ids, names or codes, so no body, header, key or upstream text
 * can reach a log line even by mistake. The allowlist is the usage record's fixed schema, so the
 * two cannot drift apart.
 */
import { USAGE_FIELDS, type UsageRecord } from './usage';

/** The events the relay logs; a fixed set. */
export type LogEvent =
  | 'request'
  | 'usage_write_failed'
  | 'usage_write_retried'
  | 'limit_check_failed';

/** A log line's fields: those of the usage record (one source), plus the attempt of a retried write. */
export type LogFields = { [K in keyof UsageRecord]?: UsageRecord[K] extends number | boolean ? UsageRecord[K] : string } & { attempt?: number };

/** Every field a log line may hold (besides its time and event name), derived from the usage schema. */
export const LOG_FIELDS: readonly (keyof LogFields)[] = [...(Object.keys(USAGE_FIELDS) as (keyof UsageRecord)[]), 'attempt'];
const ALLOWED_FIELDS: ReadonlySet<string> = new Set<string>(LOG_FIELDS);

/** Ids, configured names, codes and ISO timestamps; anything else is replaced. */
const SAFE_STRING = /^[A-Za-z0-9._:/@+-]{1,128}$/;

export type LogSink = (line: string) => void;

export interface Logger {
  log(event: LogEvent, fields?: LogFields): void;
}

export function createLogger(sink: LogSink, now: () => number = Date.now): Logger {
  return {
    log(event, fields = {}) {
      const line: Record<string, unknown> = { time: new Date(now()).toISOString(), event };
      for (const [name, value] of Object.entries(fields)) {
        if (!ALLOWED_FIELDS.has(name) || value === undefined) continue;
        if (typeof value === 'number' || typeof value === 'boolean') line[name] = value;
        else if (typeof value === 'string') line[name] = SAFE_STRING.test(value) ? value : '[redacted]';
      }
      sink(JSON.stringify(line));
    },
  };
}

/** A logger that drops everything (for tests that do not look at logs). */
export const silentLogger: Logger = { log() {} };
