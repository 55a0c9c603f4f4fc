"""What every training log row gets besides the loss: throughput, step time, peak memory; and the resolved
recipe in TensorBoard and wandb.

    perf/step_time_s     mean wall time of an optimizer step since the last log
    perf/samples_per_s   sequences (GRPO: completions) per second, all ranks
    perf/tokens_per_s    input tokens per second, all ranks (Trainer's num_input_tokens_seen, or TRL's num_tokens)
    perf/peak_mem_gb     peak GPU memory allocated on this rank (CPU: peak resident memory of the process)

`Throughput` must run before the reporting callbacks so they see these keys: `install` puts it first.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import torch
from transformers import TrainerCallback


def peak_memory_gb() -> float:
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        return torch.cuda.max_memory_allocated() / 2**30
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return rss / (2**30 if sys.platform == "darwin" else 2**20)


class Throughput(TrainerCallback):
    def __init__(self):
        self._t_step = self._t_log = None
        self._step_times: list[float] = []
        self._steps_at_log = 0
        self._tokens_at_log: float | None = None

    def on_train_begin(self, args, state, control, **kwargs):
        self._t_log = time.perf_counter()
        self._steps_at_log = state.global_step
        self._tokens_at_log = None

    def on_step_begin(self, args, state, control, **kwargs):
        self._t_step = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        if self._t_step is not None:
            self._step_times.append(time.perf_counter() - self._t_step)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs is None or "loss" not in logs or self._t_log is None:
            return
        now = time.perf_counter()
        elapsed, steps = now - self._t_log, state.global_step - self._steps_at_log
        tokens = state.num_input_tokens_seen or logs.get("num_tokens")
        if self._step_times:
            logs["perf/step_time_s"] = sum(self._step_times) / len(self._step_times)
        if steps > 0 and elapsed > 0:
            per_step = args.per_device_train_batch_size * args.gradient_accumulation_steps * args.world_size
            logs["perf/samples_per_s"] = steps * per_step / elapsed
            if tokens and self._tokens_at_log is not None:
                logs["perf/tokens_per_s"] = (tokens - self._tokens_at_log) / elapsed
        logs["perf/peak_mem_gb"] = peak_memory_gb()
        self._t_log, self._steps_at_log, self._step_times = now, state.global_step, []
        self._tokens_at_log = tokens if tokens else None


class RecipeConfig(TrainerCallback):
    """The run's resolved recipe (config.yaml, secrets already redacted) as TensorBoard text and wandb config."""

    def __init__(self, config_path: Path, tensorboard=None):
        self.config_path, self.tensorboard = Path(config_path), tensorboard  # HF's TensorBoardCallback, if any

    def on_train_begin(self, args, state, control, **kwargs):
        if not state.is_world_process_zero or not self.config_path.is_file():
            return
        import yaml

        text = self.config_path.read_text()

        config = yaml.safe_load(text)
        if "wandb" in args.report_to:
            import wandb

            if wandb.run is not None:
                wandb.config.update({"fctrain": config}, allow_val_change=True)
        writer = getattr(self.tensorboard, "tb_writer", None)  # opened by its own on_train_begin, which ran first
        if writer is not None:
            writer.add_text("fctrain/config", "```yaml\n" + text + "\n```")
            writer.flush()


def install(trainer, config_path: Path | None) -> None:
    """Throughput first (reporters see its keys), the recipe logger last (after reporters opened their runs)."""
    trainer.callback_handler.callbacks.insert(0, Throughput())
    if config_path is not None:
        tensorboard = next((cb for cb in trainer.callback_handler.callbacks
                            if type(cb).__name__ == "TensorBoardCallback"), None)
        trainer.add_callback(RecipeConfig(config_path, tensorboard))
