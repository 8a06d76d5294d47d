/** Runs the `mixroute` command line in this process on an injected io, capturing what it prints. */
import { main } from '../../bin/cli/main';
import type { CliIo } from '../../bin/cli/io';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed as JSON (for --json). */
  json(): any;
}

export async function cli(args: string[], env: Record<string, string> = {}, stdin = ''): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    print: (line = '') => void (stdout += line + '\n'),
    printJson: (value) => void (stdout += JSON.stringify(value, null, 2) + '\n'),
    error: (text) => void (stderr += text),
    progress: () => undefined,
    readSecret: async () => stdin,
    env: { ...process.env, ...env },
  };
  const code = await main(args, io);
  return { code, stdout, stderr, json: () => JSON.parse(stdout) };
}
