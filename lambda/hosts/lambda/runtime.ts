/// <reference types="aws-lambda" />
/**
 * The `awslambda` global the Node.js Lambda runtime provides, or a stand-in with the same
 * behaviour where it is absent (tests, local tools), so the same handler module loads anywhere.
 * The stand-in's HttpResponseStream.from follows the runtime's own: it sets the integration
 * content type and writes the JSON prelude plus 8 NUL bytes just before the first write().
 */
import type { Writable } from 'node:stream';

const PRELUDE_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';

export interface RuntimeResponseStream extends Writable {
  setContentType?(contentType: string): void;
  _onBeforeFirstWrite?: (write: (chunk: string | Uint8Array) => void) => void;
}

export interface LambdaRuntime {
  streamifyResponse<T extends (...args: never[]) => unknown>(handler: T): T;
  HttpResponseStream: { from(stream: Writable, prelude: Record<string, unknown>): Writable };
}

const standIn: LambdaRuntime = {
  streamifyResponse: (handler) => handler,
  HttpResponseStream: {
    from(stream: RuntimeResponseStream, prelude) {
      stream.setContentType?.(PRELUDE_CONTENT_TYPE);
      const metadata = JSON.stringify(prelude);
      stream._onBeforeFirstWrite = (write) => {
        write(metadata);
        write(new Uint8Array(8));
      };
      return stream;
    },
  },
};

/** Member by member: the AWS SDK itself creates an empty `globalThis.awslambda` outside Lambda. */
export function lambdaRuntime(): LambdaRuntime {
  const runtime = (globalThis as { awslambda?: Partial<LambdaRuntime> }).awslambda;
  return {
    streamifyResponse: runtime?.streamifyResponse ?? standIn.streamifyResponse,
    HttpResponseStream: runtime?.HttpResponseStream ?? standIn.HttpResponseStream,
  };
}
