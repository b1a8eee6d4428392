"""The activities of task queue mms-gpu, called by name from the TypeScript workflows
(activities/gpu-activities.ts declares their types). Each takes and returns one JSON object.

They are synchronous (torch, llama.cpp and file I/O block) and run on the worker's thread pool. The
SDK delivers a cancellation into that thread as an exception; saves are shielded from it so a
checkpoint on disk is always complete.
"""

from __future__ import annotations

import contextlib
import contextvars

from temporalio import activity
from temporalio.exceptions import ApplicationError

from .validation import BadRequest


@contextlib.contextmanager
def bad_request_is_final():
    """A request that names a wrong field will be wrong on every retry: fail the activity for good."""
    try:
        yield
    except BadRequest as err:
        raise ApplicationError(str(err), {"field": err.field}, type="BadRequest", non_retryable=True) from None


def _heartbeat(details: dict) -> None:
    activity.heartbeat(details)


def _heartbeat_from_any_thread():
    """activity.heartbeat bound to this activity's context, callable from a background thread too."""
    context = contextvars.copy_context()
    return lambda details: context.copy().run(activity.heartbeat, details)


def _keepalive_seconds() -> float | None:
    """A quarter of the heartbeat timeout (the SDK sends at most one per 80 % of it anyway)."""
    timeout = activity.info().heartbeat_timeout
    return max(timeout.total_seconds() / 4, 0.5) if timeout else None


def _should_stop() -> bool:
    return activity.is_cancelled() or activity.is_worker_shutdown()


@activity.defn(name="gpuTrainAdapter")
def train_adapter(request: dict) -> dict:
    """LoRA (or full) SFT of a use-case copy; resumes from the last complete checkpoint on disk."""
    from .training import TrainRequest, train

    with bad_request_is_final():
        req = TrainRequest.parse(request)
    previous = activity.info().heartbeat_details
    if previous:
        activity.logger.info("resuming training after attempt %s; last heartbeat %s", activity.info().attempt - 1, previous[0])
    result = train(req, progress=_heartbeat_from_any_thread(), should_stop=_should_stop, shield=activity.shield_thread_cancel_exception, keepalive_seconds=_keepalive_seconds())
    if result["stopped"]:
        # Cancelled or the worker is shutting down: the checkpoint is saved; a retry resumes from it.
        raise ApplicationError(f"training stopped at step {result['step']} (checkpoint saved)", result, type="TrainingStopped")
    return result


@activity.defn(name="gpuBuildTinyBaseModel")
def build_tiny_base_model(request: dict) -> dict:
    """A ~1 M-parameter Llama with a BPE tokenizer trained on the given chat JSONL (tests, bench, demos)."""
    import json

    from .tiny_model import TinyLlamaSpec, build_tiny_llama, chat_texts
    from .validation import get

    with bad_request_is_final():
        out_dir = get(request, "outputDir", str)
        data_file = get(request, "dataFile", str)
        spec = TinyLlamaSpec(**{k: v for k, v in get(request, "spec", dict, default={}).items()})
    with open(data_file, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return build_tiny_llama(out_dir, chat_texts(rows), spec)


@activity.defn(name="gpuDownloadModel")
def download_model(request: dict) -> dict:
    """Pinned, verified, resumable download of a model repository's safetensors checkpoint."""
    from .download import DownloadRefused, DownloadRequest, Progress, download

    with bad_request_is_final():
        req = DownloadRequest.parse(request)
    details = activity.info().heartbeat_details
    resume = Progress.from_dict(details[0] if details else None)
    try:
        return download(req, resume, progress=_heartbeat, should_stop=_should_stop)
    except DownloadRefused as err:
        raise ApplicationError(str(err), type=err.kind, non_retryable=True) from None


@activity.defn(name="gpuPrepareServingCopy")
def prepare_serving_copy(request: dict) -> dict:
    """GGUF of the base (once per base, reused by every copy), of the copy's LoRA adapter, and of the
    copy's configured quantisation, with the quantised copy's quality measured against the
    unquantised one on held-out chats."""
    from pathlib import Path

    from . import gguf
    from .validation import get

    with bad_request_is_final():
        base_dir = get(request, "baseModelPath", str)
        adapter_dir = get(request, "adapterPath", str, default=None)
        out_dir = Path(get(request, "outputDir", str))
        quant = get(request, "quantization", str, default=None)
        validation_file = get(request, "validationFile", str, default=None)
        samples = get(request, "qualitySamples", int, default=16)
        if quant is not None and quant not in gguf.QUANT_TYPES:
            raise BadRequest("quantization", f'unknown quantisation "{quant}" (known: {", ".join(gguf.QUANT_TYPES)})')
    out_dir.mkdir(parents=True, exist_ok=True)
    activity.heartbeat({"phase": "converting base"})
    base_file = out_dir / "base-f32.gguf"
    base = {"path": str(base_file), "bytes": base_file.stat().st_size, "reused": True} if base_file.is_file() else gguf.convert_model(base_dir, str(base_file))
    result: dict = {"base": base}
    lora_file = None
    if adapter_dir:
        activity.heartbeat({"phase": "converting adapter"})
        lora = gguf.convert_lora(adapter_dir, base_dir, str(out_dir / "adapter-f32.gguf"))
        result["adapter"] = lora
        lora_file = lora["path"]
    served = base["path"]
    if quant and quant != "f32":
        activity.heartbeat({"phase": f"quantising {quant}"})
        q = gguf.quantize(base["path"], str(out_dir / f"base-{quant}.gguf"), quant)
        served = q["path"]
        if validation_file:
            activity.heartbeat({"phase": "measuring quality"})
            texts = gguf.chat_texts_from_jsonl(validation_file, samples, base_dir)
            q["quality"] = gguf.compare_quality(gguf.evaluate_gguf(base["path"], texts, lora_file), gguf.evaluate_gguf(q["path"], texts, lora_file))
        result["quantized"] = q
    result["servedModelPath"] = served
    result["servedLoraPath"] = lora_file
    return result


@activity.defn(name="gpuStartLlamaServer")
def start_llama_server(request: dict) -> dict:
    """A llama.cpp OpenAI-compatible server for a copy (base GGUF + adapter), detached; idempotent."""
    from . import serving

    with bad_request_is_final():
        return serving.start_server(request)


@activity.defn(name="gpuStopLlamaServer")
def stop_llama_server(request: dict) -> dict:
    from . import serving
    from .validation import get

    with bad_request_is_final():
        return serving.stop_server(get(request, "stateDir", str), get(request, "port", int))


ALL = [train_adapter, build_tiny_base_model, download_model, prepare_serving_copy, start_llama_server, stop_llama_server]
