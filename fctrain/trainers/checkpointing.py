"""Complete checkpoints and exact resume inside a training stage.

transformers' Trainer writes `checkpoint-N/` (weights, optimizer, scheduler, RNG states, trainer_state.json
with the data position) and can resume from one. What it does not do is tell a finished checkpoint from one
cut short by a crash, and its rotation may delete the last good checkpoint before the new one is done. So:

- `CompleteCheckpoints` runs after every save: it writes the extra state of fctrain objects (e.g. the GRPO
  prompt stream), then the marker file `COMPLETE` (written last, atomically; it records the step and the
  hash of the stage's settings, fctrain/resume_check.py), then deletes all but the newest `keep` complete
  checkpoints. Trainer's own rotation is switched off (save_total_limit=None).
- `latest_complete_checkpoint(dir)` picks the newest checkpoint that has the marker; anything else is
  never resumed from. `newest_intact_checkpoint` also skips a complete one whose files were damaged later
  (a truncated model.safetensors), which resume sets aside, saying so. `prepare_resume` also removes unmarked checkpoints and drops metrics.jsonl rows
  logged after the checkpoint (they will be logged again), so a resumed run logs what an uninterrupted
  one logs.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from fctrain.run_dir import atomic_write_json, atomic_write_text

MARKER = "COMPLETE"
EXTRA_STATE = "fctrain_state_rank{rank}.json"
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


def _step(path: Path) -> int | None:
    m = _CHECKPOINT.match(path.name)
    return int(m.group(1)) if m and path.is_dir() else None


def checkpoints(out_dir: str | Path) -> list[tuple[int, Path, bool]]:
    """(step, path, complete) of every checkpoint-N folder in out_dir, oldest first."""
    out = Path(out_dir)
    if not out.is_dir():
        return []
    found = [(s, p, (p / MARKER).is_file()) for p in out.iterdir() if (s := _step(p)) is not None]
    return sorted(found, key=lambda t: t[0])


def latest_complete_checkpoint(out_dir: str | Path) -> Path | None:
    """The newest checkpoint whose COMPLETE marker exists, or None."""
    done = [p for _, p, complete in checkpoints(out_dir) if complete]
    return done[-1] if done else None


def newest_intact_checkpoint(out_dir: str | Path) -> tuple[Path | None, list[tuple[Path, str]]]:
    """The newest complete checkpoint whose files are whole (fctrain/integrity.py), and the newer complete
    ones that are damaged, each with what is wrong: a file broken after its save (disk, copy) is named here,
    and resume falls back to the one before."""
    from fctrain.integrity import folder_damage

    damaged = []
    for _, path, complete in reversed(checkpoints(out_dir)):
        if not complete:
            continue
        problem = folder_damage(path)
        if problem is None:
            return path, damaged
        damaged.append((path, problem))
    return None, damaged


@dataclass
class StateHook:
    """Extra state saved with every checkpoint: `get()` -> JSON-able data, `set(data)` restores it."""

    name: str
    get: Callable[[], Any]
    set: Callable[[Any], None]


def _barrier() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def _rank() -> tuple[int, bool]:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_rank() == 0
    return 0, True


class CompleteCheckpoints(TrainerCallback):
    """After each save: extra state per rank, then (rank 0, after every rank is done) the marker, then rotation."""

    def __init__(self, keep: int | None, hooks: list[StateHook] | None = None, stamp: dict | None = None):
        self.keep, self.hooks, self.stamp = keep, list(hooks or []), dict(stamp or {})  # stamp: e.g. config_hash

    def on_save(self, args, state, control, **kwargs):
        ckpt = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        rank, is_main = _rank()
        if self.hooks:
            data = {h.name: h.get() for h in self.hooks}
            atomic_write_json(ckpt / EXTRA_STATE.format(rank=rank), data)
        _barrier()  # every rank's shards and state are on disk before the marker says so
        if is_main:
            atomic_write_text(ckpt / MARKER, json.dumps({"step": state.global_step, **self.stamp}) + "\n")
            rotate(args.output_dir, self.keep)
        _barrier()


def rotate(out_dir: str | Path, keep: int | None) -> None:
    """Keep the newest `keep` complete checkpoints; delete older ones and any unmarked one older than those."""
    if not keep or keep < 1:
        return
    found = checkpoints(out_dir)
    complete = [s for s, _, c in found if c]
    if len(complete) <= keep:
        return
    oldest_kept = complete[-keep]
    for step, path, _ in found:
        if step < oldest_kept:
            shutil.rmtree(path, ignore_errors=True)


def restore_extra_state(checkpoint: Path, hooks: list[StateHook]) -> None:
    rank, _ = _rank()
    path = checkpoint / EXTRA_STATE.format(rank=rank)
    if not hooks or not path.is_file():
        return
    data = json.loads(path.read_text())
    for h in hooks:
        if h.name in data:
            h.set(data[h.name])


def prepare_resume(out_dir: str | Path, metrics_path: str | Path | None) -> Path | None:
    """The checkpoint to resume from (newest complete and intact one), after removing unmarked checkpoints and
    setting damaged ones aside as checkpoint-N.damaged (rank 0), and dropping the metrics.jsonl rows logged
    after it. None when there is nothing to resume (metrics are then reset)."""
    _, is_main = _rank()
    ckpt, damaged = newest_intact_checkpoint(out_dir)
    _barrier()  # every rank has chosen before rank 0 moves a damaged checkpoint out of the others' sight
    if is_main:
        for path, problem in damaged:
            aside = path.with_name(f"{path.name}.damaged")
            shutil.rmtree(aside, ignore_errors=True)
            path.rename(aside)  # kept for a look, never resumed from; its name no longer counts as a checkpoint
            print(f"fctrain: {path} is damaged ({problem}); set aside as {aside.name}, resuming from "
                  f"{ckpt.name if ckpt else 'the start of the stage'} instead", flush=True)
        for _, path, complete in checkpoints(out_dir):
            if not complete:
                shutil.rmtree(path, ignore_errors=True)  # a save cut short: never resumed from, never kept
        if metrics_path is not None:
            truncate_metrics(Path(metrics_path), -1 if ckpt is None else int(_step(ckpt)))
    _barrier()
    return ckpt


def truncate_metrics(path: Path, last_step: int) -> None:
    """Keep the rows of steps <= last_step (all rows go when last_step < 0)."""
    if not path.exists():
        return
    keep = [line for line in path.read_text().splitlines()
            if line.strip() and last_step >= 0 and json.loads(line).get("step", 0) <= last_step]
    atomic_write_text(path, "".join(line + "\n" for line in keep))


def prompt_stream_hook(trainer) -> StateHook:
    """The GRPO trainer's extra-round prompt stream (its RNG and the rest of its shuffled pass), per rank."""

    def get() -> dict:
        stream = trainer._prompt_stream
        version, internal, gauss = stream.rng.getstate()
        return {"rng": [version, list(internal), gauss], "order": list(stream.order)}

    def set_(data: dict) -> None:
        stream = trainer._prompt_stream
        version, internal, gauss = data["rng"]
        stream.rng.setstate((version, tuple(internal), gauss))
        stream.order = list(data["order"])

    return StateHook("grpo_prompt_stream", get, set_)
