/**
 * The `mixroute` command: finds the command, parses its declared options, runs it on an injected io
 * and admin target, and maps failures to exit codes: 0 success, 1 failure, 2 usage error.
 */
import { AdminInputError, AdminNotFoundError } from '../../lambda/admin/keys';
import { ConfigError } from '../../lambda/core/config';
import { DevServerNotRunningError } from '../../lambda/hosts/local/dev-server';
import { AdminTargetError, explainAwsError, openLocalTarget, openStackTarget, type AdminTarget } from './admin-target';
import { helpOf, parseCommandArgs, UsageError, type Command, type CommandContext, type Values } from './command';
import { COMMANDS } from './commands';
import { processIo, type CliIo } from './io';

const GROUPS = ['keys', 'providers'];

const MAIN_HELP = `mixroute: privacy-first LLM API relay

Usage: mixroute <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(20)} ${c.summary}`).join('\n')}

Run \`mixroute <command> [subcommand] --help\` for options and examples.

Examples:
  npm start
  npx mixroute keys create --name alice --models gpt-4o-mini,fast
  printenv OPENAI_API_KEY | npx mixroute providers set-key openai
  npx mixroute usage --since 24h --by model --stack Mixroute`;

async function openTarget(values: Values, io: CliIo): Promise<AdminTarget> {
  if (typeof values.stack === 'string') {
    io.progress(`reading the outputs of stack ${values.stack}`, values.json === true);
    return openStackTarget(values.stack, typeof values.region === 'string' ? values.region : undefined);
  }
  if (typeof values.region === 'string') throw new UsageError('--region goes with --stack');
  return openLocalTarget(values['data-dir'] as string, typeof values.config === 'string' ? values.config : undefined);
}

function contextFor(values: Values, positionals: string[], io: CliIo): CommandContext {
  return {
    values,
    positionals,
    io,
    async withTarget(what, action) {
      const target = await openTarget(values, io);
      try {
        return await action(target);
      } catch (error) {
        // AWS failures become one line that says what to do.
        if (target.kind === 'aws') throw explainAwsError(error, what);
        throw error;
      } finally {
        target.close();
      }
    },
  };
}

function find(argv: string[]): { command?: Command; rest: string[]; group?: string } {
  const [first, second, ...rest] = argv;
  if (GROUPS.includes(first)) {
    const command = COMMANDS.find((c) => c.name === `${first} ${second}`);
    return { command, rest, group: first };
  }
  return { command: COMMANDS.find((c) => c.name === first), rest: argv.slice(1) };
}

export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  const [first, second] = argv;
  let helpTopic = '';
  try {
    if (first === undefined || first === 'help' || first === '--help' || first === '-h') {
      io.print(MAIN_HELP);
      return 0;
    }
    const { command, rest, group } = find(argv);
    if (!command && group) {
      const members = COMMANDS.filter((c) => c.name.startsWith(`${group} `));
      if (second === undefined || second === '--help' || second === '-h') {
        io.print(members.map(helpOf).join('\n\n'));
        return second === undefined ? 2 : 0;
      }
      helpTopic = group;
      throw new UsageError(`unknown command "${group} ${second}" (available: ${members.map((c) => c.name.slice(group.length + 1)).join(', ')})`);
    }
    if (!command) throw new UsageError(`unknown command "${first}"`);
    helpTopic = command.name;
    const { values, positionals } = parseCommandArgs(command, rest);
    if (values.help) {
      io.print(helpOf(command));
      return 0;
    }
    return await command.run(contextFor(values, positionals, io));
  } catch (error) {
    if (error instanceof UsageError || error instanceof AdminInputError) {
      io.error(`mixroute: ${error.message}\nRun \`mixroute ${helpTopic} --help\` for usage.\n`.replace(/ +/g, ' '));
      return 2;
    }
    if (error instanceof ConfigError || error instanceof DevServerNotRunningError || error instanceof AdminTargetError || error instanceof AdminNotFoundError) {
      io.error(`mixroute: ${error.message}\n`);
      return 1;
    }
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      io.error('mixroute: the port is already in use; pick another with --port\n');
      return 1;
    }
    io.error(`mixroute: ${((error as Error)?.message ?? String(error)).split('\n')[0]}\n`);
    return 1;
  }
}

/** Runs the command line and exits with its code (called by bin/mixroute-cli.js). */
export function run(): void {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    () => process.exit(1),
  );
}
