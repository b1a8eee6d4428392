import { StringDecoder } from 'node:string_decoder';

export interface SseMessage {
  event?: string;
  data: string;
}

/** What an event being read has so far (the parser's state; module-level functions below, not closures made per stream). */
interface PendingEvent {
  event: string | undefined;
  data: string[];
}

function flushEvent(p: PendingEvent): SseMessage | undefined {
  if (p.data.length === 0) {
    p.event = undefined;
    return undefined;
  }
  const message = { event: p.event, data: p.data.join('\n') };
  p.event = undefined;
  p.data = [];
  return message;
}

function handleLine(p: PendingEvent, line: string): SseMessage | undefined {
  if (line === '') return flushEvent(p);
  if (line.startsWith(':')) return undefined;
  const colon = line.indexOf(':');
  const field = colon === -1 ? line : line.slice(0, colon);
  let value = colon === -1 ? '' : line.slice(colon + 1);
  if (value.startsWith(' ')) value = value.slice(1);
  if (field === 'data') p.data.push(value);
  else if (field === 'event') p.event = value;
  return undefined;
}

/**
 * Server-sent events from a byte stream, per the WHATWG rules the providers follow: events end at a
 * blank line, `data:` lines join with "\n", comments (`:`) are skipped, CR, LF and CRLF all end lines.
 * One array per read of the body: the complete events that read finished (reads that finish none yield
 * nothing), so a consumer can handle a read's events at once.
 */
export async function* parseSseReads(body: AsyncIterable<Uint8Array | string>): AsyncGenerator<SseMessage[]> {
  const decoder = new StringDecoder('utf8');
  let buffer = '';
  const pending: PendingEvent = { event: undefined, data: [] };
  for await (const chunk of body) {
    buffer += typeof chunk === 'string' ? chunk : decoder.write(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    let messages: SseMessage[] | undefined;
    let start = 0;
    for (let i = 0; i < buffer.length; i++) {
      const c = buffer.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      // A CR at the very end may be the first half of CRLF: wait for the next chunk.
      if (c === 13 && i === buffer.length - 1) break;
      const line = buffer.slice(start, i);
      if (c === 13 && buffer.charCodeAt(i + 1) === 10) i++;
      start = i + 1;
      const message = handleLine(pending, line);
      if (message) (messages ??= []).push(message);
    }
    buffer = buffer.slice(start);
    if (messages) yield messages;
  }
  // Per the spec, an event not terminated by a blank line when the stream ends is discarded: a cut
  // stream never delivers half an event.
}
