/**
 * Incremental server-sent-events framing over bytes. A chunk boundary may fall anywhere (inside a
 * line, inside a CRLF, inside a UTF-8 character): events are cut only at blank lines, which are
 * ASCII, so every emitted event holds whole characters. Events are handed on as the original
 * bytes; at most one incomplete event is held, and nothing is kept once it is emitted.
 */
import { joinChunks } from './body';

const LF = 0x0a;
const CR = 0x0d;

/** A piece of the stream to forward. `whole` is false only for an oversized fragment, passed on as-is. */
export interface SseFrame {
  readonly raw: Uint8Array;
  readonly whole: boolean;
}

export class SseEventSplitter {
  private buf: Uint8Array = new Uint8Array(0);
  private scanned = 0;
  private lineLength = 0;
  private lastWasCR = false;
  /** Index just past a blank line ended by CR whose possible LF has not arrived yet. */
  private boundaryAfterCR = -1;

  constructor(private readonly maxEventBytes: number = 1024 * 1024) {}

  /** Feeds bytes; returns the frames completed by them. */
  push(chunk: Uint8Array): SseFrame[] {
    if (chunk.length === 0) return [];
    this.buf = this.buf.length === 0 ? chunk : joinChunks([this.buf, chunk]);
    const frames: SseFrame[] = [];
    let eventStart = 0;
    const buf = this.buf;
    for (let i = this.scanned; i < buf.length; i++) {
      const byte = buf[i];
      if (this.boundaryAfterCR >= 0) {
        const end = byte === LF ? i + 1 : i;
        frames.push({ raw: buf.subarray(eventStart, end), whole: true });
        eventStart = end;
        this.boundaryAfterCR = -1;
        this.lastWasCR = false;
        if (byte === LF) continue;
      }
      if (byte === LF) {
        if (this.lastWasCR) {
          this.lastWasCR = false;
          continue;
        }
        if (this.lineLength === 0) {
          frames.push({ raw: buf.subarray(eventStart, i + 1), whole: true });
          eventStart = i + 1;
        }
        this.lineLength = 0;
      } else if (byte === CR) {
        this.lastWasCR = true;
        if (this.lineLength === 0) this.boundaryAfterCR = i + 1;
        this.lineLength = 0;
      } else {
        this.lastWasCR = false;
        this.lineLength++;
      }
    }
    this.buf = buf.subarray(eventStart);
    this.scanned = this.buf.length;
    if (this.boundaryAfterCR >= 0) this.boundaryAfterCR -= eventStart;
    if (this.buf.length > this.maxEventBytes && this.boundaryAfterCR < 0) {
      frames.push({ raw: this.buf, whole: false });
      this.reset();
    }
    return frames;
  }

  /** Ends the stream: returns a last event completed by a trailing CR, or leftover bytes. */
  flush(): SseFrame | undefined {
    if (this.buf.length === 0) return undefined;
    const frame = { raw: this.buf, whole: this.boundaryAfterCR >= 0 };
    this.reset();
    return frame;
  }

  private reset(): void {
    this.buf = new Uint8Array(0);
    this.scanned = 0;
    this.lineLength = 0;
    this.lastWasCR = false;
    this.boundaryAfterCR = -1;
  }
}

export interface SseEvent {
  /** The `event:` field, or "message" when absent. */
  readonly event: string;
  /** The `data:` lines joined with newlines. */
  readonly data: string;
}

const decoder = new TextDecoder();

/** Parses the fields of one whole event (per the WHATWG event-stream rules). */
export function parseSseEvent(raw: Uint8Array): SseEvent {
  let event = 'message';
  const data: string[] = [];
  for (const line of decoder.decode(raw).split(/\r\n|\r|\n/)) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  return { event, data: data.join('\n') };
}

const encoder = new TextEncoder();

/** Encodes a data-only event. */
export function encodeSseData(data: string): Uint8Array {
  return encoder.encode(`data: ${data}\n\n`);
}

/**
 * Merges views that sit next to each other in the same buffer, so a chunk whose events all pass
 * unchanged is forwarded as one write instead of one per event. Copies nothing.
 */
export function joinAdjacent(parts: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const part of parts) {
    if (part.length === 0) continue;
    const last = out[out.length - 1];
    if (last && last.buffer === part.buffer && last.byteOffset + last.length === part.byteOffset) {
      out[out.length - 1] = new Uint8Array(last.buffer, last.byteOffset, last.length + part.length);
    } else {
      out.push(part);
    }
  }
  return out;
}
