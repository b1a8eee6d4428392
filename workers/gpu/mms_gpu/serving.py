"""A llama.cpp OpenAI-compatible server for a copy: `python -m llama_cpp.server --model base.gguf
--lora_path adapter.gguf` (through mms_gpu.llama_runtime), started detached on the serving node so it outlives the activity (and a
restart of the worker), recorded in a pid file per port. Starting the same model + adapter again on
the same port is a no-op; a different one replaces the running server.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from .validation import BadRequest, get


def _pid_file(state_dir: Path, port: int) -> Path:
    return state_dir / f"llama-server-{port}.json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _ready(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/models", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


def stop_server(state_dir: str, port: int) -> dict:
    pid_file = _pid_file(Path(state_dir), port)
    if not pid_file.is_file():
        return {"stopped": False}
    record = json.loads(pid_file.read_text())
    pid = int(record["pid"])
    if _alive(pid):
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(pid):
            os.killpg(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    return {"stopped": True, "pid": pid}


def start_server(raw: dict, ready_timeout: float = 300.0) -> dict:
    model = get(raw, "modelPath", str)
    lora = get(raw, "loraPath", str, default=None)
    host = get(raw, "host", str, default="127.0.0.1")
    port = get(raw, "port", int)
    alias = get(raw, "alias", str)
    n_ctx = get(raw, "contextLength", int, default=512)
    state_dir = Path(get(raw, "stateDir", str))
    for name, path in (("modelPath", model), ("loraPath", lora)):
        if path and not Path(path).is_file():
            raise BadRequest(name, f"{path} does not exist")
    base_url = f"http://{host}:{port}/v1"
    state_dir.mkdir(parents=True, exist_ok=True)
    pid_file = _pid_file(state_dir, port)
    wanted = {"model": model, "lora": lora, "alias": alias, "contextLength": n_ctx}
    if pid_file.is_file():
        record = json.loads(pid_file.read_text())
        if record.get("serves") == wanted and _alive(int(record["pid"])) and _ready(base_url):
            return {**record, "reused": True}
        stop_server(str(state_dir), port)

    # llama_cpp.server behind mms_gpu.llama_runtime (extra buffer types off: see that module).
    args = [sys.executable, "-m", "mms_gpu.llama_runtime", "--model", model, "--host", host, "--port", str(port),
            "--model_alias", alias, "--n_ctx", str(n_ctx), "--verbose", "false"]
    if lora:
        args += ["--lora_path", lora]
    log = open(state_dir / f"llama-server-{port}.log", "ab")
    started = time.monotonic()
    # Its own session: the server must outlive this activity and the worker process that started it.
    package_root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p)}
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, env=env)
    while not _ready(base_url):
        if proc.poll() is not None:
            tail = (state_dir / f"llama-server-{port}.log").read_text(errors="replace").strip().splitlines()[-8:]
            raise RuntimeError(f"llama.cpp server exited with {proc.returncode}:\n" + "\n".join(tail))
        if time.monotonic() - started > ready_timeout:
            os.killpg(proc.pid, signal.SIGKILL)
            raise TimeoutError(f"llama.cpp server not ready on {base_url} after {ready_timeout} s")
        time.sleep(0.1)
    record = {"pid": proc.pid, "baseUrl": base_url, "serves": wanted, "startSeconds": round(time.monotonic() - started, 3)}
    pid_file.write_text(json.dumps(record))
    return {**record, "reused": False}
