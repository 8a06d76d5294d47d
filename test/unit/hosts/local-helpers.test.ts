/** Small local-mode helpers: batched usage writes and the buffered log sink. */
import { Writable } from 'node:stream';
import { bufferedLineSink } from '../../../lambda/hosts/local/line-sink';
import { BatchingUsageWriter } from '../../../lambda/hosts/local/usage-batcher';
import { buildUsageRecord, type UsageRecord } from '../../../lambda/core/usage';

const record = (i: number) =>
  buildUsageRecord({ keyId: 'key_b', requestId: `req_${i}`, startedAt: 0, finishedAt: 1, usageSource: 'none', status: 200, outcome: 'ok', streamed: false, completed: true });

test('gathers records into batches of at most 25 and tells each caller its own result', async () => {
  const batches: UsageRecord[][] = [];
  const writer = new BatchingUsageWriter({ putBatch: async (records) => void batches.push([...records]) }, { lingerMs: 5 });
  await Promise.all(Array.from({ length: 60 }, (_, i) => writer.put(record(i))));
  expect(batches.map((b) => b.length)).toEqual([25, 25, 10]);
  expect(batches.flat().map((r) => r.requestId)).toEqual(Array.from({ length: 60 }, (_, i) => `req_${i}`));
});

test('a failed batch rejects every record in it, so the relay retries and then logs them', async () => {
  const writer = new BatchingUsageWriter({ putBatch: async () => Promise.reject(new Error('throttled')) }, { lingerMs: 1 });
  const results = await Promise.allSettled([writer.put(record(1)), writer.put(record(2))]);
  expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
});

test('the buffered log sink writes the lines of one tick together, in order, after the tick', async () => {
  const writes: string[] = [];
  const out = new Writable({ write: (chunk, _encoding, done) => (writes.push(chunk.toString()), done()) });
  const sink = bufferedLineSink(out);
  sink('{"a":1}');
  sink('{"a":2}');
  expect(writes).toEqual([]);
  await new Promise((r) => setImmediate(r));
  expect(writes).toEqual(['{"a":1}\n{"a":2}\n']);
});
