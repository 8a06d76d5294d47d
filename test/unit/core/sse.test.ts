import { joinAdjacent, parseSseEvent, SseEventSplitter } from '../../../lambda/core/sse';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function splitAll(chunks: Uint8Array[]): { events: string[]; tail?: string } {
  const splitter = new SseEventSplitter();
  const events: string[] = [];
  for (const chunk of chunks) for (const frame of splitter.push(chunk)) events.push(decoder.decode(frame.raw));
  const tail = splitter.flush();
  return { events, tail: tail ? decoder.decode(tail.raw) : undefined };
}

const EVENTS = [
  'event: content_block_delta\ndata: {"text":"héllo 🚣 wörld"}\n\n',
  'data: {"a":1}\r\n\r\n',
  ': comment line\ndata: 日本語のテキスト\n\n',
  'data: line one\ndata: line two\r\rdata: [DONE]\n\n',
];
const STREAM = EVENTS.join('');
const BYTES = encoder.encode(STREAM);
const EXPECTED = [EVENTS[0], EVENTS[1], EVENTS[2], 'data: line one\ndata: line two\r\r', 'data: [DONE]\n\n'];

test('frames events terminated by LF, CRLF and CR', () => {
  expect(splitAll([BYTES]).events).toEqual(EXPECTED);
});

test('frames identically wherever one chunk boundary falls, including inside UTF-8 characters and CRLF', () => {
  for (let i = 1; i < BYTES.length; i++) {
    const result = splitAll([BYTES.subarray(0, i), BYTES.subarray(i)]);
    expect({ at: i, events: result.events, tail: result.tail }).toEqual({ at: i, events: EXPECTED, tail: undefined });
  }
});

test('frames identically when fed one byte at a time', () => {
  const chunks = Array.from(BYTES, (_, i) => BYTES.subarray(i, i + 1));
  expect(splitAll(chunks).events).toEqual(EXPECTED);
});

test('frames identically for every pair of boundaries on a shorter stream', () => {
  const bytes = encoder.encode(EVENTS[0] + EVENTS[1]);
  for (let i = 1; i < bytes.length; i++) {
    for (let j = i + 1; j < bytes.length; j++) {
      const { events } = splitAll([bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)]);
      expect(events).toEqual([EVENTS[0], EVENTS[1]]);
    }
  }
});

test('holds back an incomplete event and returns it on flush', () => {
  const { events, tail } = splitAll([encoder.encode('data: {"a":1}\n\ndata: partial')]);
  expect(events).toEqual(['data: {"a":1}\n\n']);
  expect(tail).toBe('data: partial');
});

test('completes an event ended by a final CR on flush', () => {
  const splitter = new SseEventSplitter();
  expect(splitter.push(encoder.encode('data: x\r\r'))).toEqual([]);
  const frame = splitter.flush();
  expect(frame?.whole).toBe(true);
  expect(decoder.decode(frame?.raw)).toBe('data: x\r\r');
});

test('passes an oversized event on as a raw fragment instead of buffering without bound', () => {
  const splitter = new SseEventSplitter(64);
  const frames = splitter.push(encoder.encode('data: ' + 'x'.repeat(100)));
  expect(frames).toHaveLength(1);
  expect(frames[0].whole).toBe(false);
  expect(splitter.flush()).toBeUndefined();
});

test('parses event type and joined data lines, ignoring comments', () => {
  expect(parseSseEvent(encoder.encode('event: ping\n: note\ndata: a\ndata:b\n\n'))).toEqual({ event: 'ping', data: 'a\nb' });
  expect(parseSseEvent(encoder.encode('data: x\n\n'))).toEqual({ event: 'message', data: 'x' });
});

test('joins views that sit next to each other in one buffer and keeps others apart', () => {
  const buffer = encoder.encode('aabbcc');
  const other = encoder.encode('zz');
  const joined = joinAdjacent([buffer.subarray(0, 2), buffer.subarray(2, 4), other, buffer.subarray(4, 6)]);
  expect(joined.map((p) => decoder.decode(p))).toEqual(['aabb', 'zz', 'cc']);
});
