/**
 * A log sink for the local server: lines written in the same tick leave in one write, after the
 * response bytes, instead of one synchronous write per line on the request path.
 */
import type { Writable } from 'node:stream';

export function bufferedLineSink(out: Writable): (line: string) => void {
  let pending: string[] = [];
  const flush = () => {
    const text = pending.join('');
    pending = [];
    out.write(text);
  };
  process.once('exit', () => pending.length > 0 && flush());
  return (line) => {
    if (pending.length === 0) setImmediate(flush);
    pending.push(line + '\n');
  };
}
