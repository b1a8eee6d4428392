/**
 * Baseline for `npm run bench:gateway -- --baseline-proxy`: the cheapest possible extra hop (node:http
 * in, one undici keep-alive pool out, no routing, policy, auth, logging or metrics). What it adds over
 * calling the upstream directly is the floor any Node gateway pays on this machine; the gateway's own
 * cost is its added latency minus this one. Started like gateway/main.ts (MMS_CONFIG names the upstream).
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';

const config = JSON.parse(fs.readFileSync(process.env.MMS_CONFIG!, 'utf8')) as { providers: Record<string, { baseUrl: string }> };
const base = new URL(Object.values(config.providers)[0]!.baseUrl);
const pool = new Pool(base.origin, { connections: 256 });
const upstreamPath = `${base.pathname.replace(/\/$/, '')}/chat/completions`;

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { messages: unknown[] };
    pool
      .request({ path: upstreamPath, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'llama-3.1-8b-instruct', messages: body.messages }) })
      .then((r) => r.body.text())
      .then((text) => res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text))
      .catch(() => res.writeHead(502).end());
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ address: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, pid: process.pid })}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
