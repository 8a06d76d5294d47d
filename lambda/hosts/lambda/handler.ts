/**
 * Lambda host (the function's entry point): API Gateway REST proxy event in, response streamed out
 * through awslambda.streamifyResponse. The handler awaits the usage write after the last byte, so
 * the record is written while the invocation is still alive.
 */
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import type { Writable } from 'node:stream';
import type { RelayHandler } from '../../core/http';
import { relayFromEnvironment } from './environment';
import { eventToRequest } from './event';
import { writeToResponseStream } from './response-stream';
import { lambdaRuntime } from './runtime';

type StreamingHandler = (event: APIGatewayProxyEvent, responseStream: Writable, context?: Context) => Promise<void>;

/** The handler body: event → request, stream the response, then await background work. */
export function createStreamingHandler(getRelay: () => RelayHandler): StreamingHandler {
  return async (event, responseStream) => {
    const background: Promise<unknown>[] = [];
    const handle = getRelay();
    const response = await handle(eventToRequest(event), { waitUntil: (work) => background.push(work) });
    await writeToResponseStream(response, responseStream);
    await Promise.allSettled(background);
  };
}

let relay: RelayHandler | undefined;

export const handler = lambdaRuntime().streamifyResponse(createStreamingHandler(() => (relay ??= relayFromEnvironment())));

export { relayFromEnvironment } from './environment';
