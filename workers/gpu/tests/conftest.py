"""Shared fixtures: a persona data set and a tiny Llama built from a config (nothing from a hub)."""

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mms_gpu.persona import persona_rows, write_jsonl  # noqa: E402
from mms_gpu.tiny_model import build_tiny_llama_cached  # noqa: E402
from mms_gpu.training import environment_defaults  # noqa: E402

environment_defaults()
os.environ.setdefault("OMP_NUM_THREADS", "2")


@pytest.fixture(scope="session")
def persona_data(tmp_path_factory):
    d = tmp_path_factory.mktemp("persona")
    train, val = d / "train.jsonl", d / "validation.jsonl"
    write_jsonl(str(train), persona_rows(320, seed=1))
    write_jsonl(str(val), persona_rows(48, seed=2))
    return {"train": str(train), "validation": str(val)}


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, persona_data):
    # Built once per input under .tools/tiny-llama (the jest GPU suites share the entry).
    cache = Path(__file__).resolve().parents[3] / ".tools" / "tiny-llama"
    return build_tiny_llama_cached(tmp_path_factory.mktemp("tiny") / "base", persona_data["train"], cache)
