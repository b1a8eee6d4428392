"""GGUF for llama.cpp serving: conversion of a Hugging Face checkpoint and of a PEFT LoRA adapter with
llama.cpp's own converters (vendored in the llama-cpp-python sdist, run with their bundled gguf-py),
quantisation with the `llama_model_quantize` binding, and a measured quality comparison of the
quantised copy against the unquantised one (perplexity on held-out chats, top-1 agreement).
"""

from __future__ import annotations

import ctypes
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

from .validation import BadRequest

# Runs a converter script with one change: a byte-level BPE tokenizer that llama.cpp does not know by
# hash (ours is trained on the game's own data) is declared "gpt-2", the pre-tokenizer it really uses
# (GPT-2's split regex); any other unknown tokenizer still fails as upstream does.
_CONVERTER = r"""
import json, runpy, sys
from pathlib import Path
root, script, model_dir = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, root)
sys.path.insert(1, root + "/gguf-py")
import conversion.base as base
upstream = base.TextModel.get_vocab_base_pre
def get_vocab_base_pre(self, tokenizer):
    try:
        return upstream(self, tokenizer)
    except NotImplementedError:
        tok = Path(model_dir) / "tokenizer.json"
        pre = json.loads(tok.read_text()).get("pre_tokenizer") if tok.is_file() else None
        if pre and pre.get("type") == "ByteLevel" and pre.get("use_regex", True):
            return "gpt-2"
        raise
base.TextModel.get_vocab_base_pre = get_vocab_base_pre
sys.argv = [script] + sys.argv[4:]
runpy.run_path(root + "/" + script, run_name="__main__")
"""

QUANT_TYPES = {
    "f16": "LLAMA_FTYPE_MOSTLY_F16",
    "q8_0": "LLAMA_FTYPE_MOSTLY_Q8_0",
    "q6_K": "LLAMA_FTYPE_MOSTLY_Q6_K",
    "q5_K_M": "LLAMA_FTYPE_MOSTLY_Q5_K_M",
    "q4_K_M": "LLAMA_FTYPE_MOSTLY_Q4_K_M",
    "q4_0": "LLAMA_FTYPE_MOSTLY_Q4_0",
}


def llama_cpp_dir() -> Path:
    """.tools/llama.cpp (scripts/setup-gpu.sh links it), or MMS_LLAMA_CPP_DIR."""
    configured = os.environ.get("MMS_LLAMA_CPP_DIR")
    root = Path(configured) if configured else Path(__file__).resolve().parents[3] / ".tools" / "llama.cpp"
    if not (root / "convert_hf_to_gguf.py").is_file():
        raise FileNotFoundError(f"llama.cpp converters not found in {root}: run `bash scripts/setup-gpu.sh`")
    return root


def _convert(script: str, model_dir: str, args: list[str]) -> float:
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", _CONVERTER, str(llama_cpp_dir()), script, model_dir, *args],
        capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-12:])
        raise RuntimeError(f"{script} failed (exit {proc.returncode}):\n{tail}")
    return time.monotonic() - started


def convert_model(model_dir: str, out_file: str, out_type: str = "f32") -> dict:
    if not (Path(model_dir) / "config.json").is_file():
        raise BadRequest("modelPath", f"{model_dir} has no config.json")
    Path(out_file).parent.mkdir(parents=True, exist_ok=True)
    seconds = _convert("convert_hf_to_gguf.py", model_dir, [model_dir, "--outfile", out_file, "--outtype", out_type])
    return {"path": out_file, "bytes": Path(out_file).stat().st_size, "outType": out_type, "seconds": round(seconds, 3)}


def convert_lora(adapter_dir: str, base_dir: str, out_file: str, out_type: str = "f32") -> dict:
    if not (Path(adapter_dir) / "adapter_config.json").is_file():
        raise BadRequest("adapterPath", f"{adapter_dir} has no adapter_config.json (not a PEFT adapter)")
    Path(out_file).parent.mkdir(parents=True, exist_ok=True)
    seconds = _convert("convert_lora_to_gguf.py", base_dir, [adapter_dir, "--base", base_dir, "--outfile", out_file, "--outtype", out_type])
    return {"path": out_file, "bytes": Path(out_file).stat().st_size, "outType": out_type, "seconds": round(seconds, 3)}


def quantize(in_file: str, out_file: str, quant: str, threads: int = 0) -> dict:
    import llama_cpp

    if quant not in QUANT_TYPES:
        raise BadRequest("quantization", f'unknown quantisation "{quant}" (known: {", ".join(QUANT_TYPES)})')
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, QUANT_TYPES[quant])
    params.nthread = threads
    started = time.monotonic()
    rc = llama_cpp.llama_model_quantize(in_file.encode(), out_file.encode(), ctypes.byref(params))
    if rc != 0:
        raise RuntimeError(f"llama_model_quantize({quant}) failed with {rc}")
    return {"path": out_file, "quantization": quant, "bytes": Path(out_file).stat().st_size, "seconds": round(time.monotonic() - started, 3)}


def evaluate_gguf(model_file: str, texts: list[str], lora_file: str | None = None, n_ctx: int = 512) -> dict:
    """Mean negative log-likelihood per token (and perplexity) on texts, plus each position's argmax."""
    import numpy as np
    from llama_cpp import Llama

    from . import llama_runtime

    llama_runtime.apply()
    kwargs = {"lora_path": lora_file} if lora_file else {}
    llm = Llama(model_path=model_file, n_ctx=n_ctx, logits_all=True, verbose=False, seed=0, **kwargs)
    total_nll, count, argmax = 0.0, 0, []
    try:
        for text in texts:
            tokens = llm.tokenize(text.encode(), add_bos=False, special=True)[:n_ctx]
            if len(tokens) < 2:
                continue
            llm.reset()
            llm.eval(tokens)
            logits = np.asarray(llm.scores[: len(tokens) - 1], dtype=np.float64)
            logits -= logits.max(axis=1, keepdims=True)
            logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
            targets = np.asarray(tokens[1:])
            total_nll -= float(logp[np.arange(len(targets)), targets].sum())
            count += len(targets)
            argmax.extend(int(i) for i in logits.argmax(axis=1))
    finally:
        llm.close()
    nll = total_nll / max(count, 1)
    return {"tokens": count, "nll": nll, "perplexity": math.exp(nll), "argmax": argmax}


def compare_quality(reference: dict, candidate: dict) -> dict:
    """How much quantisation cost: perplexity ratio (1.0 = none) and top-1 agreement with the reference."""
    agree = sum(1 for a, b in zip(reference["argmax"], candidate["argmax"]) if a == b)
    n = min(len(reference["argmax"]), len(candidate["argmax"]))
    return {
        "referencePerplexity": round(reference["perplexity"], 4),
        "perplexity": round(candidate["perplexity"], 4),
        "perplexityRatio": round(candidate["perplexity"] / reference["perplexity"], 4),
        "top1Agreement": round(agree / n, 4) if n else None,
        "tokens": n,
    }


def chat_texts_from_jsonl(path: str, limit: int, tokenizer_dir: str) -> list[str]:
    """Held-out chats rendered with the model's own chat template, for the quality measurement."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    texts = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            texts.append(tokenizer.apply_chat_template(json.loads(line)["messages"], tokenize=False))
            if len(texts) >= limit:
                break
    return texts
