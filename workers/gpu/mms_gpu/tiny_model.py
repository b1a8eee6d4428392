"""A tiny Llama-architecture model built from a config, with a byte-level BPE tokenizer trained on
the caller's own texts.

Nothing can be downloaded from a model hub here, so tests, the pipeline benchmark and local
development build their base model with this instead: it has the shapes, files and tokenizer of a
real Hugging Face Llama checkpoint (config.json, model.safetensors, tokenizer.json with a chat
template), so everything downstream (LoRA training, GGUF conversion, llama.cpp serving, the download
manager) runs the same code it runs on a real model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, asdict
from pathlib import Path
from typing import Iterable

# ChatML: the special tokens are single tokens of the vocabulary, and llama.cpp's jinja renderer
# reads the template from the GGUF metadata, so served chats format exactly as training did.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|pad|>"]


@dataclass(frozen=True)
class TinyLlamaSpec:
    """About 1 M parameters at the defaults (vocab 1024, hidden 128, 4 layers)."""

    vocab_size: int = 1024
    hidden_size: int = 128
    intermediate_size: int = 344
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    max_position_embeddings: int = 512
    seed: int = 0
    # The standard deviation of the output layer (lm_head). Transformers initialises it at 0.02, like
    # every other matrix: after the final RMSNorm the hidden state has norm sqrt(hidden_size), so no
    # logit can exceed 0.02 * hidden_size = 2.6 and the next-token distribution stays almost uniform
    # (entropy 6.24 nats of a possible 6.28). A LoRA on the attention projections cannot change that:
    # trained 600 steps on the persona its held-out loss stalled at 4.49, and its greedy answers were
    # punctuation ("! The.! The.,,! seas the."), 0 of 8 in the persona. A pretrained model's output
    # layer gives confident logits; at 0.15 (logits up to ~19) the same LoRA reaches 0.18 and answers
    # 8 of 8 prompts in the persona, while the untrained base still answers noise.
    output_std: float = 0.15


def train_tokenizer(texts: Iterable[str], vocab_size: int):
    """Byte-level BPE (GPT-2's pre-tokenizer, so llama.cpp tokenises it as "gpt-2") with ChatML tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(texts), trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|endoftext|>",
        eos_token="<|im_end|>",
        pad_token="<|pad|>",
        unk_token=None,
        model_max_length=512,
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def chat_texts(rows: Iterable[dict]) -> list[str]:
    """The plain text of chat rows ({"messages": [{role, content}]}) to train the tokenizer on."""
    out: list[str] = []
    for row in rows:
        for message in row["messages"]:
            out.append(message["content"])
    return out


def build_tiny_llama(out_dir: str | Path, texts: Iterable[str], spec: TinyLlamaSpec = TinyLlamaSpec()) -> dict:
    """Writes a randomly initialised Llama checkpoint + tokenizer to out_dir; returns a summary."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = train_tokenizer(texts, spec.vocab_size)
    torch.manual_seed(spec.seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=spec.hidden_size,
        intermediate_size=spec.intermediate_size,
        num_hidden_layers=spec.num_hidden_layers,
        num_attention_heads=spec.num_attention_heads,
        num_key_value_heads=spec.num_key_value_heads,
        max_position_embeddings=spec.max_position_embeddings,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
        rms_norm_eps=1e-5,
    )
    model = LlamaForCausalLM(config)
    with torch.no_grad():
        model.lm_head.weight.normal_(0.0, spec.output_std, generator=torch.Generator().manual_seed(spec.seed))
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    params = sum(p.numel() for p in model.parameters())
    summary = {"path": str(out), "parameters": params, "vocabSize": len(tokenizer), "spec": asdict(spec)}
    (out / "mms-tiny-model.json").write_text(json.dumps(summary, indent=2))
    return summary


def build_tiny_llama_cached(out_dir: str | Path, data_file: str | Path, cache_dir: str | Path, spec: TinyLlamaSpec = TinyLlamaSpec()) -> dict:
    """build_tiny_llama on the chat rows of `data_file`, built once per input and copied from
    `cache_dir` afterwards.

    The build (tokenizer training, torch and transformers imports) takes 20 s on a quiet 2-core
    machine and over a minute under load, and every GPU test file needs the same model: the key is
    everything the result depends on (the data, the spec, this file, the transformers and tokenizers
    versions), so a changed input builds a new entry instead of serving a stale one.
    """
    import hashlib
    import importlib.metadata
    import os
    import shutil
    import tempfile

    data = Path(data_file).read_bytes()
    key_source = b"\0".join(
        [
            data,
            json.dumps(asdict(spec), sort_keys=True).encode(),
            Path(__file__).read_bytes(),
            importlib.metadata.version("transformers").encode(),
            importlib.metadata.version("tokenizers").encode(),
        ]
    )
    key = hashlib.sha256(key_source).hexdigest()[:24]
    cache = Path(cache_dir)
    entry = cache / key
    if not (entry / "mms-tiny-model.json").is_file():
        cache.mkdir(parents=True, exist_ok=True)
        rows = [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]
        staging = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=cache))
        build_tiny_llama(staging, chat_texts(rows), spec)
        try:
            # Atomic: a concurrent builder of the same key loses the rename and uses the winner's copy.
            os.rename(staging, entry)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
    out = Path(out_dir)
    shutil.copytree(entry, out, dirs_exist_ok=True)
    summary = json.loads((out / "mms-tiny-model.json").read_text())
    summary.update(path=str(out), cacheKey=key)
    (out / "mms-tiny-model.json").write_text(json.dumps(summary, indent=2))
    return summary
