import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import type { FinishReason, Usage } from '../src/providers/types';

/**
 * The server-sent events of one streamed chat completion, in the OpenAI wire format
 * (`data: {chat.completion.chunk}` lines, then `data: [DONE]`). It owns the raw response once the
 * stream starts. Events are queued and go out together at `flush` (once per upstream read) or `end`:
 * one socket write per read instead of one per event. `flush` waits on the socket when its buffer is
 * full, and nothing is written once the caller is gone.
 */
export class ChatSseWriter {
  private sentRole = false;
  /** Events queued since the last flush, already in their `data: …\n\n` form. */
  private pending = '';

  private constructor(
    private readonly res: ServerResponse,
    private readonly id: string,
    private readonly created: number,
    private readonly model: string,
  ) {}

  /** Takes the response over from fastify and sends the event-stream headers (with those already set on the reply). */
  static open(reply: FastifyReply, id: string, created: number, model: string): ChatSseWriter {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { ...(reply.getHeaders() as OutgoingHttpHeaders), 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
    return new ChatSseWriter(res, id, created, model);
  }

  /** Has the assistant role been announced (by our first chunk or by a relayed upstream delta)? */
  get roleSent(): boolean {
    return this.sentRole;
  }

  chunk(delta: Record<string, unknown>, finishReason: FinishReason | null) {
    return { id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }] };
  }

  /** Queues one event (sent at the next flush or end). */
  write(data: unknown): void {
    this.pending += `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
  }

  /** Sends the queued events in one write; resolves once the socket takes more (or closes), so a slow reader slows the relay instead of filling memory. */
  async flush(): Promise<void> {
    const res = this.res;
    const data = this.pending;
    if (data === '') return;
    this.pending = '';
    if (res.destroyed || res.write(data)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.once('drain', done);
      res.once('close', done);
    });
  }

  /** The first chunk of an answer announces the assistant role, once. */
  role(): void {
    if (this.sentRole) return;
    this.write(this.chunk({ role: 'assistant', content: '' }, null));
    this.sentRole = true;
  }

  content(text: string): void {
    this.write(this.chunk({ content: text }, null));
  }

  finish(reason: FinishReason): void {
    this.write(this.chunk({}, reason));
  }

  /** An upstream chunk passed through as it came (already in the OpenAI shape), under our request id. */
  relay(raw: Record<string, unknown>, { announcesRole }: { announcesRole: boolean }): void {
    raw.id = this.id;
    this.write(raw);
    if (announcesRole) this.sentRole = true;
  }

  /** The usage chunk asked for by `stream_options.include_usage` (no choices). */
  usage(u: Usage): void {
    this.write({ id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [], usage: { prompt_tokens: u.inputTokens, completion_tokens: u.outputTokens, total_tokens: u.inputTokens + u.outputTokens } });
  }

  done(): void {
    this.write('[DONE]');
  }

  /** Ends the response with the events still queued (the last ones go out with the end, in one write). */
  end(): void {
    const data = this.pending;
    this.pending = '';
    if (this.res.destroyed) return;
    if (data === '') this.res.end();
    else this.res.end(data);
  }
}
