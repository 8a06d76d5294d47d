/**
 * `mixroute usage`: requests, tokens, errors and latency per key or model over the last 7 days at
 * most, as a table, CSV, JSON or a self-contained HTML report; `--records` exports the raw records.
 */
import { accessSync, constants, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDuration } from '../../../lambda/admin/durations';
import { buildUsageReport, exportedRecord, EXPORTED_RECORD_FIELDS, summariseUsage, type UsageGrouping } from '../../../lambda/admin/usage-report';
import { privacyManifest, DEFAULT_TRAIL_RETENTION_DAYS } from '../../../lambda/core/privacy';
import { USAGE_RETENTION_DAYS, type UsageRecord } from '../../../lambda/core/usage';
import type { AdminTarget } from '../admin-target';
import { UsageError, type Command } from '../command';
import { csvCell, table, type CliIo } from '../io';
import { renderUsageHtml, type PrivacyFacts } from '../usage-html';

/** The period when --since is not given: a day for the table and the records, the whole week for the report. */
const DEFAULT_SINCE = '24h';
const DEFAULT_REPORT_SINCE = '7d';

/** How long the report waits for the relay's /v1/privacy before using the CLI's own copy. */
const PRIVACY_FETCH_TIMEOUT_MS = 3000;

export const usage: Command = {
  name: 'usage',
  summary: 'requests, tokens, errors and latency over the last 7 days at most; an HTML report; raw records',
  synopsis: '[--since 24h] [--by key|model] [--json|--csv] | --html FILE [--since 7d] | --records [--since 24h] --json|--csv',
  description: [
    'Requests, input/output tokens (with cached, cache-write and reasoning tokens), errors and p50/p99',
    'latency per key or model, from the usage table (7 days at most; expired records are excluded).',
    '--html writes the same figures as one self-contained HTML page (charts over time, sortable tables',
    'per key and per model, error outcomes, what the relay keeps); it makes no network request when opened.',
    '--records exports the raw usage records instead: one object or row per request, with its requestId.',
  ].join('\n'),
  options: {
    since: { type: 'string' },
    by: { type: 'string', default: 'key' },
    csv: { type: 'boolean', default: false },
    html: { type: 'string' },
    records: { type: 'boolean', default: false },
  },
  target: true,
  extraHelp: [
    '  --csv              comma-separated values with a header line',
    '  --since DURATION   the period, up to 7d (default 24h; 7d with --html)',
    '  --html FILE        write the HTML report to FILE ("-" for stdout); charts per hour up to 48 h, else per day',
    '  --records          the raw records (with --json or --csv): the fixed usage schema, no content',
  ].join('\n'),
  examples: [
    'npx mixroute usage',
    'npx mixroute usage --since 7d --by model --csv > usage.csv',
    'npx mixroute usage --since 7d --html usage.html',
    'npx mixroute usage --records --since 24h --csv > records.csv',
    'npx mixroute usage --stack Mixroute --json',
  ],
  async run({ values, io, withTarget }) {
    const html = values.html as string | undefined;
    const since = (values.since as string | undefined) ?? (html !== undefined ? DEFAULT_REPORT_SINCE : DEFAULT_SINCE);
    const sinceMs = parseDuration(since);
    if (sinceMs === undefined) throw new UsageError(`--since: expected a duration such as 24h or 7d, got "${since}"`);
    if (sinceMs > USAGE_RETENTION_DAYS * 86_400_000) throw new UsageError(`--since: usage is kept ${USAGE_RETENTION_DAYS} days; ask for ${USAGE_RETENTION_DAYS}d or less`);
    if (values.by !== 'key' && values.by !== 'model') throw new UsageError(`--by: expected key or model, got "${values.by}"`);
    if (values.csv && values.json) throw new UsageError('choose one of --json and --csv');
    if (html !== undefined && html === '') throw new UsageError('--html: name the file to write, or "-" for stdout');
    if (html !== undefined && (values.csv || values.records)) throw new UsageError('--html cannot be combined with --csv or --records');
    if (values.records && !values.json && !values.csv) throw new UsageError('--records: choose --json or --csv');
    if (html !== undefined && html !== '-') assertWritable(html);
    const by = values.by as UsageGrouping;
    const quiet = values.json === true || values.csv === true || html === '-';
    return withTarget('reading usage', async (target) => {
      io.progress(`reading usage from ${target.description}`, quiet);
      const now = Date.now();
      const records = await target.stores.usage.queryUsage({ sinceMs: now - sinceMs, nowMs: now });
      if (values.records) printRecords(io, records, values.json === true);
      else if (html !== undefined) await writeReport(io, target, records, { by, sinceMs: now - sinceMs, untilMs: now, file: html, json: values.json === true });
      else printSummary(io, target, records, { by, since, sinceMs: now - sinceMs, untilMs: now, json: values.json === true, csv: values.csv === true });
      return 0;
    });
  },
};

function printSummary(io: CliIo, target: AdminTarget, records: readonly UsageRecord[], options: { by: UsageGrouping; since: string; sinceMs: number; untilMs: number; json: boolean; csv: boolean }): void {
  const { by } = options;
  const rows = summariseUsage(records, by);
  // New columns go at the end, so scripts that read the CSV by position keep working.
  const columns = [by, 'requests', 'inputTokens', 'outputTokens', 'errors', 'estimated', 'p50LatencyMs', 'p99LatencyMs', 'cachedInputTokens', 'cacheWriteTokens', 'reasoningTokens'];
  const flat = rows.map(({ group, ...rest }) => ({ [by]: group, ...rest }) as Record<string, string | number>);
  if (options.json) io.printJson({ since: new Date(options.sinceMs).toISOString(), until: new Date(options.untilMs).toISOString(), by, rows: flat });
  else if (options.csv) {
    io.print(columns.join(','));
    for (const row of flat) io.print(columns.map((c) => csvCell(String(row[c]))).join(','));
  } else if (rows.length === 0) io.print(`No usage on ${target.description} in the last ${options.since}.`);
  else table(io, flat, columns);
}

function printRecords(io: CliIo, records: readonly UsageRecord[], json: boolean): void {
  const rows = [...records].sort((a, b) => a.timestamp.localeCompare(b.timestamp) || a.requestId.localeCompare(b.requestId)).map(exportedRecord);
  if (json) {
    io.printJson(rows);
    return;
  }
  io.print(EXPORTED_RECORD_FIELDS.join(','));
  for (const row of rows) io.print(EXPORTED_RECORD_FIELDS.map((field) => csvCell(row[field] === null ? '' : String(row[field]))).join(','));
}

async function writeReport(io: CliIo, target: AdminTarget, records: readonly UsageRecord[], options: { by: UsageGrouping; sinceMs: number; untilMs: number; file: string; json: boolean }): Promise<void> {
  const [names, privacy] = await Promise.all([keyNames(target), privacyFacts(target)]);
  const report = buildUsageReport(records, { by: options.by, sinceMs: options.sinceMs, untilMs: options.untilMs, keyNames: names.names });
  const page = renderUsageHtml(report, {
    source: target.description,
    generatedAt: new Date().toISOString(),
    privacy: privacy.facts,
    privacySource: privacy.source,
    keyNamesNote: names.note,
  });
  if (names.note) io.error(`mixroute: ${names.note}\n`);
  if (options.file === '-') {
    io.print(page.trimEnd());
    return;
  }
  // Written whole, then renamed: a reader never sees half a report.
  const partial = `${options.file}.partial-${process.pid}`;
  try {
    writeFileSync(partial, page);
    renameSync(partial, options.file);
  } catch (error) {
    rmSync(partial, { force: true });
    throw new Error(`--html: cannot write ${options.file}: ${(error as Error).message}`);
  }
  const summary = { file: options.file, since: report.since, until: report.until, by: report.by, bucket: report.bucket, records: report.records, bytes: Buffer.byteLength(page) };
  if (options.json) io.printJson(summary);
  else io.print(`Wrote ${options.file}: ${report.records} requests from ${report.since} to ${report.until}, per ${report.bucket}, by ${report.by}.`);
}

/** Checked before the records are read, so a typo in the path fails at once. */
function assertWritable(file: string): void {
  try {
    accessSync(dirname(resolve(file)), constants.W_OK);
  } catch {
    throw new Error(`--html: cannot write ${file}: its folder does not exist or is not writable`);
  }
}

async function keyNames(target: AdminTarget): Promise<{ names: Map<string, string>; note?: string }> {
  try {
    const keys = await target.stores.keys.listKeys();
    return { names: new Map(keys.map((key) => [key.id, key.name])) };
  } catch (error) {
    return { names: new Map(), note: `key names could not be read from the keys table (${(error as Error).name}: ${(error as Error).message.split('\n')[0]}); keys are shown by id` };
  }
}

/** The facts the relay itself serves at /v1/privacy; this CLI's own copy when the relay does not answer. */
async function privacyFacts(target: AdminTarget): Promise<{ facts: PrivacyFacts; source: string }> {
  const url = new URL('v1/privacy', target.relayUrl).toString();
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(PRIVACY_FETCH_TIMEOUT_MS), headers: { accept: 'application/json' } });
    const body = (await response.json()) as Partial<PrivacyFacts>;
    if (response.ok && Array.isArray(body.stored) && Array.isArray(body.neverStored)) return { facts: body as PrivacyFacts, source: `the relay's ${url}` };
  } catch {
    // Fall through to the CLI's own copy of the manifest.
  }
  const facts = target.kind === 'aws' ? privacyManifest({ trailRetentionDays: DEFAULT_TRAIL_RETENTION_DAYS }) : privacyManifest();
  return { facts, source: `this CLI's copy of the privacy manifest (${url} did not answer)` };
}
