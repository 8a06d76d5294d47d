/**
 * `npm run bench` (second part): the usage report on a large period.
 *
 * 100,000 usage records over 7 days (20 keys, 4 models, every outcome):
 * 1. in process: aggregation (`buildUsageReport`) and rendering, and the page's size;
 * 2. end to end: the records written to a running dev server's embedded store, then
 *    `mixroute usage --html --since 7d` as a user runs it (reading them back included);
 * 3. the page opened in headless Chromium (when installed): time to load and the longest task.
 *
 * Env: BENCH_REPORT_RECORDS (100000), BENCH_OUT_REPORT (bench/results/usage-report.json).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { buildUsageReport } from '../lambda/admin/usage-report';
import { connectToDevServer } from '../lambda/hosts/local/dev-server';
import { privacyManifest } from '../lambda/core/privacy';
import { renderUsageHtml } from '../bin/cli/usage-html';
import { chromium } from 'playwright-core';
import { CHROMIUM_PATH } from '../test/helpers/chromium-path';
import { seedUsage } from '../test/helpers/usage-seed';

const ROOT = join(__dirname, '..');
const COUNT = Number(process.env.BENCH_REPORT_RECORDS ?? 100_000);
const OUT = process.env.BENCH_OUT_REPORT ?? join(ROOT, 'bench', 'results', 'usage-report.json');
const DAY = 86_400_000;
const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'mixroute-bench-report-'));
  const results: Record<string, unknown> = { date: new Date().toISOString(), records: COUNT };
  const now = Date.now();
  const records = seedUsage({ keyIds: Array.from({ length: 20 }, (_, i) => `key_bench${String(i).padStart(2, '0')}`), models: ['gpt-4o-mini', 'gpt-5', 'claude-sonnet-5-5', 'text-embedding-3-small'], count: COUNT, nowMs: now - 60_000, periodMs: 7 * DAY - 3_600_000 });

  let began = performance.now();
  const report = buildUsageReport(records, { by: 'key', sinceMs: now - 7 * DAY, untilMs: now });
  const aggregateMs = performance.now() - began;
  began = performance.now();
  const page = renderUsageHtml(report, { source: 'bench', generatedAt: new Date().toISOString(), privacy: privacyManifest(), privacySource: 'this CLI' });
  const renderMs = performance.now() - began;
  results.inProcess = { aggregateMs, renderMs, pageBytes: Buffer.byteLength(page) };

  const configPath = join(work, 'mixroute.config.json');
  writeFileSync(configPath, JSON.stringify({ providers: { openai: { type: 'openai', baseUrl: 'http://127.0.0.1:9/v1' } }, models: { 'gpt-4o-mini': { provider: 'openai' } } }));
  const dataDir = join(work, 'data');
  const dev = spawn(process.execPath, ['bin/mixroute-cli.js', 'dev', '--port', '0', '--data-dir', dataDir, '--config', configPath], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } });
  try {
    await new Promise<void>((resolve, reject) => {
      let output = '';
      dev.stderr.on('data', (chunk: Buffer) => {
        output += chunk;
        if (/listening on http/.test(output)) resolve();
      });
      dev.once('exit', (code) => reject(new Error(`dev server exited ${code}: ${output}`)));
    });
    const local = connectToDevServer(dataDir);
    began = performance.now();
    const batches: Promise<void>[] = [];
    for (let i = 0; i < records.length; i += 25) {
      batches.push(local.stores.usage.putBatch(records.slice(i, i + 25)));
      if (batches.length >= 8) await Promise.all(batches.splice(0));
    }
    await Promise.all(batches);
    const seedMs = performance.now() - began;
    local.client.destroy();
    const file = join(work, 'report.html');
    began = performance.now();
    const cli = spawnSync(process.execPath, ['bin/mixroute-cli.js', 'usage', '--since', '7d', '--html', file, '--data-dir', dataDir, '--config', configPath], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } });
    const cliMs = performance.now() - began;
    if (cli.status !== 0) throw new Error(`mixroute usage --html failed: ${cli.stderr}`);
    const written = cli.stdout.match(/: (\d+) requests/)?.[1];
    results.endToEnd = { seedMs, cliMs, recordsInReport: Number(written), fileBytes: statSync(file).size };
    if (Number(written) !== COUNT) process.exitCode = 1;

    if (CHROMIUM_PATH) {
      const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
      try {
        const tab = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
        // Records the longest main-thread task (the page must not freeze the browser while it opens).
        await tab.addInitScript({ content: 'window.__longest = 0; new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__longest = Math.max(window.__longest, e.duration); }).observe({ type: "longtask", buffered: true });' });
        began = performance.now();
        await tab.goto(pathToFileURL(file).toString(), { waitUntil: 'load' });
        const loadMs = performance.now() - began;
        await tab.waitForTimeout(300);
        const longestTaskMs = (await tab.evaluate('window.__longest')) as number;
        results.browser = { loadMs, longestTaskMs };
      } finally {
        await browser.close();
      }
    }
  } finally {
    dev.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    rmSync(work, { recursive: true, force: true });
  }

  const inProcess = results.inProcess as { aggregateMs: number; renderMs: number; pageBytes: number };
  const endToEnd = results.endToEnd as { seedMs: number; cliMs: number; recordsInReport: number; fileBytes: number };
  const browser = results.browser as { loadMs: number; longestTaskMs: number } | undefined;
  const lines = [
    `### Usage report (${COUNT.toLocaleString('en-US')} records over 7 days, 20 keys, 4 models)`,
    '',
    '| step | time |',
    '| --- | ---: |',
    `| aggregate (in process) | ${fmt(inProcess.aggregateMs)} |`,
    `| render the page (in process) | ${fmt(inProcess.renderMs)} |`,
    `| \`mixroute usage --since 7d --html\` on the dev server (reading the embedded store included) | ${fmt(endToEnd.cliMs)} |`,
    ...(browser ? [`| open the page in headless Chromium (to load) | ${fmt(browser.loadMs)} |`, `| longest main-thread task while opening | ${browser.longestTaskMs.toFixed(0)} ms |`] : ['| open in Chromium | not installed |']),
    '',
    `Page: ${(endToEnd.fileBytes / 1024).toFixed(1)} KB for ${endToEnd.recordsInReport.toLocaleString('en-US')} records (aggregates only). Seeding the store took ${fmt(endToEnd.seedMs)} (not part of the report).`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, JSON.stringify(results, null, 2) + '\n');
  process.stderr.write(`JSON written to ${OUT}\n`);
}

main().catch((error) => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
