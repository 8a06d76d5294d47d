/** Replays an SSE byte stream through the splitter and a provider meter, as the relay does. */
import { SseEventSplitter } from '../../lambda/core/sse';
import type { MeterReading, StreamMeter } from '../../lambda/core/provider';

export function replay(meter: StreamMeter, chunks: Uint8Array[]): { output: string; reading: MeterReading } {
  const splitter = new SseEventSplitter();
  const out: Uint8Array[] = [];
  const take = (raw: Uint8Array, whole: boolean) => {
    const forwarded = whole ? meter.onEvent(raw) : raw;
    if (forwarded) out.push(forwarded);
  };
  for (const chunk of chunks) for (const frame of splitter.push(chunk)) take(frame.raw, frame.whole);
  const tail = splitter.flush();
  if (tail) take(tail.raw, tail.whole);
  return { output: Buffer.concat(out).toString('utf8'), reading: meter.reading() };
}

/** Every way of cutting `bytes` in two. */
export function* twoWaySplits(bytes: Uint8Array): Generator<Uint8Array[]> {
  for (let i = 1; i < bytes.length; i++) yield [bytes.subarray(0, i), bytes.subarray(i)];
}
