/**
 * `mixroute usage --html` and `--records` on the dev server: real requests (through the official
 * SDKs, with canaries in their prompts) plus seeded records for three named keys over 7 days; the
 * page rendered in headless Chromium (no console error, no request, the expected series and
 * points, sortable tables, a screenshot in test/output/usage-report), and neither the page nor the
 * export holds a canary, a key or a key hash.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import type { Browser } from 'playwright-core';
import { EXPORTED_RECORD_FIELDS } from '../../../lambda/admin/usage-report';
import { buildUsageRecord } from '../../../lambda/core/usage';
import { describeIfChromium, launchChromium, openWatched } from '../../helpers/chromium';
import { cli } from '../../helpers/cli-runner';
import { startDevServerRelay, type DevServerRelay } from '../../helpers/relay-builder';
import { startUpstreamFake, type UpstreamFake } from '../../helpers/upstream-fake';
import { seedUsage } from '../../helpers/usage-seed';

const OUTPUT = join(__dirname, '..', '..', 'output', 'usage-report');
const DAY = 86_400_000;

let upstream: UpstreamFake;
let h: DevServerRelay;
let target: string[];
const canaries: string[] = [];
const keys: { id: string; secret: string; name: string }[] = [];
let realRequestIds: string[];
let seeded: ReturnType<typeof seedUsage>;

function canary(): string {
  const value = `CANARY${randomUUID().replace(/-/g, '')}`;
  canaries.push(value);
  return value;
}

beforeAll(async () => {
  mkdirSync(OUTPUT, { recursive: true });
  upstream = await startUpstreamFake({ echo: true });
  h = await startDevServerRelay({ upstream });
  target = ['--data-dir', h.dataDir, '--config', h.configPath];
  for (const name of ['team-alpha', 'team-beta', 'team-gamma', 'canary-team']) keys.push({ ...(await h.createKey({ name })), name });
  const now = Date.now();
  seeded = seedUsage({ keyIds: keys.slice(0, 3).map((k) => k.id), models: ['gpt-4o-mini', 'fast', 'claude-sonnet-5-5'], count: 420, nowMs: now - 60_000, periodMs: 7 * DAY - 3_600_000 });
  // Outside any report: expired 8 days ago.
  seeded.push(buildUsageRecord({ keyId: keys[0].id, requestId: 'req_expired_one', startedAt: now - 8 * DAY, finishedAt: now - 8 * DAY + 5, model: 'fast', provider: 'openai', inputTokens: 1, outputTokens: 1, usageSource: 'provider', status: 200, outcome: 'ok', streamed: false, completed: true }));
  for (const record of seeded) await h.server.stores.usage.put(record);

  // Real requests with canaries everywhere a client can put them, successes and failures.
  const key = keys[3];
  const openai = new OpenAI({ apiKey: key.secret, baseURL: `${h.url}/v1`, maxRetries: 0, defaultHeaders: { 'x-canary': canary() } });
  const anthropic = new Anthropic({ apiKey: key.secret, baseURL: h.url, maxRetries: 0 });
  await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'system', content: canary() }, { role: 'user', content: canary() }], user: canary() });
  const stream = await openai.chat.completions.create({ model: 'fast', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: canary() }] });
  for await (const _chunk of stream) void _chunk;
  await anthropic.messages.create({ model: 'claude-sonnet-5-5', max_tokens: 16, system: canary(), messages: [{ role: 'user', content: canary() }], metadata: { user_id: canary() } });
  await openai.embeddings.create({ model: 'text-embedding-3-small', input: canary() });
  upstream.script('a', { status: 400, body: JSON.stringify({ error: { message: `bad: ${canary()}`, type: 'invalid_request_error' } }) });
  await expect(openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: canary() }] })).rejects.toThrow();
  upstream.script('a', { status: 500, body: canary() });
  await expect(openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: canary() }] })).rejects.toThrow();
  await expect(openai.chat.completions.create({ model: canary(), messages: [{ role: 'user', content: canary() }] })).rejects.toThrow();
  const records = (await h.usageItems()).filter((item) => item.keyId === key.id);
  expect(records.length).toBe(7);
  realRequestIds = records.map((item) => item.requestId as string);
}, 60_000);
afterAll(async () => {
  await h.close();
  await upstream.close();
});

async function report(args: string[], file: string): Promise<string> {
  const result = await cli(['usage', '--html', join(OUTPUT, file), ...args, ...target]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(new RegExp(`^Wrote .*${file}: \\d+ requests from `));
  return readFileSync(join(OUTPUT, file), 'utf8');
}

describe('the HTML report file', () => {
  test('holds no canary, no client key, no key hash and no request id: aggregates only', async () => {
    expect(canaries.length).toBeGreaterThanOrEqual(12);
    const pages = [await report(['--since', '7d'], 'by-key-7d.html'), await report(['--since', '7d', '--by', 'model'], 'by-model-7d.html'), await report(['--since', '24h'], 'by-key-24h.html')];
    expect(pages).toHaveLength(3);
    for (const page of pages) {
      expect(page.length).toBeGreaterThan(10_000);
      for (const value of canaries) expect(page).not.toContain(value);
      for (const key of [...keys, h.firstKey]) {
        expect(page).not.toContain(key.secret);
        expect(page).not.toContain(createHash('sha256').update(key.secret).digest('hex'));
      }
      expect(page).not.toContain('req_seed_');
      expect(page).not.toContain('req_expired_one');
      for (const id of realRequestIds) expect(page).not.toContain(id);
    }
    // Break the scan once: a page that did embed a prompt would be caught.
    expect(`${pages[0]}${canaries[3]}`).toContain(canaries[3]);
  });

  test('the header states the period, the data dir, when it was made, and the relay\'s own privacy facts', async () => {
    const before = new Date().toISOString().slice(0, 13);
    const page = await report(['--since', '7d'], 'header.html');
    expect(page).toContain(`the dev server on ${h.dataDir}`);
    expect(page).toMatch(/<dt>period<\/dt><dd>\d{4}-\d\d-\d\dT[\d:.]+Z to \d{4}-\d\d-\d\dT[\d:.]+Z \(UTC, per day\)<\/dd>/);
    expect(page).toContain(`<dt>generated</dt><dd>${before}`);
    expect(page).toContain(`From the relay&#39;s ${h.url}/v1/privacy:`);
    const manifest = (await (await fetch(`${h.url}/v1/privacy`)).json()) as { stored: { what: string }[] };
    expect(manifest.stored.length).toBeGreaterThan(3);
    for (const stored of manifest.stored) expect(page).toContain(stored.what.replace(/'/g, '&#39;'));
    expect(page).toContain('usage record, one per authenticated request</td><td>usage table</td><td>7 days</td>');
    expect(page).toContain('Content-Security-Policy" content="default-src \'none\';');
  });

  test('--html - writes the page to stdout; --json prints what was written; bad combinations exit 2', async () => {
    const stdout = await cli(['usage', '--html', '-', ...target]);
    expect(stdout.code).toBe(0);
    expect(stdout.stdout.startsWith('<!doctype html>')).toBe(true);
    const json = await cli(['usage', '--html', join(OUTPUT, 'json.html'), '--json', '--since', '48h', '--by', 'model', ...target]);
    expect(json.json()).toEqual({ file: join(OUTPUT, 'json.html'), since: expect.any(String), until: expect.any(String), by: 'model', bucket: 'hour', records: expect.any(Number), bytes: readFileSync(join(OUTPUT, 'json.html')).length });
    // Without --since the report covers the whole 7 days the table keeps (the summary and the records: 24 h).
    const week = (await cli(['usage', '--html', join(OUTPUT, 'default-period.html'), '--json', ...target])).json() as { since: string; until: string; bucket: string };
    expect(week.bucket).toBe('day');
    expect(Date.parse(week.until) - Date.parse(week.since)).toBe(7 * 86_400_000);
    const day = (await cli(['usage', '--json', ...target])).json() as { since: string; until: string };
    expect(Date.parse(day.until) - Date.parse(day.since)).toBe(86_400_000);
    const unwritable = await cli(['usage', '--html', join(OUTPUT, 'no-such-folder', 'x.html'), ...target]);
    expect(unwritable.code).toBe(1);
    expect(unwritable.stderr).toBe(`mixroute: --html: cannot write ${join(OUTPUT, 'no-such-folder', 'x.html')}: its folder does not exist or is not writable\n`);
    for (const bad of [['--html', 'x.html', '--csv'], ['--html', 'x.html', '--records', '--json'], ['--records'], ['--html', '']]) {
      const result = await cli(['usage', ...bad, ...target]);
      expect({ bad, code: result.code }).toEqual({ bad, code: 2 });
    }
  });
});

describe('--records', () => {
  test('--json: one object per request in the period with the fixed schema and its requestId; expired ones never', async () => {
    const result = await cli(['usage', '--records', '--since', '7d', '--json', ...target]);
    expect(result.code).toBe(0);
    const rows = result.json() as Record<string, unknown>[];
    const live = seeded.filter((r) => r.requestId !== 'req_expired_one');
    expect(rows).toHaveLength(live.length + realRequestIds.length);
    for (const row of rows) expect(Object.keys(row)).toEqual(EXPORTED_RECORD_FIELDS);
    expect(new Set(rows.map((r) => r.requestId))).toEqual(new Set([...live.map((r) => r.requestId), ...realRequestIds]));
    expect(rows.map((r) => r.timestamp)).toEqual([...rows.map((r) => r.timestamp as string)].sort());
    const text = result.stdout;
    for (const value of canaries) expect(text).not.toContain(value);
    for (const key of keys) expect(text).not.toContain(key.secret);
  });

  test('--csv: a header of the schema and one row per request; --since 24h keeps only the last day', async () => {
    const result = await cli(['usage', '--records', '--csv', ...target]);
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toBe(EXPORTED_RECORD_FIELDS.join(','));
    const since = Date.now() - DAY;
    const expected = seeded.filter((r) => Date.parse(r.timestamp) >= since).length + realRequestIds.length;
    expect(expected).toBeGreaterThan(realRequestIds.length);
    expect(lines).toHaveLength(1 + expected);
    const requestIdColumn = EXPORTED_RECORD_FIELDS.indexOf('requestId');
    const ids = lines.slice(1).map((line) => line.split(',')[requestIdColumn]);
    expect(ids).toEqual(expect.arrayContaining(realRequestIds));
    expect(ids).not.toContain('req_expired_one');
  });
});

describeIfChromium('the report in headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  }, 40_000);
  afterAll(async () => {
    await browser?.close();
  });

  async function seriesOf(page: import('playwright-core').Page, chart: string) {
    return page.$$eval(`[data-chart="${chart}"] g[data-series]`, (groups) => groups.map((g) => ({ name: g.getAttribute('data-series'), points: g.querySelectorAll('rect[data-point]').length, total: [...g.querySelectorAll('rect[data-point]')].reduce((sum, r) => sum + Number(r.getAttribute('data-value')), 0) })));
  }

  test('7 days by key: loads with no console error and no request; every chart has one series per key and a point per day; screenshot', async () => {
    const file = join(OUTPUT, 'report.html');
    await report(['--since', '7d'], 'report.html');
    const url = pathToFileURL(file).toString();
    const { page, watch } = await openWatched(browser, url);
    const days = new Set<string>();
    for (let t = Date.now() - 7 * DAY; t <= Date.now(); t += 3_600_000) days.add(new Date(t).toISOString().slice(0, 10));
    days.add(new Date().toISOString().slice(0, 10));
    const charts = await page.$$eval('[data-chart]', (figures) => figures.map((f) => f.getAttribute('data-chart')));
    expect(charts).toEqual(['chart-requests', 'chart-inputTokens', 'chart-outputTokens', 'chart-cachedInputTokens', 'chart-reasoningTokens', 'chart-errors']);
    const requests = await seriesOf(page, 'chart-requests');
    // The three seeded keys and the key that made the real requests; the first key made none.
    expect(requests.map((s) => s.name).sort()).toEqual(keys.map((k) => k.id).sort());
    for (const series of requests) expect(series.points).toBe(days.size);
    expect(requests.reduce((sum, s) => sum + s.total, 0)).toBe(seeded.length - 1 + realRequestIds.length);
    for (const chart of charts.slice(1, 5)) expect((await seriesOf(page, chart as string)).map((s) => s.points)).toEqual(requests.map(() => days.size));
    const errors = await seriesOf(page, 'chart-errors');
    expect(errors.map((s) => s.name)).toEqual(['upstream_error', 'timeout', 'aborted', 'rate_limited', 'client_error', 'relay_error']);
    for (const series of errors) expect(series.points).toBe(days.size);
    // The seed fails one in ten (42 of 420, cycling through six kinds); the real requests add a 400, a 502 and an unknown model.
    expect(errors.reduce((sum, s) => sum + s.total, 0)).toBe(42 + 3);
    const legend = await page.$$eval('[data-chart="chart-requests"] .legend li', (items) => items.map((li) => li.textContent));
    expect(legend.some((text) => text?.startsWith(`team-alpha (${keys[0].id})`))).toBe(true);
    await page.screenshot({ path: join(OUTPUT, 'report.png'), fullPage: true });
    expect(readFileSync(join(OUTPUT, 'report.png')).length).toBeGreaterThan(20_000);
    expect(watch.errors).toEqual([]);
    expect(watch.requests).toEqual([]);
  }, 60_000);

  test('24 h by model: a point per hour; the tables sort by the clicked column, the total row stays last', async () => {
    const file = join(OUTPUT, 'by-model-24h.html');
    await report(['--since', '24h', '--by', 'model'], 'by-model-24h.html');
    const { page, watch } = await openWatched(browser, pathToFileURL(file).toString());
    const hours = Math.floor(Date.now() / 3_600_000) - Math.floor((Date.now() - DAY) / 3_600_000) + 1;
    const requests = await seriesOf(page, 'chart-requests');
    expect(requests.length).toBeGreaterThanOrEqual(4);
    expect(requests.map((s) => s.name)).toEqual(expect.arrayContaining(['gpt-4o-mini', 'fast', 'claude-sonnet-5-5', 'text-embedding-3-small']));
    for (const series of requests) expect(series.points).toBe(hours);
    const column = async () => page.$$eval('#table-keys tbody tr', (rows) => rows.map((r) => Number(r.children[2].getAttribute('data-v'))));
    const header = page.locator('#table-keys thead th', { hasText: /^requests$/ });
    await header.click();
    const descending = await column();
    expect(descending.length).toBe(4);
    expect(descending).toEqual([...descending].sort((a, b) => b - a));
    await header.click();
    const ascending = await column();
    expect(ascending).toEqual([...descending].reverse());
    expect(new Set(ascending).size).toBeGreaterThan(1);
    expect(await page.$$eval('#table-keys tfoot td', (cells) => cells[0].textContent)).toBe('total');
    await page.locator('#table-models thead th', { hasText: /^model$/ }).click();
    const models = await page.$$eval('#table-models tbody tr', (rows) => rows.map((r) => r.children[0].textContent ?? ''));
    expect(models).toEqual([...models].sort((a, b) => b.localeCompare(a)));
    expect(watch.errors).toEqual([]);
    expect(watch.requests).toEqual([]);
  }, 60_000);

  test('the watch can fail: a page that loads something, or throws, is caught', async () => {
    const file = join(OUTPUT, 'broken.html');
    const page = readFileSync(join(OUTPUT, 'report.html'), 'utf8')
      .replace('</main>', '<img src="http://127.0.0.1:9/pixel.png"></main>')
      .replace('<script>', '<script>document.querySelector("#nope").click();');
    writeFileSync(file, page);
    const { watch } = await openWatched(browser, pathToFileURL(file).toString());
    expect(watch.errors.length).toBeGreaterThanOrEqual(1);
    expect(watch.errors.join('\n')).toMatch(/Content Security Policy|null/);
  }, 60_000);
});
