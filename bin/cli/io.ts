/** What a command reads and writes: injected, so commands run the same in a terminal and in tests. */
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';

export interface CliIo {
  print(line?: string): void;
  printJson(value: unknown): void;
  /** A line for people on stderr (progress, warnings, prompts). */
  error(text: string): void;
  /** Shows what is happening on a terminal (never in --json output or pipes). */
  progress(message: string, quiet: boolean): void;
  /** All of standard input; on a terminal, one hidden line. */
  readSecret(): Promise<string>;
  readonly env: NodeJS.ProcessEnv;
}

export const processIo: CliIo = {
  print: (line = '') => void process.stdout.write(line + '\n'),
  printJson: (value) => void process.stdout.write(JSON.stringify(value, null, 2) + '\n'),
  error: (text) => void process.stderr.write(text),
  progress(message, quiet) {
    if (!quiet && process.stderr.isTTY) process.stderr.write(`${message}…\n`);
  },
  async readSecret() {
    if (process.stdin.isTTY) {
      process.stderr.write('Paste the provider key and press Enter (input is hidden): ');
      const muted = new Writable({ write: (_chunk, _encoding, done) => done() });
      const rl = createInterface({ input: process.stdin, output: muted, terminal: true });
      const line = await new Promise<string>((resolve) => rl.once('line', resolve));
      rl.close();
      process.stderr.write('\n');
      return line;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
  get env() {
    return process.env;
  },
};

export function table(io: CliIo, rows: Record<string, string | number>[], columns: string[]): void {
  if (rows.length === 0) return;
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd();
  io.print(line(columns));
  for (const row of rows) io.print(line(columns.map((c) => String(row[c] ?? ''))));
}

export function csvCell(value: string): string {
  return /[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
