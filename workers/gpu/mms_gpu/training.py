"""Supervised fine-tuning of a use-case copy with TRL's SFTTrainer: LoRA by default, full fine-tuning
when configured. Progress (step, loss, eval loss, last checkpoint) goes to a callback the activity
turns into heartbeats; checkpoints go to disk, because Temporal throttles heartbeats and a killed
worker must resume from the last checkpoint rather than from step 0.

`train()` knows nothing about Temporal, so tests drive it directly as well as through the activity.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .validation import BadRequest, get, positive

CHECKPOINTS = "checkpoints"
ADAPTER = "adapter"
INITIAL_EVAL = "initial-eval.json"


@dataclass
class LoraSettings:
    rank: int = 8
    alpha: int = 16
    dropout: float = 0.0
    target_modules: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])


@dataclass
class TrainRequest:
    base_model_path: str
    train_file: str
    validation_file: str
    output_dir: str
    method: str = "lora"
    lora: LoraSettings = field(default_factory=LoraSettings)
    max_steps: int = 300
    learning_rate: float = 3e-3
    batch_size: int = 8
    eval_steps: int = 50
    save_steps: int = 50
    max_length: int = 256
    seed: int = 0
    threads: int | None = None

    @staticmethod
    def parse(raw: dict) -> "TrainRequest":
        lora_raw = get(raw, "lora", dict, default={})
        lora = LoraSettings(
            rank=int(positive(get(lora_raw, "rank", int, default=8, prefix="lora."), "lora.rank")),
            alpha=int(positive(get(lora_raw, "alpha", int, default=16, prefix="lora."), "lora.alpha")),
            dropout=float(get(lora_raw, "dropout", (int, float), default=0.0, prefix="lora.")),
            target_modules=get(lora_raw, "targetModules", list, default=["q_proj", "k_proj", "v_proj", "o_proj"], prefix="lora."),
        )
        if not lora.target_modules or not all(isinstance(m, str) and m for m in lora.target_modules):
            raise BadRequest("lora.targetModules", "must be a non-empty list of module names")
        if not 0 <= lora.dropout < 1:
            raise BadRequest("lora.dropout", f"must be in [0, 1), got {lora.dropout}")
        req = TrainRequest(
            base_model_path=get(raw, "baseModelPath", str),
            train_file=get(raw, "trainFile", str),
            validation_file=get(raw, "validationFile", str),
            output_dir=get(raw, "outputDir", str),
            method=get(raw, "method", str, default="lora"),
            lora=lora,
            max_steps=int(positive(get(raw, "maxSteps", int, default=300), "maxSteps")),
            learning_rate=float(positive(get(raw, "learningRate", (int, float), default=3e-3), "learningRate")),
            batch_size=int(positive(get(raw, "batchSize", int, default=8), "batchSize")),
            eval_steps=int(positive(get(raw, "evalSteps", int, default=50), "evalSteps")),
            save_steps=int(positive(get(raw, "saveSteps", int, default=50), "saveSteps")),
            max_length=int(positive(get(raw, "maxLength", int, default=256), "maxLength")),
            seed=get(raw, "seed", int, default=0),
            threads=get(raw, "threads", int, default=None),
        )
        if req.method not in ("lora", "full"):
            raise BadRequest("method", f'must be "lora" or "full", got "{req.method}"')
        for name, path in (("baseModelPath", req.base_model_path), ("trainFile", req.train_file), ("validationFile", req.validation_file)):
            if not Path(path).exists():
                raise BadRequest(name, f"{path} does not exist")
        if not (Path(req.base_model_path) / "config.json").is_file():
            raise BadRequest("baseModelPath", f"{req.base_model_path} has no config.json (not a Hugging Face checkpoint)")
        return req


def last_complete_checkpoint(checkpoint_dir: Path) -> Path | None:
    """The newest checkpoint that was completely written (a kill mid-save leaves a partial one)."""
    if not checkpoint_dir.is_dir():
        return None
    candidates = sorted(
        (p for p in checkpoint_dir.iterdir() if p.is_dir() and p.name.startswith("checkpoint-") and p.name[11:].isdigit()),
        key=lambda p: int(p.name[11:]),
        reverse=True,
    )
    for cand in candidates:
        if (cand / "trainer_state.json").is_file() and (cand / "optimizer.pt").is_file() and (cand / "scheduler.pt").is_file():
            return cand
    return None


Progress = Callable[[dict], None]


def preload_training_libraries() -> None:
    """Imports torch, transformers, peft, trl and datasets once, when the worker starts.

    An activity that imported them itself could be interrupted mid-import: Temporal delivers a
    cancellation (or a heartbeat timeout, which a loaded machine causes during a 30-second import)
    into the activity's thread as an exception, and torch then refuses every later import in that
    process ("torch can only be initialized once per process"), so every training attempt the worker
    ran afterwards failed.
    """
    import datasets  # noqa: F401
    import peft  # noqa: F401
    import torch  # noqa: F401
    import transformers  # noqa: F401
    import trl  # noqa: F401


@contextlib.contextmanager
def _keepalive(send: Callable[[], None], every: float | None):
    """Calls `send` every `every` seconds from a background thread while the block runs: loading the
    model, building the trainer and the first evaluation block for seconds (minutes under load)
    between two training steps' heartbeats."""
    if not every:
        yield
        return
    import threading

    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every):
            send()

    thread = threading.Thread(target=loop, name="train-keepalive", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def train(
    req: TrainRequest,
    progress: Progress = lambda _: None,
    should_stop: Callable[[], bool] = lambda: False,
    shield: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext,
    keepalive_seconds: float | None = None,
) -> dict:
    """Trains (or resumes training) and writes the adapter (or full model) to <outputDir>/adapter.

    `shield` wraps every checkpoint save: the activity passes Temporal's
    shield_thread_cancel_exception, so a cancellation never interrupts a half-written checkpoint.
    With `keepalive_seconds`, the latest progress is also reported that often from a background
    thread (so `progress` must be callable from any thread).
    """
    out = Path(req.output_dir)
    checkpoint_dir = out / CHECKPOINTS
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    resume_from = last_complete_checkpoint(checkpoint_dir)
    resumed_from_step = int(resume_from.name[11:]) if resume_from else 0
    state = {"phase": "loading", "step": resumed_from_step, "loss": None, "evalLoss": None, "lastCheckpointStep": resumed_from_step or None, "stopped": False}

    def snapshot() -> dict:
        return {**state, "maxSteps": req.max_steps, "resumedFromStep": resumed_from_step}

    with _keepalive(lambda: progress(snapshot()), keepalive_seconds):
        progress(snapshot())
        return _train(req, progress, should_stop, shield, out, checkpoint_dir, resume_from, resumed_from_step, state, snapshot)


def _train(req, progress, should_stop, shield, out, checkpoint_dir, resume_from, resumed_from_step, state, snapshot) -> dict:
    import torch
    from datasets import load_dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import SFTConfig, SFTTrainer

    if req.threads:
        torch.set_num_threads(req.threads)

    tokenizer = AutoTokenizer.from_pretrained(req.base_model_path)
    model = AutoModelForCausalLM.from_pretrained(req.base_model_path, dtype=torch.float32)
    data = load_dataset("json", data_files={"train": req.train_file, "validation": req.validation_file})

    config = SFTConfig(
        output_dir=str(checkpoint_dir),
        max_steps=req.max_steps,
        per_device_train_batch_size=req.batch_size,
        per_device_eval_batch_size=req.batch_size,
        learning_rate=req.learning_rate,
        lr_scheduler_type="cosine",
        warmup_steps=min(20, req.max_steps // 10),
        logging_steps=10,
        eval_strategy="steps",
        eval_steps=req.eval_steps,
        save_strategy="steps",
        save_steps=req.save_steps,
        save_total_limit=2,
        max_length=req.max_length,
        packing=False,
        seed=req.seed,
        data_seed=req.seed,
        report_to=[],
        disable_tqdm=True,
        dataloader_num_workers=0,
        # TRL turns activation checkpointing on by default: it saves GPU memory at the cost of a
        # second forward pass, which a small model (or a CPU) only pays for.
        gradient_checkpointing=False,
        use_cpu=not torch.cuda.is_available(),
    )
    peft_config = None
    if req.method == "lora":
        peft_config = LoraConfig(
            r=req.lora.rank,
            lora_alpha=req.lora.alpha,
            lora_dropout=req.lora.dropout,
            target_modules=req.lora.target_modules,
            task_type="CAUSAL_LM",
        )

    def report(phase: str) -> None:
        state["phase"] = phase
        progress(snapshot())

    class Heartbeats(TrainerCallback):
        def on_log(self, args, trainer_state, control, logs=None, **kwargs):
            logs = logs or {}
            state["step"] = trainer_state.global_step
            if "loss" in logs:
                state["loss"] = round(float(logs["loss"]), 4)
            if "eval_loss" in logs:
                state["evalLoss"] = round(float(logs["eval_loss"]), 4)
            report("training")

        def on_save(self, args, trainer_state, control, **kwargs):
            state["lastCheckpointStep"] = trainer_state.global_step
            report("checkpointed")

        def on_step_end(self, args, trainer_state, control, **kwargs):
            state["step"] = trainer_state.global_step
            report("training")
            if should_stop():
                # Save where we are, so a later attempt (or a retry after a worker shutdown) resumes here.
                state["stopped"] = True
                control.should_save = True
                control.should_training_stop = True

    class ShieldedSaves(SFTTrainer):
        def _save_checkpoint(self, *args, **kwargs):
            with shield():
                return super()._save_checkpoint(*args, **kwargs)

    trainer = ShieldedSaves(
        model=model,
        args=config,
        train_dataset=data["train"],
        eval_dataset=data["validation"],
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=[Heartbeats()],
    )

    initial_eval_file = out / INITIAL_EVAL
    if resume_from is None or not initial_eval_file.is_file():
        # The loss before any training: the baseline the curve must fall from.
        report("evaluating")
        initial = float(trainer.evaluate()["eval_loss"])
        initial_eval_file.write_text(json.dumps({"evalLoss": initial}))
    initial_eval_loss = json.loads(initial_eval_file.read_text())["evalLoss"]

    report("resuming" if resume_from else "starting")
    started = time.monotonic()
    trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    elapsed = time.monotonic() - started
    steps_run = trainer.state.global_step - resumed_from_step

    curve = [{"step": 0, "evalLoss": round(initial_eval_loss, 4)}] + [
        {"step": int(h["step"]), "evalLoss": round(float(h["eval_loss"]), 4)} for h in trainer.state.log_history if "eval_loss" in h
    ]
    train_curve = [{"step": int(h["step"]), "loss": round(float(h["loss"]), 4)} for h in trainer.state.log_history if "loss" in h]
    result = {
        "stopped": state["stopped"],
        "method": req.method,
        "step": trainer.state.global_step,
        "maxSteps": req.max_steps,
        "resumedFromStep": resumed_from_step,
        "stepsThisAttempt": steps_run,
        "secondsPerStep": round(elapsed / steps_run, 4) if steps_run > 0 else None,
        "initialEvalLoss": round(initial_eval_loss, 4),
        "evalLossCurve": curve,
        "trainLossCurve": train_curve,
    }
    if state["stopped"]:
        return result

    # The final evaluation at the last step, unless the schedule already did it.
    if curve[-1]["step"] != trainer.state.global_step:
        final = float(trainer.evaluate()["eval_loss"])
        curve.append({"step": trainer.state.global_step, "evalLoss": round(final, 4)})
    adapter_dir = out / ADAPTER
    with shield():
        trainer.save_model(str(adapter_dir))
        tokenizer.save_pretrained(str(adapter_dir))
    weight_files = [p for p in adapter_dir.iterdir() if p.suffix == ".safetensors"]
    result.update(
        finalEvalLoss=curve[-1]["evalLoss"],
        adapterPath=str(adapter_dir),
        adapterBytes=sum(p.stat().st_size for p in weight_files),
        trainableParameters=sum(p.numel() for p in trainer.model.parameters() if p.requires_grad),
    )
    (out / "result.json").write_text(json.dumps(result, indent=2))
    return result


def environment_defaults() -> None:
    """Never reach a model hub at run time: everything the worker loads is on disk."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
