/**
 * AWS event-stream framing (`application/vnd.amazon.eventstream`), as Bedrock streams its answers:
 * length-prefixed binary messages with typed headers and CRCs, decoded with the AWS SDK's own codec
 * (about 15 KB of the bundle). Bytes arrive in arbitrary chunks; a message is decoded once all of it
 * is there.
 */
import { EventStreamCodec } from '@smithy/core/event-streams';
import { joinChunks } from '../../core/body';

/** The largest message accepted (Bedrock's are a few KB; a larger one is a broken stream). */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

export interface EventStreamMessage {
  /** `event`, `exception` or `error`. */
  readonly messageType: string;
  /** The event's type (`chunk`, `contentBlockDelta`, …) or the exception's (`throttlingException`, …). */
  readonly type: string;
  readonly payload: string;
}

export class EventStreamFramingError extends Error {}

const utf8 = new TextDecoder('utf-8');
const codec = new EventStreamCodec((bytes) => utf8.decode(bytes), (text) => new TextEncoder().encode(text));

/** One whole message: its type headers and payload (the codec checks both CRCs). */
export function decodeMessage(frame: Uint8Array): EventStreamMessage {
  let message;
  try {
    message = codec.decode(frame);
  } catch {
    throw new EventStreamFramingError('event-stream message failed its checksum or is malformed');
  }
  const header = (name: string) => {
    const value = message.headers[name]?.value;
    return typeof value === 'string' ? value : '';
  };
  const messageType = header(':message-type') || 'event';
  const type = messageType === 'event' ? header(':event-type') : header(':exception-type') || header(':error-code');
  return { messageType, type, payload: utf8.decode(message.body) };
}

export class EventStreamReader {
  private buffer: Uint8Array = new Uint8Array(0);

  /** Whole messages completed by this chunk. Throws on a corrupt or oversized message. */
  push(chunk: Uint8Array): EventStreamMessage[] {
    this.buffer = this.buffer.length === 0 ? chunk : joinChunks([this.buffer, chunk]);
    const out: EventStreamMessage[] = [];
    while (this.buffer.length >= 4) {
      const length = new DataView(this.buffer.buffer, this.buffer.byteOffset, 4).getUint32(0);
      if (length < 16 || length > MAX_MESSAGE_BYTES) throw new EventStreamFramingError(`event-stream message of ${length} bytes`);
      if (this.buffer.length < length) break;
      out.push(decodeMessage(this.buffer.subarray(0, length)));
      this.buffer = this.buffer.subarray(length);
    }
    return out;
  }

  /** Whether bytes of an unfinished message are left (the stream was cut). */
  get pending(): boolean {
    return this.buffer.length > 0;
  }
}
