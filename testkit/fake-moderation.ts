/**
 * A fake OpenAI moderation endpoint on 127.0.0.1 speaking the real wire format of
 * `POST /v1/moderations` (omni-moderation-latest: `results[]` with `flagged`, the 13 `categories`,
 * `category_scores` and `category_applied_input_types`, one result per input, string or array).
 * Which categories an input gets is scripted by the test (`flag`); the key is checked like OpenAI's.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const OMNI_MODERATION_CATEGORIES = [
  'harassment',
  'harassment/threatening',
  'hate',
  'hate/threatening',
  'illicit',
  'illicit/violent',
  'self-harm',
  'self-harm/intent',
  'self-harm/instructions',
  'sexual',
  'sexual/minors',
  'violence',
  'violence/graphic',
] as const;

export interface FakeModeration {
  /** OpenAI base URL (…/v1). */
  baseUrl: string;
  requests: Array<{ authorization: string | undefined; body: Record<string, unknown> }>;
  close(): Promise<void>;
}

export async function startFakeModeration(options: { key?: string; flag: (input: string) => string[] }): Promise<FakeModeration> {
  const requests: FakeModeration['requests'] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': `req_${crypto.randomBytes(8).toString('hex')}` });
        res.end(JSON.stringify(body));
      };
      if (req.method !== 'POST' || req.url !== '/v1/moderations') return send(404, { error: { message: `Invalid URL (${req.method} ${req.url})`, type: 'invalid_request_error', param: null, code: null } });
      if (options.key && req.headers.authorization !== `Bearer ${options.key}`) return send(401, { error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } });
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        return send(400, { error: { message: 'We could not parse the JSON body of your request.', type: 'invalid_request_error', param: null, code: null } });
      }
      requests.push({ authorization: req.headers.authorization, body });
      const inputs = typeof body.input === 'string' ? [body.input] : Array.isArray(body.input) ? (body.input as unknown[]).map((i) => (typeof i === 'string' ? i : ((i as { text?: string }).text ?? ''))) : undefined;
      if (!inputs) return send(400, { error: { message: "'input' is a required property", type: 'invalid_request_error', param: 'input', code: null } });
      const results = inputs.map((input) => {
        const flagged = new Set(options.flag(input));
        const categories = Object.fromEntries(OMNI_MODERATION_CATEGORIES.map((c) => [c, flagged.has(c)]));
        const scores = Object.fromEntries(OMNI_MODERATION_CATEGORIES.map((c) => [c, flagged.has(c) ? 0.97 : 0.0004]));
        const applied = Object.fromEntries(OMNI_MODERATION_CATEGORIES.map((c) => [c, flagged.has(c) ? ['text'] : []]));
        return { flagged: flagged.size > 0, categories, category_scores: scores, category_applied_input_types: applied };
      });
      send(200, { id: `modr-${crypto.randomBytes(12).toString('hex')}`, model: String(body.model ?? 'omni-moderation-latest'), results });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
