/** Durations on the command line: 90s, 15m, 24h, 30d (and combinations like 1d12h). */
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(text: string): number | undefined {
  if (!/^(\d+[smhd])+$/.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+)([smhd])/g)) total += Number(amount) * UNIT_MS[unit];
  return total;
}

/** An ISO-8601 time, or a duration from now ("30d"). Undefined when it is neither. */
export function parseTimeOrDuration(text: string, nowMs: number): string | undefined {
  const duration = parseDuration(text);
  if (duration !== undefined) return new Date(nowMs + duration).toISOString();
  const at = Date.parse(text);
  return Number.isNaN(at) || !/^\d{4}-\d{2}-\d{2}/.test(text) ? undefined : new Date(at).toISOString();
}
