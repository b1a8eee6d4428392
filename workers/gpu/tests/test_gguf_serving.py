"""GGUF conversion with llama.cpp's own converters, quantisation with its quantize binding, and a
real llama.cpp OpenAI-compatible server (chat and SSE) whose LoRA adapter changes the answers."""

import json
import socket
import urllib.request
from pathlib import Path

import pytest

from mms_gpu import gguf, serving
from mms_gpu.persona import SYSTEM, persona_score
from mms_gpu.training import TrainRequest, train


@pytest.fixture(scope="module")
def trained(tiny_model, persona_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("trained")
    req = TrainRequest.parse({"baseModelPath": tiny_model["path"], "trainFile": persona_data["train"], "validationFile": persona_data["validation"],
                              "outputDir": str(out), "maxSteps": 200, "evalSteps": 100, "saveSteps": 100, "learningRate": 5e-3})
    return train(req)


@pytest.fixture(scope="module")
def converted(tiny_model, trained, tmp_path_factory):
    out = tmp_path_factory.mktemp("gguf")
    base = gguf.convert_model(tiny_model["path"], str(out / "base-f32.gguf"))
    lora = gguf.convert_lora(trained["adapterPath"], tiny_model["path"], str(out / "adapter-f32.gguf"))
    return {"dir": out, "base": base, "lora": lora}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url: str, body: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def test_conversion_writes_gguf_files(converted):
    for key in ("base", "lora"):
        path = Path(converted[key]["path"])
        assert path.read_bytes()[:4] == b"GGUF"
    assert converted["lora"]["bytes"] < converted["base"]["bytes"] / 3


def test_a_foreign_pre_tokenizer_still_fails(tmp_path, tiny_model):
    import shutil

    copy = tmp_path / "m"
    shutil.copytree(tiny_model["path"], copy)
    tok = json.loads((copy / "tokenizer.json").read_text())
    tok["pre_tokenizer"] = {"type": "Whitespace"}
    (copy / "tokenizer.json").write_text(json.dumps(tok))
    with pytest.raises(RuntimeError, match="pre-tokenizer was not recognized"):
        gguf.convert_model(str(copy), str(tmp_path / "x.gguf"))


@pytest.mark.parametrize("quant", ["q8_0", "q4_K_M"])
def test_quantisation_is_measured_against_the_unquantised_copy(converted, persona_data, tiny_model, quant):
    q = gguf.quantize(converted["base"]["path"], str(converted["dir"] / f"base-{quant}.gguf"), quant)
    assert q["bytes"] < converted["base"]["bytes"]
    texts = gguf.chat_texts_from_jsonl(persona_data["validation"], 16, tiny_model["path"])
    reference = gguf.evaluate_gguf(converted["base"]["path"], texts, converted["lora"]["path"])
    candidate = gguf.evaluate_gguf(q["path"], texts, converted["lora"]["path"])
    quality = gguf.compare_quality(reference, candidate)
    assert quality["tokens"] > 100
    assert 0.8 < quality["perplexityRatio"] < (1.1 if quant == "q8_0" else 1.5)
    assert quality["top1Agreement"] > (0.9 if quant == "q8_0" else 0.6)


def test_llama_cpp_server_serves_chat_and_sse_and_the_adapter_changes_the_answer(converted, tmp_path):
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "What do you think of the storm?"}]
    answers = {}
    for name, lora in (("base", None), ("tuned", converted["lora"]["path"])):
        port = free_port()
        server = serving.start_server({"modelPath": converted["base"]["path"], "loraPath": lora, "port": port, "alias": f"tiny-{name}", "stateDir": str(tmp_path)})
        try:
            again = serving.start_server({"modelPath": converted["base"]["path"], "loraPath": lora, "port": port, "alias": f"tiny-{name}", "stateDir": str(tmp_path)})
            assert again["reused"] is True and again["pid"] == server["pid"]
            reply = post(f"{server['baseUrl']}/chat/completions", {"model": f"tiny-{name}", "messages": messages, "max_tokens": 24, "temperature": 0, "seed": 1})
            answers[name] = reply["choices"][0]["message"]["content"]
            req = urllib.request.Request(f"{server['baseUrl']}/chat/completions", data=json.dumps({"model": f"tiny-{name}", "messages": messages, "max_tokens": 8, "temperature": 0, "stream": True}).encode(), headers={"content-type": "application/json"})
            with urllib.request.urlopen(req, timeout=60) as r:
                events = [line for line in r.read().decode().splitlines() if line.startswith("data: ")]
            assert events[-1] == "data: [DONE]"
            assert len(events) >= 3
        finally:
            serving.stop_server(str(tmp_path), port)
    assert answers["tuned"] != answers["base"]
    assert persona_score(answers["tuned"]) > persona_score(answers["base"])
