/**
 * One command's declaration: its options, help and examples are declared once, next to its run
 * function; parsing and the help text are generated from it.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { CliIo } from './io';
import type { AdminTarget } from './admin-target';

export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | undefined>;

export const TARGET_HELP = `Target (every command but dev):
  --data-dir DIR     the local dev server's data dir (default .mixroute); the dev server must be running
  --config FILE      the local relay config (default: the one the dev server runs with)
  --stack NAME       a deployed stack instead: outputs are read from CloudFormation and your own AWS
                     credentials are used (attach the stack's OperatorPolicyArn)
  --region REGION    the stack's region (default: AWS_REGION or your profile's)
  --json             one JSON document on stdout, for scripts`;

export const TARGET_OPTIONS = {
  'data-dir': { type: 'string', default: '.mixroute' },
  config: { type: 'string' },
  stack: { type: 'string' },
  region: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const satisfies Options;

export interface CommandContext {
  readonly values: Values;
  readonly positionals: string[];
  readonly io: CliIo;
  /** Runs an action on the command's admin target (local dev server or stack), closing it after. */
  withTarget<T>(what: string, action: (target: AdminTarget) => Promise<T>): Promise<T>;
}

export interface Command {
  /** e.g. "keys create". */
  readonly name: string;
  /** One line for `mixroute --help`. */
  readonly summary: string;
  /** The arguments after the name, e.g. "--name NAME [--models a,b]". */
  readonly synopsis: string;
  readonly description: string;
  readonly options: Options;
  /** Whether it acts on an admin target (adds the target options and their help). */
  readonly target: boolean;
  /** How many positional arguments it takes (default 0). */
  readonly positionals?: number;
  /** Help lines after the description and before the target options. */
  readonly extraHelp?: string;
  readonly examples: readonly string[];
  run(context: CommandContext): Promise<number>;
}

export function helpOf(command: Command): string {
  return [
    `Usage: mixroute ${command.name} ${command.synopsis}${command.target ? ' [target options]' : ''}`.trimEnd(),
    '',
    command.description,
    ...(command.target ? ['', TARGET_HELP] : []),
    ...(command.extraHelp ? [command.extraHelp] : []),
    '',
    'Examples:',
    ...command.examples.map((example) => `  ${example}`),
  ].join('\n');
}

/** parseArgs with --help, strict options, and errors turned into usage errors (exit 2). */
export function parseCommandArgs(command: Command, args: string[]): { values: Values; positionals: string[] } {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { ...command.options, ...(command.target ? TARGET_OPTIONS : {}), help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  // The value is not echoed: it may be a secret someone tried to pass on the command line.
  if (!parsed.values.help && parsed.positionals.length > (command.positionals ?? 0)) {
    throw new UsageError('unexpected extra argument (secrets are read from standard input, never from the command line)');
  }
  return { values: parsed.values as Values, positionals: parsed.positionals };
}
