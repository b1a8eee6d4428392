import crypto from 'node:crypto';
import fs from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

/**
 * A fake Hugging Face Hub on 127.0.0.1 speaking the real wire format, for discovery and the download
 * manager:
 *   GET /api/models?pipeline_tag=&search=&sort=&limit=&expand=…   list (Link rel="next" pagination)
 *   GET /api/models/{repo}[/revision/{rev}]                         model info (sha, siblings, card, safetensors)
 *   GET /api/models/{repo}/tree/{sha}?recursive=true                files with git oid, size and lfs {oid, size}
 *   GET /{repo}/resolve/{sha}/{path}                                bytes, honouring Range (206 + Content-Range)
 * The real list responses of test/fixtures/real-api/ are served as they are (they are not
 * text-generation models, so a pipeline_tag filter leaves them out, as the Hub does); repositories a
 * test adds are served in the same shapes. Faults are scriptable: a flipped byte, a throttle, a path
 * that escapes, a gated repository.
 */

export interface FakeRepoFile {
  path: string;
  content: Buffer;
  /** Stored in LFS (weights): listed with lfs.oid = sha256 of the content. */
  lfs?: boolean;
}

export interface FakeRepo {
  id: string;
  sha: string;
  files: FakeRepoFile[];
  pipelineTag?: string;
  license?: string;
  gated?: false | 'auto' | 'manual';
  downloads?: number;
  likes?: number;
  trendingScore?: number;
  lastModified?: string;
  createdAt?: string;
  libraryName?: string;
  modelIndex?: unknown;
  /** safetensors block: {parameters: {F32: n}, total: n}; default: counted from the weight files' headers. */
  safetensors?: { parameters: Record<string, number>; total: number } | null;
}

export interface FakeHubFaults {
  /** Serve this file with one byte flipped (the listing keeps the true checksum). */
  flipByteOf?: string;
  /** Bytes per second for file downloads (so a test can kill a worker mid-file). */
  bytesPerSecond?: number;
  /** Extra tree entries, e.g. a path that escapes the models directory. */
  extraTreeEntries?: Array<{ path: string; size: number; lfs?: boolean }>;
  /** Ignore Range headers (answer 200 with the whole file). */
  ignoreRange?: boolean;
  /** Largest list page (the Hub caps pages and links the next one). */
  pageSize?: number;
}

export interface FakeHub {
  url: string;
  repos: Map<string, FakeRepo>;
  faults: FakeHubFaults;
  /** Range headers received per file path (resume evidence). */
  ranges: Array<{ path: string; range: string | undefined }>;
  requests: string[];
  addRepo(repo: FakeRepo): FakeRepo;
  close(): Promise<void>;
}

const fixturesDir = path.resolve(__dirname, '../test/fixtures/real-api');

export const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
const gitBlobOid = (b: Buffer) => crypto.createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');

/** Parameter counts per dtype from a safetensors header, as the Hub's safetensors block reports them. */
export function safetensorsParameters(content: Buffer): Record<string, number> {
  const headerLength = Number(content.readBigUInt64LE(0));
  const header = JSON.parse(content.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, { dtype: string; shape: number[] }>;
  const out: Record<string, number> = {};
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    out[t.dtype] = (out[t.dtype] ?? 0) + t.shape.reduce((a, b) => a * b, 1);
  }
  return out;
}

/** Every file of a local checkpoint directory as a repository (weights in LFS). */
export function repoFromDirectory(id: string, dir: string, extra: Omit<FakeRepo, 'id' | 'sha' | 'files'> = {}): FakeRepo {
  const files = fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => {
      const full = path.join(e.parentPath, e.name);
      const rel = path.relative(dir, full).split(path.sep).join('/');
      return { path: rel, content: fs.readFileSync(full), lfs: /\.(safetensors|bin|gguf)$/.test(rel) };
    });
  const sha = crypto.createHash('sha1').update(id).update(files.map((f) => sha256(f.content)).join()).digest('hex');
  return { id, sha, files, ...extra };
}

function listEntry(repo: FakeRepo) {
  return {
    _id: crypto.createHash('md5').update(repo.id).digest('hex').slice(0, 24),
    id: repo.id,
    likes: repo.likes ?? 0,
    trendingScore: repo.trendingScore ?? 0,
    private: false,
    downloads: repo.downloads ?? 0,
    tags: [...(repo.libraryName ? [repo.libraryName] : []), 'safetensors', ...(repo.pipelineTag ? [repo.pipelineTag] : []), ...(repo.license ? [`license:${repo.license}`] : []), 'region:us'],
    ...(repo.pipelineTag ? { pipeline_tag: repo.pipelineTag } : {}),
    ...(repo.libraryName ? { library_name: repo.libraryName } : {}),
    createdAt: repo.createdAt ?? '2025-01-01T00:00:00.000Z',
    modelId: repo.id,
  };
}

function safetensorsBlock(repo: FakeRepo) {
  if (repo.safetensors !== undefined) return repo.safetensors;
  const parameters: Record<string, number> = {};
  for (const f of repo.files.filter((x) => x.path.endsWith('.safetensors'))) {
    for (const [dtype, n] of Object.entries(safetensorsParameters(f.content))) parameters[dtype] = (parameters[dtype] ?? 0) + n;
  }
  const total = Object.values(parameters).reduce((a, b) => a + b, 0);
  return total ? { parameters, total } : null;
}

/** The fields `expand=` asks for, in the Hub's shapes. */
function expanded(repo: FakeRepo, expand: string[]) {
  const all: Record<string, unknown> = {
    ...listEntry(repo),
    gated: repo.gated ?? false,
    lastModified: repo.lastModified ?? '2025-06-01T00:00:00.000Z',
    sha: repo.sha,
    cardData: { license: repo.license, ...(repo.modelIndex ? { 'model-index': repo.modelIndex } : {}) },
    'model-index': repo.modelIndex ?? null,
    safetensors: safetensorsBlock(repo) ?? undefined,
    siblings: repo.files.map((f) => ({ rfilename: f.path })),
  };
  if (!expand.length) return listEntry(repo);
  const out: Record<string, unknown> = { _id: all._id, id: all.id };
  for (const key of expand) if (all[key] !== undefined) out[key] = all[key];
  return out;
}

/** What the handlers share: the repositories, the scripted faults and what was asked. */
interface HubState {
  repos: Map<string, FakeRepo>;
  faults: FakeHubFaults;
  ranges: FakeHub['ranges'];
  requests: string[];
  fixtureList: Array<Record<string, unknown>>;
  fixtureInfo: Record<string, unknown>;
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers }).end(JSON.stringify(body));
const notFound = (res: ServerResponse) => json(res, 404, { error: 'Repository not found' }, { 'x-error-code': 'RepoNotFound' });
const authorised = (req: IncomingMessage, repo: FakeRepo) => !repo.gated || /^Bearer hf_/.test(req.headers.authorization ?? '');

/** GET /api/models: the fixtures and the added repositories, filtered, sorted, paginated with Link rel="next". */
function listModels(state: HubState, req: IncomingMessage, res: ServerResponse, url: URL) {
  const task = url.searchParams.get('pipeline_tag');
  const search = url.searchParams.get('search');
  const expand = url.searchParams.getAll('expand');
  const limit = Math.min(Number(url.searchParams.get('limit') ?? 1000), state.faults.pageSize ?? 1000);
  const cursor = Number(url.searchParams.get('cursor') ?? 0);
  const ours = [...state.repos.values()].map((r) => expanded(r, expand) as Record<string, unknown>);
  let all = [...state.fixtureList, ...ours].filter((m) => (!task || m.pipeline_tag === task) && (!search || String(m.id).includes(search)));
  if (url.searchParams.get('sort') === 'trendingScore') all = all.sort((a, b) => Number(b.trendingScore ?? 0) - Number(a.trendingScore ?? 0));
  const page = all.slice(cursor, cursor + limit);
  const headers: Record<string, string> = {};
  if (cursor + limit < all.length) {
    const next = new URL(url.toString());
    next.searchParams.set('cursor', String(cursor + limit));
    headers.link = `<http://${req.headers.host}${next.pathname}${next.search}>; rel="next"`;
  }
  return json(res, 200, page, headers);
}

/** The tree of a commit: git oid and size of every file, lfs {oid, size} for the weights. */
function treeEntries(state: HubState, repo: FakeRepo) {
  const entries = repo.files.map((f) => ({
    type: 'file',
    oid: gitBlobOid(f.lfs ? Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(f.content)}\nsize ${f.content.length}\n`) : f.content),
    size: f.content.length,
    path: f.path,
    ...(f.lfs ? { lfs: { oid: sha256(f.content), size: f.content.length, pointerSize: 134 } } : {}),
  }));
  for (const e of state.faults.extraTreeEntries ?? []) {
    entries.push({ type: 'file', oid: '0'.repeat(40), size: e.size, path: e.path, ...(e.lfs ? { lfs: { oid: '0'.repeat(64), size: e.size, pointerSize: 134 } } : {}) });
  }
  return entries;
}

/** GET /api/models/{repo}[/revision/{rev}] and /api/models/{repo}/tree/{sha}. */
function modelApi(state: HubState, req: IncomingMessage, res: ServerResponse, parts: string[]) {
  const repoId = `${parts[2]}/${parts[3]}`;
  if (repoId === state.fixtureInfo.id && parts.length === 4) return json(res, 200, state.fixtureInfo);
  const repo = state.repos.get(repoId);
  const rest = parts.slice(4);
  if (!repo) return notFound(res);
  if (!authorised(req, repo)) return json(res, 401, { error: 'Access to model is restricted. You must have access to it and be authenticated to access it.' }, { 'x-error-code': 'GatedRepo' });
  if (rest.length === 0 || rest[0] === 'revision') {
    const rev = rest[1];
    if (rev && rev !== 'main' && rev !== repo.sha) return json(res, 404, { error: `Invalid rev id: ${rev}` }, { 'x-error-code': 'RevisionNotFound' });
    return json(res, 200, { ...expanded(repo, ['author', 'sha', 'lastModified', 'private', 'gated', 'disabled', 'downloads', 'likes', 'tags', 'pipeline_tag', 'library_name', 'cardData', 'siblings', 'safetensors', 'createdAt']), disabled: false, author: parts[2] });
  }
  if (rest[0] === 'tree') {
    if (rest[1] !== repo.sha) return json(res, 404, { error: `Invalid rev id: ${rest[1]}` }, { 'x-error-code': 'RevisionNotFound' });
    return json(res, 200, treeEntries(state, repo));
  }
  return notFound(res);
}

/** GET|HEAD /{owner}/{name}/resolve/{sha}/{path…}: bytes, honouring Range (206 + Content-Range), faults applied. */
async function serveFile(state: HubState, req: IncomingMessage, res: ServerResponse, parts: string[]) {
  const repo = state.repos.get(`${parts[0]}/${parts[1]}`);
  if (!repo) return notFound(res);
  if (!authorised(req, repo)) return json(res, 401, { error: 'Access to model is restricted.' }, { 'x-error-code': 'GatedRepo' });
  if (parts[3] !== repo.sha && parts[3] !== 'main') return json(res, 404, { error: 'Invalid rev id' }, { 'x-error-code': 'RevisionNotFound' });
  const filePath = parts.slice(4).join('/');
  const file = repo.files.find((f) => f.path === filePath);
  if (!file) return json(res, 404, { error: 'Entry not found' }, { 'x-error-code': 'EntryNotFound' });
  const { faults } = state;
  let content = file.content;
  if (faults.flipByteOf === filePath) {
    content = Buffer.from(content);
    content[Math.floor(content.length / 2)]! ^= 0xff;
  }
  const range = req.headers.range;
  state.ranges.push({ path: filePath, range });
  let start = 0;
  const m = range && !faults.ignoreRange ? /^bytes=(\d+)-$/.exec(range) : null;
  const headers: Record<string, string> = { 'content-type': 'application/octet-stream', 'accept-ranges': 'bytes', 'x-repo-commit': repo.sha, etag: `"${file.lfs ? sha256(file.content) : gitBlobOid(file.content)}"` };
  if (m) {
    start = Number(m[1]);
    if (start >= content.length) return res.writeHead(416, { 'content-range': `bytes */${content.length}` }).end();
    res.writeHead(206, { ...headers, 'content-length': String(content.length - start), 'content-range': `bytes ${start}-${content.length - 1}/${content.length}` });
  } else res.writeHead(200, { ...headers, 'content-length': String(content.length) });
  if (req.method === 'HEAD') return res.end();
  const body = content.subarray(start);
  if (!faults.bytesPerSecond) return res.end(body);
  // Throttled: 20 slices a second, so a download takes a predictable while.
  const slice = Math.max(1, Math.floor(faults.bytesPerSecond / 20));
  for (let off = 0; off < body.length && !res.destroyed; off += slice) {
    if (!res.write(body.subarray(off, off + slice))) await new Promise((r) => res.once('drain', r));
    await new Promise((r) => setTimeout(r, 50));
  }
  res.end();
}

async function route(state: HubState, req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url ?? '/', 'http://hub');
  state.requests.push(`${req.method} ${url.pathname}${url.search}`);
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'api' && parts[1] === 'models' && parts.length === 2) return listModels(state, req, res, url);
  if (parts[0] === 'api' && parts[1] === 'models' && parts.length >= 4) return modelApi(state, req, res, parts);
  if (parts.length >= 5 && parts[2] === 'resolve') return serveFile(state, req, res, parts);
  notFound(res);
}

export async function startFakeHub(): Promise<FakeHub> {
  const state: HubState = {
    repos: new Map<string, FakeRepo>(),
    faults: {},
    ranges: [],
    requests: [],
    fixtureList: JSON.parse(fs.readFileSync(path.join(fixturesDir, 'huggingface-models.json'), 'utf8')) as Array<Record<string, unknown>>,
    fixtureInfo: JSON.parse(fs.readFileSync(path.join(fixturesDir, 'huggingface-model-info.json'), 'utf8')) as Record<string, unknown>,
  };
  const server = http.createServer((req, res) => {
    route(state, req, res).catch((err: unknown) => {
      if (!res.headersSent) json(res, 500, { error: String(err) });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    repos: state.repos,
    faults: state.faults,
    ranges: state.ranges,
    requests: state.requests,
    addRepo(repo) {
      state.repos.set(repo.id, repo);
      return repo;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
