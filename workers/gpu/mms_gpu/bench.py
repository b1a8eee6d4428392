"""The GPU side of `npm run bench:pipeline`: each phase a use-case copy goes through, on the tiny
model, timed with the same functions the activities run (the TypeScript bench serves the model from
a fake Hub and prints the table)."""

from __future__ import annotations

import json
import socket
import statistics
import time
import urllib.request
from pathlib import Path

from . import gguf, serving
from .download import DownloadRequest, Progress, download
from .persona import SYSTEM, persona_rows, persona_score, write_jsonl
from .training import TrainRequest, train


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _chat(base_url: str, model: str, stream: bool = False) -> tuple[str, float]:
    body = {"model": model, "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "Tell me about the storm."}], "max_tokens": 24, "temperature": 0, "stream": stream}
    req = urllib.request.Request(f"{base_url}/chat/completions", data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    started = time.monotonic()
    with urllib.request.urlopen(req, timeout=60) as r:
        raw = r.read().decode()
    elapsed = (time.monotonic() - started) * 1000
    if stream:
        return raw, elapsed
    return json.loads(raw)["choices"][0]["message"]["content"], elapsed


def run_bench(endpoint: str, repo: str, work_dir: str, steps: int, threads: int | None = None) -> dict:
    work = Path(work_dir)
    phases: dict[str, float] = {}
    facts: dict = {}

    t = time.monotonic()
    got = download(DownloadRequest.parse({"endpoint": endpoint, "repo": repo, "modelsDir": str(work / "models")}), Progress(), lambda _: None, lambda: False)
    phases["download (pinned, sha256-verified)"] = time.monotonic() - t
    facts["downloadBytes"] = got["bytes"]
    base = got["path"]

    t = time.monotonic()
    write_jsonl(str(work / "train.jsonl"), persona_rows(400, seed=1))
    write_jsonl(str(work / "validation.jsonl"), persona_rows(48, seed=2))
    phases["dataset (chat JSONL)"] = time.monotonic() - t

    t = time.monotonic()
    result = train(TrainRequest.parse({"baseModelPath": base, "trainFile": str(work / "train.jsonl"), "validationFile": str(work / "validation.jsonl"),
                                       "outputDir": str(work / "training"), "maxSteps": steps, "evalSteps": max(steps // 6, 1), "saveSteps": max(steps // 3, 1), "learningRate": 5e-3, **({"threads": threads} if threads else {})}))
    phases[f"LoRA training ({steps} steps)"] = time.monotonic() - t
    facts.update(secondsPerStep=result["secondsPerStep"], evalLossCurve=result["evalLossCurve"], adapterBytes=result["adapterBytes"])

    g = work / "gguf"
    conv = gguf.convert_model(base, str(g / "base-f32.gguf"))
    phases["GGUF conversion of the base"] = conv["seconds"]
    lora = gguf.convert_lora(result["adapterPath"], base, str(g / "adapter-f32.gguf"))
    phases["GGUF conversion of the adapter"] = lora["seconds"]
    facts.update(baseGgufBytes=conv["bytes"], adapterGgufBytes=lora["bytes"])
    texts = gguf.chat_texts_from_jsonl(str(work / "validation.jsonl"), 16, base)
    t = time.monotonic()
    reference = gguf.evaluate_gguf(conv["path"], texts, lora["path"])
    phases["quality reference (f32 perplexity)"] = time.monotonic() - t
    facts["quantizations"] = {}
    for quant in ("q8_0", "q4_K_M"):
        q = gguf.quantize(conv["path"], str(g / f"base-{quant}.gguf"), quant)
        phases[f"quantise {quant}"] = q["seconds"]
        t = time.monotonic()
        quality = gguf.compare_quality(reference, gguf.evaluate_gguf(q["path"], texts, lora["path"]))
        phases[f"quality of {quant}"] = time.monotonic() - t
        facts["quantizations"][quant] = {"bytes": q["bytes"], **quality}

    port = _free_port()
    t = time.monotonic()
    server = serving.start_server({"modelPath": conv["path"], "loraPath": lora["path"], "port": port, "alias": "tiny-copy", "stateDir": str(work / "serving")})
    phases["llama.cpp server start (with adapter)"] = time.monotonic() - t
    try:
        answer, first = _chat(server["baseUrl"], "tiny-copy")
        phases["first chat"] = first / 1000
        latencies = [_chat(server["baseUrl"], "tiny-copy")[1] for _ in range(20)]
        facts.update(chatP50Ms=round(statistics.median(latencies), 1), chatMaxMs=round(max(latencies), 1), answer=answer, personaScore=persona_score(answer))
        _, sse_ms = _chat(server["baseUrl"], "tiny-copy", stream=True)
        facts["sseMs"] = round(sse_ms, 1)
    finally:
        serving.stop_server(str(work / "serving"), port)
    return {"phases": {k: round(v, 3) for k, v in phases.items()}, "facts": facts}
