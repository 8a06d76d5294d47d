/**
 * The dependency direction, enforced by the lint rule `npm test` runs: lambda/core imports no
 * provider, host, store or admin module, no AWS SDK and no node:http. These tests run the project's
 * own ESLint config on the real core files (clean) and on core and provider sources rewritten to break
 * the rule (refused).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '../..');

/** ESLint loads its flat config as an ES module, which Jest's VM cannot: lint in a child process, all cases at once. */
const LINT_SCRIPT = `
const { ESLint } = require('eslint');
(async () => {
  const cases = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
  const eslint = new ESLint({ cwd: process.cwd() });
  const out = [];
  for (const c of cases) {
    const [result] = await eslint.lintText(c.code, { filePath: require('node:path').join(process.cwd(), c.filePath) });
    out.push(result.messages.filter((m) => m.ruleId === 'no-restricted-imports' || m.fatal).map((m) => m.message));
  }
  process.stdout.write(JSON.stringify(out));
})();`;

function lint(cases: { code: string; filePath: string }[]): string[][] {
  const run = spawnSync(process.execPath, ['-e', LINT_SCRIPT], { cwd: ROOT, input: JSON.stringify(cases), encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (run.status !== 0) throw new Error(run.stderr);
  return JSON.parse(run.stdout);
}

const BAD_CORE_IMPORTS: [string, string][] = [
  ["import { PROVIDERS } from '../providers/registry';", 'providers'],
  ["import { openAiProvider } from '../providers/openai';", 'providers'],
  ["import { composeRelay } from '../hosts/shared/compose';", 'hosts'],
  ["import { createDynamoStores } from '../stores/dynamodb';", 'stores'],
  ["import { DynamoDBClient } from '@aws-sdk/client-dynamodb';", 'AWS'],
  ["import { request } from 'node:http';", 'node:http'],
];
const coreFiles = readdirSync(join(ROOT, 'lambda/core')).filter((f) => f.endsWith('.ts'));
const usedName = (line: string) => line.match(/\{ (\w+) \}/)?.[1];
let results: string[][];

beforeAll(() => {
  results = lint([
    ...coreFiles.map((file) => ({ code: readFileSync(join(ROOT, 'lambda/core', file), 'utf8'), filePath: `lambda/core/${file}` })),
    ...BAD_CORE_IMPORTS.map(([line]) => ({ code: `${line}\nexport const x = typeof ${usedName(line)};\n`, filePath: 'lambda/core/http.ts' })),
    { code: "import { createDynamoStores } from '../../stores/dynamodb';\nexport const x = typeof createDynamoStores;\n", filePath: 'lambda/providers/openai/index.ts' },
  ]);
}, 120_000);

test('every file of lambda/core imports only core modules and pure libraries', () => {
  expect(coreFiles.length).toBeGreaterThan(10);
  coreFiles.forEach((file, i) => expect({ file, messages: results[i] }).toEqual({ file, messages: [] }));
});

test.each(BAD_CORE_IMPORTS.map(([line, mentions], i) => [line, mentions, i] as const))('refuses a core module that does %s', (_line, mentions, i) => {
  const messages = results[coreFiles.length + i];
  expect(messages).toHaveLength(1);
  expect(messages[0]).toContain(mentions);
});

test('refuses a provider module that imports a host or store', () => {
  expect(results[coreFiles.length + BAD_CORE_IMPORTS.length]).toEqual([expect.stringContaining('imports only core')]);
});
