import crypto from 'node:crypto';
import fs from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

/**
 * Fake serving nodes on 127.0.0.1 that speak the real wire formats of adapter registration, for the
 * deploy step of the self-hosted pipeline (a real llama.cpp server is the third kind, and it is real):
 *
 * vLLM (started with --enable-lora and VLLM_ALLOW_RUNTIME_LORA_UPDATING=True):
 *   POST /v1/load_lora_adapter   {lora_name, lora_path}  → 200 text "Success: LoRA adapter '<name>' added successfully."
 *                                already loaded → 400 {error:{message:"The lora adapter '<name>' has already been loaded. …", type, param, code}}
 *                                no adapter at the path → 404 {error:{message:"Loading lora <name> failed: No adapter found for <path>", …}}
 *   POST /v1/unload_lora_adapter {lora_name}             → 200 text, or 404 when it is not loaded
 *   GET  /v1/models, POST /v1/chat/completions (model = the base or a loaded adapter's name)
 *
 * Ollama:
 *   HEAD /api/blobs/sha256:<hex>   → 200 when the node has the blob, else 404
 *   POST /api/blobs/sha256:<hex>   body = the file → 201; a body whose sha256 differs → 400 {error}
 *   POST /api/create {model, from, adapters: {<file name>: "sha256:<hex>"}, stream} → {"status":"success"}
 *                                  (NDJSON status lines when stream is not false); unknown base → 404, missing blob → 400
 *   GET  /api/tags, POST /v1/chat/completions (Ollama's OpenAI-compatible endpoint, the gateway's path)
 *
 * A chat answer names the adapter that produced it, so a test sees which one served the call.
 */

export interface LoadedAdapter {
  name: string;
  path: string;
}

export interface FakeVllm {
  url: string;
  baseModel: string;
  adapters: Map<string, LoadedAdapter>;
  requests: Array<{ method: string; path: string; body: unknown }>;
  close(): Promise<void>;
}

export interface FakeOllama {
  url: string;
  /** Models the node has: name → {from, adapters (file name → digest)}. */
  models: Map<string, { from?: string; adapters: Record<string, string> }>;
  blobs: Map<string, number>;
  requests: Array<{ method: string; path: string; body: unknown }>;
  close(): Promise<void>;
}

const json = (res: ServerResponse, status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
const text = (res: ServerResponse, status: number, body: string) => res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(body);
/** vLLM's ErrorResponse shape. */
const vllmError = (res: ServerResponse, code: number, type: string, message: string, param: string | null = null) => json(res, code, { error: { message, type, param, code } });

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function parseJson(raw: Buffer): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(raw.toString('utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** An OpenAI chat completion whose text says which model (adapter) answered. */
function chatCompletion(model: string, body: Record<string, unknown>) {
  const messages = (body.messages as Array<{ role: string; content: string }> | undefined) ?? [];
  const prompt = [...messages].reverse().find((m) => m.role === 'user')?.content ?? '';
  const content = `[${model}] ${prompt.slice(0, 60)}`;
  const tokens = content.split(/\s+/).length;
  return { id: `chatcmpl-${crypto.randomUUID()}`, object: 'chat.completion', created: Math.floor(Date.now() / 1000), model, choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }], usage: { prompt_tokens: prompt.split(/\s+/).length, completion_tokens: tokens, total_tokens: tokens } };
}

async function listen(handler: (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<unknown>): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://node');
    handler(req, res, url).catch((err: unknown) => (res.headersSent ? res.destroy() : json(res, 500, { error: String(err) })));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** vLLM refuses a path without a PEFT adapter in it (adapter_config.json + weights). */
const isPeftAdapter = (dir: string) => fs.existsSync(path.join(dir, 'adapter_config.json')) && (fs.existsSync(path.join(dir, 'adapter_model.safetensors')) || fs.existsSync(path.join(dir, 'adapter_model.bin')));

export async function startFakeVllm(options: { baseModel?: string } = {}): Promise<FakeVllm> {
  const baseModel = options.baseModel ?? 'base-model';
  const adapters = new Map<string, LoadedAdapter>();
  const requests: FakeVllm['requests'] = [];
  const server = await listen(async (req, res, url) => {
    const raw = req.method === 'POST' ? await readBody(req) : Buffer.alloc(0);
    const body = parseJson(raw) ?? {};
    requests.push({ method: req.method ?? 'GET', path: url.pathname, body });
    if (req.method === 'POST' && url.pathname === '/v1/load_lora_adapter') {
      const name = body.lora_name;
      const loraPath = body.lora_path;
      if (typeof name !== 'string' || typeof loraPath !== 'string' || !name || !loraPath) return vllmError(res, 400, 'InvalidUserInput', "Both 'lora_name' and 'lora_path' must be provided.");
      if (adapters.has(name) && body.load_inplace !== true) return vllmError(res, 400, 'InvalidUserInput', `The lora adapter '${name}' has already been loaded. If you want to load the adapter in place, set 'load_inplace' to True.`);
      if (!isPeftAdapter(loraPath)) return vllmError(res, 404, 'NotFoundError', `Loading lora ${name} failed: No adapter found for ${loraPath}`);
      adapters.set(name, { name, path: loraPath });
      return text(res, 200, `Success: LoRA adapter '${name}' added successfully.`);
    }
    if (req.method === 'POST' && url.pathname === '/v1/unload_lora_adapter') {
      const name = body.lora_name;
      if (typeof name !== 'string' || !adapters.has(name)) return vllmError(res, 404, 'NotFoundError', `The lora adapter '${String(name)}' cannot be found.`);
      adapters.delete(name);
      return text(res, 200, `Success: LoRA adapter '${name}' removed successfully.`);
    }
    if (req.method === 'GET' && url.pathname === '/v1/models') {
      const created = Math.floor(Date.now() / 1000);
      const data = [
        { id: baseModel, object: 'model', created, owned_by: 'vllm', root: baseModel, parent: null },
        ...[...adapters.values()].map((a) => ({ id: a.name, object: 'model', created, owned_by: 'vllm', root: a.path, parent: baseModel })),
      ];
      return json(res, 200, { object: 'list', data });
    }
    if (req.method === 'POST' && url.pathname === '/v1/chat/completions') {
      const model = String(body.model ?? '');
      if (model !== baseModel && !adapters.has(model)) return vllmError(res, 404, 'NotFoundError', `The model \`${model}\` does not exist.`, 'model');
      return json(res, 200, chatCompletion(model, body));
    }
    vllmError(res, 404, 'NotFoundError', 'Not Found');
  });
  return { ...server, baseModel, adapters, requests };
}

const DIGEST = /^sha256:([0-9a-f]{64})$/;

export async function startFakeOllama(options: { models?: string[] } = {}): Promise<FakeOllama> {
  const models: FakeOllama['models'] = new Map((options.models ?? ['base-model:latest']).map((m) => [m, { adapters: {} }]));
  const blobs = new Map<string, number>();
  const requests: FakeOllama['requests'] = [];
  const known = (name: string) => models.has(name) || models.has(`${name}:latest`);
  const server = await listen(async (req, res, url) => {
    const blob = /^\/api\/blobs\/(.+)$/.exec(url.pathname);
    if (blob) {
      const digest = decodeURIComponent(blob[1]!);
      if (!DIGEST.test(digest)) return json(res, 400, { error: 'invalid digest format' });
      if (req.method === 'HEAD') return res.writeHead(blobs.has(digest) ? 200 : 404).end();
      const raw = await readBody(req);
      requests.push({ method: 'POST', path: url.pathname, body: { bytes: raw.length } });
      if (`sha256:${crypto.createHash('sha256').update(raw).digest('hex')}` !== digest) return json(res, 400, { error: 'digest mismatch' });
      blobs.set(digest, raw.length);
      return res.writeHead(201).end();
    }
    const body = req.method === 'POST' ? (parseJson(await readBody(req)) ?? {}) : {};
    requests.push({ method: req.method ?? 'GET', path: url.pathname, body });
    if (req.method === 'POST' && url.pathname === '/api/create') return ollamaCreate(res, body, models, blobs, known);
    if (req.method === 'GET' && url.pathname === '/api/tags') {
      return json(res, 200, { models: [...models.keys()].map((name) => ({ name, model: name, modified_at: new Date().toISOString(), size: 0, digest: crypto.createHash('sha256').update(name).digest('hex'), details: { format: 'gguf', family: 'llama', parameter_size: '1M', quantization_level: 'F32' } })) });
    }
    if (req.method === 'POST' && url.pathname === '/v1/chat/completions') {
      const model = String(body.model ?? '');
      if (!known(model)) return json(res, 404, { error: { message: `model "${model}" not found, try pulling it first`, type: 'api_error', param: null, code: null } });
      return json(res, 200, chatCompletion(model, body));
    }
    json(res, 404, { error: '404 page not found' });
  });
  return { ...server, models, blobs, requests };
}

function ollamaCreate(res: ServerResponse, body: Record<string, unknown>, models: FakeOllama['models'], blobs: Map<string, number>, known: (name: string) => boolean) {
  const name = body.model;
  if (typeof name !== 'string' || !name) return json(res, 400, { error: 'model is required' });
  const from = typeof body.from === 'string' ? body.from : undefined;
  if (from && !known(from)) return json(res, 404, { error: `model "${from}" not found, try pulling it first` });
  const adapters = (body.adapters ?? {}) as Record<string, unknown>;
  for (const [file, digest] of Object.entries(adapters)) {
    if (typeof digest !== 'string' || !DIGEST.test(digest)) return json(res, 400, { error: `invalid digest for ${file}: ${String(digest)}` });
    if (!blobs.has(digest)) return json(res, 400, { error: `blob ${digest} not found` });
  }
  models.set(name.includes(':') ? name : `${name}:latest`, { ...(from ? { from } : {}), adapters: adapters as Record<string, string> });
  if (body.stream === false) return json(res, 200, { status: 'success' });
  const lines = [{ status: 'using existing layer' }, ...Object.values(adapters).map((d) => ({ status: `using existing layer ${String(d)}` })), { status: 'writing manifest' }, { status: 'success' }];
  res.writeHead(200, { 'content-type': 'application/x-ndjson' }).end(lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
}
