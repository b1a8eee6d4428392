"""Download manager for Hugging Face model repositories (activity gpuDownloadModel).

- Files are pinned to a commit: a revision (branch or tag) is resolved to its sha once, and every file
  is read from /resolve/<sha>/, so a push to the repository mid-download cannot mix two versions.
- LFS files are verified against the sha256 of their LFS pointer (`lfs.oid`), other files against
  their git blob id (sha1 of "blob <size>\\0" + content).
- Resumable: bytes go to <file>.partial; a retry resumes with an HTTP Range request from the offset
  of the last heartbeat (never past what is on disk), after re-hashing the bytes it keeps, so the
  final check covers the whole file.
- Safetensors only: pickled weights (.bin, .pt, .pth, .ckpt, .pkl) can run code when loaded, and are
  refused.
- A path from the listing that would land outside the models directory is refused.
- Free disk space is checked before the first byte.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable

from .validation import BadRequest, get

PICKLED = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
# What a text-generation checkpoint needs; README and the like are not weights and are left out.
WANTED = ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "tokenizer.model",
          "special_tokens_map.json", "chat_template.jinja", "added_tokens.json", "vocab.json", "merges.txt")
CHUNK = 1 << 20


class DownloadRefused(Exception):
    """A condition no retry can change (pickled weights, an escaping path, a checksum mismatch, no disk)."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


@dataclass
class DownloadRequest:
    endpoint: str
    repo: str
    revision: str
    models_dir: str
    files: list[str] | None = None
    token_env: str | None = None
    min_free_bytes: int = 0

    @staticmethod
    def parse(raw: dict) -> "DownloadRequest":
        req = DownloadRequest(
            endpoint=get(raw, "endpoint", str).rstrip("/"),
            repo=get(raw, "repo", str),
            revision=get(raw, "revision", str, default="main"),
            models_dir=get(raw, "modelsDir", str),
            files=get(raw, "files", list, default=None),
            token_env=get(raw, "tokenEnv", str, default=None),
            min_free_bytes=get(raw, "minFreeBytes", int, default=0),
        )
        if not req.endpoint.startswith(("http://", "https://")):
            raise BadRequest("endpoint", "must be an http(s) URL")
        parts = req.repo.split("/")
        if len(parts) != 2 or not all(parts) or any(p in (".", "..") for p in parts):
            raise BadRequest("repo", f'must be "owner/name", got "{req.repo}"')
        if req.files is not None:
            for i, name in enumerate(req.files):
                if not isinstance(name, str) or not name:
                    raise BadRequest(f"files[{i}]", "must be a file path")
                if name.lower().endswith(PICKLED):
                    raise BadRequest(f"files[{i}]", f"{name} is a pickled weights file; only safetensors are downloaded")
        return req


@dataclass
class RemoteFile:
    path: str
    size: int
    sha256: str | None  # LFS files
    git_oid: str | None  # every file: the git blob id


@dataclass
class Progress:
    """What a heartbeat carries: enough to resume (file + offset) and to show (bytes of total)."""

    sha: str = ""
    file: str = ""
    offset: int = 0
    done: list[str] = field(default_factory=list)
    bytes_done: int = 0
    bytes_total: int = 0

    def as_dict(self) -> dict:
        return {"sha": self.sha, "file": self.file, "offset": self.offset, "done": self.done,
                "bytesDone": self.bytes_done, "bytesTotal": self.bytes_total}

    @staticmethod
    def from_dict(raw: dict | None) -> "Progress":
        if not raw:
            return Progress()
        return Progress(sha=raw.get("sha", ""), file=raw.get("file", ""), offset=int(raw.get("offset", 0)),
                        done=list(raw.get("done", [])), bytes_done=int(raw.get("bytesDone", 0)),
                        bytes_total=int(raw.get("bytesTotal", 0)))


def safe_target(root: Path, rel: str) -> Path:
    """root/rel, refusing absolute paths, `..` and anything else that resolves outside root."""
    pure = PurePosixPath(rel)
    if pure.is_absolute() or ".." in pure.parts or "\\" in rel or rel.startswith("~"):
        raise DownloadRefused("PathEscape", f'refused "{rel}": the path would leave the models directory')
    target = (root / pure).resolve()
    if target != root.resolve() and root.resolve() not in target.parents:
        raise DownloadRefused("PathEscape", f'refused "{rel}": the path would leave the models directory')
    return target


def git_blob_oid(path: Path) -> str:
    h = hashlib.sha1()
    h.update(f"blob {path.stat().st_size}\0".encode())
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def file_sha256(path: Path, limit: int | None = None) -> "hashlib._Hash":
    h = hashlib.sha256()
    remaining = limit
    with open(path, "rb") as f:
        while remaining is None or remaining > 0:
            chunk = f.read(CHUNK if remaining is None else min(CHUNK, remaining))
            if not chunk:
                break
            h.update(chunk)
            if remaining is not None:
                remaining -= len(chunk)
    return h


class HubClient:
    def __init__(self, endpoint: str, token: str | None):
        import httpx

        headers = {"user-agent": "mms-gpu-worker"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        self.http = httpx.Client(base_url=endpoint, headers=headers, timeout=httpx.Timeout(30.0, read=60.0), follow_redirects=True)

    def close(self) -> None:
        self.http.close()

    def resolve_revision(self, repo: str, revision: str) -> str:
        r = self.http.get(f"/api/models/{repo}/revision/{urllib.parse.quote(revision, safe='')}")
        if r.status_code in (401, 403):
            raise DownloadRefused("Gated", f"{repo}: access denied ({r.status_code}); the repository may be gated or private (set tokenEnv)")
        if r.status_code == 404:
            raise DownloadRefused("NotFound", f"{repo}@{revision}: not found on the hub")
        r.raise_for_status()
        sha = r.json().get("sha")
        if not isinstance(sha, str) or len(sha) != 40:
            raise DownloadRefused("BadListing", f"{repo}@{revision}: the hub returned no commit sha")
        return sha

    def list_files(self, repo: str, sha: str) -> list[RemoteFile]:
        files: list[RemoteFile] = []
        url: str | None = f"/api/models/{repo}/tree/{sha}?recursive=true"
        while url:
            r = self.http.get(url)
            r.raise_for_status()
            for entry in r.json():
                if entry.get("type") != "file":
                    continue
                lfs = entry.get("lfs") or None
                files.append(RemoteFile(path=entry["path"], size=int((lfs or entry)["size"]), sha256=lfs["oid"] if lfs else None, git_oid=entry.get("oid")))
            url = r.links.get("next", {}).get("url")
        return files

    def stream(self, repo: str, sha: str, path: str, offset: int):
        quoted = urllib.parse.quote(path)
        headers = {"range": f"bytes={offset}-"} if offset > 0 else {}
        return self.http.stream("GET", f"/{repo}/resolve/{sha}/{quoted}", headers=headers)


def select_files(listing: list[RemoteFile], wanted: list[str] | None) -> list[RemoteFile]:
    if wanted is not None:
        by_path = {f.path: f for f in listing}
        missing = [w for w in wanted if w not in by_path]
        if missing:
            raise DownloadRefused("NotFound", f"not in the repository at this commit: {', '.join(missing)}")
        chosen = [by_path[w] for w in wanted]
    else:
        weights = [f for f in listing if f.path.endswith(".safetensors")]
        pickled = [f for f in listing if f.path.lower().endswith(PICKLED)]
        if not weights:
            kinds = ", ".join(sorted({PurePosixPath(f.path).suffix for f in pickled})) or "none"
            raise DownloadRefused("NoSafetensors", f"no safetensors weights in the repository (pickled weights are refused; found: {kinds})")
        chosen = [f for f in listing if f.path.endswith((".safetensors", ".safetensors.index.json")) or PurePosixPath(f.path).name in WANTED]
    return chosen


def download(req: DownloadRequest, resume: Progress, progress: Callable[[dict], None], should_stop: Callable[[], bool]) -> dict:
    token = os.environ.get(req.token_env) if req.token_env else None
    hub = HubClient(req.endpoint, token)
    started = time.monotonic()
    try:
        sha = resume.sha or hub.resolve_revision(req.repo, req.revision)
        files = select_files(hub.list_files(req.repo, sha), req.files)
        root = Path(req.models_dir)
        root.mkdir(parents=True, exist_ok=True)
        repo_dir = safe_target(root, f"{req.repo}/{sha}")
        targets = [(f, safe_target(repo_dir, f.path)) for f in files]

        total = sum(f.size for f in files)
        state = Progress(sha=sha, bytes_total=total)
        needed = sum(f.size - (t.stat().st_size if t.exists() else 0) for f, t in targets)
        free = shutil.disk_usage(root).free
        if needed + req.min_free_bytes > free:
            raise DownloadRefused("DiskFull", f"{needed} bytes to download (+{req.min_free_bytes} to keep free) but only {free} free in {root}")

        last_beat = 0.0
        verified: list[dict] = []
        resumed_at: dict[str, int] = {}
        for remote, target in targets:
            state.file, state.offset = remote.path, 0
            if target.exists() and verify(remote, target):
                state.bytes_done += remote.size
                state.done.append(remote.path)
                verified.append({"path": remote.path, "bytes": remote.size, "sha256": remote.sha256})
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".partial")
            offset = 0
            if resume.file == remote.path and partial.exists():
                # Never trust more than the heartbeat vouched for: the tail past it may be torn.
                offset = min(resume.offset, partial.stat().st_size)
            with open(partial, "ab" if offset else "wb") as f:
                f.truncate(offset)
            hasher = file_sha256(partial, offset)
            if offset:
                resumed_at[remote.path] = offset
            with hub.stream(req.repo, sha, remote.path, offset) as r:
                if r.status_code == 200 and offset:
                    # The server ignored the Range: start the file over.
                    offset, hasher = 0, hashlib.sha256()
                    open(partial, "wb").close()
                elif r.status_code not in (200, 206):
                    r.read()
                    raise RuntimeError(f"{remote.path}: HTTP {r.status_code} from the hub")
                with open(partial, "ab") as f:
                    for chunk in r.iter_bytes(CHUNK):
                        f.write(chunk)
                        hasher.update(chunk)
                        offset += len(chunk)
                        now = time.monotonic()
                        if now - last_beat >= 0.2:
                            f.flush()
                            os.fsync(f.fileno())
                            state.offset = offset
                            progress({**state.as_dict(), "bytesDone": state.bytes_done + offset})
                            last_beat = now
                        if should_stop():
                            f.flush()
                            state.offset = offset
                            progress({**state.as_dict(), "bytesDone": state.bytes_done + offset})
                            raise InterruptedError(f"stopped at {remote.path} byte {offset}")
            if offset != remote.size:
                raise RuntimeError(f"{remote.path}: got {offset} bytes, expected {remote.size}")
            if remote.sha256 and hasher.hexdigest() != remote.sha256:
                partial.unlink()
                raise DownloadRefused("ChecksumMismatch", f"{remote.path}: sha256 {hasher.hexdigest()} does not match the LFS oid {remote.sha256}; the file was deleted")
            if not remote.sha256 and remote.git_oid and git_blob_oid(partial) != remote.git_oid:
                partial.unlink()
                raise DownloadRefused("ChecksumMismatch", f"{remote.path}: git blob id does not match {remote.git_oid}; the file was deleted")
            os.replace(partial, target)
            state.bytes_done += remote.size
            state.done.append(remote.path)
            verified.append({"path": remote.path, "bytes": remote.size, "sha256": remote.sha256 or hashlib.sha256(target.read_bytes()).hexdigest()})
        state.file, state.offset = "", 0
        progress(state.as_dict())
        manifest = {"repo": req.repo, "revision": req.revision, "sha": sha, "files": verified}
        (repo_dir / "mms-download.json").write_text(json.dumps(manifest, indent=2))
        return {**manifest, "path": str(repo_dir), "bytes": total, "resumedAt": resumed_at, "seconds": round(time.monotonic() - started, 3)}
    finally:
        hub.close()


def verify(remote: RemoteFile, target: Path) -> bool:
    """A file already on disk counts only if its size and checksum still match (re-verified on every attempt)."""
    if target.stat().st_size != remote.size:
        return False
    if remote.sha256:
        return file_sha256(target).hexdigest() == remote.sha256
    if remote.git_oid:
        return git_blob_oid(target) == remote.git_oid
    return True
