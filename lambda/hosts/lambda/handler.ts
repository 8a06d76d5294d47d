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

/**
 * The most the invocation waits for background work after the last byte: above a usage write's own
 * budget (its attempts, each with the store deadline, then the log line), far below the function
 * timeout, so a stuck dependency never holds a concurrency slot for the rest of the 15 minutes.
 */
export const BACKGROUND_WAIT_MS = 15_000;

/** The handler body: event → request, stream the response, then await background work (bounded). */
export function createStreamingHandler(getRelay: () => RelayHandler, backgroundWaitMs = BACKGROUND_WAIT_MS): StreamingHandler {
  return async (event, responseStream) => {
    const background: Promise<unknown>[] = [];
    const handle = getRelay();
    const response = await handle(eventToRequest(event), { waitUntil: (work) => background.push(work) });
    await writeToResponseStream(response, responseStream);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const waited = await Promise.race([
      Promise.allSettled(background).then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), backgroundWaitMs))),
    ]);
    clearTimeout(timer);
    if (!waited) process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), event: 'background_wait_exceeded' })}\n`);
  };
}

/**
 * In the Lambda runtime the relay is built at init, from the environment read once: a bad
 * configuration fails the init with one clear error instead of failing every invocation. Elsewhere
 * (tests, tools loading the module) it is built on first use.
 */
function buildAtInit(): RelayHandler | undefined {
  if (!process.env.AWS_LAMBDA_RUNTIME_API) return undefined;
  try {
    return relayFromEnvironment();
  } catch (error) {
    process.stderr.write(`mixroute: the relay cannot start: ${oneLine((error as Error).message)}\n`);
    throw error;
  }
}

/** CloudWatch splits log events at newlines; the init error stays one event. */
function oneLine(message: string): string {
  return message.split(/\r?\n/).map((line) => line.trim()).filter(Boolean).join('; ');
}

let relay: RelayHandler | undefined = buildAtInit();

export const handler = lambdaRuntime().streamifyResponse(createStreamingHandler(() => (relay ??= relayFromEnvironment())));

export { relayFromEnvironment } from './environment';
