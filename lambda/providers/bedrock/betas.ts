/**
 * Which `anthropic-beta` values go to Bedrock. Bedrock's InvokeModel accepts only the betas it
 * supports and answers "invalid beta flag" (400) to the whole request for any other; clients that
 * believe they talk to Anthropic itself (Claude Code sends `claude-code-20250219`,
 * `prompt-caching-scope-…` and others) would fail on every call. So the relay keeps only betas on the
 * provider's list (`"anthropicBetas"` in its config, or the betas AWS documents for Claude on
 * Bedrock) and renames the one whose name differs on Bedrock; the rest are dropped, as Claude Code
 * does itself when it calls Bedrock directly. Support differs by model and region: an operator whose
 * model refuses one of the defaults lists exactly what it accepts (`[]` for none).
 */

import { ownValue } from '../shared/json';

/** The betas AWS documents for Anthropic Claude on Bedrock's InvokeModel. */
export const DEFAULT_BEDROCK_BETAS: readonly string[] = [
  'computer-use-2024-10-22',
  'computer-use-2025-01-24',
  'computer-use-2025-11-24',
  'token-efficient-tools-2025-02-19',
  'interleaved-thinking-2025-05-14',
  'output-128k-2025-02-19',
  'dev-full-thinking-2025-05-14',
  'context-1m-2025-08-07',
  'context-management-2025-06-27',
  'effort-2025-11-24',
  'tool-search-tool-2025-10-19',
  'tool-examples-2025-10-29',
];

/** Anthropic's name → Bedrock's name, for a feature Bedrock enables under another beta name. */
const BEDROCK_NAMES: Readonly<Record<string, string>> = {
  // Tool search: `advanced-tool-use-…` on Anthropic's API, `tool-search-tool-…` on Bedrock and Vertex.
  'advanced-tool-use-2025-11-20': 'tool-search-tool-2025-10-19',
};

const BETA_NAME = /^[a-z0-9][a-z0-9_.-]{0,99}$/;

/** The config field's check: a list of beta names. */
export function isBetaList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((beta) => typeof beta === 'string' && BETA_NAME.test(beta));
}

/** The betas of a request that Bedrock is sent, in the order the client gave them, each once. */
export function bedrockBetas(requested: readonly string[], allowed: readonly string[] = DEFAULT_BEDROCK_BETAS): string[] {
  const kept = requested.map((beta) => (allowed.includes(beta) ? beta : ownValue(BEDROCK_NAMES, beta))).filter((beta): beta is string => beta !== undefined && allowed.includes(beta));
  return [...new Set(kept)];
}
