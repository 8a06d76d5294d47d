/**
 * `npm run bench`: what the relay adds to every call, against the physical floor.
 *
 * Starts on 127.0.0.1, each in its own process: a deterministic upstream, a bare pass-through proxy
 * (node:http + stream.pipeline, keep-alive) and the relay in local mode on its full real path (key
 * check, routing, metering, usage write to the embedded store). Runs JSON and streaming scenarios
 * at concurrency 1 and 32, rotating the targets each round so machine drift cancels, and reports
 * medians over rounds. Every response is verified, and the relay's usage records are counted
 * against the requests sent. Also measures the Lambda bundle and its cold load.
 *
 * Env: BENCH_ROUNDS (5), BENCH_REQUESTS_C1 (200), BENCH_REQUESTS_C32 (2000), BENCH_CHUNKS (20),
 * BENCH_CHUNK_DELAY_MS (0), BENCH_OUT (bench/results/latest.json).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';

const ROOT = join(__dirname, '..');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const REQUESTS = { 1: Number(process.env.BENCH_REQUESTS_C1 ?? 200), 32: Number(process.env.BENCH_REQUESTS_C32 ?? 2000) } as Record<number, number>;
const CHUNKS = Number(process.env.BENCH_CHUNKS ?? 20);
const OUT = process.env.BENCH_OUT ?? join(ROOT, 'bench', 'results', 'latest.json');
const MODEL = 'bench-model';
const TICK_MS = 1000 / Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);

type TargetName = 'direct' | 'bare proxy' | 'relay';
interface Target {
  readonly name: TargetName;
  readonly url: string;
  readonly pid?: number;
  readonly headers: Record<string, string>;
}
interface Scenario {
  readonly name: string;
  readonly stream: boolean;
  readonly concurrency: number;
}
interface BatchResult {
  ttfb: number[];
  total: number[];
  wallMs: number;
  cpuMs?: number;
}

const children: ChildProcess[] = [];

function startChild(args: string[], env: Record<string, string> = {}, pattern = /^(http:\/\/\S+)/m, fromStderr = false): Promise<{ child: ChildProcess; output: string; match: RegExpMatchArray }> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env }, stdio: ['ignore', 'pipe', fromStderr ? 'pipe' : 'inherit'] });
  const banner = fromStderr ? child.stderr : child.stdout;
  children.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk;
      const match = output.match(pattern);
      if (match) {
        banner?.off('data', onData);
        banner?.resume();
        resolve({ child, output, match });
      }
    };
    banner?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited (${code}) before starting:\n${output}`)));
  });
}

function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function peakRssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmHWM:')) ?? 'VmHWM: 0 kB';
  return Number(line.replace(/\D+/g, '')) / 1024;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

const median = (values: number[]) => percentile(values, 50);

/** Checks a response as a client would: status, content, and usage (where it belongs). */
function verify(target: Target, stream: boolean, status: number, body: string): void {
  if (status !== 200) throw new Error(`${target.name}: HTTP ${status}: ${body.slice(0, 200)}`);
  if (!stream) {
    const parsed = JSON.parse(body);
    const tokens = parsed.choices?.[0]?.message?.content?.split(' ').length;
    if (tokens !== CHUNKS || parsed.usage?.completion_tokens !== CHUNKS) throw new Error(`${target.name}: JSON answer incomplete`);
    return;
  }
  const events = body.split('\n\n').filter(Boolean);
  if (events[events.length - 1] !== 'data: [DONE]') throw new Error(`${target.name}: stream did not end with [DONE]`);
  let content = 0;
  for (const event of events.slice(0, -1)) {
    const chunk = JSON.parse(event.slice(6));
    if (chunk.usage) throw new Error(`${target.name}: a usage chunk the client did not ask for`);
    if (chunk.choices?.[0]?.delta?.content) content++;
  }
  if (content !== CHUNKS) throw new Error(`${target.name}: ${content} of ${CHUNKS} chunks arrived`);
}

function once(target: Target, stream: boolean, agent: Agent): Promise<{ ttfb: number; total: number }> {
  const body = JSON.stringify({ model: MODEL, stream, messages: [{ role: 'user', content: 'benchmark' }] });
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let first = 0;
    const req = request(`${target.url}/v1/chat/completions`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...target.headers } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (chunk: Buffer) => {
        if (!first) first = performance.now();
        parts.push(chunk);
      });
      res.on('end', () => {
        const total = performance.now() - started;
        try {
          verify(target, stream, res.statusCode ?? 0, Buffer.concat(parts).toString('utf8'));
          resolve({ ttfb: first - started, total });
        } catch (error) {
          reject(error);
        }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function batch(target: Target, scenario: Scenario, count: number): Promise<BatchResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: scenario.concurrency });
  const result: BatchResult = { ttfb: [], total: [], wallMs: 0 };
  let issued = 0;
  const cpuBefore = target.pid ? cpuTicks(target.pid) : 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: scenario.concurrency }, async () => {
      while (issued < count) {
        issued++;
        const { ttfb, total } = await once(target, scenario.stream, agent);
        result.ttfb.push(ttfb);
        result.total.push(total);
      }
    }),
  );
  result.wallMs = performance.now() - started;
  if (target.pid) result.cpuMs = (cpuTicks(target.pid) - cpuBefore) * TICK_MS;
  agent.destroy();
  return result;
}

interface Summary {
  ttfbP50: number;
  ttfbP99: number;
  totalP50: number;
  totalP99: number;
  rps: number;
  cpuMsPer1000?: number;
}

function summarise(results: BatchResult[]): Summary {
  const per = results.map((r) => ({
    ttfbP50: median(r.ttfb),
    ttfbP99: percentile(r.ttfb, 99),
    totalP50: median(r.total),
    totalP99: percentile(r.total, 99),
    rps: (r.total.length / r.wallMs) * 1000,
    cpu: r.cpuMs === undefined ? undefined : (r.cpuMs / r.total.length) * 1000,
  }));
  const cpu = per.map((p) => p.cpu).filter((c): c is number => c !== undefined);
  return {
    ttfbP50: median(per.map((p) => p.ttfbP50)),
    ttfbP99: median(per.map((p) => p.ttfbP99)),
    totalP50: median(per.map((p) => p.totalP50)),
    totalP99: median(per.map((p) => p.totalP99)),
    rps: median(per.map((p) => p.rps)),
    ...(cpu.length ? { cpuMsPer1000: median(cpu) } : {}),
  };
}

/** Bundles the Lambda handler as the CDK stack does and times its cold load and init in fresh processes. */
function coldStart(work: string): { bundleBytes: number; external: string[]; loadMsP50: number; initMsP50: number } {
  const bundle = join(work, 'lambda', 'index.js');
  const external = ['@aws-sdk/*'];
  const build = spawnSync(
    join(ROOT, 'node_modules', '.bin', 'esbuild'),
    [join(ROOT, 'lambda/hosts/lambda/handler.ts'), '--bundle', '--platform=node', '--format=cjs', '--minify', '--target=node20', `--outfile=${bundle}`, ...external.map((e) => `--external:${e}`)],
    { encoding: 'utf8' },
  );
  if (build.status !== 0) throw new Error(`esbuild failed: ${build.stderr}`);
  // The runtime resolves @aws-sdk/* from its own copy; here they resolve from the project's node_modules.
  writeFileSync(join(work, 'lambda', 'package.json'), '{}');
  const probe = `
    const t0 = process.hrtime.bigint();
    const mod = require(${JSON.stringify(bundle)});
    const t1 = process.hrtime.bigint();
    mod.relayFromEnvironment(process.env);
    const t2 = process.hrtime.bigint();
    process.stdout.write(JSON.stringify({ load: Number(t1 - t0) / 1e6, init: Number(t2 - t1) / 1e6 }));`;
  const env = {
    ...process.env,
    NODE_PATH: join(ROOT, 'node_modules'),
    AWS_REGION: 'us-east-1',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    MIXROUTE_CONFIG: JSON.stringify({ providers: { openai: { type: 'openai', baseUrl: 'https://api.openai.com/v1' } }, models: { 'gpt-4o-mini': { provider: 'openai' } } }),
    MIXROUTE_KEYS_TABLE: 'k', MIXROUTE_SECRETS_TABLE: 's', MIXROUTE_USAGE_TABLE: 'u', MIXROUTE_COUNTERS_TABLE: 'c', MIXROUTE_KMS_KEY_ID: 'arn:aws:kms:us-east-1:111122223333:key/x',
  };
  const runs = Array.from({ length: 7 }, () => {
    const result = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8', env, cwd: work });
    if (result.status !== 0) throw new Error(`cold-start probe failed: ${result.stderr}`);
    return JSON.parse(result.stdout) as { load: number; init: number };
  });
  return { bundleBytes: statSync(bundle).size, external, loadMsP50: median(runs.map((r) => r.load)), initMsP50: median(runs.map((r) => r.init)) };
}

const fmt = (n: number | undefined, digits = 2) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits));

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'mixroute-bench-'));
  const began = performance.now();
  try {
    const upstream = await startChild(['-r', 'tsx/cjs', 'bench/upstream.ts'], { BENCH_CHUNKS: String(CHUNKS) });
    const upstreamUrl = upstream.match[1];
    const proxy = await startChild(['-r', 'tsx/cjs', 'bench/bare-proxy.ts', upstreamUrl]);
    const configPath = join(work, 'relay.config.json');
    writeFileSync(configPath, JSON.stringify({ providers: { bench: { type: 'openai', baseUrl: `${upstreamUrl}/v1`, apiKeyEnv: 'BENCH_UPSTREAM_KEY' } }, models: { [MODEL]: { provider: 'bench' } } }));
    const relay = await startChild(['bin/mixroute-cli.js', 'dev', '--port', '0', '--data-dir', join(work, 'data'), '--config', configPath], { BENCH_UPSTREAM_KEY: 'sk-bench' }, /listening on (http:\/\/\S+)[\s\S]*?(mr-[A-Za-z0-9_-]{43})[\s\S]*?Models:/, true);
    // The relay logs one JSON line per request on stdout; keep draining it.
    relay.child.stdout?.resume();

    const targets: Target[] = [
      { name: 'direct', url: upstreamUrl, headers: {} },
      { name: 'bare proxy', url: proxy.match[1], pid: proxy.child.pid, headers: {} },
      { name: 'relay', url: relay.match[1], pid: relay.child.pid, headers: { authorization: `Bearer ${relay.match[2]}` } },
    ];
    const scenarios: Scenario[] = [
      { name: 'JSON, c=1', stream: false, concurrency: 1 },
      { name: 'stream, c=1', stream: true, concurrency: 1 },
      { name: 'JSON, c=32', stream: false, concurrency: 32 },
      { name: 'stream, c=32', stream: true, concurrency: 32 },
    ];
    let relayRequests = 0;
    process.stderr.write('warming up…\n');
    for (const target of targets) {
      for (const stream of [false, true]) await batch(target, { name: 'warm-up', stream, concurrency: 8 }, 200);
      if (target.name === 'relay') relayRequests += 400;
    }

    const results = new Map<string, BatchResult[]>();
    for (let round = 0; round < ROUNDS; round++) {
      process.stderr.write(`round ${round + 1} of ${ROUNDS}…\n`);
      for (const scenario of scenarios) {
        // Rotate the order each round so drift (thermal, other load) does not favour one target.
        const order = targets.map((_, i) => targets[(i + round) % targets.length]);
        for (const target of order) {
          const count = REQUESTS[scenario.concurrency];
          const result = await batch(target, scenario, count);
          if (target.name === 'relay') relayRequests += count;
          const key = `${scenario.name}|${target.name}`;
          results.set(key, [...(results.get(key) ?? []), result]);
        }
      }
    }

    // Every relay request must have left exactly one usage record.
    await new Promise((r) => setTimeout(r, 500));
    const usage = spawnSync(process.execPath, ['bin/mixroute-cli.js', 'usage', '--since', '1d', '--json', '--data-dir', join(work, 'data'), '--config', configPath], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    const rows = JSON.parse(usage.stdout).rows as { requests: number; key?: string }[];
    const usageRecords = rows.filter((r) => r.key !== '(total)').reduce((sum, r) => sum + r.requests, 0);

    const rss = { 'bare proxy': peakRssMb(proxy.child.pid as number), relay: peakRssMb(relay.child.pid as number) };
    // The embedded store runs in its own process (as DynamoDB is out of process in AWS): reported on its own.
    const storePid = (JSON.parse(readFileSync(join(work, 'data', 'dev-server.json'), 'utf8')) as { storePid?: number }).storePid;
    const storeRssMb = storePid ? peakRssMb(storePid) : undefined;
    const storeCpuMs = storePid ? cpuTicks(storePid) * TICK_MS : undefined;
    const cold = coldStart(work);

    const report: Record<string, unknown> = {
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
      settings: { rounds: ROUNDS, requests: REQUESTS, chunks: CHUNKS },
      scenarios: {},
      peakRssMb: { ...rss, ...(storeRssMb !== undefined ? { embeddedStore: storeRssMb } : {}) },
      ...(storeCpuMs !== undefined ? { embeddedStoreCpuMsPerRelayRequest: storeCpuMs / relayRequests } : {}),
      usageRecords: { expected: relayRequests, found: usageRecords },
      lambda: cold,
    };
    const lines: string[] = [];
    lines.push(`### Benchmark (${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version})`, '');
    lines.push('Medians over rounds; latency in ms; CPU is the target process\'s own CPU time per 1,000 requests.', '');
    lines.push('| scenario | target | TTFB p50 | TTFB p99 | total p50 | total p99 | req/s | CPU ms/1k | added p50 (TTFB / total) |');
    lines.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    const targetsSummary: Record<string, Record<string, Summary>> = {};
    for (const scenario of scenarios) {
      const summaries = Object.fromEntries(targets.map((t) => [t.name, summarise(results.get(`${scenario.name}|${t.name}`) ?? [])])) as Record<TargetName, Summary>;
      targetsSummary[scenario.name] = summaries;
      for (const target of targets) {
        const s = summaries[target.name];
        const added = target.name === 'direct' ? '' : `${fmt(s.ttfbP50 - summaries.direct.ttfbP50, 3)} / ${fmt(s.totalP50 - summaries.direct.totalP50, 3)}`;
        lines.push(`| ${scenario.name} | ${target.name} | ${fmt(s.ttfbP50, 3)} | ${fmt(s.ttfbP99, 3)} | ${fmt(s.totalP50, 3)} | ${fmt(s.totalP99, 3)} | ${fmt(s.rps, 0)} | ${fmt(s.cpuMsPer1000, 0)} | ${added} |`);
      }
    }
    (report.scenarios as Record<string, unknown>) = targetsSummary;

    const ratio = (scenario: string, field: 'ttfbP50' | 'totalP50') => {
      const s = targetsSummary[scenario];
      return (s.relay[field] - s.direct[field]) / Math.max(1e-9, s['bare proxy'][field] - s.direct[field]);
    };
    const checks = [
      { target: 'added latency p50, JSON c=1 (relay ÷ bare proxy)', value: ratio('JSON, c=1', 'totalP50'), limit: 1.5, better: 'lower' },
      { target: 'added first byte p50, stream c=1 (relay ÷ bare proxy)', value: ratio('stream, c=1', 'ttfbP50'), limit: 1.5, better: 'lower' },
      { target: 'req/s JSON c=32 (relay ÷ bare proxy)', value: targetsSummary['JSON, c=32'].relay.rps / targetsSummary['JSON, c=32']['bare proxy'].rps, limit: 0.7, better: 'higher' },
      { target: 'req/s stream c=32 (relay ÷ bare proxy)', value: targetsSummary['stream, c=32'].relay.rps / targetsSummary['stream, c=32']['bare proxy'].rps, limit: 0.7, better: 'higher' },
      { target: 'peak RSS, relay − bare proxy (MB)', value: rss.relay - rss['bare proxy'], limit: 40, better: 'lower' },
      { target: 'Lambda bundle (KB)', value: cold.bundleBytes / 1024, limit: 1024, better: 'lower' },
      { target: 'Lambda cold load + init p50 (ms)', value: cold.loadMsP50 + cold.initMsP50, limit: 150, better: 'lower' },
    ];
    report.targets = checks.map((c) => ({ ...c, met: c.better === 'lower' ? c.value <= c.limit : c.value >= c.limit }));
    lines.push('', '| target | measured | goal | met |', '| --- | ---: | ---: | :---: |');
    for (const c of report.targets as (typeof checks[number] & { met: boolean })[]) {
      lines.push(`| ${c.target} | ${fmt(c.value)} | ${c.better === 'lower' ? '≤' : '≥'} ${c.limit} | ${c.met ? 'yes' : 'no'} |`);
    }
    lines.push(
      '',
      `Peak RSS: bare proxy ${fmt(rss['bare proxy'], 1)} MB, relay ${fmt(rss.relay, 1)} MB` +
        (storeRssMb !== undefined ? `; the embedded store's own process ${fmt(storeRssMb, 1)} MB, ${fmt((storeCpuMs ?? 0) / relayRequests, 3)} ms CPU per relay request (not in the relay's figures).` : ' (embedded store included).'),
    );
    lines.push(`Lambda bundle: ${fmt(cold.bundleBytes / 1024, 1)} KB minified (external: ${cold.external.join(', ')}, which the Node.js runtime provides); cold load ${fmt(cold.loadMsP50, 1)} ms + init ${fmt(cold.initMsP50, 1)} ms (p50 of 7 fresh processes).`);
    lines.push(`Usage records: ${usageRecords} for ${relayRequests} relay requests${usageRecords === relayRequests ? ' (one each)' : ' (MISMATCH)'}. Every response was verified.`);
    lines.push(`Run time: ${fmt((performance.now() - began) / 1000, 0)} s.`);
    process.stdout.write(lines.join('\n') + '\n');
    mkdirSync(dirname(OUT), { recursive: true });
    writeFileSync(OUT, JSON.stringify(report, null, 2) + '\n');
    process.stderr.write(`JSON written to ${OUT}\n`);
    if (usageRecords !== relayRequests) process.exitCode = 1;
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? error}\n`);
  for (const child of children) child.kill('SIGKILL');
  process.exit(1);
});
