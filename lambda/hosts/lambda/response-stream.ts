/**
 * The relay's response onto Lambda's response stream. The prelude (status and headers) goes out
 * with the first write: we always write() before end(), since end(chunk) right after
 * HttpResponseStream.from() skips the prelude and API Gateway answers 502.
 */
import type { Writable } from 'node:stream';
import type { RelayResponse } from '../../core/http';
import { writeBody } from '../shared/response-writer';
import { lambdaRuntime } from './runtime';

export async function writeToResponseStream(response: RelayResponse, responseStream: Writable): Promise<void> {
  const stream = lambdaRuntime().HttpResponseStream.from(responseStream, { statusCode: response.status, headers: { ...response.headers } });
  // The prelude leaves with this first write, whatever the body.
  stream.write('');
  await writeBody(response.body, stream);
  await new Promise<void>((resolve) => stream.end(resolve));
}
