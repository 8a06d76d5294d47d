/**
 * A response stream that behaves like the Node.js Lambda runtime's: setContentType() before the
 * first write, `_onBeforeFirstWrite` run by write() (not by end()), bytes collected in order.
 * `parse()` splits what API Gateway would receive into the prelude and the body.
 */
import { Writable } from 'node:stream';

export class FakeLambdaResponseStream extends Writable {
  contentType?: string;
  readonly chunks: Buffer[] = [];
  _onBeforeFirstWrite?: (write: (chunk: string | Uint8Array) => void) => void;
  private wroteOnce = false;

  constructor() {
    super({
      write: (chunk: Buffer, _encoding, done) => {
        this.chunks.push(Buffer.from(chunk));
        done();
      },
    });
  }

  setContentType(contentType: string): void {
    if (this.wroteOnce) throw new Error('Cannot set content-type, too late.');
    this.contentType = contentType;
  }

  override write(chunk: unknown, ...rest: unknown[]): boolean {
    if (!this.wroteOnce && this._onBeforeFirstWrite) {
      this._onBeforeFirstWrite((c) => super.write(c));
    }
    this.wroteOnce = true;
    return (super.write as (...args: unknown[]) => boolean)(chunk, ...rest);
  }

  parse(): { prelude?: { statusCode: number; headers: Record<string, string> }; body: string } {
    const all = Buffer.concat(this.chunks);
    const delimiter = all.indexOf(Buffer.alloc(8));
    if (this.contentType !== 'application/vnd.awslambda.http-integration-response' || delimiter < 0) return { body: all.toString('utf8') };
    return { prelude: JSON.parse(all.subarray(0, delimiter).toString('utf8')), body: all.subarray(delimiter + 8).toString('utf8') };
  }
}
