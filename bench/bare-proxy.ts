/**
 * The bench's floor: a bare fastify + undici proxy (JSON body in, one keep-alive undici pool out, the
 * answer or the SSE stream piped back; no routing, policy, auth, guardrail, logging or metrics). What
 * it adds over calling the upstream directly is what any Node gateway pays for the extra hop on this
 * machine; `npm run bench:gateway` runs it beside the gateway, alternating, in the same sitting.
 * Started like gateway/main.ts (MMS_CONFIG names the upstream); prints {"address"} once listening.
 */
import fs from 'node:fs';
import Fastify from 'fastify';
import { Pool } from 'undici';

const config = JSON.parse(fs.readFileSync(process.env.MMS_CONFIG!, 'utf8')) as { providers: Record<string, { baseUrl: string }> };
const base = new URL(Object.values(config.providers)[0]!.baseUrl);
const pool = new Pool(base.origin, { connections: 256 });
const upstreamPath = `${base.pathname.replace(/\/$/, '')}/chat/completions`;

const app = Fastify({ logger: false });
app.post<{ Body: { messages: unknown[]; stream?: boolean } }>('/v1/chat/completions', async (req, reply) => {
  const upstream = await pool.request({
    path: upstreamPath,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'llama-3.1-8b-instruct', messages: req.body.messages, stream: req.body.stream === true }),
  });
  reply.code(upstream.statusCode).header('content-type', String(upstream.headers['content-type'] ?? 'application/json'));
  // A stream is piped as it arrives; a whole answer is sent as one string.
  return req.body.stream === true ? reply.send(upstream.body) : reply.send(await upstream.body.text());
});

app.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }).then(
  (address) => process.stdout.write(`${JSON.stringify({ address, pid: process.pid })}\n`),
  (err: unknown) => {
    process.stderr.write(`bare proxy failed: ${String(err)}\n`);
    process.exit(1);
  },
);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
